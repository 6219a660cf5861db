import Foundation
import Logging
import Synchronization
import Temporal
import TemporalProto
import TemporalTestSupport
import Testing

@testable import TemporalWorker

/// Local activities against the dev server: markers instead of activity events, retries in the
/// worker and through timers, the workflow task heartbeat, replay from markers.
@Suite struct LocalActivityTests {
    static func activities(_ calls: Counter, flaky: Counter) -> [ActivityDefinition] {
        [
            ActivityDefinition("upper") { (s: String, ctx: ActivityContext) -> String in
                calls.increment()
                #expect(ctx.info.isLocal)
                return s.uppercased()
            },
            ActivityDefinition("flaky") { (s: String, ctx: ActivityContext) -> String in
                calls.increment()
                if flaky.increment() < 3 { throw ApplicationError("not yet", type: "NotYet") }
                return "\(s)@\(ctx.info.attempt)"
            },
            ActivityDefinition("fatal") { (_: String, _: ActivityContext) -> String in
                calls.increment()
                throw ApplicationError("never", type: "Fatal", nonRetryable: true)
            },
            echo,
        ]
    }

    @Test func localActivitiesRecordMarkersRetryInTheWorkerAndReplay() async throws {
        let calls = Counter()
        let flaky = Counter()
        try await withWorker(workflows: [LocalSteps.self], activities: Self.activities(calls, flaky: flaky)) { w in
            let handle = try await w.start(LocalSteps.self, "x")
            let result = try await handle.result(as: [String].self)
            #expect(result == ["X", "X-B", "c@3", "d", "Fatal/\(Temporal_Api_Enums_V1_RetryState.nonRetryableFailure)"])
            #expect(calls.current == 6, "upper ×2, flaky ×3 (retried in the worker), fatal ×1")
            let events = try await handle.fetchHistory()
            let markers = events.filter {
                $0.eventType == .markerRecorded && $0.markerRecordedEventAttributes.markerName == "LocalActivity"
            }
            #expect(markers.count == 4)
            // flaky's attempts 2 and 3, reported in the tasks' metering metadata (as Go and Core
            // report them: Temporal Cloud counts them); they were not reported at all.
            let reported = events.filter { $0.eventType == .workflowTaskCompleted }
                .map { $0.workflowTaskCompletedEventAttributes.meteringMetadata.nonfirstLocalActivityExecutionAttempts }
            #expect(reported.reduce(0, +) == 2, "\(reported)")
            #expect(events.filter { $0.eventType == .activityTaskScheduled }.count == 1, "only the normal activity")
            #expect(try WorkflowReplayer(workflows: [LocalSteps.self]).replay(events: events).closed)
            #expect(calls.current == 6, "replay runs nothing")
            #expect(throws: NondeterminismError.self) { try WorkflowReplayer(workflows: [LocalStepsChanged.self]).replay(events: events) }
        }
    }

    @Test func withoutTheCacheEveryTaskReplaysFromTheMarkers() async throws {
        let calls = Counter()
        let flaky = Counter()
        try await withWorker(
            workflows: [LocalSteps.self], activities: Self.activities(calls, flaky: flaky),
            configure: { $0.maxCachedWorkflows = 0 }
        ) { w in
            let result = try await w.start(LocalSteps.self, "y").result(as: [String].self)
            #expect(result.prefix(3) == ["Y", "Y-B", "c@3"])
            #expect(calls.current == 6, "no local activity ran twice across full replays")
        }
    }

    @Test func longBackoffsBecomeDurableTimers() async throws {
        let attempts = Counter()
        let thirdTime = ActivityDefinition("thirdTime") { (ctx: ActivityContext) -> String in
            attempts.increment()
            if ctx.info.attempt < 3 { throw ApplicationError("attempt \(ctx.info.attempt)", type: "NotYet") }
            return "attempt \(ctx.info.attempt)"
        }
        try await withWorker(workflows: [LocalWithTimers.self], activities: [thirdTime]) { w in
            let handle = try await w.start(LocalWithTimers.self)
            #expect(try await handle.result(as: String.self) == "attempt 3")
            #expect(attempts.current == 3)
            let events = try await handle.fetchHistory()
            #expect(events.filter { $0.eventType == .timerStarted }.count == 2, "two backoffs over the threshold")
            #expect(events.filter { $0.eventType == .markerRecorded }.count == 3, "two failed attempts and the success")
            let why = events.filter { $0.eventType == .markerRecorded && $0.markerRecordedEventAttributes.hasFailure }
                .map { $0.markerRecordedEventAttributes.failure.message }
            #expect(why == ["attempt 1", "attempt 2"], "each backoff's marker says why the timer started")
            #expect(try WorkflowReplayer(workflows: [LocalWithTimers.self]).replay(events: events).closed)
        }
    }

    @Test func aLocalActivityLongerThanTheTaskTimeoutHeartbeatsTheTask() async throws {
        let slowLocal = ActivityDefinition("slowLocal") { (seconds: Double, _: ActivityContext) -> String in
            try await Task.sleep(for: .seconds(seconds))
            return "slept \(seconds)"
        }
        try await withWorker(workflows: [LongLocal.self], activities: [slowLocal]) { w in
            let handle = try await w.client.startWorkflow(
                type: LongLocal.name, id: "long-local-\(UUID())", taskQueue: w.taskQueue,
                args: 24.0, options: WorkflowOptions(taskTimeout: .seconds(20)))
            // (20 s, heartbeat at 16 s after the worker took the task: the server's timer starts at
            // dispatch, and with 5 s (then 10 s) the first task's heartbeat came over 1 s late
            // when every test of the target started at once.)
            #expect(try await handle.result(as: String.self) == "slept 24.0")
            let events = try await handle.fetchHistory()
            #expect(
                !events.contains { $0.eventType == .workflowTaskTimedOut },
                "the task was heartbeated, not timed out: \(events.map { "\($0.eventID) \($0.eventType) \($0.eventTime.date.timeIntervalSince1970)" })"
            )
            #expect(events.filter { $0.eventType == .workflowTaskCompleted }.count >= 2, "at least one heartbeat")
            #expect(try WorkflowReplayer(workflows: [LongLocal.self]).replay(events: events).closed)
        }
    }

    @Test func anUpdateHandlerMayRunALocalActivity() async throws {
        let calls = Counter()
        let flaky = Counter()
        try await withWorker(workflows: [LocalUpdater.self], activities: Self.activities(calls, flaky: flaky)) { w in
            let handle = try await w.start(LocalUpdater.self)
            #expect(try await handle.executeUpdate("shout", "hey", as: String.self) == "HEY")
            #expect(try await handle.executeUpdate("shout", "again", as: String.self) == "AGAIN")
            try await handle.signal("done")
            #expect(try await handle.result(as: String.self) == "ok")
            #expect(try WorkflowReplayer(workflows: [LocalUpdater.self]).replay(events: try await handle.fetchHistory()).closed)
        }
    }

    /// "slowLocal": sleeps its input's seconds; sets `started` when it begins and `cancelled`
    /// when its sleep is cancelled.
    static func slowLocal(started: Flag = Flag(), cancelled: Flag) -> ActivityDefinition {
        ActivityDefinition("slowLocal") { (seconds: Double, _: ActivityContext) -> String in
            started.set()
            do {
                try await Task.sleep(for: .seconds(seconds))
            } catch {
                cancelled.set()
                throw error
            }
            return "slept \(seconds)"
        }
    }

    @Test func aLocalActivityTheCodeStopsWaitingForDoesNotHoldTheTask() async throws {
        let cancelled = Flag()
        let slowLocal = Self.slowLocal(cancelled: cancelled)
        try await withWorker(workflows: [AbandonsLocal.self], activities: [slowLocal]) { w in
            let clock = ContinuousClock()
            let started = clock.now
            let handle = try await w.start(AbandonsLocal.self)
            let result = try await handle.result(as: String.self)
            #expect(result == "first: slept 0.05")
            #expect(clock.now - started < .seconds(20), "the 30 s local activity did not hold the task")
            let sawCancel = try await eventually(10) { cancelled.isSet }
            #expect(sawCancel, "its execution was cancelled")
            let events = try await handle.fetchHistory()
            #expect(try WorkflowReplayer(workflows: [AbandonsLocal.self]).replay(events: events).closed)
        }
    }

    /// A stopping worker lets a running local activity finish within its grace period and
    /// answers the task, as Core does: it used to give the task up at once and cancel the local
    /// activity, which then ran again on another worker after a workflow task timeout.
    @Test func aStoppingWorkerLetsItsLocalActivitiesFinishWithinTheGracePeriod() async throws {
        let started = Flag()
        let cancelled = Flag()
        let slowLocal = Self.slowLocal(started: started, cancelled: cancelled)
        let running = try await startWorker(workflows: [OneSlowLocal.self], activities: [slowLocal])
        let handle = try await running.start(OneSlowLocal.self, 2.0)
        #expect(try await eventually(10) { started.isSet })
        await running.stop(grace: .seconds(30))
        #expect(!cancelled.isSet, "the local activity was cancelled")
        #expect(try await handle.result(as: String.self) == "slept 2.0")
        let events = try await handle.fetchHistory()
        #expect(
            !events.contains { $0.eventType == .workflowTaskTimedOut || $0.eventType == .workflowTaskFailed }, "\(events.map(\.eventType))")
    }

    /// Once the grace period is over, a workflow task still running a local activity is given
    /// up and the local activity cancelled: the shutdown does not wait for it.
    @Test func aStoppingWorkerGivesTheTaskUpWhenTheGracePeriodIsOver() async throws {
        let started = Flag()
        let cancelled = Flag()
        let slowLocal = Self.slowLocal(started: started, cancelled: cancelled)
        let running = try await startWorker(workflows: [OneSlowLocal.self], activities: [slowLocal])
        let handle = try await running.start(OneSlowLocal.self, 60.0)
        #expect(try await eventually(10) { started.isSet })
        let clock = ContinuousClock()
        let stopping = clock.now
        await running.stop(grace: .seconds(1))
        let took = clock.now - stopping
        #expect(took < .seconds(20) && took >= .seconds(1), "shutdown took \(took): it waits out the grace period, no longer")
        #expect(try await eventually(10) { cancelled.isSet })
        try await handle.terminate(reason: "test over")
    }

    /// A timer the code cancels once a local activity of the same workflow task has finished
    /// was never sent: it is dropped, not sent and then found "started" in history (which
    /// failed every later task of the run as nondeterministic, and its replay).
    @Test func aTimerCancelledAfterALocalActivityOfTheSameTaskIsNeverSent() async throws {
        let slowLocal = ActivityDefinition("slowLocal") { (seconds: Double, _: ActivityContext) -> String in
            try await Task.sleep(for: .seconds(seconds))
            return "slept \(seconds)"
        }
        try await withWorker(workflows: [LocalBeatsTimer.self], activities: [slowLocal], timeout: 30) { w in
            let handle = try await w.start(LocalBeatsTimer.self)
            let result = try await handle.result(as: String.self)
            #expect(result == "first: slept 0.05")
            let events = try await handle.fetchHistory()
            #expect(events.filter { $0.eventType == .timerStarted }.count == 1, "only the short sleep's timer: \(events.map(\.eventType))")
            #expect(!events.contains { $0.eventType == .workflowTaskFailed })
            #expect(try WorkflowReplayer(workflows: [LocalBeatsTimer.self]).replay(events: events).closed)
        }
    }

    @Test func attemptsCountAcrossLocalRetriesTimersAndFullReplays() async throws {
        let attempts = Counter()
        let thirdTime = ActivityDefinition("thirdTime") { (ctx: ActivityContext) -> String in
            attempts.increment()
            if ctx.info.attempt < 3 { throw ApplicationError("attempt \(ctx.info.attempt)", type: "NotYet") }
            return "attempt \(ctx.info.attempt)"
        }
        // No cache: after the timer the run is rebuilt from history, and must go on with attempt 3.
        try await withWorker(workflows: [LocalRetriesThenTimer.self], activities: [thirdTime], configure: { $0.maxCachedWorkflows = 0 }) {
            w in
            let handle = try await w.start(LocalRetriesThenTimer.self)
            #expect(try await handle.result(as: String.self) == "attempt 3")
            #expect(attempts.current == 3, "attempt 1, a local retry (2), a timer, attempt 3")
            let events = try await handle.fetchHistory()
            #expect(events.filter { $0.eventType == .timerStarted }.count == 1)
        }
    }
    /// A local activity whose body ignores its cancellation (a blocking call, a loop that
    /// swallows it) times out at its start-to-close deadline, as in Go and Core: the worker
    /// waited for the body, so the workflow waited 8 s and then saw it succeed. A body that
    /// returns within the second the worker still waits for it after the deadline (1.5 s here)
    /// timed out too: its late result was recorded as the activity's.
    @Test(arguments: [8, 1.5]) func aLocalActivityThatIgnoresCancellationTimesOutAtItsDeadline(seconds: Double) async throws {
        let stubborn = ActivityDefinition("stubborn") { (_: ActivityContext) -> String in
            // A wait its cancellation does not reach (an unstructured task's sleep).
            await Task.detached { try? await Task.sleep(for: .seconds(seconds)) }.value
            return "finished anyway"
        }
        try await withWorker(workflows: [StubbornLocal.self], activities: [stubborn]) { w in
            let handle = try await w.start(StubbornLocal.self)
            #expect(try await handle.result(as: String.self) == "timed out: startToClose")
            #expect(try WorkflowReplayer(workflows: [StubbornLocal.self]).replay(events: try await handle.fetchHistory()).closed)
        }
    }

    /// Two local activities of one type given the same activity id, the second finishing first:
    /// replay (no cache: every task replays the markers) hands each its own result. Markers were
    /// matched by id and type, so the replay swapped them ("2,1").
    @Test func localActivitiesSharingAnIDReplayTheirOwnResults() async throws {
        let delayed = ActivityDefinition("delayedEcho") { (input: [Double], _: ActivityContext) -> String in
            try await Task.sleep(for: .seconds(input[1]))
            return String(Int(input[0]))
        }
        try await withWorker(workflows: [TwinLocals.self], activities: [delayed], configure: { $0.maxCachedWorkflows = 0 }) { w in
            // Which of the two asks first is up to the workflow's executor: with each one slower
            // in turn, the later request finishes first in one of the runs.
            for firstIsSlower in [true, false] {
                let handle = try await w.start(TwinLocals.self, firstIsSlower)
                // Both markers recorded first, so that the signal's task replays them.
                let recorded = try await eventually(20) {
                    try await handle.fetchHistory().filter { $0.eventType == .markerRecorded }.count == 2
                }
                #expect(recorded)
                try await handle.signal("go")
                #expect(try await handle.result(as: String.self) == "1,2", "first slower: \(firstIsSlower)")
                #expect(try WorkflowReplayer(workflows: [TwinLocals.self]).replay(events: try await handle.fetchHistory()).closed)
            }
        }
    }

    /// The workflow's clock moves past a local activity's end, live and on replay (no cache: the
    /// signal's task replays the markers): a second local activity's schedule-to-close (2 s) counts
    /// from its own request, not from the task's start 1.5 s earlier, where it timed out after
    /// 0.5 s of its 1 s.
    @Test func theWorkflowClockMovesWithLocalActivities() async throws {
        let cancelled = Flag()
        try await withWorker(
            workflows: [LocalClock.self], activities: [Self.slowLocal(cancelled: cancelled)], configure: { $0.maxCachedWorkflows = 0 }
        ) { w in
            let handle = try await w.start(LocalClock.self)
            let recorded = try await eventually(20) {
                try await handle.fetchHistory().filter { $0.eventType == .markerRecorded }.count == 2
            }
            #expect(recorded)
            try await handle.signal("go")
            #expect(try await handle.result(as: String.self) == "moved: true, then slept 1.0")
            let events = try await handle.fetchHistory()
            #expect(try WorkflowReplayer(workflows: [LocalClock.self]).replay(events: events).closed)
            // Recorded with the markers, so that a build without the change refuses the history.
            #expect(
                events.contains {
                    $0.eventType == .workflowTaskCompleted
                        && $0.workflowTaskCompletedEventAttributes.sdkMetadata.langUsedFlags.contains(
                            SDKFlag.localActivityMarkersBySeqAndTime.rawValue)
                })
        }
    }

    /// No more local activity attempts run at once than `maxConcurrentLocalActivities`, across
    /// the worker (there was no limit: a fan-out ran every body at once).
    @Test func localActivitiesRunNoMoreAtOnceThanTheLimit() async throws {
        let counts = Mutex((running: 0, peak: 0))
        let counted = ActivityDefinition("counted") { (_: ActivityContext) -> String in
            counts.withLock {
                $0.running += 1
                $0.peak = max($0.peak, $0.running)
            }
            try await Task.sleep(for: .milliseconds(200))
            counts.withLock { $0.running -= 1 }
            return "ok"
        }
        try await withWorker(workflows: [LocalFanOut.self], activities: [counted], configure: { $0.maxConcurrentLocalActivities = 2 }) {
            w in
            let handle = try await w.start(LocalFanOut.self)
            let done = try await handle.result(as: Int.self)
            #expect(done == 8)
            #expect(counts.withLock { $0.peak } == 2, "at most 2 at once, and 2 reached")
        }
    }

    /// A local activity waiting for a slot times out when its schedule-to-close timeout passes
    /// (counted from its schedule, as the server counts an activity's); it used to wait for the
    /// slot however long that took, and only then time out. Whichever of the two gets the slot,
    /// the bounded one ends within about 2 s.
    @Test func aLocalActivityWaitingForASlotTimesOutOnSchedule() async throws {
        let hold = ActivityDefinition("hold") { (_: ActivityContext) -> String in
            try await Task.sleep(for: .seconds(20))
            return "held"
        }
        try await withWorker(workflows: [LocalWaitsForASlot.self], activities: [hold], configure: { $0.maxConcurrentLocalActivities = 1 }) {
            w in
            let handle = try await w.start(LocalWaitsForASlot.self)
            let outcome = try await withTimeout(12) { try await handle.result(as: String.self) }
            #expect(outcome == "timed out: \(Temporal_Api_Enums_V1_TimeoutType.scheduleToClose)")
        }
    }
}

/// Two local activities "hold" (20 s each) with one slot between them: one without a
/// schedule-to-close timeout, one with 2 s; returns how the second ended.
final class LocalWaitsForASlot: Workflow {
    init() {}
    func run(context: WorkflowContext, input: NoValue) async throws -> String {
        async let unbounded: String? = try? context.executeLocalActivity(
            "hold", options: LocalActivityOptions(startToCloseTimeout: .seconds(60)), as: String.self)
        // A child task too (run after the first): scheduled second, it waits for the slot.
        async let bounded = Self.bounded(context)
        return await bounded
    }

    static func bounded(_ context: WorkflowContext) async -> String {
        let options = LocalActivityOptions(scheduleToCloseTimeout: .seconds(2), retryPolicy: RetryPolicy(maximumAttempts: 1))
        do {
            _ = try await context.executeLocalActivity("hold", options: options, as: String.self)
            return "completed"
        } catch let error as ActivityError {
            return "timed out: \(error.timeoutType.map { "\($0)" } ?? "no (\(error))")"
        } catch {
            return "failed: \(error)"
        }
    }
}

/// A local activity that ignores its cancellation, with a start-to-close timeout of 1 s and one
/// attempt: returns how it ended.
final class StubbornLocal: Workflow {
    init() {}
    func run(context: WorkflowContext, input: NoValue) async throws -> String {
        let options = LocalActivityOptions(startToCloseTimeout: .seconds(1), retryPolicy: RetryPolicy(maximumAttempts: 1))
        do {
            return try await context.executeLocalActivity("stubborn", options: options, as: String.self)
        } catch let error as ActivityError {
            return "timed out: \(error.timeoutType.map { "\($0)" } ?? "no (\(error))")"
        }
    }
}

/// Two local activities with one activity id (results 1 and 2), one slower than the other;
/// then a signal, so that the result is computed after a replay of both markers.
final class TwinLocals: Workflow {
    var go = false
    init() {}
    func run(context: WorkflowContext, input firstIsSlower: Bool) async throws -> String {
        context.setSignalHandler("go") { self.go = true }
        let options = LocalActivityOptions(startToCloseTimeout: .seconds(10), activityID: "twin")
        let (slow, fast) = (0.6, 0.05)
        async let first = context.executeLocalActivity(
            "delayedEcho", input: [1.0, firstIsSlower ? slow : fast], options: options, as: String.self)
        async let second = context.executeLocalActivity(
            "delayedEcho", input: [2.0, firstIsSlower ? fast : slow], options: options, as: String.self)
        let (a, b) = try await (first, second)
        try await context.condition { self.go }
        return "\(a),\(b)"
    }
}

/// A local activity of 1.5 s, then one of 1 s under a schedule-to-close timeout of 2 s; then a
/// signal, so that the result is computed after a replay of both markers.
final class LocalClock: Workflow {
    var go = false
    init() {}
    func run(context: WorkflowContext, input: NoValue) async throws -> String {
        context.setSignalHandler("go") { self.go = true }
        let start = context.now
        _ = try await context.executeLocalActivity(
            "slowLocal", input: 1.5, options: LocalActivityOptions(startToCloseTimeout: .seconds(10)), as: String.self)
        let moved = context.now.timeIntervalSince(start) >= 1.4
        let second = try await context.executeLocalActivity(
            "slowLocal", input: 1.0,
            options: LocalActivityOptions(scheduleToCloseTimeout: .seconds(2), retryPolicy: RetryPolicy(maximumAttempts: 1)),
            as: String.self)
        try await context.condition { self.go }
        return "moved: \(moved), then \(second)"
    }
}

/// Eight local activities at once; returns how many succeeded.
final class LocalFanOut: Workflow {
    init() {}
    func run(context: WorkflowContext, input: NoValue) async throws -> Int {
        let options = LocalActivityOptions(startToCloseTimeout: .seconds(30))
        return try await withThrowingTaskGroup(of: String.self) { group in
            for _ in 0..<8 { group.addTask { try await context.executeLocalActivity("counted", options: options, as: String.self) } }
            var done = 0
            for try await _ in group { done += 1 }
            return done
        }
    }
}

/// One local activity "slowLocal" of `input` seconds.
final class OneSlowLocal: Workflow {
    init() {}
    func run(context: WorkflowContext, input: Double) async throws -> String {
        try await context.executeLocalActivity(
            "slowLocal", input: input, options: LocalActivityOptions(startToCloseTimeout: .seconds(60)), as: String.self)
    }
}

/// A task the server ends for heartbeating too long (its `workflowTaskHeartbeatTimeout`, 30
/// minutes by default) is said so at warning: its local activities start again on every
/// attempt and never finish, and only a debug line told of it.
@Suite struct HeartbeatLimitTests {
    @Test(.timeLimit(.minutes(2))) func aTaskEndedForHeartbeatingTooLongIsSaidSo() async throws {
        let server = try await DevServer.start(extraArguments: [
            "--dynamic-config-value", "history.workflowTaskHeartbeatTimeout=\"3s\"",
        ])
        defer { server.stop() }
        let slowLocal = ActivityDefinition("slowLocal") { (seconds: Double, _: ActivityContext) -> String in
            try await Task.sleep(for: .seconds(seconds))
            return "slept \(seconds)"
        }
        let box = LogBox()
        var options = WorkerOptions()
        options.gracefulShutdownTimeout = .seconds(1)
        options.logger = Logger(label: "heartbeat-limit") { _ in CapturingLogHandler(box: box) }
        let client = try await TemporalClient.connect(target: server.address)
        let running = RunningWorker(
            worker: Worker(client: client, taskQueue: uniqueQueue(), workflows: [LongLocal.self], activities: [slowLocal], options: options)
        )
        let handle = try await client.startWorkflow(
            type: LongLocal.name, id: "heartbeat-limit-\(UUID())", taskQueue: running.taskQueue,
            args: 30.0, options: WorkflowOptions(taskTimeout: .seconds(2)))
        let said = try await eventually(60) { box.lines.withLock { $0.contains { $0.contains("of heartbeats") } } }
        try? await handle.terminate(reason: "test over")
        await running.stop(grace: .zero)
        client.close()
        #expect(said, "\(box.lines.withLock { $0 })")
    }
}
