import Foundation
import Synchronization
import Temporal
import TemporalProto
import TemporalTestSupport
import Testing

@testable import TemporalWorker

/// The deadlock detector against the dev server: workflow code that blocks its thread fails
/// the workflow task with a message naming the workflow, the worker keeps running other
/// workflows meanwhile, and the run completes once the code stops blocking.
/// (A 2 s limit: long enough that a loaded machine does not stall well-behaved code past it.)
@Suite struct DeadlockTests {
    @Test func blockingWorkflowCodeFailsTheTaskAndTheWorkerGoesOn() async throws {
        try await withWorker(
            workflows: [BlockOnce.self, Instant.self],
            configure: { $0.deadlockDetectionTimeout = .seconds(2) }
        ) { w in
            // Two blocked runs: as many as this machine has cooperative threads. They stay
            // blocked until the other workflows below have run.
            let blocked = try await w.start(BlockOnce.self)
            let alsoBlocked = try await w.start(BlockOnce.self)
            #expect(try await eventually(30) { BlockOnce.gate.isBlocking(blocked.id) && BlockOnce.gate.isBlocking(alsoBlocked.id) })
            // Both tasks are failed while their code is still blocked.
            for handle in [blocked, alsoBlocked] {
                #expect(try await eventually(30) { try await handle.fetchHistory().contains { $0.eventType == .workflowTaskFailed } })
            }
            for i in 0..<4 {
                #expect(try await w.start(Instant.self, "\(i)").result(as: String.self) == "at once: \(i)")
            }
            #expect(BlockOnce.gate.isBlocking(blocked.id), "the other workflows ran while two runs were blocked")
            BlockOnce.gate.release(blocked.id)
            BlockOnce.gate.release(alsoBlocked.id)
            // The blocked task was failed with the reason; the retry (not blocking) completes.
            #expect(try await blocked.result(as: String.self) == "finished on a retried task")
            #expect(try await alsoBlocked.result(as: String.self) == "finished on a retried task")
            let events = try await blocked.fetchHistory()
            let failed = try #require(events.first { $0.eventType == .workflowTaskFailed })
            let message = failed.workflowTaskFailedEventAttributes.failure.message
            #expect(message.contains("potential deadlock"), "\(message)")
            #expect(message.contains("BlockOnce") && message.contains(blocked.id), "\(message)")
            #expect(message.contains("activity"), "says what to do: \(message)")
        }
    }

    /// A run given up as deadlocked is ended once its code returns: its code went on to wait
    /// (a timer) with nothing left to end it, and the run stayed in memory for good, one copy
    /// per task attempt the detector failed.
    @Test func aRunGivenUpAsDeadlockedIsEndedWhenItsCodeReturns() async throws {
        try await withWorker(
            workflows: [BlockOnceThenWait.self],
            configure: { $0.deadlockDetectionTimeout = .seconds(2) }
        ) { w in
            let handle = try await w.start(BlockOnceThenWait.self)
            #expect(try await eventually(30) { BlockOnceThenWait.gate.isBlocking(handle.id) })
            #expect(try await eventually(30) { try await handle.fetchHistory().contains { $0.eventType == .workflowTaskFailed } })
            BlockOnceThenWait.gate.release(handle.id)
            // The copy that blocked goes on to its timer, and is ended there (old code: never).
            #expect(try await eventually(20) { BlockOnceThenWait.ended.withLock { $0.contains(handle.id) } })
            #expect(try await eventually(30) { try await handle.fetchHistory().contains { $0.eventType == .timerStarted } })
            try await handle.terminate(reason: "test over")
        }
    }

    /// Code that never blocks but keeps making short jobs (`while true { await Task.yield() }`)
    /// fails the task as a potential deadlock, and its executor stops running it, freeing the
    /// thread: the detector timed each job alone, so it was never reported, and the thread spun
    /// for good, holding the task's slot.
    @Test func codeThatYieldsForEverFailsTheTaskAndStops() async throws {
        try await withWorker(
            workflows: [YieldsForEver.self], timeout: 120,
            configure: { $0.deadlockDetectionTimeout = .seconds(1) }  // 4 s for a pass
        ) { w in
            let handle = try await w.start(YieldsForEver.self)
            #expect(try await eventually(45) { try await handle.fetchHistory().contains { $0.eventType == .workflowTaskFailed } })
            let failed = try await handle.fetchHistory().first { $0.eventType == .workflowTaskFailed }
            #expect(failed?.workflowTaskFailedEventAttributes.failure.message.contains("potential deadlock") == true)
            #expect(try await handle.result(as: String.self) == "finished on a retried task")
            let id = handle.id
            let turns: @Sendable () -> Int = { YieldsForEver.turns.withLock { $0[id] ?? 0 } }
            // The given-up code stops (after the teardown's bounded rounds); old code: never.
            #expect(
                try await eventually(30) {
                    let before = turns()
                    try await Task.sleep(for: .seconds(1))
                    return turns() == before
                }, "the given-up code still runs: \(turns()) turns")
        }
    }

    @Test func aQueryHandlerThatBlocksFailsItsQueryAndTheRunGoesOn() async throws {
        try await withWorker(
            workflows: [BlockingQuery.self],
            configure: { $0.deadlockDetectionTimeout = .seconds(2) }
        ) { w in
            let handle = try await w.start(BlockingQuery.self)
            #expect(try await eventually(30) { try await handle.fetchHistory().contains { $0.eventType == .workflowTaskCompleted } })
            // The first answer blocks: the query fails, saying why, while the handler still blocks.
            do {
                _ = try await handle.query("status", as: String.self)
                Issue.record("a query whose handler blocked was answered")
            } catch {
                #expect("\(error)".contains("potential deadlock"), "\(error)")
            }
            #expect(BlockingQuery.gate.isBlocking(handle.id))
            BlockingQuery.gate.release(handle.id)
            // The stuck run was dropped: a fresh replay answers, and the workflow goes on.
            #expect(try await handle.query("status", as: String.self) == "waiting")
            try await handle.signal("finish")
            #expect(try await handle.result(as: String.self) == "finished")
        }
    }

    /// Workflow code that the run calls directly, not as a job of its executor — a signal
    /// handler, an update validator, a condition's predicate — is timed too: one that blocks
    /// fails the task instead of holding it (and its slot) for ever. Before, none was timed.
    @Test(arguments: ["signal", "validator", "predicate"])
    func workflowCodeOutsideJobsThatBlocksFailsTheTask(kind: String) async throws {
        try await withWorker(
            workflows: [BlocksOutsideJobs.self],
            configure: { $0.deadlockDetectionTimeout = .seconds(2) }
        ) { w in
            let handle = try await w.start(BlocksOutsideJobs.self, kind)
            #expect(try await eventually(30) { try await handle.fetchHistory().contains { $0.eventType == .workflowTaskCompleted } })
            let update = Task { try await handle.startUpdate("poke", waitFor: .accepted) }
            if kind != "validator" { try await handle.signal("poke") }
            #expect(try await eventually(30) { BlocksOutsideJobs.gate.isBlocking(handle.id) })
            #expect(try await eventually(30) { try await handle.fetchHistory().contains { $0.eventType == .workflowTaskFailed } })
            let failed = try await handle.fetchHistory().first { $0.eventType == .workflowTaskFailed }
            let message = failed?.workflowTaskFailedEventAttributes.failure.message ?? "no failed task"
            #expect(message.contains("potential deadlock"), "\(message)")
            BlocksOutsideJobs.gate.release(handle.id)
            try await handle.signal("finish")
            #expect(try await handle.result(as: String.self) == "finished")
            update.cancel()
        }
    }

    /// A query handler that blocks while a workflow task heartbeat (local activities running)
    /// answers the task's queries fails its query, not the task: the heartbeat still records
    /// the local activity that finished, and the run goes on elsewhere from history. Before, the
    /// task failed and the finished local activity ran again on the retry.
    ///
    /// Timeline (20 s task timeout, so heartbeats every 16 s): the query arrives while the
    /// first task runs and comes back with the first heartbeat's task; "first" finishes at
    /// 20 s; the second heartbeat (32 s), during "second", answers the query, which blocks.
    @Test func aQueryHandlerThatBlocksDuringAHeartbeatFailsOnlyItsQuery() async throws {
        let runs = Mutex<[String: Int]>([:])
        let step = ActivityDefinition("countedSleep") { (name: String, _: ActivityContext) -> String in
            let count = runs.withLock {
                $0[name, default: 0] += 1
                return $0[name]!
            }
            if count == 1 { try await Task.sleep(for: .seconds(20)) }
            return name
        }
        try await withWorker(
            workflows: [QueriedDuringLocalSteps.self], activities: [step], timeout: 120,
            // 1 s: the heartbeat that answers the query (32 s) must still beat its task's
            // timeout (36 s) after the monitor gave up on the handler.
            configure: { $0.deadlockDetectionTimeout = .seconds(1) }
        ) { w in
            let handle = try await w.client.startWorkflow(
                type: QueriedDuringLocalSteps.name, id: "queried-locals-\(UUID())", taskQueue: w.taskQueue,
                options: WorkflowOptions(taskTimeout: .seconds(20)))
            #expect(try await eventually(30) { runs.withLock { $0["first"] } == 1 })
            var query = Temporal_Api_Workflowservice_V1_QueryWorkflowRequest()
            query.namespace = w.client.namespace
            query.execution.workflowID = handle.id
            query.query.queryType = "status"
            let answer = Task { try await w.client.workflowService.queryWorkflow(query, timeout: .seconds(90)) }
            #expect(try await handle.result(as: String.self) == "first,second")
            QueriedDuringLocalSteps.gate.release(handle.id)
            #expect(runs.withLock { $0 } == ["first": 1, "second": 2], "the finished local activity ran once")
            let events = try await handle.fetchHistory()
            #expect(!events.contains { $0.eventType == .workflowTaskFailed }, "\(events.map(\.eventType))")
            // The query fails: with the deadlock, or first at the server's own query deadline.
            let error = await #expect(throws: TemporalError.self) { try await answer.value }
            #expect(
                error?.message.contains("potential deadlock") == true || error?.code == .deadlineExceeded, "\(String(describing: error))")
        }
    }
}

/// Eviction runs the workflow's cleanup (its code after `CancellationError`): cleanup that
/// blocks must not block the worker.
@Suite struct DeadlockOnEvictionTests {
    @Test func cleanupThatBlocksOnEvictionStaysOffTheWorkersThreads() async throws {
        try await withWorker(
            workflows: [BlockingCleanup.self, Instant.self],
            configure: { $0.deadlockDetectionTimeout = .seconds(2) }
        ) { w in
            let handle = try await w.start(BlockingCleanup.self)
            let runID = try #require(handle.resultRunID)
            #expect(try await eventually(30) { w.worker.evictFromCache(runID: runID) })
            // The cleanup blocks on a workflow thread (until released), not here.
            #expect(try await eventually(30) { BlockingCleanup.gate.isBlocking(runID) })
            #expect(try await eventually(30) { WorkflowThreads.shared.blockedThreads >= 1 })
            for i in 0..<3 {
                #expect(try await w.start(Instant.self, "\(i)").result(as: String.self) == "at once: \(i)")
            }
            BlockingCleanup.gate.release(runID)
            #expect(try await eventually(30) { WorkflowThreads.shared.blockedThreads == 0 })
            try await handle.signal("finish")
            #expect(try await handle.result(as: String.self) == "finished")
        }
    }
}

/// The cap on threads left blocked, without a server: beyond it, workflow code is refused
/// until a blocked thread returns.
@Suite struct WorkflowThreadsCapTests {
    #if os(Linux)
    /// Workflow code runs on threads named for it, so `top -H`, `perf` and debuggers tell them
    /// apart from the Swift pool's.
    @Test func workflowThreadsAreNamed() async throws {
        let name = try await WorkflowThreads(maxBlockedThreads: 1).run(
            timeout: .seconds(30), clock: JobClock(), describe: { "name" }
        ) { try String(contentsOfFile: "/proc/thread-self/comm", encoding: .utf8) }
        #expect(name == "temporal-wf\n")
    }
    #endif

    /// The monitor parks while nothing runs (an idle worker's monitor does not wake ten times a
    /// second), and the next job wakes it: a job that blocks after the park is still reported.
    @Test func theMonitorParksWhileIdleAndStillCatchesTheNextBlockingJob() async throws {
        let threads = WorkflowThreads(maxBlockedThreads: 2, quietTicksBeforeParking: 2)
        #expect(try await threads.run(timeout: .seconds(30), clock: JobClock(), describe: { "first" }) { 1 } == 1)
        // Twice: parked, woken by a job that blocks, reported, parked again.
        for round in ["first park", "second park"] {
            #expect(try await eventually(10) { threads.monitorIsParked }, "\(round)")
            let clock = JobClock()
            let gate = Gate()
            #expect(gate.enterFirstTime(round))
            let blocking = Task {
                try await threads.run(timeout: .milliseconds(300), clock: clock, describe: { "blocks after the \(round)" }) {
                    clock.jobStarted()
                    gate.blockWhileHeld(round)
                    clock.jobEnded()
                    return 2
                }
            }
            // Reported while still blocked (a monitor that never woke would leave it unreported).
            // Reporting takes the job off the watch list, so the monitor may park again right after.
            #expect(try await eventually(10) { threads.blockedThreads == 1 }, "\(round)")
            gate.release(round)
            do {
                _ = try await blocking.value
                Issue.record("a job that blocked after the \(round) returned normally")
            } catch {
                #expect(error is PotentialDeadlockError, "\(error)")
            }
            #expect(try await eventually(30) { threads.blockedThreads == 0 }, "\(round)")
        }
    }

    @Test func workflowCodeIsRefusedWhileTooManyThreadsAreBlocked() async throws {
        let threads = WorkflowThreads(maxBlockedThreads: 1)
        let clock = JobClock()
        let gate = Gate()
        #expect(gate.enterFirstTime("job"))
        do {
            _ = try await threads.run(timeout: .milliseconds(200), clock: clock, describe: { "the blocking job" }) {
                clock.jobStarted()
                gate.blockWhileHeld("job")
                clock.jobEnded()
                return 1
            }
            Issue.record("a job that blocked returned normally")
        } catch {
            #expect(error is PotentialDeadlockError, "\(error)")
        }
        #expect(threads.blockedThreads == 1)
        do {
            _ = try await threads.run(timeout: .seconds(5), clock: JobClock(), describe: { "next" }) { 2 }
            Issue.record("workflow code ran while the cap of blocked threads was reached")
        } catch let error as TooManyBlockedWorkflowThreadsError {
            #expect("\(error)".contains("1 workflow threads are still blocked"), "\(error)")
        }
        gate.release("job")
        #expect(try await eventually(30) { threads.blockedThreads == 0 })
        #expect(try await threads.run(timeout: .seconds(5), clock: JobClock(), describe: { "after" }) { 3 } == 3)
    }
}

/// Waits for a signal; when its run is torn down while waiting (eviction), its cleanup blocks
/// its thread (once per run id) until the test releases it.
final class BlockingCleanup: Workflow {
    static let gate = Gate()
    init() {}
    func run(context: WorkflowContext, input: NoValue) async throws -> String {
        var finished = false
        context.setSignalHandler("finish") { finished = true }
        do {
            try await context.condition { finished }
        } catch {
            let id = context.info.runID
            if BlockingCleanup.gate.enterFirstTime(id) {
                BlockingCleanup.gate.blockWhileHeld(id)
            }
            throw error
        }
        return "finished"
    }
}

/// Waits for a signal; its query handler blocks its thread on the first query (per workflow id).
final class BlockingQuery: Workflow {
    static let gate = Gate()
    init() {}
    func run(context: WorkflowContext, input: NoValue) async throws -> String {
        let id = context.info.workflowID
        var finished = false
        context.setSignalHandler("finish") { finished = true }
        context.setQueryHandler("status") { () -> String in
            if BlockingQuery.gate.enterFirstTime(id) {
                BlockingQuery.gate.blockWhileHeld(id)
            }
            return finished ? "finished" : "waiting"
        }
        try await context.condition { finished }
        return "finished"
    }
}

/// Runs local activity "countedSleep" twice, one after the other; its query handler blocks
/// its thread the first time (per workflow id).
final class QueriedDuringLocalSteps: Workflow {
    static let gate = Gate()
    init() {}
    func run(context: WorkflowContext, input: NoValue) async throws -> String {
        let id = context.info.workflowID
        context.setQueryHandler("status") { () -> String in
            if QueriedDuringLocalSteps.gate.enterFirstTime(id) { QueriedDuringLocalSteps.gate.blockWhileHeld(id) }
            return "running"
        }
        let options = LocalActivityOptions(startToCloseTimeout: .seconds(60))
        let first = try await context.executeLocalActivity("countedSleep", input: "first", options: options, as: String.self)
        let second = try await context.executeLocalActivity("countedSleep", input: "second", options: options, as: String.self)
        return first + "," + second
    }
}

/// Blocks its thread the first time (per workflow id) in the code its input names: signal
/// "poke"'s handler, update "poke"'s validator, or its condition's predicate once poked.
/// Finishes on signal "finish".
final class BlocksOutsideJobs: Workflow {
    static let gate = Gate()
    init() {}
    func run(context: WorkflowContext, input kind: String) async throws -> String {
        let id = context.info.workflowID
        var poked = false
        var finished = false
        func blockOnce(_ here: String) {
            if kind == here, BlocksOutsideJobs.gate.enterFirstTime(id) { BlocksOutsideJobs.gate.blockWhileHeld(id) }
        }
        context.setSignalHandler("poke") {
            blockOnce("signal")
            poked = true
        }
        context.setSignalHandler("finish") { finished = true }
        context.setUpdateHandler("poke", validator: { () throws in blockOnce("validator") }) { () async throws -> String in "poked" }
        try await context.condition {
            if poked { blockOnce("predicate") }
            return finished
        }
        return "finished"
    }
}

/// Blocks its thread (what workflow code must never do) on its first execution (per workflow
/// id) until the test releases it (at most 60 s).
/// On its first task, yields for ever without blocking (a job after a job on its executor);
/// counts the turns. Later tasks finish at once.
final class YieldsForEver: Workflow {
    static let turns = Mutex<[String: Int]>([:])
    init() {}
    func run(context: WorkflowContext, input: NoValue) async throws -> String {
        let id = context.info.workflowID
        let first = YieldsForEver.turns.withLock { turns -> Bool in
            defer { turns[id, default: 0] += 1 }
            return turns[id] == nil
        }
        guard first else { return "finished on a retried task" }
        while true {
            await Task.yield()
            YieldsForEver.turns.withLock { $0[id, default: 0] += 1 }
        }
    }
}

final class BlockOnce: Workflow {
    static let gate = Gate()
    init() {}
    func run(context: WorkflowContext, input: NoValue) async throws -> String {
        let id = context.info.workflowID
        if BlockOnce.gate.enterFirstTime(id) {
            BlockOnce.gate.blockWhileHeld(id)
            return "finished while blocked"
        }
        return "finished on a retried task"
    }
}

/// Blocks its thread on its first task, then waits on a timer; records the ids of the runs
/// whose blocked copy was ended while waiting.
final class BlockOnceThenWait: Workflow {
    static let gate = Gate()
    static let ended = Mutex<Set<String>>([])
    init() {}
    func run(context: WorkflowContext, input: NoValue) async throws -> String {
        let id = context.info.workflowID
        let blocked = BlockOnceThenWait.gate.enterFirstTime(id)
        if blocked { BlockOnceThenWait.gate.blockWhileHeld(id) }
        do {
            try await context.sleep(for: .seconds(3600))
        } catch {
            if blocked { _ = BlockOnceThenWait.ended.withLock { $0.insert(id) } }
            throw error
        }
        return "slept"
    }
}

final class Gate: @unchecked Sendable {
    private let lock = NSLock()
    private var entered: Set<String> = []
    private var blocking: Set<String> = []
    func enterFirstTime(_ id: String) -> Bool {
        lock.withLock {
            guard entered.insert(id).inserted else { return false }
            blocking.insert(id)
            return true
        }
    }
    func isBlocking(_ id: String) -> Bool { lock.withLock { blocking.contains(id) } }
    func release(_ id: String) { lock.withLock { _ = blocking.remove(id) } }
    /// Blocks the calling thread (what workflow code must never do) until `id` is released,
    /// at most 60 s.
    func blockWhileHeld(_ id: String) {
        for _ in 0..<6_000 where isBlocking(id) { usleep(10_000) }
    }
}
