import Foundation
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
}

/// One local activity "slowLocal" of `input` seconds.
final class OneSlowLocal: Workflow {
    init() {}
    func run(context: WorkflowContext, input: Double) async throws -> String {
        try await context.executeLocalActivity(
            "slowLocal", input: input, options: LocalActivityOptions(startToCloseTimeout: .seconds(60)), as: String.self)
    }
}
