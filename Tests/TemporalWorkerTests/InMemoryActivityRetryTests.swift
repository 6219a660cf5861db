import Foundation
import Synchronization
import Temporal
import TemporalProto
import TemporalTestSupport
import TemporalTesting
import Testing

@testable import TemporalWorker

/// What `RetryProbe` runs: one activity with these options.
struct RetryProbeInput: Codable, Sendable {
    var activity: String
    var startToClose: Double = 10
    var scheduleToClose: Double?
    var initialInterval: Double = 1
    var coefficient: Double = 2
    var maxAttempts: Int?
    var nonRetryable: [String] = []
    /// Seconds slept before the activity (time the environment skips).
    var sleepFirst: Double = 0
    /// The activity's task queue (nil: the workflow's).
    var taskQueue: String?
}

/// Runs `RetryProbeInput.activity` and says how it ended: `ok:<result>`, or
/// `failed:<retry state>|timeout:<type>|cause:<the timeout's cause, if any>`.
final class RetryProbe: Workflow {
    init() {}
    func run(context: WorkflowContext, input: RetryProbeInput) async throws -> String {
        if input.sleepFirst > 0 { try await context.sleep(for: .milliseconds(Int(input.sleepFirst * 1000))) }
        var options = ActivityOptions(
            scheduleToCloseTimeout: input.scheduleToClose.map { .milliseconds(Int($0 * 1000)) },
            startToCloseTimeout: .milliseconds(Int(input.startToClose * 1000)),
            retryPolicy: RetryPolicy(
                initialInterval: .milliseconds(Int(input.initialInterval * 1000)), backoffCoefficient: input.coefficient,
                maximumAttempts: input.maxAttempts, nonRetryableErrorTypes: input.nonRetryable))
        options.taskQueue = input.taskQueue
        do {
            return "ok:" + (try await context.executeActivity(input.activity, input: "x", options: options, as: String.self))
        } catch let error as ActivityError {
            var cause = ""
            var failure: Failure? = error.failure
            while let current = failure {
                if case .timeoutFailureInfo? = current.failureInfo, current.hasCause { cause = current.cause.message }
                failure = current.hasCause ? current.cause : nil
            }
            return "failed:\(error.retryState)|timeout:\(error.timeoutType.map { "\($0)" } ?? "")|cause:\(cause)"
        }
    }
}

/// Activity retries in the in-memory service as a server makes them: the policy's backoff
/// between attempts (skipped like timers), a retry that would start after the
/// schedule-to-close deadline not made, timeouts named as non-retryable not retried, a
/// timeout's cause the attempt before it, and attempts' deadlines kept after skipped time.
@Suite struct InMemoryActivityRetryTests {
    /// Before, the backoff was not waited and the schedule-to-close deadline not counted
    /// against it: 20 attempts at once, then MAXIMUM_ATTEMPTS_REACHED.
    @Test func retriesWaitTheirBackoffWithinTheScheduleToClose() async throws {
        let attempts = Mutex<[(service: Date, wall: ContinuousClock.Instant)]>([])
        let env = try await TestWorkflowEnvironment.start()
        defer { env.shutdown() }
        let failing = ActivityDefinition("failing") { (_: String, _: ActivityContext) -> String in
            attempts.withLock { $0.append((env.service.now, ContinuousClock.now)) }
            throw ApplicationError("still broken", type: "Broken")
        }
        // Attempt 1 at 0 s, attempt 2 after 4 s, attempt 3 would start after 8 s more: past 10 s.
        let input = RetryProbeInput(activity: "failing", startToClose: 9, scheduleToClose: 10, initialInterval: 4, coefficient: 2)
        let outcome = try await within(30) { try await env.execute(RetryProbe.self, input: input, activities: [failing]) }
        #expect(outcome == "failed:timeout|timeout:|cause:", "\(outcome)")
        let times = attempts.withLock { $0 }
        #expect(times.count == 2, "\(times)")
        if times.count == 2 {
            #expect(times[1].service.timeIntervalSince(times[0].service) >= 4, "the backoff is waited (on the skipped clock)")
            #expect(times[1].wall - times[0].wall < .seconds(3.5), "without waiting for it in real time")
        }
    }

    /// A retry policy a server refuses (a backoff coefficient below 1) never runs the activity:
    /// the worker refuses it before sending (`RetryPolicy.refusal`: the code gets a
    /// `WorkflowUsageError`, here uncaught), and the service would fail the workflow task with
    /// BAD_SCHEDULE_ACTIVITY_ATTRIBUTES, as a server's does, for a client that sent it. Before
    /// either, the activity ran and the test passed where the run would be stuck on a server.
    @Test func aRetryPolicyAServerRefusesFailsTheWorkflowTask() async throws {
        let env = try await TestWorkflowEnvironment.start(workflowTaskFailuresEndRuns: false)  // the retry is what is tested
        defer { env.shutdown() }
        let quick = ActivityDefinition("quick") { (_: String, _: ActivityContext) in "ran" }
        try await env.withWorker(workflows: [RetryProbe.self], activities: [quick]) { worker in
            let input = RetryProbeInput(activity: "quick", coefficient: 0.5)
            let handle = try await env.client.startWorkflow(
                type: RetryProbe.name, id: "bad-policy", taskQueue: worker.taskQueue, args: input)
            #expect(
                try await eventually {
                    try env.service.history(workflowID: handle.id).contains {
                        ($0.eventType == .workflowTaskFailed
                            && $0.workflowTaskFailedEventAttributes.failure.message.contains("backoffCoefficient is 0.5"))
                            || ($0.eventType == .workflowExecutionFailed
                                && $0.workflowExecutionFailedEventAttributes.failure.message.contains("backoffCoefficient is 0.5"))
                    }
                })
            #expect(try !env.service.history(workflowID: handle.id).contains { $0.eventType == .activityTaskScheduled })
            try? await handle.terminate(reason: "done")
        }
    }

    /// An activity result over a server's 2 MiB blob limit fails the activity for good, as the
    /// frontend turns such a completion into a non-retryable failure ("Complete result exceeds
    /// size limit."). Before, the test passed where production fails.
    @Test func aResultOverTheBlobLimitFailsTheActivity() async throws {
        let env = try await TestWorkflowEnvironment.start()
        defer { env.shutdown() }
        let huge = ActivityDefinition("huge") { (_: String, _: ActivityContext) -> String in String(repeating: "x", count: 3_000_000) }
        let outcome = try await within(30) {
            try await env.execute(RetryProbe.self, input: RetryProbeInput(activity: "huge"), activities: [huge], id: "huge")
        }
        #expect(outcome == "failed:nonRetryableFailure|timeout:|cause:", "\(outcome)")
        let failed = try env.service.history(workflowID: "huge").first { $0.eventType == .activityTaskFailed }
        #expect(failed?.activityTaskFailedEventAttributes.failure.message == "Complete result exceeds size limit.")
    }

    /// An activity nobody polls for, with a schedule-to-close and no schedule-to-start, times
    /// out as schedule-to-start, as on a server (which sets schedule-to-start to the
    /// schedule-to-close when unset, and fires it first at the same instant): it was reported
    /// schedule-to-close, and a workflow telling them apart went another way. The dev server
    /// says the same.
    @Test func anActivityNobodyPollsForTimesOutScheduleToStart() async throws {
        let input = RetryProbeInput(activity: "nobody", startToClose: 0, scheduleToClose: 1, taskQueue: "nobody-polls-\(UUID().uuidString)")
        let env = try await TestWorkflowEnvironment.start()
        defer { env.shutdown() }
        let inMemory = try await within(30) { try await env.execute(RetryProbe.self, input: input) }
        #expect(inMemory.hasPrefix("failed:") && inMemory.contains("|timeout:scheduleToStart|"), "\(inMemory)")
        let onServer = try await withWorker(workflows: [RetryProbe.self]) { w in
            try await within(30) { try await w.start(RetryProbe.self, input).result(as: String.self) }
        }
        #expect(onServer == inMemory)
    }

    /// A failure's own `nextRetryDelay` wins over the policy's backoff.
    @Test func aFailuresNextRetryDelayWins() async throws {
        let attempts = Mutex<[Date]>([])
        let env = try await TestWorkflowEnvironment.start()
        defer { env.shutdown() }
        let later = ActivityDefinition("later") { (_: String, ctx: ActivityContext) -> String in
            attempts.withLock { $0.append(env.service.now) }
            guard ctx.info.attempt > 1 else {
                var error = ApplicationError("come back in an hour", type: "Busy")
                error.nextRetryDelay = .seconds(3_600)
                throw error
            }
            return "back"
        }
        let outcome = try await within(30) {
            try await env.execute(RetryProbe.self, input: RetryProbeInput(activity: "later"), activities: [later])
        }
        #expect(outcome == "ok:back")
        let times = attempts.withLock { $0 }
        if times.count == 2 { #expect(times[1].timeIntervalSince(times[0]) >= 3_600, "\(times)") }
    }

    /// An activity that always fails (retryably), counting its attempts.
    static func broken(counting attempts: Counter) -> ActivityDefinition {
        ActivityDefinition("broken") { (_: String, _: ActivityContext) -> String in
            attempts.increment()
            throw ApplicationError("still broken", type: "Broken")
        }
    }

    /// An activity that never succeeds under a policy without a maximum ends its run at the
    /// service's cap (20 attempts), terminated with a reason that says what a server would do:
    /// retry for ever, the workflow never seeing the failure. Before, the workflow saw it as
    /// MAXIMUM_ATTEMPTS_REACHED, a failure it never gets in production, and could handle it.
    @Test func endlessRetriesEndTheRunSayingWhy() async throws {
        let attempts = Counter()
        let env = try await TestWorkflowEnvironment.start()
        defer { env.shutdown() }
        let broken = Self.broken(counting: attempts)
        let input = RetryProbeInput(activity: "broken", initialInterval: 0.01)
        let outcome = try await within(60) { try? await env.execute(RetryProbe.self, input: input, activities: [broken], id: "endless") }
        #expect(outcome == nil, "the workflow saw a failure it never sees on a server: \(String(describing: outcome))")
        #expect(attempts.current == 20)
        let history = try env.service.history(workflowID: "endless")
        let terminated = try #require(history.last { $0.eventType == .workflowExecutionTerminated })
        let reason = terminated.workflowExecutionTerminatedEventAttributes.reason
        #expect(reason.contains("'broken'") && reason.contains("20 attempts") && reason.contains("still broken"), "\(reason)")
        #expect(reason.contains("retry it for ever") && reason.contains("maximumAttempts"), "\(reason)")
        #expect(!history.contains { $0.eventType == .activityTaskFailed })
    }

    /// An activity that never succeeds under a policy without a maximum but with a
    /// schedule-to-close timeout (the ETL's load and transform: retried for 30 minutes) is
    /// retried until that timeout, and the workflow sees it time out, as on a server. Before,
    /// the run was terminated at 20 attempts (about 7 minutes of skipped time here), saying a
    /// server would retry it for ever.
    @Test func retriesWithoutAMaximumEndAtTheScheduleToCloseTimeout() async throws {
        let attempts = Counter()
        let env = try await TestWorkflowEnvironment.start()
        defer { env.shutdown() }
        let broken = Self.broken(counting: attempts)
        let input = RetryProbeInput(activity: "broken", scheduleToClose: 1_800, initialInterval: 1, coefficient: 2)
        let outcome = try await within(60) { try await env.execute(RetryProbe.self, input: input, activities: [broken], id: "bounded") }
        #expect(outcome.hasPrefix("failed:timeout"), "\(outcome)")
        #expect(attempts.current > 20, "\(attempts.current) attempts")
    }

    /// The same with a week-long schedule-to-close under the default backoff (capped at 100 s:
    /// about 6,000 attempts): retried until the timeout, as on a server. Before, the run was
    /// terminated at 2,000 attempts (about 2.3 days of skipped time), and a test of what the
    /// workflow does when the activity times out could not pass.
    @Test func aWeekLongScheduleToCloseIsRetriedUntilItTimesOut() async throws {
        let attempts = Counter()
        let env = try await TestWorkflowEnvironment.start()
        defer { env.shutdown() }
        let broken = Self.broken(counting: attempts)
        let input = RetryProbeInput(activity: "broken", scheduleToClose: 7 * 86_400, initialInterval: 1, coefficient: 2)
        let outcome = try await within(240) { try await env.execute(RetryProbe.self, input: input, activities: [broken], id: "week") }
        #expect(outcome.hasPrefix("failed:timeout"), "\(outcome)")
        #expect(attempts.current > 6_000, "\(attempts.current) attempts")
    }

    /// An activity's failure carries the source its converter names, and a failure it rethrows
    /// as it received it (another SDK's) keeps that SDK's: the runner wrote "SwiftSDK" over
    /// both, which names whose stack trace a failure carries.
    @Test func anActivityFailureKeepsTheSourceItsConverterOrItsSenderNamed() async throws {
        let env = try await TestWorkflowEnvironment.start(dataConverter: DataConverter(failureConverter: FailureConverter(source: "MySDK")))
        defer { env.shutdown() }
        let own = ActivityDefinition("own") { (_: String, _: ActivityContext) -> String in
            throw ApplicationError("mine", type: "Mine", nonRetryable: true)
        }
        let relayed = ActivityDefinition("relayed") { (_: String, _: ActivityContext) -> String in
            var received = Failure()
            received.message = "from Go"
            received.source = "GoSDK"
            received.stackTrace = "main.go:12"
            var info = Temporal_Api_Failure_V1_ApplicationFailureInfo()
            info.type = "GoError"
            info.nonRetryable = true
            received.applicationFailureInfo = info
            var relayed = ApplicationError("from Go", type: "GoError", nonRetryable: true)
            relayed.failure = received  // as a client or workflow decoded it
            throw relayed
        }
        _ = try await within(30) {
            try await env.execute(RetryProbe.self, input: RetryProbeInput(activity: "own"), activities: [own], id: "own")
        }
        _ = try await within(30) {
            try await env.execute(RetryProbe.self, input: RetryProbeInput(activity: "relayed"), activities: [relayed], id: "relayed")
        }
        func source(_ id: String) throws -> String? {
            try env.service.history(workflowID: id).first { $0.eventType == .activityTaskFailed }?
                .activityTaskFailedEventAttributes.failure.source
        }
        #expect(try source("own") == "MySDK")
        #expect(try source("relayed") == "GoSDK")
    }

    /// A start-to-close timeout listed as non-retryable ends the activity at its first timeout,
    /// and that timeout's cause is how the attempt before it failed. Before, it was retried
    /// (up to 20 attempts), and the cause was empty.
    @Test func timeoutsListedAsNonRetryableAreNotRetriedAndCarryTheLastFailure() async throws {
        let attempts = Atomic<Int>(0)
        let env = try await TestWorkflowEnvironment.start()
        defer { env.shutdown() }
        let stuck = ActivityDefinition("stuck") { (_: String, ctx: ActivityContext) -> String in
            attempts.add(1, ordering: .relaxed)
            if ctx.info.attempt == 1 { throw ApplicationError("boom", type: "Boom") }
            try await Task.sleep(for: .seconds(30))
            return "late"
        }
        let input = RetryProbeInput(
            activity: "stuck", startToClose: 1, initialInterval: 0.1, nonRetryable: ["TemporalTimeout:StartToClose"])
        let outcome = try await within(30) { try await env.execute(RetryProbe.self, input: input, activities: [stuck]) }
        #expect(outcome == "failed:nonRetryableFailure|timeout:startToClose|cause:boom", "\(outcome)")
        #expect(attempts.load(ordering: .relaxed) == 2)
    }

    /// After the environment skipped an hour, an attempt's start-to-close still stops its body
    /// at its deadline: the service hands out task times on the worker's clock. Before, the
    /// worker counted the deadline an hour late, the service started attempt 2 beside a body
    /// that never stopped.
    @Test func anAttemptsDeadlineHoldsAfterSkippedTime() async throws {
        let running = Atomic<Int>(0)
        let most = Atomic<Int>(0)
        let stopped = Atomic<Int>(0)
        let env = try await TestWorkflowEnvironment.start()
        defer { env.shutdown() }
        let slow = ActivityDefinition("slow") { (_: String, _: ActivityContext) -> String in
            let now = running.add(1, ordering: .relaxed).newValue
            _ = most.max(now, ordering: .relaxed)
            defer { running.subtract(1, ordering: .relaxed) }
            do {
                try await Task.sleep(for: .seconds(5))
            } catch {
                stopped.add(1, ordering: .relaxed)
                throw error
            }
            return "slept"
        }
        // A timed-out attempt's backoff is waited, not skipped: its body may still be stopping.
        let input = RetryProbeInput(activity: "slow", startToClose: 1, initialInterval: 2, maxAttempts: 2, sleepFirst: 3_600)
        let outcome = try await within(30) { try await env.execute(RetryProbe.self, input: input, activities: [slow]) }
        #expect(outcome == "failed:maximumAttemptsReached|timeout:startToClose|cause:activity StartToClose timeout", "\(outcome)")
        #expect(most.load(ordering: .relaxed) == 1, "one attempt at a time")
        #expect(stopped.load(ordering: .relaxed) == 2, "each body stopped at its deadline")
    }

    /// A start-to-close timeout that leaves no time for another attempt before the
    /// schedule-to-close deadline reads as a schedule-to-close timeout, as a server reports it
    /// ("Not enough time to schedule next retry…"); it kept its start-to-close type, so code
    /// branching on `ActivityError.timeoutType` took another path than in production.
    @Test func aTimeoutLeavingNoTimeToRetryIsAScheduleToCloseTimeout() async throws {
        let env = try await TestWorkflowEnvironment.start()
        defer { env.shutdown() }
        let hanging = ActivityDefinition("hanging") { (_: String, _: ActivityContext) -> String in
            try await Task.sleep(for: .seconds(10))
            return "slept"
        }
        let input = RetryProbeInput(activity: "hanging", startToClose: 1, scheduleToClose: 1.5)
        let outcome = try await within(30) { try await env.execute(RetryProbe.self, input: input, activities: [hanging]) }
        #expect(outcome.hasPrefix("failed:timeout|timeout:scheduleToClose|"), "\(outcome)")
    }

    /// The backoff after a timed-out attempt is skipped once its worker had time to stop it
    /// (2 s): it was waited in real time, so a hanging activity's retries (1, 2, 4, 8 … s)
    /// held the test for minutes.
    @Test func backoffsAfterTimeoutsAreSkippedOnceTheAttemptStopped() async throws {
        let env = try await TestWorkflowEnvironment.start()
        defer { env.shutdown() }
        let attempts = Atomic<Int>(0)
        let hanging = ActivityDefinition("hanging") { (_: String, _: ActivityContext) -> String in
            attempts.add(1, ordering: .relaxed)
            try await Task.sleep(for: .seconds(60))
            return "slept"
        }
        // Attempts at 0, 1 + 10, 2 + 20 + 11, 3 + 40 + 32 … s of service time: the fourth
        // starts after about 75 s, the 20 s of waits that skipping saves after the third.
        let input = RetryProbeInput(activity: "hanging", startToClose: 1, initialInterval: 10, maxAttempts: 4)
        let start = ContinuousClock.now
        let outcome = try await within(60) { try await env.execute(RetryProbe.self, input: input, activities: [hanging]) }
        #expect(outcome.hasPrefix("failed:maximumAttemptsReached|timeout:startToClose|"), "\(outcome)")
        #expect(attempts.load(ordering: .relaxed) == 4)
        #expect(ContinuousClock.now - start < .seconds(40), "\(ContinuousClock.now - start)")
    }
}
