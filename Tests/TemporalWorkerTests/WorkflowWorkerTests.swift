import Foundation
import Synchronization
import Temporal
import TemporalProto
import TemporalTestSupport
import Testing

@testable import TemporalWorker

@Suite("Workflows against the dev server")
struct WorkflowWorkerTests {
    @Test func activityThenTimer() async throws {
        let result = try await withWorker(workflows: [GreetThenSleep.self], activities: [greet]) { w in
            try await w.start(GreetThenSleep.self, "ann").result(as: String.self)
        }
        #expect(result == "hi ann")
    }

    @Test func durableTimer() async throws {
        let elapsed = try await withWorker(workflows: [Sleeper.self]) { w in
            try await w.start(Sleeper.self, 1.0).result(as: Double.self)
        }
        #expect(elapsed >= 1.0)
    }

    @Test func signalsAfterStartAndQueriesWhileRunningAndClosed() async throws {
        try await withWorker(workflows: [SumSignals.self]) { w in
            let handle = try await w.start(SumSignals.self, 5)
            try await handle.signal("add", 2)
            let sawTwo = try await eventually { try await handle.query("sum", as: Int.self) == 2 }
            #expect(sawTwo)
            try await handle.signal("add", 3)
            #expect(try await handle.result(as: Int.self) == 5)
            // A closed workflow's query replays its history.
            #expect(try await handle.query("sum", as: Int.self) == 5)
            await #expect(throws: TemporalError.self) { _ = try await handle.query("nope", as: Int.self) }
        }
    }

    /// A query of a run terminated after events no workflow task applied (here a signal) answers
    /// with the state those events made, as Go does (it runs the code on a history's last
    /// event); it answered with the state before them. A cached run that saw the last task is
    /// not the one that answers then (it stays cached, for the tasks to come).
    @Test func aTerminatedRunsQueryAppliesTheEventsAfterItsLastTask() async throws {
        let queue = uniqueQueue()
        let first = try await startWorker(taskQueue: queue, workflows: [SumSignals.self])
        let handle = try await first.start(SumSignals.self, 100)
        try await handle.signal("add", 2)
        let sawTwo = try await eventually { try await handle.query("sum", as: Int.self) == 2 }
        #expect(sawTwo)
        await first.stop()
        // No worker now: the signal waits for a task no one takes; then the run is terminated.
        try await handle.signal("add", 3)
        try await handle.terminate(reason: "test")
        let second = try await startWorker(taskQueue: queue, workflows: [SumSignals.self])
        let answer = try await withTimeout(60) { try await handle.query("sum", as: Int.self) }
        await second.stop()
        #expect(answer == 5, "the query's answer left out the signal before the termination")
        #expect(
            WorkflowTaskHandler.hasEventsAfterItsLastTask(try await handle.fetchHistory()),
            "the history ends with a signal and the termination after the last task")
    }

    /// The same with code that the trailing events resume (a signal into a channel the code
    /// reads): it runs confined to the run, as a task's code does (unconfined, a debug build
    /// stopped the worker at the channel's first touch).
    @Test func aTerminatedRunsQueryRunsTheCodeItsLastEventsWakeConfined() async throws {
        let queue = uniqueQueue()
        let first = try await startWorker(taskQueue: queue, workflows: [Channelled.self])
        let handle = try await first.start(Channelled.self, 3)
        try await handle.signal("word", "a")
        let tookOne = try await eventually {  // a task completed after the signal
            let history = try await handle.fetchHistory()
            guard let signaled = history.firstIndex(where: { $0.eventType == .workflowExecutionSignaled }) else { return false }
            return history[signaled...].contains { $0.eventType == .workflowTaskCompleted }
        }
        #expect(tookOne)
        await first.stop()
        try await handle.signal("word", "b")
        try await handle.terminate(reason: "test")
        let second = try await startWorker(taskQueue: queue, workflows: [Channelled.self])
        let stack = try await withTimeout(60) { try await handle.query("__stack_trace", as: String.self) }
        await second.stop()
        #expect(!stack.isEmpty)
    }

    @Test func signalWithStart() async throws {
        let result = try await withWorker(workflows: [SumSignals.self]) { w in
            let handle = try await w.client.signalWithStart(
                type: SumSignals.name, id: "sws-\(UUID())", taskQueue: w.taskQueue,
                arguments: [4], signal: "add", signalArguments: [4])
            return try await handle.result(as: Int.self)
        }
        #expect(result == 4)
    }

    @Test func signalChannel() async throws {
        let result = try await withWorker(workflows: [Channelled.self]) { w in
            let handle = try await w.start(Channelled.self, 2)
            try await handle.signal("word", "a")
            try await handle.signal("word", "b")
            return try await handle.result(as: [String].self)
        }
        #expect(result == ["a", "b"])
    }

    @Test func signalAnotherWorkflow() async throws {
        try await withWorker(workflows: [SumSignals.self, Forwarder.self]) { w in
            let target = try await w.start(SumSignals.self, 3)
            let forwarder = try await w.start(Forwarder.self, target.id)
            #expect(try await target.result(as: Int.self) == 3)
            #expect(try await forwarder.result(as: String.self) == "sent; missing: SignalExternalWorkflowFailed")
            #expect(try await WorkflowReplayer(workflows: [Forwarder.self]).replay(handle: forwarder).closed)
        }
    }

    @Test func continueAsNew() async throws {
        let result = try await withWorker(workflows: [Countdown.self]) { w in
            try await w.start(Countdown.self, 3).result(as: String.self)
        }
        #expect(result.hasSuffix("continued from true"))
    }

    /// A handle from `startWorkflow` follows its chain: after a continue-as-new, signals,
    /// queries and cancel reach the new run (they went to the closed first run: NOT_FOUND, or a
    /// stale answer), and the result is the last run's. A USE_EXISTING start that attached to
    /// the second run binds cancel to the chain's first run (it sent the second as the first:
    /// NOT_FOUND on a running workflow).
    @Test func aStartedHandleFollowsItsChainAcrossContinueAsNew() async throws {
        try await withWorker(workflows: [ChainOnSignal.self]) { w in
            let handle = try await w.start(ChainOnSignal.self, 0)
            let first = try #require(handle.resultRunID)
            try await handle.signal("next")
            #expect(try await eventually(30) { try await handle.describe().runID != first })
            #expect(try await handle.query("round", as: Int.self) == 1)
            let again = try await w.client.startWorkflow(
                type: ChainOnSignal.name, id: handle.id, taskQueue: w.taskQueue, arguments: [0],
                options: WorkflowOptions(idConflictPolicy: .useExisting))
            #expect(again.resultRunID != first && again.firstExecutionRunID == first)
            try await handle.signal("next")
            #expect(try await eventually(30) { try await handle.query("round", as: Int.self) == 2 })
            try await handle.signal("finish")
            #expect(try await handle.result(as: Int.self) == 2)
            #expect(try await handle.fetchHistory().first?.workflowExecutionStartedEventAttributes.continuedExecutionRunID.isEmpty == true)

            let other = try await w.start(ChainOnSignal.self, 0)
            try await other.signal("next")
            #expect(try await eventually(30) { try await other.query("round", as: Int.self) == 1 })
            let attached = try await w.client.startWorkflow(
                type: ChainOnSignal.name, id: other.id, taskQueue: w.taskQueue, arguments: [0],
                options: WorkflowOptions(idConflictPolicy: .useExisting))
            try await attached.cancel()
            let cancelled = await #expect(throws: TemporalError.self) { try await other.result(as: Int.self) }
            #expect(cancelled?.kind == .workflowCanceled, "\(String(describing: cancelled))")
        }
    }

    @Test func applicationErrorFailsTheWorkflow() async throws {
        try await withWorker(workflows: [Refuse.self]) { w in
            let handle = try await w.start(Refuse.self)
            let error = await #expect(throws: TemporalError.self) { _ = try await handle.result(as: String.self) }
            #expect(error?.kind == .workflowFailed)
            #expect(error?.applicationError?.type == "Nope")
        }
    }

    @Test func workflowCancellation() async throws {
        try await withWorker(workflows: [SleepLong.self]) { w in
            let handle = try await w.start(SleepLong.self)
            _ = try await eventually { try await handle.describe().historyLength >= 5 }
            try await handle.cancel()
            let error = await #expect(throws: TemporalError.self) { _ = try await handle.result(as: String.self) }
            #expect(error?.kind == .workflowCanceled)
        }
    }

    /// Cancelled while no worker runs, and the timer it waits on fires before a worker is back:
    /// the next task holds the cancel request and then the timer's firing. The run ends
    /// cancelled without a CancelTimer command, which the server would refuse for a fired timer
    /// (BAD_CANCEL_TIMER_ATTRIBUTES) at every attempt of the task.
    @Test func aTimerThatFiredAfterTheCancelRequestIsNotCancelled() async throws {
        let queue = uniqueQueue()
        let first = try await startWorker(taskQueue: queue, workflows: [SleepsSixSeconds.self])
        let handle = try await first.start(SleepsSixSeconds.self)
        let timerStarted = try await eventually(30) { try await handle.fetchHistory().contains { $0.eventType == .timerStarted } }
        await first.stop()
        #expect(timerStarted)
        try await handle.cancel()
        // The timer fires after the request, with no worker.
        #expect(try await eventually(20) { try await handle.fetchHistory().contains { $0.eventType == .timerFired } })
        let second = try await startWorker(taskQueue: queue, workflows: [SleepsSixSeconds.self])
        let outcome = try await withTimeout(30) {
            await #expect(throws: TemporalError.self) { _ = try await handle.result(as: String.self) }
        }
        await second.stop()
        #expect(outcome?.kind == .workflowCanceled, "\(String(describing: outcome))")
        let events = try await handle.fetchHistory()
        #expect(!events.contains { $0.eventType == .workflowTaskFailed }, "\(events.map(\.eventType))")
        let fired = events.firstIndex { $0.eventType == .timerFired }
        let requested = events.firstIndex { $0.eventType == .workflowExecutionCancelRequested }
        #expect(fired != nil && requested != nil && requested! < fired!, "the scenario: the request before the firing")
    }

    @Test func codeErrorFailsTheTaskNotTheWorker() async throws {
        try await withWorker(workflows: [Buggy.self, GreetThenSleep.self], activities: [greet]) { w in
            let buggy = try await w.start(Buggy.self)
            let failed = try await eventually {
                try await buggy.fetchHistory().contains {
                    $0.eventType == .workflowTaskFailed
                        && $0.workflowTaskFailedEventAttributes.cause == .workflowWorkerUnhandledFailure
                }
            }
            #expect(failed)
            #expect(try await buggy.describe().status == .running)
            try await buggy.terminate(reason: "test done")
            // The worker still works.
            #expect(try await w.start(GreetThenSleep.self, "after").result(as: String.self) == "hi after")
        }
    }

    @Test func nondeterminismIsReportedToTheServer() async throws {
        let welcome = ActivityDefinition("welcome") { (s: String, _: ActivityContext) in "welcome \(s)" }
        try await withWorker(workflows: [FlipFlop.self], activities: [greet, welcome], configure: { $0.maxCachedWorkflows = 0 }) { w in
            let handle = try await w.start(FlipFlop.self)
            let failed = try await eventually(20) {
                try await handle.fetchHistory().contains {
                    $0.eventType == .workflowTaskFailed
                        && $0.workflowTaskFailedEventAttributes.cause == .nonDeterministicError
                }
            }
            #expect(failed)
            let failure = try await handle.fetchHistory().last { $0.eventType == .workflowTaskFailed }?.workflowTaskFailedEventAttributes
                .failure
            #expect(failure?.message.contains("greet") == true)
            #expect(failure?.message.contains("welcome") == true)
            try await handle.terminate(reason: "test done")
        }
    }

    @Test func longHistoryIsPagedWithoutCache() async throws {
        let (result, length) = try await withWorker(
            workflows: [ManyActivities.self], activities: [echo], timeout: 180,
            configure: { $0.maxCachedWorkflows = 0 }
        ) { w in
            let handle = try await w.start(ManyActivities.self, [34, 20])
            let result = try await handle.result(as: Int.self)
            return (result, try await handle.describe().historyLength)
        }
        #expect(result == 680)
        #expect(length >= 2000)
    }

    @Test func stickyCacheHitsAndForcedEviction() async throws {
        let box = WorkerBox()
        let step1 = ActivityDefinition("step1") { (s: String, _: ActivityContext) in s + "1" }
        let step2 = ActivityDefinition("step2") { (s: String, ctx: ActivityContext) -> String in
            // The run may still be checked out by the task that scheduled this activity (its
            // completion's reply not handled yet): evict once it is back in the cache.
            _ = try await eventually(8) { box.worker?.evictFromCache(runID: ctx.info.workflowRunID) == true }
            return s + "2"
        }
        let step3 = ActivityDefinition("step3") { (s: String, _: ActivityContext) in s + "3" }
        // A long sticky schedule-to-start timeout: a task that fell back to the normal queue on a
        // loaded box would come with the whole history and count as one more full replay.
        let running = try await startWorker(
            workflows: [ThreeSteps.self], activities: [step1, step2, step3],
            configure: { $0.stickyScheduleToStartTimeout = .seconds(60) })
        box.worker = running.worker
        let result = try await withTimeout(60) { try await running.start(ThreeSteps.self, "x").result(as: String.self) }
        await running.stop()  // waits for the last task's response, so its metrics are counted
        let metrics = running.worker.metrics.snapshot
        #expect(result == "x123")
        #expect(metrics.workflowTasks == 4)
        #expect(metrics.cacheHits >= 2)  // after step1 and after step3
        #expect(metrics.fullReplays == 2)  // first task, and after the eviction in step2
        #expect(metrics.workflowTaskCPU > .zero)
    }

    /// A signal that arrives while a workflow task runs makes the server start the next task
    /// at once; the worker asks for it in the answer's response (`return_new_workflow_task`,
    /// as Go and Core do) and runs it on the cached run in the same slot: no poll, no replay.
    @Test func theNextTaskComesBackInTheAnswersResponse() async throws {
        let paused = Counter()
        let pause = ActivityDefinition("pause") { (_: ActivityContext) -> String in
            paused.increment()
            try await Task.sleep(for: .seconds(5))  // the signal must come meanwhile, on a loaded box too
            return "ok"
        }
        let running = try await startWorker(
            workflows: [SignalledDuringItsFirstTask.self], activities: [pause],
            configure: { $0.stickyScheduleToStartTimeout = .seconds(60) })
        let handle = try await running.start(SignalledDuringItsFirstTask.self)
        // The first task is running (its local activity started): the signal comes during it.
        _ = try await eventually(10) { paused.current == 1 }
        try await handle.signal("go")
        let result = try await withTimeout(30) { try await handle.result(as: Int.self) }
        await running.stop()
        let metrics = running.worker.metrics.snapshot
        #expect(result == 1)
        #expect(metrics.returnedWorkflowTasks == 1, "\(metrics)")
        #expect(metrics.workflowTasks == 2 && metrics.fullReplays == 1, "\(metrics)")
    }

    @Test func freshWorkerFinishesAKilledWorkersWorkflow() async throws {
        let queue = uniqueQueue("kill")
        let first = try await startWorker(taskQueue: queue, workflows: [SumSignals.self])
        let handle = try await first.start(SumSignals.self, 3)
        _ = try await eventually { try await handle.describe().historyLength >= 4 }
        // Kill: cancel the run task (hard shutdown, no grace).
        first.runTask.cancel()
        _ = await first.runTask.result
        let second = try await startWorker(taskQueue: queue, workflows: [SumSignals.self])
        try await handle.signal("add", 3)
        let result = try await withTimeout(40) { try await handle.result(as: Int.self) }
        await second.stop()
        #expect(result == 3)
    }

    @Test func replayerChecksServerHistories() async throws {
        let handle = try await withWorker(workflows: [GreetThenSleep.self], activities: [greet]) { w in
            let handle = try await w.start(GreetThenSleep.self, "rita")
            _ = try await handle.result(as: String.self)
            return handle
        }
        #expect(try await WorkflowReplayer(workflows: [GreetThenSleep.self]).replay(handle: handle).closed)
        await #expect(throws: NondeterminismError.self) {
            try await WorkflowReplayer(workflows: [GreetThenSleepChanged.self]).replay(handle: handle)
        }
        // The CLI's JSON export replays too.
        let server = try await DevServer.shared()
        let json = try runCLI(["workflow", "show", "--address", server.address, "--workflow-id", handle.id, "--output", "json"])
        #expect(try WorkflowReplayer(workflows: [GreetThenSleep.self]).replay(historyJSON: json).closed)
        #expect(throws: NondeterminismError.self) {
            try WorkflowReplayer(workflows: [GreetThenSleepChanged.self]).replay(historyJSON: json)
        }
    }
}

/// A local activity in its first task, then waits for one signal "go"; returns the signals seen.
final class SignalledDuringItsFirstTask: Workflow {
    var signals = 0
    init() {}
    func run(context: WorkflowContext, input: NoValue) async throws -> Int {
        context.setSignalHandler("go") { self.signals += 1 }
        _ = try await context.executeLocalActivity(
            "pause", options: LocalActivityOptions(startToCloseTimeout: .seconds(10)), as: String.self)
        try await context.condition { self.signals > 0 }
        return signals
    }
}

final class WorkerBox: Sendable {
    private let value = Mutex<Worker?>(nil)
    var worker: Worker? {
        get { value.withLock { $0 } }
        set { value.withLock { $0 = newValue } }
    }
}

/// Runs the `temporal` CLI and returns its standard output.
func runCLI(_ arguments: [String]) throws -> Data {
    let p = Process()
    p.executableURL = URL(fileURLWithPath: try DevServer.findTemporalCLI())
    p.arguments = arguments
    let out = Pipe()
    p.standardOutput = out
    p.standardError = FileHandle.nullDevice
    try p.run()
    let data = out.fileHandleForReading.readDataToEndOfFile()
    p.waitUntilExit()
    return data
}
