import Foundation
import Logging
import ServiceLifecycle
import Synchronization
import Temporal
import TemporalProto
import TemporalTestSupport
import TemporalTesting
import Testing

@testable import TemporalWorker

/// The worker and client against `TemporalTesting`'s in-memory service: no server, so these
/// run in milliseconds (and without `TEMPORAL_TEST_ADDRESS`).
@Suite struct InMemoryServiceTests {
    let steps = ["step1", "step2", "step3"].map { name in
        ActivityDefinition(name) { (value: String, _: ActivityContext) in value + "+" + name }
    }

    @Test func activitiesRunInOrderAndTheHistoryReplays() async throws {
        let env = try await TestWorkflowEnvironment.start()
        defer { env.shutdown() }
        let result = try await env.execute(ThreeSteps.self, input: "x", activities: steps, id: "three")
        #expect(result == "x+step1+step2+step3")
        let history = try env.service.history(workflowID: "three")
        #expect(history.filter { $0.eventType == .activityTaskCompleted }.count == 3)
        #expect(try WorkflowReplayer(workflows: [ThreeSteps.self]).replay(events: history).closed)
    }

    /// An activity learns the namespace its workflow runs in: the in-memory service said
    /// "default" whatever the client's namespace.
    @Test func anActivityKnowsItsWorkflowsNamespace() async throws {
        let service = InMemoryTemporalService()
        let client = try await TemporalClient.connect(transport: service, namespace: "team-a")
        let namespaceOf = ActivityDefinition("where") { (_: String, context: ActivityContext) -> String in context.info.namespace }
        var options = WorkerOptions()
        options.maxCachedWorkflows = 0
        let worker = Worker(client: client, taskQueue: "ns", workflows: [RunActivity.self], activities: [namespaceOf], options: options)
        let running = Task { try await worker.run() }
        let handle = try await client.startWorkflow(
            type: RunActivity.name, id: "ns-1", taskQueue: "ns", args: ActivityCall(activity: "where"))
        let result = try await withTimeout(20) { try await handle.result(as: String.self) }
        await worker.shutdown()
        _ = await running.result
        #expect(result == "team-a")
    }

    /// A worker that refuses its options fails the test at once: before, `run()` threw in the
    /// background while `execute` waited for a result no worker would make, for ever.
    @Test func aWorkerRefusingItsOptionsFailsAtOnce() async throws {
        let env = try await TestWorkflowEnvironment.start()
        defer { env.shutdown() }
        var options = TestWorkflowEnvironment.defaultWorkerOptions
        options.maxConcurrentActivities = 0
        let (steps, refused) = (self.steps, options)
        let error = await #expect(throws: TemporalError.self) {
            try await within(20) { try await env.execute(ThreeSteps.self, input: "x", activities: steps, options: refused) }
        }
        #expect(
            error?.kind == .invalidArgument && error?.message.contains("maxConcurrentActivities") == true, "\(String(describing: error))")
    }

    /// Timers due at the same time fire together, in the order they started, as on a server:
    /// before, a skip fired one (the dictionary's pick) and the other waited for the next
    /// workflow task.
    @Test func timersOfTheSameTimeFireTogetherInTheirOrder() async throws {
        let env = try await TestWorkflowEnvironment.start()
        defer { env.shutdown() }
        for round in 0..<5 {
            let id = "twins-\(round)"
            #expect(try await env.execute(TwinTimers.self, input: 60, id: id) == "done")
            let history = try env.service.history(workflowID: id)
            let started = history.filter { $0.eventType == .timerStarted }.map(\.eventID)
            let fired = history.enumerated().filter { $0.element.eventType == .timerFired }
            #expect(fired.map(\.element.timerFiredEventAttributes.startedEventID) == started, "round \(round)")
            let between = history[fired[0].offset...fired[fired.count - 1].offset]
            #expect(!between.contains { $0.eventType == .workflowTaskStarted }, "one workflow task sees both (round \(round))")
        }
    }

    @Test func timersAreSkipped() async throws {
        let env = try await TestWorkflowEnvironment.start()
        defer { env.shutdown() }
        let clock = ContinuousClock()
        let started = clock.now
        let elapsed = try await env.execute(Sleeper.self, input: 86_400.0)
        // A day of workflow time, plus the real time the run took (the clock keeps moving).
        #expect(elapsed >= 86_400 && elapsed < 86_400 + 30, "\(elapsed)")
        #expect(clock.now - started < .seconds(30), "without waiting for it")
    }

    /// A run left on the queue of a worker that stopped (its workflow task waiting for a poll
    /// that never comes) does not hold time still for the other runs: a day-long timer
    /// elsewhere is skipped. It waited on the wall clock, the test hanging without a word.
    @Test func aRunLeftOnAStoppedWorkersQueueDoesNotHoldTimeSkipping() async throws {
        let env = try await TestWorkflowEnvironment.start()
        defer { env.shutdown() }
        try await env.withWorker(taskQueue: "stopped", workflows: [Sleeper.self]) { worker in
            // It runs (and polls) before it stops, saying so.
            let first = try await env.client.startWorkflow(type: Sleeper.name, id: "first", taskQueue: worker.taskQueue, args: 0.01)
            _ = try await first.result(as: Double.self)
        }
        _ = try await env.client.startWorkflow(type: Sleeper.name, id: "left-behind", taskQueue: "stopped", args: 3_600.0)
        // Within the 10 s a queue nobody says it left must go unpolled: the worker's ShutdownWorker says so.
        let slept = try await within(8) { try await env.execute(Sleeper.self, input: 86_400) }
        #expect(slept >= 86_400)
    }

    /// An activity left on a stopped worker's queue times out when its schedule-to-start says,
    /// on the skipped clock, before an hour's timer raced against it (as a server fires it):
    /// time skipped to the timer, which won, and the timeout was written an hour late.
    @Test func anActivityLeftOnAStoppedWorkersQueueTimesOutOnTheSkippedClock() async throws {
        let env = try await TestWorkflowEnvironment.start()
        defer { env.shutdown() }
        let noop = ActivityDefinition("noop") { (_: String, _: ActivityContext) -> String in "ran" }
        // Its worker serves activities too, so that its stop (ShutdownWorker) names the queue.
        try await env.withWorker(taskQueue: "gone-acts", workflows: [Sleeper.self], activities: [noop]) { worker in
            let first = try await env.client.startWorkflow(type: Sleeper.name, id: "acts-first", taskQueue: worker.taskQueue, args: 0.01)
            _ = try await first.result(as: Double.self)
        }
        let outcome = try await within(8) {
            try await env.execute(RacesAnActivityOnAnotherQueue.self, input: "gone-acts", id: "raced")
        }
        #expect(outcome == "activity: scheduleToStart", "\(outcome)")
        let history = try env.service.history(workflowID: "raced")
        let scheduled = try #require(history.first { $0.eventType == .activityTaskScheduled }).eventTime.date
        let timedOut = try #require(history.first { $0.eventType == .activityTaskTimedOut }).eventTime.date
        let after = timedOut.timeIntervalSince(scheduled)
        #expect(after >= 60 && after < 90, "\(after) s")
    }

    /// An activity whose retry backoff runs out on a queue whose worker has stopped times out on
    /// the skipped clock at its schedule-to-start: two jumps, the backoff's end and the timeout,
    /// with nothing handed to a worker between them. The second waited for the next change
    /// (here the schedule-to-start minute, on the wall clock).
    @Test func aBackoffOnAStoppedWorkersQueueEndsInItsTimeoutAtOnce() async throws {
        let env = try await TestWorkflowEnvironment.start()
        defer { env.shutdown() }
        let attempts = Counter()
        let failing = ActivityDefinition("failing") { (_: ActivityContext) -> String in
            attempts.increment()
            throw ApplicationError("not yet", type: "NotYet")
        }
        try await env.withWorker(taskQueue: "backoff-wf", workflows: [RetriesOnAnotherQueue.self]) { _ in
            let handle = try await env.withWorker(taskQueue: "backoff-acts", activities: [failing]) { _ in
                let handle = try await env.client.startWorkflow(
                    type: RetriesOnAnotherQueue.name, id: "backoff-stranded", taskQueue: "backoff-wf", args: "backoff-acts")
                #expect(try await eventually { attempts.current >= 1 })
                return handle
            }
            let outcome = try await within(8) { try await handle.result(as: String.self) }
            #expect(outcome == "activity: scheduleToStart", "\(outcome)")
        }
    }

    /// A local activity's schedule-to-close counts from the workflow's clock, which a skipped
    /// timer moved an hour ahead of the worker's: checked against the worker's own clock, the
    /// timeout was not enforced for that hour. Counted on the worker's clock now.
    @Test func aLocalActivitysScheduleToCloseHoldsAfterSkippedTime() async throws {
        let env = try await TestWorkflowEnvironment.start()
        defer { env.shutdown() }
        let slow = ActivityDefinition("slow") { (_: String, _: ActivityContext) -> String in
            try await Task.sleep(for: .seconds(3))
            return "ran"
        }
        let outcome = try await env.execute(LateLocalActivity.self, input: NoValue(), activities: [slow])
        #expect(outcome == "timed out", "\(outcome)")
    }

    @Test func activityFailuresAreRetriedThenReported() async throws {
        let attempts = Counter()
        let flaky = ActivityDefinition("flaky") { (_: String, ctx: ActivityContext) -> String in
            attempts.increment()
            if ctx.info.attempt < 3 { throw ApplicationError("not yet", type: "NotYet") }
            return "ok on \(ctx.info.attempt)"
        }
        let fatal = ActivityDefinition("fatal") { (_: String, _: ActivityContext) -> String in
            throw ApplicationError("never", type: "Fatal", nonRetryable: true)
        }
        let env = try await TestWorkflowEnvironment.start()
        defer { env.shutdown() }
        #expect(try await env.execute(RunActivity.self, input: ActivityCall(activity: "flaky"), activities: [flaky]) == "ok on 3")
        #expect(attempts.current == 3)
        #expect(
            try await env.execute(RunActivity.self, input: ActivityCall(activity: "fatal"), activities: [fatal]) == "error:Fatal|timeout:")
    }

    /// The service's clock moves with real time (plus skips): the worker measures activity
    /// deadlines against the wall clock, so a clock standing still since the environment
    /// started made an activity start past its start-to-close, and the workflow hung.
    @Test func activitiesStartedLongAfterTheEnvironmentKeepTheirDeadline() async throws {
        let env = try await TestWorkflowEnvironment.start()
        defer { env.shutdown() }
        try await Task.sleep(for: .seconds(4))
        let brief = ActivityDefinition("brief") { (_: String, _: ActivityContext) -> String in
            try await Task.sleep(for: .milliseconds(20))
            return "done"
        }
        let result = try await within(30) {
            // 3.5 s: past for a clock stopped 4 s ago, ample for a 20 ms body on a loaded box.
            try await env.execute(RunActivity.self, input: ActivityCall(activity: "brief", startToClose: 3.5), activities: [brief])
        }
        #expect(result == "done")
        #expect(abs(env.service.now.timeIntervalSinceNow) < 5)
    }

    /// A failed attempt's last heartbeat (sent with the failure, as throttled heartbeats are)
    /// is what the next attempt resumes from, as on a real server.
    @Test func theNextAttemptResumesFromTheFailedAttemptsLastHeartbeat() async throws {
        let resumable = ActivityDefinition("resumable") { (_: String, ctx: ActivityContext) -> String in
            let from = try ctx.lastHeartbeatDetails(as: Int.self) ?? 0
            if ctx.info.attempt == 1 {
                // The first heartbeat goes out at once; the next two wait for the throttle (8 s).
                ctx.heartbeat(1)
                try await Task.sleep(for: .milliseconds(200))
                ctx.heartbeat(2)
                ctx.heartbeat(3)
                throw ApplicationError("crash after 3 steps", type: "Crash")
            }
            return "attempt \(ctx.info.attempt) resumed from \(from)"
        }
        let env = try await TestWorkflowEnvironment.start()
        defer { env.shutdown() }
        let result = try await env.execute(
            RunActivity.self, input: ActivityCall(activity: "resumable", heartbeat: 10), activities: [resumable])
        #expect(result == "attempt 2 resumed from 3")
    }

    /// A heartbeat without details clears the progress held, as a server stores each
    /// heartbeat's details whole (`UpdateActivityProgress`): the next attempt starts from
    /// nothing, as it would in production. Before, the earlier details stayed.
    @Test func aHeartbeatWithoutDetailsClearsTheProgressHeld() async throws {
        let forgetful = ActivityDefinition("forgetful") { (_: String, ctx: ActivityContext) -> String in
            let from = try ctx.lastHeartbeatDetails(as: Int.self)
            if ctx.info.attempt == 1 {
                ctx.heartbeat(1)
                try await Task.sleep(for: .milliseconds(200))
                ctx.heartbeat()  // past the 50 ms throttle: sent at once, without details
                try await Task.sleep(for: .seconds(1))
                throw ApplicationError("crash", type: "Crash")
            }
            return "attempt \(ctx.info.attempt) resumed from \(from.map(String.init) ?? "nothing")"
        }
        let env = try await TestWorkflowEnvironment.start()
        defer { env.shutdown() }
        var options = TestWorkflowEnvironment.defaultWorkerOptions
        options.maxHeartbeatThrottleInterval = .milliseconds(50)
        let result = try await env.execute(
            RunActivity.self, input: ActivityCall(activity: "forgetful", heartbeat: 10), activities: [forgetful], options: options)
        #expect(result == "attempt 2 resumed from nothing")
    }

    /// As the frontend does, an attempt cannot fail with anything but an application failure;
    /// the worker wraps a stray cancellation, so the attempt fails at once and is retried.
    @Test func aStrayCancellationFailsTheAttemptAsAnApplicationFailure() async throws {
        let selfCancel = ActivityDefinition("selfCancel") { (_: String, ctx: ActivityContext) -> String in
            if ctx.info.attempt == 1 { throw CancellationError() }
            return "ok on attempt \(ctx.info.attempt)"
        }
        let env = try await TestWorkflowEnvironment.start()
        defer { env.shutdown() }
        let result = try await within(30) {
            try await env.execute(RunActivity.self, input: ActivityCall(activity: "selfCancel"), activities: [selfCancel])
        }
        #expect(result == "ok on attempt 2")
    }

    /// A query right after a signal sees the signal: the service holds it back while the run
    /// has a workflow task to do, as a server does. Before, it went to the second poller at
    /// once and was answered from the history without the signal (0 instead of 1, at times).
    @Test func aQueryAfterASignalSeesIt() async throws {
        let env = try await TestWorkflowEnvironment.start()
        defer { env.shutdown() }
        try await env.withWorker(workflows: [SignalTally.self]) { worker in
            for round in 0..<30 {
                let handle = try await env.client.startWorkflow(
                    type: SignalTally.name, id: "tally-\(round)", taskQueue: worker.taskQueue, args: 2)
                try await handle.signal("add", 1)
                #expect(try await handle.query("count", as: Int.self) == 1, "round \(round)")
                try await handle.signal("add", 1)
                #expect(try await handle.result(as: Int.self) == 2)
            }
        }
    }

    /// A query while a local activity runs past the task timeout (the worker answers each task
    /// with a heartbeat and takes the next at once, so the run always has one) is answered
    /// while it runs, from the history the last task saw: held back until the local activity
    /// ended, it waited as long (here: for ever, as the activity waits for the query's answer).
    @Test func aQueryIsAnsweredWhileALocalActivityRuns() async throws {
        let answered = Flag()
        let waiting = ActivityDefinition("waitsForTheQuery") { (_: String, _: ActivityContext) -> String in
            while !answered.isSet { try await Task.sleep(for: .milliseconds(50)) }
            return "released"
        }
        let env = try await TestWorkflowEnvironment.start()
        defer { env.shutdown() }
        try await env.withWorker(workflows: [LocalThenTally.self], activities: [waiting]) { worker in
            var options = WorkflowOptions()
            options.taskTimeout = .seconds(1)  // a heartbeat every 0.8 s
            let handle = try await env.client.startWorkflow(
                type: LocalThenTally.name, id: "local-query", taskQueue: worker.taskQueue, args: 0, options: options)
            try await Task.sleep(for: .seconds(2))  // two heartbeats in
            let count = try await within(20) { try await handle.query("count", as: Int.self) }
            answered.set()
            #expect(count == 0)
            #expect(try await handle.result(as: String.self) == "released")
        }
    }

    @Test func signalsQueriesAndFailures() async throws {
        let env = try await TestWorkflowEnvironment.start()
        defer { env.shutdown() }
        try await env.withWorker(workflows: [Channelled.self, Refuse.self]) { worker in
            let handle = try await env.client.startWorkflow(type: Channelled.name, id: "words", taskQueue: worker.taskQueue, args: 2)
            try await handle.signal("word", "hello")
            try await handle.signal("word", "world")
            #expect(try await handle.result(as: [String].self) == ["hello", "world"])
            let stack = try await handle.query("__stack_trace", as: String.self)
            #expect(stack.contains("Channelled"))
            let refused = try await env.client.startWorkflow(type: Refuse.name, id: "refuse", taskQueue: worker.taskQueue)
            do {
                _ = try await refused.result(as: String.self)
                Issue.record("a failed workflow's result must throw")
            } catch let error as TemporalError {
                #expect(error.kind == .workflowFailed)
                #expect(error.applicationError?.type == "Nope")
            }
        }
    }

    /// A timer raced against an activity that is still running fires on time (before, timers
    /// fired only by time skipping, which waits for every activity to end: the race was always
    /// won by the activity, 8 s later; margins wide for a loaded machine).
    @Test func aTimerRacedAgainstARunningActivityFiresOnTime() async throws {
        let env = try await TestWorkflowEnvironment.start()
        defer { env.shutdown() }
        let slow = ActivityDefinition("slow") { (_: String, _: ActivityContext) -> String in
            try? await Task.sleep(for: .seconds(8))
            return "activity"
        }
        try await env.withWorker(workflows: [TimerRace.self], activities: [slow]) { worker in
            let started = ContinuousClock.now
            let handle = try await env.client.startWorkflow(type: TimerRace.name, id: "race", taskQueue: worker.taskQueue)
            #expect(try await handle.result(as: String.self) == "timer")
            #expect(ContinuousClock.now - started < .seconds(6))
        }
    }

    /// Workflow code that throws an error that is not an `ApplicationError` fails its workflow
    /// task; the test environment ends the run with that failure, so the test fails at once.
    /// It waited for ever: the worker reports only a first attempt's failure, and each later
    /// attempt timed out after 10 s of real time, again and again.
    @Test(.timeLimit(.minutes(1))) func aFailingWorkflowTaskFailsTheTestAtOnce() async throws {
        let env = try await TestWorkflowEnvironment.start()
        defer { env.shutdown() }
        let started = ContinuousClock.now
        let error = await #expect(throws: TemporalError.self) {
            try await withTimeout(20) { try await env.execute(ThrowsAPlainError.self, input: NoValue()) }
        }
        #expect("\(String(describing: error))".contains("plain failure"), "\(String(describing: error))")
        #expect(ContinuousClock.now - started < .seconds(5))
    }

    /// Search attributes are checked as a server checks them: an upsert of one the namespace
    /// never registered fails the workflow task (BAD_SEARCH_ATTRIBUTES), and so does a value of
    /// another type; a start with one is refused. They passed unchecked: green here, a stuck
    /// workflow in production.
    @Test(.timeLimit(.minutes(1))) func searchAttributesAreCheckedAsAServerChecksThem() async throws {
        let env = try await TestWorkflowEnvironment.start(searchAttributes: ["Stage": .keyword])
        defer { env.shutdown() }
        #expect(try await env.execute(UpsertsStage.self, input: "Stage") == "upserted")
        let unknown = await #expect(throws: TemporalError.self) { try await env.execute(UpsertsStage.self, input: "Phase") }
        #expect("\(String(describing: unknown))".contains("search attribute Phase is not defined"), "\(String(describing: unknown))")
        let wrongType = await #expect(throws: TemporalError.self) { try await env.execute(UpsertsStage.self, input: "Stage:int") }
        // As a server with SQL visibility (the dev server's): a list of one value of the type, no more.
        let listEnv = try await TestWorkflowEnvironment.start(searchAttributes: ["Count": .int, "Day": .datetime])
        defer { listEnv.shutdown() }
        let cases: [(String, any Encodable & Sendable, Bool)] = [
            ("Count", [3], true), ("Count", [3, 4], false), ("Count", 1.5, false), ("Count", true, false),
            ("Day", "2024-03-01T10:00:00Z", true), ("Day", "yesterday", false),
        ]
        for (name, value, accepted) in cases {
            do {
                _ = try await listEnv.client.startWorkflow(
                    type: UpsertsStage.name, id: "sa-\(UUID())", taskQueue: "nobody-polls", args: "Count",
                    options: WorkflowOptions(searchAttributes: [name: value]))
                #expect(accepted, "\(name) = \(value) was accepted")
            } catch {
                #expect(!accepted, "\(name) = \(value) was refused: \(error)")
            }
        }
        #expect("\(String(describing: wrongType))".contains("invalid value for search attribute Stage"), "\(String(describing: wrongType))")
        // A start with an unregistered one, or a system one, is refused; registering it works.
        try await env.withWorker(workflows: [UpsertsStage.self]) { worker in
            for name in ["Phase", "WorkflowId"] {
                await #expect(throws: TemporalError.self) {
                    _ = try await env.client.startWorkflow(
                        type: UpsertsStage.name, id: "sa-\(name)", taskQueue: worker.taskQueue, args: "Stage",
                        options: WorkflowOptions(searchAttributes: [name: "x"]))
                }
            }
            #expect(try await env.client.ensureSearchAttributes(["Phase": .keyword]) == ["Phase"])
            #expect(try await env.client.customSearchAttributes() == ["Stage": .keyword, "Phase": .keyword])
            let handle = try await env.client.startWorkflow(
                type: UpsertsStage.name, id: "sa-registered", taskQueue: worker.taskQueue, args: "Phase",
                options: WorkflowOptions(searchAttributes: ["Phase": "x"]))
            #expect(try await handle.result(as: String.self) == "upserted")
        }
    }

    @Test func unsupportedCommandsSayWhatToDo() async throws {
        let env = try await TestWorkflowEnvironment.start()
        defer { env.shutdown() }
        try await env.withWorker(workflows: [Countdown.self]) { worker in
            let handle = try await env.client.startWorkflow(type: Countdown.name, id: "countdown", taskQueue: worker.taskQueue, args: 1)
            let failed = try await eventually {
                try env.service.history(workflowID: handle.id).contains { $0.eventType == .workflowTaskFailed }
            }
            #expect(failed)
            let history = try env.service.history(workflowID: handle.id)
            let message = history.first { $0.eventType == .workflowTaskFailed }?.workflowTaskFailedEventAttributes.failure.message ?? ""
            #expect(message.contains("dev server"), "\(message)")
            // The run ends, saying why: awaiting its result does not hang (it did: the task was
            // retried once, then the run waited for ever).
            let ending = await #expect(throws: TemporalError.self) { try await handle.result(as: String.self) }
            #expect("\(String(describing: ending))".contains("dev server"), "\(String(describing: ending))")
            #expect(try env.service.history(workflowID: handle.id).last?.eventType == .workflowExecutionTerminated)
        }
    }

    /// The service times activities out as a server does: an attempt that outlives its
    /// start-to-close timeout is tried again while the retry policy allows, then the activity
    /// times out; a heartbeat timeout likewise. Before, the attempt stayed outstanding and the
    /// workflow waited for ever.
    @Test func activitiesTimeOut() async throws {
        let attempts = Counter()
        let stuck = ActivityDefinition("stuck") { (_: String, ctx: ActivityContext) -> String in
            attempts.increment()
            try? await Task.sleep(for: .seconds(30))
            return "late"
        }
        let env = try await TestWorkflowEnvironment.start()
        defer { env.shutdown() }
        let call = ActivityCall(activity: "stuck", startToClose: 0.3, maxAttempts: 2)
        let outcome = try await env.execute(RunActivity.self, input: call, activities: [stuck], id: "stuck")
        let history = try env.service.history(workflowID: "stuck")
        #expect(outcome == "error:|timeout:startToClose", "\(outcome): \(history.map { "\($0.eventType)" })")
        #expect(attempts.current == 2)
        let timedOut = try #require(history.first { $0.eventType == .activityTaskTimedOut }?.activityTaskTimedOutEventAttributes)
        #expect(timedOut.retryState == .maximumAttemptsReached && timedOut.failure.message == "activity StartToClose timeout")

        let silent = ActivityDefinition("silent") { (_: String, _: ActivityContext) -> String in
            try? await Task.sleep(for: .seconds(30))
            return "late"
        }
        let quiet = ActivityCall(activity: "silent", startToClose: 30, heartbeat: 0.3, maxAttempts: 1)
        #expect(try await env.execute(RunActivity.self, input: quiet, activities: [silent]) == "error:|timeout:heartbeat")
    }

    /// A run handle names its workflow: a run id of another workflow, or none, is not found.
    @Test func aRunOfAnotherWorkflowIsNotFound() async throws {
        let env = try await TestWorkflowEnvironment.start()
        defer { env.shutdown() }
        _ = try await env.execute(ThreeSteps.self, input: "x", activities: steps, id: "a")
        _ = try await env.execute(ThreeSteps.self, input: "y", activities: steps, id: "b")
        let runOfB = try env.service.history(workflowID: "b").first?.workflowExecutionStartedEventAttributes.firstExecutionRunID
        #expect(runOfB?.isEmpty == false)
        #expect(throws: GRPCStatusError.self) { _ = try env.service.history(workflowID: "a", runID: runOfB) }
        let error = await #expect(throws: TemporalError.self) {
            try await env.client.workflowHandle(id: "a", runID: runOfB).signal("anything")
        }
        #expect(error?.code == .notFound, "\(String(describing: error))")
    }

    @Test func anActivityRunsWithATestContext() async throws {
        let counting = ActivityDefinition("count") { (to: Int, ctx: ActivityContext) -> Int in
            var n = try ctx.lastHeartbeatDetails(as: Int.self) ?? 0
            while n < to {
                n += 1
                ctx.heartbeat(n)
            }
            return n
        }
        let env = ActivityTestEnvironment()
        #expect(try await env.run(counting, input: 3, as: Int.self) == 3)
        #expect(try env.heartbeats(as: Int.self) == [1, 2, 3], "every heartbeat, before throttling")
        let resumed = ActivityTestEnvironment()
        #expect(try await resumed.run(counting, input: 5, as: Int.self, attempt: 2, previousHeartbeat: 3) == 5)
        #expect(try resumed.heartbeats(as: Int.self) == [4, 5], "resumed from the previous attempt's progress")
    }

    /// Details that cannot be encoded still make a heartbeat (liveness), with the details
    /// recorded last: dropped whole, the server timed the attempt out while its body worked.
    @Test func aHeartbeatWhoseDetailsCannotBeEncodedSendsTheLastOnesAgain() async throws {
        struct Unencodable: Encodable {
            func encode(to encoder: any Encoder) throws {
                throw EncodingError.invalidValue(0, .init(codingPath: [], debugDescription: "no"))
            }
        }
        let step = ActivityDefinition("step") { (_: String, ctx: ActivityContext) -> String in
            ctx.heartbeat(1)
            ctx.heartbeat(Unencodable())
            return "done"
        }
        let env = ActivityTestEnvironment()
        #expect(try await env.run(step, input: "x", as: String.self) == "done")
        #expect(try env.heartbeats(as: Int.self) == [1, 1])
    }

    @Test func aTestActivityCanBeCancelled() async throws {
        let started = Flag()
        let waiting = ActivityDefinition("wait") { (_: String, ctx: ActivityContext) -> String in
            started.set()
            while !Task.isCancelled {
                ctx.heartbeat()
                try? await Task.sleep(for: .milliseconds(5))
            }
            return ctx.isCancellationRequested ? "cancel requested" : "cancelled without a request"
        }
        let env = ActivityTestEnvironment()
        let run = Task { try await env.run(waiting, input: "x", as: String.self) }
        #expect(try await eventually { started.isSet })
        env.cancel()
        #expect(try await run.value == "cancel requested")
    }

    /// A body that never heartbeats never learns of a cancellation and runs on, as under a
    /// worker (whose only news of it is a heartbeat's answer); it was cancelled at once.
    @Test func aBodyThatDoesNotHeartbeatIsNotCancelled() async throws {
        let started = Flag()
        let working = ActivityDefinition("work") { (_: String, ctx: ActivityContext) -> String in
            started.set()
            for _ in 0..<30 { try await Task.sleep(for: .milliseconds(10)) }
            return ctx.isCancellationRequested ? "cancel requested" : "finished"
        }
        let env = ActivityTestEnvironment()
        let run = Task { try await env.run(working, input: "x", as: String.self) }
        #expect(try await eventually { started.isSet })
        env.cancel()
        #expect(try await run.value == "finished")
    }

    /// A query handler's failure reaches the client as a server sends it (`.queryFailed`, with
    /// the failure's type and details; it was a bare INVALID_ARGUMENT), and a query's reject
    /// condition is honoured (it was ignored).
    @Test func queryFailuresAndRejectionsAreAServers() async throws {
        let env = try await TestWorkflowEnvironment.start()
        defer { env.shutdown() }
        try await env.withWorker(workflows: [RefusesQueries.self]) { worker in
            let handle = try await env.client.startWorkflow(type: RefusesQueries.name, id: "refuses", taskQueue: worker.taskQueue)
            let error = await #expect(throws: TemporalError.self) { try await handle.query("secret", as: String.self) }
            #expect(error?.kind == .queryFailed, "\(String(describing: error))")
            #expect(error?.applicationError?.type == "Refused")
            #expect(try error?.applicationError?.detail(as: String.self) == "sealed query detail")
            try await handle.terminate(reason: "test over")
            let rejected = await #expect(throws: TemporalError.self) {
                try await handle.query("secret", as: String.self, rejectCondition: .notOpen)
            }
            #expect(rejected?.kind == .queryFailed && rejected?.message.contains("rejected") == true, "\(String(describing: rejected))")
        }
    }

    /// Workflow id policies as a server applies them: a second start is refused with the running
    /// run's id, `useExisting` returns it, `terminateExisting` replaces it, and `rejectDuplicate`
    /// refuses a closed run's id. Before, the refusal named no run, `useExisting` said it
    /// started one, `terminateExisting` was refused and `rejectDuplicate` ignored.
    @Test func workflowIDPoliciesAreAServers() async throws {
        let env = try await TestWorkflowEnvironment.start()
        defer { env.shutdown() }
        try await env.withWorker(workflows: [RefusesQueries.self]) { worker in
            let first = try await env.client.startWorkflow(type: RefusesQueries.name, id: "once", taskQueue: worker.taskQueue)
            let refused = await #expect(throws: TemporalError.self) {
                try await env.client.startWorkflow(type: RefusesQueries.name, id: "once", taskQueue: worker.taskQueue)
            }
            #expect(refused?.alreadyStartedRunID == first.resultRunID, "\(String(describing: refused))")
            let existing = try await env.client.startWorkflow(
                type: RefusesQueries.name, id: "once", taskQueue: worker.taskQueue, options: WorkflowOptions(idConflictPolicy: .useExisting)
            )
            #expect(existing.resultRunID == first.resultRunID)
            let replacing = try await env.client.startWorkflow(
                type: RefusesQueries.name, id: "once", taskQueue: worker.taskQueue,
                options: WorkflowOptions(idConflictPolicy: .terminateExisting))
            #expect(replacing.resultRunID != first.resultRunID)
            #expect(try env.service.history(workflowID: "once", runID: first.resultRunID).last?.eventType == .workflowExecutionTerminated)
            try await replacing.terminate(reason: "done")
            let duplicate = await #expect(throws: TemporalError.self) {
                try await env.client.startWorkflow(
                    type: RefusesQueries.name, id: "once", taskQueue: worker.taskQueue,
                    options: WorkflowOptions(idReusePolicy: .rejectDuplicate))
            }
            #expect(duplicate?.alreadyStartedRunID == replacing.resultRunID, "\(String(describing: duplicate))")
            // TERMINATE_IF_RUNNING with a conflict policy, and REJECT_DUPLICATE with
            // TERMINATE_EXISTING, are refused as a server refuses them (INVALID_ARGUMENT, not
            // ALREADY_EXISTS or a terminated run), open run or not.
            let open = try await env.client.startWorkflow(type: RefusesQueries.name, id: "both-policies", taskQueue: worker.taskQueue)
            for id in ["both-policies", "no-run-yet"] {
                for options in [
                    WorkflowOptions(idReusePolicy: .terminateIfRunning, idConflictPolicy: .fail),
                    WorkflowOptions(idReusePolicy: .rejectDuplicate, idConflictPolicy: .terminateExisting),
                ] {
                    let both = await #expect(throws: TemporalError.self) {
                        try await env.client.startWorkflow(
                            type: RefusesQueries.name, id: id, taskQueue: worker.taskQueue, options: options)
                    }
                    #expect(both?.code == .invalidArgument, "\(id): \(String(describing: both))")
                }
            }
            #expect(try env.service.history(workflowID: "both-policies").last?.eventType != .workflowExecutionTerminated)
            try await open.terminate(reason: "done")
        }
    }

    /// A run that closed before any workflow task completed has no state to query: the query
    /// fails at once (WorkflowNotReady, FAILED_PRECONDITION), as on a server. Before, it went to
    /// a worker, which answered from a replay of nothing.
    @Test func aQueryOfARunClosedBeforeItsFirstTaskFailsAtOnce() async throws {
        let env = try await TestWorkflowEnvironment.start()
        defer { env.shutdown() }
        let handle = try await env.client.startWorkflow(type: RefusesQueries.name, id: "closed-early", taskQueue: "nobody-yet")
        try await handle.terminate(reason: "before any worker ran it")
        try await env.withWorker(taskQueue: "nobody-yet", workflows: [RefusesQueries.self]) { _ in
            let error = await #expect(throws: TemporalError.self) { try await handle.query("secret", as: String.self) }
            #expect(error?.code == .failedPrecondition, "\(String(describing: error))")
            #expect(error?.message.contains("closed before WorkflowTaskStarted") == true, "\(String(describing: error))")
        }
    }

    /// A start with the request id of the start that made the workflow id's current run is
    /// answered with that run, open or closed, whatever the policies, as a server dedupes a
    /// retried start (`WorkflowOptions.requestID`). Before, it was refused while the run was
    /// open and started a second run once it had closed.
    @Test func aStartWithTheSameRequestIDIsTheSameRun() async throws {
        let env = try await TestWorkflowEnvironment.start()
        defer { env.shutdown() }
        try await env.withWorker(workflows: [RefusesQueries.self]) { worker in
            let options = WorkflowOptions(requestID: "start-once")
            let first = try await env.client.startWorkflow(
                type: RefusesQueries.name, id: "deduped", taskQueue: worker.taskQueue, options: options)
            let again = try await env.client.startWorkflow(
                type: RefusesQueries.name, id: "deduped", taskQueue: worker.taskQueue, options: options)
            #expect(again.resultRunID == first.resultRunID)
            try await first.terminate(reason: "closed")
            let afterClose = try await env.client.startWorkflow(
                type: RefusesQueries.name, id: "deduped", taskQueue: worker.taskQueue, options: options)
            #expect(afterClose.resultRunID == first.resultRunID)
            // Another request id starts a new run (the closed one's id may be reused).
            let other = try await env.client.startWorkflow(type: RefusesQueries.name, id: "deduped", taskQueue: worker.taskQueue)
            #expect(other.resultRunID != first.resultRunID)
            try await other.terminate(reason: "done")
        }
    }

    /// Time is skipped only while a client waits for a result, as Temporal's test server does: a
    /// test can signal a run that waits on a timer before the timer fires. Before, the timer
    /// fired in the answer that started it, and the signal always came too late.
    @Test func timeIsSkippedOnlyWhileAResultIsAwaited() async throws {
        let env = try await TestWorkflowEnvironment.start()
        defer { env.shutdown() }
        try await env.withWorker(workflows: [AwaitsApproval.self]) { worker in
            let handle = try await env.client.startWorkflow(type: AwaitsApproval.name, id: "approval", taskQueue: worker.taskQueue)
            #expect(try await eventually { try env.service.history(workflowID: "approval").contains { $0.eventType == .timerStarted } })
            try await Task.sleep(for: .milliseconds(100))
            try await handle.signal("approve")
            #expect(try await handle.result(as: String.self) == "approved")
            // Nobody signals this one: awaiting its result skips its hour.
            let unattended = try await env.client.startWorkflow(type: AwaitsApproval.name, id: "unattended", taskQueue: worker.taskQueue)
            #expect(try await unattended.result(as: String.self) == "timed out")
        }
    }

    /// A cancellation asked for before the attempt starts is not lost: it was, when `run` reset
    /// the environment's state after `cancel()`, and the attempt then waited for ever.
    @Test func aCancellationBeforeTheAttemptStartsCancelsIt() async throws {
        let waiting = ActivityDefinition("wait") { (_: String, ctx: ActivityContext) -> String in
            while !Task.isCancelled {
                ctx.heartbeat()
                try? await Task.sleep(for: .milliseconds(5))
            }
            return ctx.isCancellationRequested ? "cancel requested" : "cancelled without a request"
        }
        let env = ActivityTestEnvironment()
        env.cancel()
        #expect(try await env.run(waiting, input: "x", as: String.self) == "cancel requested")
        let next = Task { try await env.run(waiting, input: "x", as: String.self) }
        try await Task.sleep(for: .milliseconds(200))
        env.cancel()
        #expect(try await next.value == "cancel requested", "a run after it starts without the earlier cancellation")
    }

    // MARK: Worker behaviour, server-free (these needed a dev server, and seconds, before)

    @Test func anOutageIsLoggedOnceAndTheRecoveryToo() async throws {
        let env = try await TestWorkflowEnvironment.start()
        defer { env.shutdown() }
        let box = LogBox()
        var options = TestWorkflowEnvironment.defaultWorkerOptions
        options.logger = Logger(label: "outage") { _ in CapturingLogHandler(box: box) }
        env.service.failNextCalls(to: "PollWorkflowTaskQueue", count: 6, code: .unavailable)
        try await env.withWorker(workflows: [Sleeper.self], options: options) { worker in
            let handle = try await env.client.startWorkflow(type: Sleeper.name, id: "after-outage", taskQueue: worker.taskQueue, args: 1.0)
            let elapsed = try await handle.result(as: Double.self)
            #expect(elapsed >= 1 && elapsed < 30, "the workflow ran once polling worked again: \(elapsed)")
        }
        let lines = box.lines.withLock { $0 }
        #expect(lines.filter { $0.contains("retrying with backoff") }.count == 1, "\(lines)")
        #expect(lines.contains { $0.contains("works again after") }, "\(lines)")
    }

    @Test func aPollErrorThatWillNotHealStopsTheWorker() async throws {
        let env = try await TestWorkflowEnvironment.start()
        defer { env.shutdown() }
        env.service.failNextCalls(to: "PollWorkflowTaskQueue", count: 1_000, code: .notFound, message: "namespace default is not found")
        let worker = Worker(
            client: env.client, taskQueue: "stopped", workflows: [Sleeper.self],
            options: TestWorkflowEnvironment.defaultWorkerOptions)
        let error = await #expect(throws: WorkerStoppedError.self) { try await worker.run() }
        #expect("\(String(describing: error))".contains("temporal operator namespace describe"))
    }

    @Test func activitySlotsBoundWhatRunsAtOnce() async throws {
        let running = Counter()
        let most = Counter()
        let slow = ActivityDefinition("echo") { (value: String, _: ActivityContext) -> String in
            // The peak in one locked step (a check-then-increment loop raced: two activities
            // that both saw 1 running and 1 as the peak pushed it to 3 with two slots).
            most.raise(to: running.increment())
            try await Task.sleep(for: .milliseconds(20))
            running.decrement()
            return value
        }
        let env = try await TestWorkflowEnvironment.start()
        defer { env.shutdown() }
        var options = TestWorkflowEnvironment.defaultWorkerOptions
        options.maxConcurrentActivities = 2
        let total = try await env.execute(ManyActivities.self, input: [2, 6], activities: [slow], options: options)
        #expect(total == 12)
        #expect(most.current == 2, "six activities scheduled at once, two slots")
    }

    /// Activity "step1": sets `started`, then takes 300 ms to finish.
    static func finishingStep(_ started: Flag) -> ActivityDefinition {
        ActivityDefinition("step1") { (value: String, _: ActivityContext) -> String in
            started.set()
            try await Task.sleep(for: .milliseconds(300))
            return value + " finished"
        }
    }

    /// A new environment and a worker on `queue` running `ThreeSteps`, returned once its first
    /// step (`step`, which sets `started`) runs. The caller shuts the environment down.
    func workerRunningFirstStep(
        _ step: ActivityDefinition, started: Flag, queue: String, options: WorkerOptions = TestWorkflowEnvironment.defaultWorkerOptions
    ) async throws -> (TestWorkflowEnvironment, Worker, Task<Void, any Error>) {
        let env = try await TestWorkflowEnvironment.start()
        let worker = Worker(client: env.client, taskQueue: queue, workflows: [ThreeSteps.self], activities: [step], options: options)
        let run = Task { try await worker.run() }
        _ = try await env.client.startWorkflow(type: ThreeSteps.name, id: queue, taskQueue: queue, args: "x")
        #expect(try await eventually { started.isSet })
        return (env, worker, run)
    }

    @Test func shutdownLetsARunningActivityFinishFirst() async throws {
        let started = Flag()
        let (env, worker, run) = try await workerRunningFirstStep(Self.finishingStep(started), started: started, queue: "drain")
        defer { env.shutdown() }
        await worker.shutdown(gracePeriod: .seconds(5))
        _ = await run.result
        let history = try env.service.history(workflowID: "drain")
        let completed = history.first { $0.eventType == .activityTaskCompleted }
        #expect(completed != nil, "the activity running at shutdown completed within the grace period")
    }

    /// An activity learns that its worker is shutting down (as Go's GetWorkerStopChannel), so
    /// that a long one can record its progress and end within the grace period.
    @Test func anActivityHearsThatItsWorkerIsShuttingDown() async throws {
        let started = Flag()
        let noticed = Flag()
        let listening = ActivityDefinition("step1") { (_: String, ctx: ActivityContext) -> String in
            #expect(!ctx.isWorkerShuttingDown)
            started.set()
            await ctx.workerShutdown()
            if ctx.isWorkerShuttingDown { noticed.set() }
            return "stopped early"
        }
        let (env, worker, run) = try await workerRunningFirstStep(listening, started: started, queue: "notice")
        defer { env.shutdown() }
        await worker.shutdown(gracePeriod: .seconds(30))
        _ = await run.result
        #expect(noticed.isSet)
        let history = try env.service.history(workflowID: "notice")
        #expect(history.contains { $0.eventType == .activityTaskCompleted }, "it ended within the grace period")
    }

    /// A later request with a shorter grace period shortens a graceful shutdown under way:
    /// cancelling `run()` (what a service group does when its own graceful shutdown times out)
    /// stops the activity at once instead of after the first request's 30 s.
    @Test func aShorterShutdownRequestShortensTheGracePeriod() async throws {
        let started = Flag()
        let stubborn = ActivityDefinition("step1") { (_: String, _: ActivityContext) -> String in
            started.set()
            try await Task.sleep(for: .seconds(60))
            return "late"
        }
        var options = TestWorkflowEnvironment.defaultWorkerOptions
        options.gracefulShutdownTimeout = .seconds(30)
        let (env, worker, run) = try await workerRunningFirstStep(stubborn, started: started, queue: "shorten", options: options)
        defer { env.shutdown() }
        worker.requestShutdown()
        try await Task.sleep(for: .milliseconds(500))
        let clock = ContinuousClock()
        let cancelledAt = clock.now
        run.cancel()
        _ = await run.result
        #expect(clock.now - cancelledAt < .seconds(5), "run() returned \(clock.now - cancelledAt) after its cancellation")
    }

    @Test func aServiceGroupsGracefulShutdownDrainsTheWorker() async throws {
        let started = Flag()
        let finishing = Self.finishingStep(started)
        let env = try await TestWorkflowEnvironment.start()
        defer { env.shutdown() }
        let worker = Worker(
            client: env.client, taskQueue: "group", workflows: [ThreeSteps.self], activities: [finishing],
            options: TestWorkflowEnvironment.defaultWorkerOptions)
        let group = ServiceGroup(services: [worker], logger: Logger(label: "test-group"))
        let running = Task { try await group.run() }
        _ = try await env.client.startWorkflow(type: ThreeSteps.name, id: "group", taskQueue: "group", args: "x")
        #expect(try await eventually { started.isSet })
        await group.triggerGracefulShutdown()
        try await running.value
        let history = try env.service.history(workflowID: "group")
        #expect(history.contains { $0.eventType == .activityTaskCompleted }, "the running activity finished before the group ended")
    }

    @Test func errorsKeepTheirCause() async throws {
        let env = try await TestWorkflowEnvironment.start()
        defer { env.shutdown() }
        env.service.failNextCalls(to: "StartWorkflowExecution", code: .permissionDenied, message: "not yours")
        do {
            _ = try await env.client.startWorkflow(type: "Any", id: "refused", taskQueue: "q")
            Issue.record("the start must fail")
        } catch let error as TemporalError {
            let status = try #require(error.cause as? GRPCStatusError)
            #expect(status.code == .permissionDenied && status.message == "not yours")
        }
        do {
            _ = try DataConverter.default.payloadConverter.fromPayload(try DataConverter.default.toPayload("text"), as: Int.self)
            Issue.record("decoding a string as an Int must fail")
        } catch let error as TemporalError {
            #expect(error.cause is DecodingError)
        }
    }

    @Test func anActivityMayShutTheWorkerDown() async throws {
        let box = StoppingWorkerBox()
        let stopper = ActivityDefinition("step1") { (value: String, _: ActivityContext) -> String in
            await box.worker?.shutdown(gracePeriod: .milliseconds(100))
            return value
        }
        let env = try await TestWorkflowEnvironment.start()
        defer { env.shutdown() }
        let worker = Worker(
            client: env.client, taskQueue: "stopper", workflows: [ThreeSteps.self], activities: [stopper],
            options: TestWorkflowEnvironment.defaultWorkerOptions)
        box.worker = worker
        let run = Task { try await worker.run() }
        _ = try await env.client.startWorkflow(type: ThreeSteps.name, id: "stopper", taskQueue: "stopper", args: "x")
        // The worker's run() waits for its executions, this activity among them: no deadlock.
        try await withTimeout(30) { try await run.value }
    }
}

final class StoppingWorkerBox: @unchecked Sendable {
    var worker: Worker?
}

/// The in-memory service's sticky queues and eager activities, under the real worker.
@Suite struct InMemoryStickyAndEagerTests {
    private static let steps = ["step1", "step2", "step3"].map { name in
        ActivityDefinition(name) { (s: String, _: ActivityContext) in s + name.suffix(1) }
    }

    @Test func cachedRunsGetTheirTasksOnTheStickyQueueAndActivitiesRunEagerly() async throws {
        let env = try await TestWorkflowEnvironment.start()
        var options = TestWorkflowEnvironment.defaultWorkerOptions
        options.maxCachedWorkflows = 10
        options.eagerActivities = true
        try await env.withWorker(
            taskQueue: "sticky", workflows: [ThreeSteps.self, SumSignals.self], activities: Self.steps, options: options
        ) {
            worker in
            let handle = try await env.client.startWorkflow(type: ThreeSteps.name, id: "sticky-1", taskQueue: "sticky", arguments: ["a-"])
            #expect(try await handle.result(as: String.self) == "a-123")
            // The last task is counted once its answer was acknowledged, maybe after the result.
            #expect(try await eventually(10) { worker.metrics.snapshot.workflowTasks == 4 })
            let metrics = worker.metrics.snapshot
            #expect(metrics.cacheHits == 3, "every task after the first on the sticky queue, from the cache")
            #expect(metrics.eagerActivities == 3, "each activity handed back with the task that scheduled it")
            // Evicted: the next task on the sticky queue has only new events; the worker
            // fetches the full history and replays.
            let second = try await env.client.startWorkflow(type: SumSignals.name, id: "sticky-2", taskQueue: "sticky", arguments: [3])
            #expect(try await eventually(10) { worker.cachedRunCount == 1 })
            #expect(worker.evictFromCache(runID: try #require(second.resultRunID)))
            try await second.signal("add", 3)
            #expect(try await second.result(as: Int.self) == 3)
            #expect(try await eventually(10) { worker.metrics.snapshot.workflowTasks == 6 })
            #expect(worker.metrics.snapshot.fullReplays == 3, "the first task of each run, and the one after the eviction")
        }
    }

    @Test func aStoppedWorkersStickyTasksGoBackToTheNormalQueue() async throws {
        let env = try await TestWorkflowEnvironment.start()
        var options = TestWorkflowEnvironment.defaultWorkerOptions
        options.maxCachedWorkflows = 10
        let handle = try await env.withWorker(taskQueue: "handover", workflows: [SumSignals.self], options: options) { worker in
            let handle = try await env.client.startWorkflow(type: SumSignals.name, id: "handover", taskQueue: "handover", arguments: [5])
            #expect(try await eventually(10) { worker.cachedRunCount == 1 })
            return handle
        }
        // The first worker stopped (ShutdownWorker): a second one gets the run's next task with
        // the full history, on the normal queue.
        try await env.withWorker(taskQueue: "handover", workflows: [SumSignals.self], options: options) { worker in
            try await handle.signal("add", 2)
            try await handle.signal("add", 3)
            #expect(try await handle.result(as: Int.self) == 5)
            #expect(try await eventually(10) { worker.metrics.snapshot.fullReplays >= 1 })
        }
    }
}

/// A 300 ms timer against an activity of 3 s: the first to finish wins.
final class TimerRace: Workflow {
    init() {}
    func run(context: WorkflowContext, input: NoValue) async throws -> String {
        var options = ActivityOptions(startToCloseTimeout: .seconds(10))
        options.cancellationType = .abandon
        let abandoning = options
        return try await withThrowingTaskGroup(of: String.self) { group in
            group.addTask { try await context.executeActivity("slow", input: "x", options: abandoning, as: String.self) }
            group.addTask {
                try await context.sleep(for: .milliseconds(300))
                return "timer"
            }
            let first = try await group.next() ?? "none"
            group.cancelAll()
            return first
        }
    }
}

/// Waits up to an hour for the "approve" signal.
final class AwaitsApproval: Workflow {
    private var approved = false
    init() {}
    func run(context: WorkflowContext, input: NoValue) async throws -> String {
        context.setSignalHandler("approve") { self.approved = true }
        return try await context.condition(timeout: .seconds(3600)) { self.approved } ? "approved" : "timed out"
    }
}

/// One activity, then two under one id at once: a server refuses the second workflow task.
final class TwinsAfterOne: Workflow {
    init() {}
    func run(context: WorkflowContext, input: String) async throws -> String {
        let first = try await context.executeActivity("step1", input: input, options: tenSeconds, as: String.self)
        let options = ActivityOptions(startToCloseTimeout: .seconds(10), activityID: "same")
        async let a = context.executeActivity("step1", input: first, options: options, as: String.self)
        async let b = context.executeActivity("step2", input: first, options: options, as: String.self)
        return try await a + b
    }
}

/// Schedules `step1` and `step2` under one activity id (refused) until signal "fix" came, then
/// under their own.
final class TwinsUntilFixed: Workflow {
    var fixed = false
    init() {}
    func run(context: WorkflowContext, input: String) async throws -> String {
        context.setSignalHandler("fix") { self.fixed = true }
        let options = ActivityOptions(startToCloseTimeout: .seconds(10), activityID: fixed ? nil : "same")
        async let a = context.executeActivity("step1", input: input, options: options, as: String.self)
        async let b = context.executeActivity("step2", input: input, options: options, as: String.self)
        return try await a + b
    }
}

/// Runs `step1` `input` times at once; returns how many ran.
final class FansOut: Workflow {
    init() {}
    func run(context: WorkflowContext, input: Int) async throws -> Int {
        try await withThrowingTaskGroup(of: String.self) { group in
            for index in 0..<input {
                group.addTask { try await context.executeActivity("step1", input: "\(index)", options: tenSeconds, as: String.self) }
            }
            return try await group.reduce(0) { count, _ in count + 1 }
        }
    }
}

/// Waits for signal "go", then fails its workflow task (an error that is not a failure) the
/// first two times it gets there, by input.
final class FailsTwiceAfterASignal: Workflow {
    static let tries = Mutex<[String: Int]>([:])
    var go = false
    init() {}
    func run(context: WorkflowContext, input: String) async throws -> String {
        context.setSignalHandler("go") { self.go = true }
        try await context.condition { self.go }
        let tries = Self.tries.withLock { tries in
            tries[input, default: 0] += 1
            return tries[input, default: 0]
        }
        struct NotYet: Error {}
        if tries <= 2 { throw NotYet() }
        return "passed on try \(tries)"
    }
}

/// Cancels an activity once it runs, waits for its answer, and says how the activity ended.
final class CancelsARunningActivity: Workflow {
    init() {}
    func run(context: WorkflowContext, input: String) async throws -> String {
        var options = ActivityOptions(startToCloseTimeout: .seconds(10), heartbeatTimeout: .seconds(3))
        options.cancellationType = .waitCancellationCompleted
        let waiting = options
        return await valueUnlessCancelled(after: .milliseconds(300), context: context, cancelled: "cancelled") {
            try await context.executeActivity("givesUp", input: input, options: waiting, as: String.self)
        }
    }
}

/// Cancels (waiting for its outcome) an activity that ignores the request until its
/// schedule-to-close timeout (2 s) ends it.
final class CancelsAnActivityThatTimesOut: Workflow {
    init() {}
    func run(context: WorkflowContext, input: String) async throws -> String {
        var options = ActivityOptions(scheduleToCloseTimeout: .seconds(2), startToCloseTimeout: .seconds(10))
        options.cancellationType = .waitCancellationCompleted
        let waiting = options
        return await valueUnlessCancelled(after: .milliseconds(300), context: context, cancelled: "cancelled") {
            try await context.executeActivity("ignoresCancel", input: input, options: waiting, as: String.self)
        }
    }
}

/// Where the in-memory service used to accept what a server refuses, or refuse what it accepts.
@Suite struct InMemoryServerRulesTests {
    /// An activity whose cancellation was asked for and that then times out schedule-to-close
    /// says so (CANCEL_REQUESTED), as a server's retry decision checks the request first. It
    /// said TIMEOUT.
    @Test func aTimeoutAfterACancelRequestSaysSo() async throws {
        let ignoresCancel = ActivityDefinition("ignoresCancel") { (_: String, _: ActivityContext) -> String in
            try? await Task.sleep(for: .seconds(4))
            return "late"
        }
        let env = try await TestWorkflowEnvironment.start()
        defer { env.shutdown() }
        _ = try await env.execute(CancelsAnActivityThatTimesOut.self, input: "x", activities: [ignoresCancel], id: "cancel-then-timeout")
        let history = try env.service.history(workflowID: "cancel-then-timeout")
        let timedOut = try #require(history.first { $0.eventType == .activityTaskTimedOut }, "\(history.map { "\($0.eventType)" })")
        let attributes = timedOut.activityTaskTimedOutEventAttributes
        #expect(attributes.retryState == .cancelRequested, "\(attributes)")
        #expect(attributes.failure.message == "activity ScheduleToClose timeout", "\(attributes)")
    }

    let steps = ["step1", "step2"].map { name in
        ActivityDefinition(name) { (value: String, _: ActivityContext) in value + "+" + name }
    }

    /// An activity id already used by an open activity of the run fails the workflow task with
    /// SCHEDULE_ACTIVITY_DUPLICATE_ID, as a server's does. Before, both ran and the test passed
    /// where the run would be stuck on a server.
    @Test func aDuplicateActivityIDFailsTheWorkflowTask() async throws {
        let env = try await TestWorkflowEnvironment.start(workflowTaskFailuresEndRuns: false)  // the retry is what is tested
        defer { env.shutdown() }
        try await env.withWorker(workflows: [TwinsAfterOne.self], activities: steps) { worker in
            let handle = try await env.client.startWorkflow(type: TwinsAfterOne.name, id: "twins", taskQueue: worker.taskQueue, args: "x")
            #expect(
                try await eventually {
                    try env.service.history(workflowID: handle.id).contains {
                        $0.eventType == .workflowTaskFailed && $0.workflowTaskFailedEventAttributes.cause == .scheduleActivityDuplicateID
                    }
                })
            try await handle.terminate(reason: "done")
        }
    }

    /// An activity whose cancellation nobody asked for cannot be reported cancelled: INVALID_ARGUMENT,
    /// as a server answers, and the attempt goes on. Before, it ended as cancelled.
    @Test func aCancellationNobodyAskedForIsRefused() async throws {
        let tokens = Recorded<Data>()
        let external = ActivityDefinition("external") { (_: String, ctx: ActivityContext) -> String in
            tokens.append(ctx.info.taskToken)
            try ctx.completeAsynchronously()
        }
        let env = try await TestWorkflowEnvironment.start()
        defer { env.shutdown() }
        try await env.withWorker(workflows: [RunActivity.self], activities: [external]) { worker in
            let handle = try await env.client.startWorkflow(
                type: RunActivity.name, id: "unasked", taskQueue: worker.taskQueue,
                args: ActivityCall(activity: "external", startToClose: 30, maxAttempts: 1))
            let token = try #require(try await firstToken(tokens, count: 1))
            let activity = env.client.asyncActivityHandle(taskToken: token)
            let error = await #expect(throws: TemporalError.self) { try await activity.reportCancellation() }
            #expect(error?.code == .invalidArgument, "\(String(describing: error))")
            try await activity.complete("done")
            #expect(try await handle.result(as: String.self) == "done")
        }
    }

    /// A workflow task that failed on a sticky queue is followed by a first attempt, as a server
    /// numbers it (the worker reports only a first attempt's failure). Before, attempt 2: a bug
    /// the retried task hit went unreported.
    @Test func aTaskFailedOnAStickyQueueIsRetriedAsAFirstAttempt() async throws {
        let env = try await TestWorkflowEnvironment.start(workflowTaskFailuresEndRuns: false)  // the retry is what is tested
        defer { env.shutdown() }
        var options = TestWorkflowEnvironment.defaultWorkerOptions
        options.maxCachedWorkflows = 10
        try await env.withWorker(workflows: [TwinsAfterOne.self], activities: steps, options: options) { worker in
            let handle = try await env.client.startWorkflow(
                type: TwinsAfterOne.name, id: "sticky-twins", taskQueue: worker.taskQueue, args: "x")
            #expect(
                try await eventually { try env.service.history(workflowID: handle.id).contains { $0.eventType == .workflowTaskFailed } })
            let history = try env.service.history(workflowID: handle.id)
            let failed = try #require(history.firstIndex { $0.eventType == .workflowTaskFailed })
            let next = try #require(history[failed...].first { $0.eventType == .workflowTaskScheduled })
            #expect(next.workflowTaskScheduledEventAttributes.attempt == 1, "\(history.map { "\($0.eventType)" })")
            try await handle.terminate(reason: "done")
        }
    }

    /// A run with as many activities open as a server allows (2,000) cannot schedule one more:
    /// the workflow task fails (PENDING_ACTIVITIES_LIMIT_EXCEEDED), as a server's does. Before,
    /// a fan-out over more passed here and was stuck on a server.
    @Test func oneActivityOverThePendingLimitFailsTheWorkflowTask() async throws {
        let env = try await TestWorkflowEnvironment.start(workflowTaskFailuresEndRuns: false)  // the retry is what is tested
        defer { env.shutdown() }
        try await env.withWorker(workflows: [FansOut.self], activities: steps) { worker in
            let handle = try await env.client.startWorkflow(type: FansOut.name, id: "fan-out", taskQueue: worker.taskQueue, args: 2_001)
            #expect(
                try await eventually {
                    try env.service.history(workflowID: handle.id).contains {
                        $0.eventType == .workflowTaskFailed
                            && $0.workflowTaskFailedEventAttributes.cause == .pendingActivitiesLimitExceeded
                            && $0.workflowTaskFailedEventAttributes.failure.message.contains("per-workflow limit of 2000")
                    }
                })
            #expect(try !env.service.history(workflowID: handle.id).contains { $0.eventType == .activityTaskScheduled })
            // Refused the same way every time, the task is retried once and not in a loop that
            // only grows the history (a server's retries are transient: it writes none of them).
            // (The retry is waited for: a loaded CI run took more than half a second over it.)
            @Sendable func failures() throws -> Int {
                try env.service.history(workflowID: handle.id).count { $0.eventType == .workflowTaskFailed }
            }
            #expect(try await eventually { try failures() >= 2 })
            try await Task.sleep(for: .milliseconds(500))
            let failed = try failures()
            #expect(failed == 2, "\(failed) failed tasks")
            try await handle.terminate(reason: "done")
        }
    }

    /// A run left without a task after its commands were refused twice gets one when an event
    /// comes, as a first attempt (a server numbers a task that new events precede so): the
    /// signal here lets the code schedule what it may, and the run completes. The task came as
    /// attempt 3, whose failures a worker does not report.
    @Test func anEventAfterRefusedTasksBringsAFirstAttempt() async throws {
        let env = try await TestWorkflowEnvironment.start(workflowTaskFailuresEndRuns: false)  // the retry is what is tested
        defer { env.shutdown() }
        try await env.withWorker(workflows: [TwinsUntilFixed.self], activities: steps) { worker in
            let handle = try await env.client.startWorkflow(
                type: TwinsUntilFixed.name, id: "twins-until-fixed", taskQueue: worker.taskQueue, args: "x")
            #expect(
                try await eventually {
                    try env.service.history(workflowID: handle.id).count { $0.eventType == .workflowTaskFailed } == 2
                })
            try await handle.signal("fix")
            #expect(try await withTimeout(30) { try await handle.result(as: String.self) } == "x+step1x+step2")
            let history = try env.service.history(workflowID: handle.id)
            let signaled = try #require(history.firstIndex { $0.eventType == .workflowExecutionSignaled })
            let next = try #require(history[signaled...].first { $0.eventType == .workflowTaskScheduled })
            #expect(next.workflowTaskScheduledEventAttributes.attempt == 1, "\(next.workflowTaskScheduledEventAttributes)")
        }
    }

    /// A task that failed on a sticky queue and again on the normal one (both first attempts,
    /// both reported) was not retried again: the run had no task until another event came, and
    /// a test awaiting its result waited for ever. A server retries a failed task until it passes.
    @Test func aTaskThatFailsTwiceIsStillRetried() async throws {
        let env = try await TestWorkflowEnvironment.start(workflowTaskFailuresEndRuns: false)  // the retry is what is tested
        defer { env.shutdown() }
        var options = TestWorkflowEnvironment.defaultWorkerOptions
        options.maxCachedWorkflows = 10
        try await env.withWorker(workflows: [FailsTwiceAfterASignal.self], options: options) { worker in
            let handle = try await env.client.startWorkflow(
                type: FailsTwiceAfterASignal.name, id: "fails-twice", taskQueue: worker.taskQueue, args: "fails-twice")
            #expect(
                try await eventually {
                    try env.service.history(workflowID: handle.id).contains { $0.eventType == .workflowTaskCompleted }
                })
            try await handle.signal("go")
            let result = try await withTimeout(60) { try await handle.result(as: String.self) }
            #expect(result == "passed on try 3")
            let failures = try env.service.history(workflowID: handle.id).filter { $0.eventType == .workflowTaskFailed }
            #expect(failures.count >= 2)
        }
    }

    /// An activity that fails after its cancellation was asked for is not retried, and its
    /// failure says why as a server's does: CANCEL_REQUESTED (it said MAXIMUM_ATTEMPTS_REACHED).
    @Test func aFailureAfterACancelRequestSaysSo() async throws {
        let givesUp = ActivityDefinition("givesUp") { (_: String, ctx: ActivityContext) -> String in
            while !ctx.isCancellationRequested {
                ctx.heartbeat()
                try? await Task.sleep(for: .milliseconds(20))
            }
            throw ApplicationError("gave up", type: "GaveUp")
        }
        let env = try await TestWorkflowEnvironment.start()
        defer { env.shutdown() }
        // The cancel arrives on a heartbeat every 0.5 s (not 2.4 s of the 3 s timeout: a loaded box could time it out).
        var options = TestWorkflowEnvironment.defaultWorkerOptions
        options.maxHeartbeatThrottleInterval = .milliseconds(500)
        _ = try await env.execute(CancelsARunningActivity.self, input: "x", activities: [givesUp], id: "gives-up", options: options)
        let history = try env.service.history(workflowID: "gives-up")
        let failed = try #require(history.first { $0.eventType == .activityTaskFailed }, "\(history.map { "\($0.eventType)" })")
        #expect(failed.activityTaskFailedEventAttributes.retryState == .cancelRequested, "\(failed.activityTaskFailedEventAttributes)")
    }

    /// Options the service does not honour are refused at start, as its documentation says,
    /// rather than accepted and ignored (a run that a server times out completed here).
    @Test func startOptionsTheServiceDoesNotModelAreRefused() async throws {
        let env = try await TestWorkflowEnvironment.start()
        defer { env.shutdown() }
        var options = WorkflowOptions()
        options.runTimeout = .seconds(300)
        let error = await #expect(throws: TemporalError.self) {
            _ = try await env.client.startWorkflow(type: Sleeper.name, id: "timed", taskQueue: "q", args: 1.0, options: options)
        }
        #expect(error?.code == .invalidArgument && error?.message.contains("a run timeout") == true, "\(String(describing: error))")
    }

    /// Cancelling a closed run succeeds and does nothing, and a second request adds nothing,
    /// as on a server. Before, the first threw NOT_FOUND and the second wrote another request.
    @Test func cancellationIsIdempotent() async throws {
        let env = try await TestWorkflowEnvironment.start()
        defer { env.shutdown() }
        try await env.withWorker(workflows: [Sleeper.self]) { worker in
            let handle = try await env.client.startWorkflow(type: Sleeper.name, id: "cancelled", taskQueue: worker.taskQueue, args: 3_600.0)
            try await handle.cancel()
            try await handle.cancel()
            _ = try? await handle.result(as: Double.self)
            try await handle.cancel()
            let requests = try env.service.history(workflowID: handle.id).filter { $0.eventType == .workflowExecutionCancelRequested }
            #expect(requests.count == 1)
        }
    }
}

/// Sleeps an hour (skipped in memory), then runs local activity "slow" with a one-second
/// schedule-to-close.
final class LateLocalActivity: Workflow {
    init() {}
    func run(context: WorkflowContext, input: NoValue) async throws -> String {
        try await context.sleep(for: .seconds(3_600))
        do {
            var options = LocalActivityOptions(scheduleToCloseTimeout: .seconds(1))
            options.retryPolicy = RetryPolicy(maximumAttempts: 1)
            return try await context.executeLocalActivity("slow", input: "x", options: options, as: String.self)
        } catch is ActivityError {
            return "timed out"
        }
    }
}

/// Throws an error that is not an `ApplicationError`: its workflow task fails.
final class ThrowsAPlainError: Workflow {
    struct PlainFailure: Error, CustomStringConvertible {
        var description: String { "plain failure" }
    }
    init() {}
    func run(context: WorkflowContext, input: NoValue) async throws -> String { throw PlainFailure() }
}

/// Upserts the keyword attribute its input names ("Name", or "Name:int" for an integer value).
final class UpsertsStage: Workflow {
    init() {}
    func run(context: WorkflowContext, input: String) async throws -> String {
        if input.hasSuffix(":int") {
            context.upsertSearchAttributes(SearchAttributeKey.int(String(input.dropLast(4))).value(3))
        } else {
            context.upsertSearchAttributes(SearchAttributeKey.keyword(input).value("loaded"))
        }
        return "upserted"
    }
}

/// Races an activity on the queue `input` (schedule-to-start 60 s, one attempt) against an
/// hour's timer: which ended first.
final class RacesAnActivityOnAnotherQueue: Workflow {
    init() {}
    func run(context: WorkflowContext, input: String) async throws -> String {
        try await withThrowingTaskGroup(of: String.self) { group in
            group.addTask {
                var options = ActivityOptions(taskQueue: input, startToCloseTimeout: .seconds(10))
                options.scheduleToStartTimeout = .seconds(60)
                options.retryPolicy = RetryPolicy(maximumAttempts: 1)
                do {
                    return try await context.executeActivity("noop", options: options, as: String.self)
                } catch let error as ActivityError {
                    return "activity: \(error.timeoutType.map { "\($0)" } ?? "\(error)")"
                }
            }
            group.addTask {
                try await context.sleep(for: .seconds(3_600))
                return "timer"
            }
            let first = try await group.next() ?? "none"
            group.cancelAll()
            return first
        }
    }
}

/// An activity on the queue `input` that is retried after an hour (two attempts, schedule-to-start
/// 60 s): how it ended.
final class RetriesOnAnotherQueue: Workflow {
    init() {}
    func run(context: WorkflowContext, input: String) async throws -> String {
        var options = ActivityOptions(taskQueue: input, startToCloseTimeout: .seconds(10))
        options.scheduleToStartTimeout = .seconds(60)
        options.retryPolicy = RetryPolicy(initialInterval: .seconds(3_600), maximumAttempts: 2)
        do {
            return try await context.executeActivity("failing", options: options, as: String.self)
        } catch let error as ActivityError {
            return "activity: \(error.timeoutType.map { "\($0)" } ?? "\(error)")"
        }
    }
}
