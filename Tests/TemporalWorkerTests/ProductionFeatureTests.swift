import Foundation
import Logging
import Synchronization
import Temporal
import TemporalProto
import TemporalTestSupport
import TemporalTesting
import Testing

@testable import TemporalWorker

/// Async activity completion, the cancellation shield and activity rate limits, against the
/// dev server.
@Suite struct ProductionFeatureTests {
    @Test func anActivityCompletedElsewhereByTokenOrByID() async throws {
        let tokens = Recorded<Data>()
        let external = ActivityDefinition("external") { (input: String, ctx: ActivityContext) -> String in
            tokens.append(ctx.info.taskToken)
            try ctx.completeAsynchronously()
        }
        try await withWorker(workflows: [RunActivity.self], activities: [external]) { w in
            // By token: heartbeat from outside, then complete.
            let first = try await w.start(
                RunActivity.self, ActivityCall(activity: "external", input: "a", startToClose: 30, maxAttempts: 1))
            let token = try #require(try await firstToken(tokens, count: 1))
            let handle = w.client.asyncActivityHandle(taskToken: token)
            let beat = try await handle.heartbeat("halfway")
            #expect(beat.cancelRequested == false)
            try await handle.complete("done elsewhere")
            #expect(try await first.result(as: String.self) == "done elsewhere")

            // By workflow and activity id: fail it (the workflow sees the application error type).
            let second = try await w.start(
                RunActivity.self, ActivityCall(activity: "external", input: "b", startToClose: 30, maxAttempts: 1))
            _ = try #require(try await firstToken(tokens, count: 2))
            let byID = w.client.asyncActivityHandle(workflowID: second.id, activityID: "1")
            try await byID.fail(ApplicationError("the outside system gave up", type: "OutsideFailure", nonRetryable: true))
            #expect(try await second.result(as: String.self) == "error:OutsideFailure|timeout:")

            // A finished attempt cannot be completed twice.
            await #expect(throws: TemporalError.self) { try await handle.complete("again") }

            // Failed with a stray cancellation by token: an application failure (the server
            // refuses any other with INVALID_ARGUMENT, and the attempt hung until its timeout).
            let third = try await w.start(
                RunActivity.self, ActivityCall(activity: "external", input: "c", startToClose: 30, maxAttempts: 1))
            let thirdToken = try #require(try await firstToken(tokens, count: 3))
            try await w.client.asyncActivityHandle(taskToken: thirdToken).fail(CancellationError())
            #expect(try await third.result(as: String.self) == "error:UnexpectedCancellation|timeout:")

            // Reset by an operator: the outside system's next heartbeat says so (it could not).
            let fourth = try await w.start(
                RunActivity.self, ActivityCall(activity: "external", input: "d", startToClose: 30, maxAttempts: 2))
            let fourthToken = try #require(try await firstToken(tokens, count: 4))
            let server = try await DevServer.shared()
            _ = try DevServer.runCLI(["activity", "reset", "--address", server.address, "--workflow-id", fourth.id, "--activity-id", "1"])
            let afterReset = try await w.client.asyncActivityHandle(taskToken: fourthToken).heartbeat()
            #expect(afterReset.reset, "\(afterReset)")
            try await fourth.terminate(reason: "test over")
        }
    }

    /// An answer sent again after the first one's was lost (the server completed the activity,
    /// the connection dropped) meets NOT_FOUND: the error says the first may have closed it,
    /// rather than only that the activity is unknown (a caller took it for a failed completion).
    @Test func aCompletionWhoseAnswerWasLostSaysSo() async throws {
        let tokens = Recorded<Data>()
        let external = ActivityDefinition("external") { (_: String, ctx: ActivityContext) -> String in
            tokens.append(ctx.info.taskToken)
            try ctx.completeAsynchronously()
        }
        try await withWorker(workflows: [RunActivity.self], activities: [external]) { w in
            let run = try await w.start(RunActivity.self, ActivityCall(activity: "external", input: "a", startToClose: 30, maxAttempts: 1))
            let token = try #require(try await firstToken(tokens, count: 1))
            let lossy = LosesFirstAnswer(w.client.workflowService.transport, method: "RespondActivityTaskCompleted")
            let client = try await TemporalClient.connect(transport: lossy)
            let handle = client.asyncActivityHandle(taskToken: token)
            let error = await #expect(throws: TemporalError.self) { try await handle.complete("done") }
            let said = error?.message.contains("may have closed the activity already") == true
            #expect(error?.code == .notFound && said, "\(String(describing: error))")
            #expect(lossy.calls.withLock { $0 } == 2)
            #expect(try await run.result(as: String.self) == "done", "the first answer completed it")
        }
    }

    /// Heartbeats are throttled (the first goes out at once, later ones wait for the window); an
    /// attempt left open for async completion must still send the latest details before the
    /// worker lets it go, and a plain attempt that never heartbeats sends none.
    @Test func theLatestHeartbeatIsSentBeforeAnAttemptIsLeftForAsyncCompletion() async throws {
        let external = ActivityDefinition("beatThenLeave") { (_: String, ctx: ActivityContext) -> String in
            ctx.heartbeat(1)
            try await Task.sleep(for: .milliseconds(300))  // 1 is out; 2 and 3 wait for the 16 s window
            ctx.heartbeat(2)
            ctx.heartbeat(3)
            try ctx.completeAsynchronously()
        }
        try await withWorker(workflows: [RunActivity.self], activities: [external]) { w in
            let handle = try await w.start(
                RunActivity.self, ActivityCall(activity: "beatThenLeave", startToClose: 30, heartbeat: 20, maxAttempts: 1))
            @Sendable func lastDetails() async throws -> Int? {
                guard let pending = try await handle.describe().pendingActivities.first, pending.hasHeartbeatDetails,
                    let payload = pending.heartbeatDetails.payloads.first
                else { return nil }
                return try DataConverter.default.fromPayload(payload, as: Int.self)
            }
            // The worker has let the attempt go once its details are on the server; they must
            // be the last ones (3), not the first (1), which went out alone.
            _ = try await eventually(20) { try await lastDetails() == 3 }
            #expect(try await lastDetails() == 3)
            try await w.client.asyncActivityHandle(workflowID: handle.id, activityID: "1").complete("done")
            #expect(try await handle.result(as: String.self) == "done")
        }
    }

    @Test func compensationRunsInsideTheShieldAfterCancellation() async throws {
        let booked = Flag()
        let unbooked = Counter()
        let book = ActivityDefinition("book") { (ctx: ActivityContext) -> String in
            booked.set()
            while true {
                ctx.heartbeat()
                try await Task.sleep(for: .milliseconds(100))
            }
        }
        let unbook = ActivityDefinition("unbook") { (_: ActivityContext) -> String in
            unbooked.increment()
            return "unbooked"
        }
        try await withWorker(workflows: [Booking.self], activities: [book, unbook]) { w in
            let handle = try await w.start(Booking.self)
            #expect(try await eventually(20) { booked.isSet })
            try await handle.cancel(reason: "trip called off")
            let error = await #expect(throws: TemporalError.self) { try await handle.result(as: String.self) }
            #expect(error?.kind == .workflowCanceled)
            #expect(
                error.map { if case .canceledFailureInfo? = $0.failure?.failureInfo { true } else { false } } == true,
                "the close event's details, as a canceled failure")
            #expect(unbooked.current == 1)
            let events = try await handle.fetchHistory()
            let scheduled = events.filter { $0.eventType == .activityTaskScheduled }
                .map { $0.activityTaskScheduledEventAttributes.activityType.name }
            #expect(scheduled == ["book", "unbook"], "only the shielded unbook was scheduled after the cancellation")
            #expect(try WorkflowReplayer(workflows: [Booking.self]).replay(events: events).closed)
        }
    }

    @Test func aWorkflowUpsertsTypedSearchAttributesAndMemo() async throws {
        try await withWorker(workflows: [Progressing.self]) { w in
            try await w.client.ensureSearchAttributes([Progressing.stage.name: .keyword, Progressing.rows.name: .int])
            #expect(try await w.client.ensureSearchAttributes([Progressing.stage.name: .keyword]).isEmpty, "registered once")
            await #expect(throws: TemporalError.self) { try await w.client.ensureSearchAttributes([Progressing.stage.name: .int]) }
            let handle = try await w.start(Progressing.self)
            #expect(try await handle.result(as: String.self) == "loaded/42")
            let info = try await handle.describe().raw.workflowExecutionInfo
            #expect(Progressing.stage.read(from: info.searchAttributes.indexedFields) == "loaded")
            #expect(Progressing.rows.read(from: info.searchAttributes.indexedFields) == 42)
            let note = try #require(info.memo.fields["note"])
            #expect(try w.client.dataConverter.payloadConverter.fromPayload(note, as: String.self) == "halfway there")
            // Visibility finds the run by what it upserted.
            let query = "WorkflowId = '\(handle.id)' AND SwiftTestStage = 'loaded' AND SwiftTestRows = 42"
            #expect(try await eventually(20) { try await w.client.countWorkflows(query: query) == 1 })
            let events = try await handle.fetchHistory()
            #expect(events.filter { $0.eventType == .upsertWorkflowSearchAttributes }.count == 2)
            #expect(events.contains { $0.eventType == .workflowPropertiesModified })
            #expect(try WorkflowReplayer(workflows: [Progressing.self]).replay(events: events).closed)
        }
    }

    @Test func anEagerlyStartedWorkflowRunsItsFirstTaskFromTheStartResponse() async throws {
        try await withWorker(workflows: [Instant.self]) { w in
            // A plain start first: once it ran, the worker is running and takes eager starts (a
            // start racing the worker's `run()` would go the usual way).
            let plain = try await w.client.startWorkflow(type: Instant.name, id: "plain-\(UUID())", taskQueue: w.taskQueue, args: "plain")
            #expect(try await plain.result(as: String.self) == "at once: plain")
            #expect(w.worker.metrics.snapshot.eagerWorkflowTasks == 0, "only starts that ask for it")
            let eager = try await w.client.startWorkflow(
                type: Instant.name, id: "eager-\(UUID())", taskQueue: w.taskQueue,
                args: "eager", options: WorkflowOptions(eagerStart: true))
            #expect(try await eager.result(as: String.self) == "at once: eager")
            #expect(w.worker.metrics.snapshot.eagerWorkflowTasks == 1)
            // A type the worker does not run is not reserved: the start goes the usual way.
            let other = try await w.client.startWorkflow(
                type: "NotHere", id: "other-\(UUID())", taskQueue: w.taskQueue,
                options: WorkflowOptions(eagerStart: true))
            try await other.terminate(reason: "test over")
            #expect(w.worker.metrics.snapshot.eagerWorkflowTasks == 1)
        }
    }

    /// Two workers of one client on one queue, each running its own workflow type: an eager
    /// start goes to the one that runs its type, and stopping one leaves the other registered.
    /// The second registration replaced the first (starts of the first's type were not eager),
    /// and the first's shutdown removed the second's.
    @Test func eagerStartsReachEveryWorkerOfTheQueue() async throws {
        let a = try await startWorker(workflows: [Instant.self])
        let b = RunningWorker(worker: Worker(client: a.client, taskQueue: a.taskQueue, workflows: [InstantTwin.self]))
        #expect(try await eventually(20) { a.worker.health.isReady && b.worker.health.isReady })
        func start(_ type: String, _ input: String) async throws -> String {
            try await a.client.startWorkflow(
                type: type, id: "\(input)-\(UUID())", taskQueue: a.taskQueue, args: input, options: WorkflowOptions(eagerStart: true)
            ).result(as: String.self)
        }
        #expect(try await start(Instant.name, "a") == "at once: a")
        #expect(try await start(InstantTwin.name, "b") == "twin: b")
        #expect(a.worker.metrics.snapshot.eagerWorkflowTasks == 1 && b.worker.metrics.snapshot.eagerWorkflowTasks == 1)
        await a.stop()
        #expect(try await start(InstantTwin.name, "again") == "twin: again")
        #expect(b.worker.metrics.snapshot.eagerWorkflowTasks == 2, "still registered after the other worker stopped")
        await b.stop()
    }

    /// The tasks the pollers hold when the worker stops still start at the worker's rate while
    /// the drain waits for the pollers (as Go keeps its limiter through the drain); those still
    /// waiting for a permit when it stops waiting are refused (WorkerShutdown) before the
    /// shutdown ends. Before, the shutdown cancelled their wait, and each poller's task started
    /// at once, against what the limit protects.
    @Test func tasksHeldAtShutdownStillStartAtTheRateOrAreRefused() async throws {
        let starts = Recorded<ContinuousClock.Instant>()
        let tick = ActivityDefinition("tick") { (i: Int, _: ActivityContext) -> String in
            starts.append(ContinuousClock.now)
            return "\(i)"
        }
        let box = LogBox()
        let running = try await startWorker(
            workflows: [Fanout.self], activities: [tick],
            configure: {
                $0.maxActivitiesPerSecond = 0.5
                $0.activityTaskPollerBehavior = .fixed(4)
                $0.gracefulShutdownTimeout = .seconds(10)
                $0.logger = Logger(label: "held") { _ in CapturingLogHandler(box: box) }
            })
        let handle = try await running.start(Fanout.self, 6)
        #expect(try await eventually(20) { !starts.values.isEmpty })
        try await Task.sleep(for: .milliseconds(500))  // the other pollers hold a task each by now
        await running.stop(grace: .seconds(10))
        let refused = box.lines.withLock { $0 }.filter { $0.contains("arrived while the worker stopped") }.count
        try? await handle.terminate(reason: "test over")
        let times = starts.values.sorted()
        // The first task, and the three the other pollers held: each started or refused by now.
        #expect(times.count + refused >= 4, "\(times.count) started, \(refused) refused")
        let gaps = zip(times.dropFirst(), times).map { $0 - $1 }
        // 2 s apart at 0.5 a second, as bodies start: one started late on a loaded box (0.9 s
        // after its permit, in a full run) leaves the next 1.1 s after it; before: all at once.
        #expect(gaps.allSatisfy { $0 >= .milliseconds(500) }, "\(gaps)")
    }

    /// A worker starts no more activities per second than its limit, also after an idle time
    /// with many pollers: a permit per task polled, as Go's dispatcher takes it. Before, a
    /// permit was taken before each poll, so every idle poller held one, and a fan-out's first
    /// tasks (one per poller) started at once.
    @Test func aWorkerStartsNoMoreActivitiesPerSecondThanItsLimit() async throws {
        let starts = Recorded<ContinuousClock.Instant>()
        let tick = ActivityDefinition("tick") { (i: Int, _: ActivityContext) -> String in
            starts.append(ContinuousClock.now)
            return "\(i)"
        }
        try await withWorker(
            workflows: [Fanout.self], activities: [tick],
            configure: {
                $0.maxActivitiesPerSecond = 2
                $0.activityTaskPollerBehavior = .fixed(5)
            }
        ) { w in
            try await Task.sleep(for: .seconds(3))  // idle: every poller waits on the server
            let finished = try await w.start(Fanout.self, 6).result(as: Int.self)
            #expect(finished == 6)
        }
        let times = starts.values.sorted()
        #expect(times.count == 6)
        // 6 starts at ≤ 2 per second: permits 500 ms apart, 2.5 s from first to last (timed in
        // the bodies, which a loaded box may start late: 1.8 s leaves that room). Before: the
        // five pollers' tasks at once, the sixth soon after (well under 1 s).
        if let first = times.first, let last = times.last {
            #expect(last - first >= .milliseconds(1_800), "\(last - first)")
        }
    }

    /// An attempt knows its retry policy, with the server's defaults filled in: whether it is the
    /// last attempt allowed (Go's `ActivityInfo.RetryPolicy`; it was not given).
    @Test func anAttemptKnowsItsRetryPolicy() async throws {
        try await withWorker(workflows: [RunActivity.self], activities: [lastAttempt]) { w in
            let result = try await w.start(RunActivity.self, ActivityCall(activity: "lastAttempt", maxAttempts: 3)).result(as: String.self)
            // The server's default maximum interval: 100 × the initial interval of 100 ms.
            #expect(result == "attempt 3 of 3, max interval 10.0 seconds", "\(result)")
        }
        // The in-memory service fills the same defaults (it passed the policy on as given).
        let env = try await TestWorkflowEnvironment.start()
        defer { env.shutdown() }
        let result = try await env.execute(
            RunActivity.self, input: ActivityCall(activity: "lastAttempt", maxAttempts: 3), activities: [lastAttempt])
        #expect(result == "attempt 3 of 3, max interval 10.0 seconds", "\(result)")
    }

    /// A task held for a rate limit's permit has started on the server, whose schedule-to-close
    /// timer runs meanwhile: the attempt's deadline counts from the task's arrival. Before, it
    /// counted from the end of the wait, so a body could run on past the server's timeout by the
    /// wait (Go's deadline is the server's `scheduled + schedule-to-close`).
    @Test func aRateLimitsWaitDoesNotPushTheDeadlineBack() async throws {
        let deadlines = Recorded<TimeInterval>()
        let tick = ActivityDefinition("tick") { (i: Int, context: ActivityContext) -> String in
            if let deadline = context.info.deadline, let scheduled = context.info.scheduledTime {
                deadlines.append(deadline.timeIntervalSince(scheduled))
            }
            return "\(i)"
        }
        try await withWorker(
            workflows: [ClosingFanout.self], activities: [tick],
            configure: {
                $0.maxActivitiesPerSecond = 0.5
                $0.activityTaskPollerBehavior = .fixed(3)
            }
        ) { w in
            let finished = try await w.start(ClosingFanout.self, 3).result(as: Int.self)
            #expect(finished == 3)
        }
        // 30 s from scheduled, plus the polls' latency (and clock skew: none, one machine).
        // Before: the second and third waited about 2 and 4 s for their permits, and their
        // deadlines moved back as much.
        #expect(deadlines.values.count == 3)
        #expect(deadlines.values.allSatisfy { $0 < 31 }, "\(deadlines.values)")
    }

    @Test func theServerSpacesTheQueuesActivitiesWhenTheQueueHasALimit() async throws {
        let starts = Recorded<ContinuousClock.Instant>()
        let tick = ActivityDefinition("tick") { (i: Int, _: ActivityContext) -> String in
            starts.append(ContinuousClock.now)
            return "\(i)"
        }
        try await withWorker(workflows: [Fanout.self], activities: [tick], configure: { $0.maxTaskQueueActivitiesPerSecond = 4 }) { w in
            // A first activity makes the server set up the queue with the pollers' limit: a
            // fan-out scheduled before that was once dispatched at once (44 ms for 8, in CI).
            #expect(try await w.start(Fanout.self, 1).result(as: Int.self) == 1)
            starts.removeAll()
            let finished = try await w.start(Fanout.self, 8).result(as: Int.self)
            #expect(finished == 8)
        }
        let times = starts.values.sorted()
        #expect(times.count == 8)
        // The server's dispatch limit (4/s, with its own burst) spreads 8 starts over about 1 s
        // (timed in the bodies, which a loaded box may start late: 600 ms leaves that room).
        if let first = times.first, let last = times.last {
            #expect(last - first >= .milliseconds(600), "\(last - first)")
        }
    }
}

/// Finishes in its first workflow task, under another name than `Instant`.
final class InstantTwin: Workflow {
    init() {}
    func run(context: WorkflowContext, input: String) async throws -> String { "twin: \(input)" }
}

/// The `count`-th task token an activity recorded, once it did (20 s at most).
func firstToken(_ tokens: Recorded<Data>, count: Int) async throws -> Data? {
    _ = try await eventually(20) { tokens.values.count >= count }
    let values = tokens.values
    return values.count >= count ? values[count - 1] : nil
}

/// The activity rate limiter's spacing between permits.
@Suite struct RateLimiterTests {
    /// A rate so small it means "effectively never" (1e-12 a second) makes a limiter; the
    /// conversion of its spacing to nanoseconds trapped, crashing the worker at construction.
    @Test func aTinyRateDoesNotTrap() async throws {
        let limiter = try #require(RateLimiter(perSecond: 1e-12))
        try await limiter.acquire()  // the first permit is at once
        #expect(RateLimiter(perSecond: 0) == nil && RateLimiter(perSecond: .infinity) == nil)
    }
}

/// Fails until the last attempt its retry policy allows; says which attempt of how many, and the
/// policy's maximum interval.
let lastAttempt = ActivityDefinition("lastAttempt") { (_: String, context: ActivityContext) -> String in
    let policy = context.info.retryPolicy
    guard context.info.attempt == policy?.maximumAttempts else {
        throw ApplicationError("attempt \(context.info.attempt) of \(String(describing: policy?.maximumAttempts))")
    }
    return
        "attempt \(context.info.attempt) of \(policy?.maximumAttempts ?? 0), max interval \(policy?.maximumInterval.map { "\($0)" } ?? "none")"
}
