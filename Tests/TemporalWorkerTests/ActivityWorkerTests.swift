import Foundation
import Synchronization
import Temporal
import TemporalProto
import TemporalTestSupport
import Testing

@testable import TemporalWorker

@Suite("Activities against the dev server")
struct ActivityWorkerTests {
    /// Its first execution heartbeats until it is stopped (60 s at most) and records why; later
    /// executions return at once.
    private static func beatsUntilStopped(_ stops: StopLog, _ executions: Counter) -> ActivityDefinition {
        ActivityDefinition("beatsUntilStopped") { (context: ActivityContext) -> String in
            let execution = executions.increment()
            guard execution == 1 else { return "execution \(execution)" }
            let start = ContinuousClock.now
            while ContinuousClock.now - start < .seconds(60) {
                context.heartbeat()
                do {
                    try await Task.sleep(for: .milliseconds(100))
                } catch {
                    stops.append(context.stopReason)
                    throw error
                }
            }
            return "execution 1 ran to its end"
        }
    }

    /// Runs `RunsBeatsUntilStopped` on a worker that heartbeats at most 0.5 s apart, waits until
    /// its activity's first execution runs, and hands `body` the workflow, the CLI's target
    /// arguments for that activity, and what the activity saw.
    private func withBeatingActivity(
        _ body: @escaping @Sendable (WorkflowHandle, [String], StopLog) async throws -> Void
    ) async throws {
        let stops = StopLog()
        let executions = Counter()
        let server = try await DevServer.shared()
        try await withWorker(
            workflows: [RunsBeatsUntilStopped.self], activities: [Self.beatsUntilStopped(stops, executions)], timeout: 60,
            configure: { $0.maxHeartbeatThrottleInterval = .milliseconds(500) }
        ) { w in
            let handle = try await w.start(RunsBeatsUntilStopped.self)
            #expect(try await eventually(10) { executions.current == 1 })
            try await body(handle, ["--address", server.address, "--workflow-id", handle.id, "--activity-id", "1"], stops)
        }
    }

    /// An operator pauses a running activity (`temporal activity pause`): the attempt is
    /// stopped at its next heartbeat and answers as failed, and once unpaused the activity runs
    /// again. Before, a pause was not acted on: the attempt ran to its end.
    @Test func aPausedActivityStopsAndRunsAgainOnceUnpaused() async throws {
        try await withBeatingActivity { handle, target, stops in
            _ = try DevServer.runCLI(["activity", "pause"] + target)
            #expect(try await eventually(15) { !stops.reasons.isEmpty }, "the attempt was not stopped")
            #expect(stops.reasons == [.paused])
            _ = try DevServer.runCLI(["activity", "unpause"] + target)
            #expect(try await handle.result(as: String.self) == "execution 2")
        }
    }

    /// An operator resets a running activity (`temporal activity reset`): the attempt is stopped
    /// and answers as failed — the server refuses "cancelled" for an activity nobody cancelled,
    /// which left the attempt open until its 30 s heartbeat timeout — and the activity runs again.
    @Test func aResetActivityStopsAndRunsAgainAtOnce() async throws {
        try await withBeatingActivity { handle, target, stops in
            _ = try DevServer.runCLI(["activity", "reset"] + target)
            let result = try await withTimeout(20) { try await handle.result(as: String.self) }
            #expect(result == "execution 2")
            #expect(stops.reasons == [.reset])
        }
    }

    @Test func retriedByPolicyUntilTheThirdAttempt() async throws {
        let attempts = Counter()
        let flaky = ActivityDefinition("flaky") { (_: String, ctx: ActivityContext) -> String in
            attempts.increment()
            if ctx.info.attempt < 3 { throw ApplicationError("try again", type: "Flaky") }
            return "ok on attempt \(ctx.info.attempt)"
        }
        let result = try await withWorker(workflows: [RunActivity.self], activities: [flaky]) { w in
            try await w.start(RunActivity.self, ActivityCall(activity: "flaky")).result(as: String.self)
        }
        #expect(result == "ok on attempt 3")
        #expect(attempts.current == 3)
    }

    @Test func nonRetryableStopsAtOnce() async throws {
        let attempts = Counter()
        let fatal = ActivityDefinition("fatal") { (_: String, _: ActivityContext) -> String in
            attempts.increment()
            throw ApplicationError("broken", type: "Fatal", nonRetryable: true)
        }
        let result = try await withWorker(workflows: [RunActivity.self], activities: [fatal]) { w in
            try await w.start(RunActivity.self, ActivityCall(activity: "fatal")).result(as: String.self)
        }
        #expect(result == "error:Fatal|timeout:")
        #expect(attempts.current == 1)
    }

    @Test func startToCloseTimeout() async throws {
        let sleepy = ActivityDefinition("sleepy") { (_: String, _: ActivityContext) -> String in
            try await Task.sleep(for: .seconds(4))
            return "late"
        }
        let result = try await withWorker(workflows: [RunActivity.self], activities: [sleepy]) { w in
            try await w.start(RunActivity.self, ActivityCall(activity: "sleepy", startToClose: 1, maxAttempts: 1)).result(as: String.self)
        }
        #expect(result.contains("startToClose"), "\(result)")
    }

    /// An attempt whose body turns the cancellation at its deadline into a non-retryable
    /// error answers nothing: the server's timeout (retryable) ends the attempt, and the next
    /// one runs. Before, the failure was sent at the deadline, and when it beat the server's
    /// timer it ended the activity for good.
    @Test func anErrorMadeOfTheDeadlinesCancellationLeavesTheTimeoutToTheServer() async throws {
        let attempts = Counter()
        let stopsAsItsOwn = ActivityDefinition("stopsAsItsOwn") { (_: String, context: ActivityContext) -> String in
            guard attempts.increment() == 1 else { return "attempt \(context.info.attempt)" }
            do {
                try await Task.sleep(for: .seconds(30))
            } catch {
                throw ApplicationError("stopped", type: "Stopped", nonRetryable: true)
            }
            return "late"
        }
        let result = try await withWorker(workflows: [RunActivity.self], activities: [stopsAsItsOwn]) { w in
            // 3 s: the second attempt, which answers at once, timed out under a loaded run at 1 s.
            try await w.start(RunActivity.self, ActivityCall(activity: "stopsAsItsOwn", startToClose: 3, maxAttempts: 2))
                .result(as: String.self)
        }
        #expect(result == "attempt 2", "\(result)")
    }

    @Test func heartbeatTimeout() async throws {
        let silent = ActivityDefinition("silent") { (_: String, _: ActivityContext) -> String in
            try await Task.sleep(for: .seconds(5))
            return "late"
        }
        let result = try await withWorker(workflows: [RunActivity.self], activities: [silent]) { w in
            try await w.start(RunActivity.self, ActivityCall(activity: "silent", startToClose: 20, heartbeat: 1, maxAttempts: 1))
                .result(as: String.self)
        }
        #expect(result.contains("heartbeat"), "\(result)")
    }

    @Test func heartbeatDetailsResumeAfterRetry() async throws {
        let resumable = ActivityDefinition("resumable") { (_: String, ctx: ActivityContext) -> String in
            let from = try ctx.lastHeartbeatDetails(as: Int.self) ?? 0
            if ctx.info.attempt == 1 {
                // Throttled: only the first goes out at once; the last must not be lost.
                for i in 1...3 { ctx.heartbeat(i) }
                throw ApplicationError("crash after 3 steps", type: "Crash")
            }
            return "attempt \(ctx.info.attempt) resumed from \(from)"
        }
        let result = try await withWorker(workflows: [RunActivity.self], activities: [resumable]) { w in
            try await w.start(RunActivity.self, ActivityCall(activity: "resumable", heartbeat: 10)).result(as: String.self)
        }
        #expect(result == "attempt 2 resumed from 3")
    }

    /// Runs `CancelActivity` over a "cancellable" activity that heartbeats until it is
    /// cancelled, then throws what `onCancel` makes of the error; the workflow's result.
    /// Heartbeats every 500 ms: the cancel request rides on a heartbeat's reply, and with the
    /// default throttle (0.8 × the 5 s heartbeat timeout) a heartbeat a second late on a loaded
    /// box let the server time the activity out before the cancellation reached it.
    private func cancelBeatingActivity(onCancel: @escaping @Sendable (any Error) -> any Error) async throws -> String {
        let cancellable = ActivityDefinition("cancellable") { (ctx: ActivityContext) -> String in
            do {
                for _ in 0..<200 {
                    ctx.heartbeat()
                    try await Task.sleep(for: .milliseconds(100))
                }
            } catch {
                throw onCancel(error)
            }
            return "finished"
        }
        return try await withWorker(
            workflows: [CancelActivity.self], activities: [cancellable],
            configure: { $0.maxHeartbeatThrottleInterval = .milliseconds(500) }
        ) { w in
            try await w.start(CancelActivity.self).result(as: String.self)
        }
    }

    @Test func cancellationReachesTheActivity() async throws {
        let sawCancel = Flag()
        let result = try await cancelBeatingActivity { error in
            sawCancel.set()
            return error
        }
        #expect(result == "cancelled")
        #expect(sawCancel.isSet)
    }

    /// A cancelled body whose HTTP call reports the cancellation its own way (URLError.cancelled,
    /// as URLSession does) is answered as cancelled, as Go takes any error wrapping
    /// context.Canceled: it was answered as failed, and the workflow waiting for the
    /// cancellation got an activity failure.
    @Test func aCancellationReportedAsURLErrorIsAnsweredCancelled() async throws {
        // What an URLSession call cut short throws.
        let result = try await cancelBeatingActivity { error in error is CancellationError ? URLError(.cancelled) : error }
        #expect(result == "cancelled")
    }

    /// A `CancellationError` the body throws while nothing cancelled it (its own timeout
    /// helper, a cancelled child task) fails the attempt at once. The server refuses a failure
    /// without ApplicationFailureInfo, so before, the attempt hung until its start-to-close.
    @Test func aCancellationErrorTheBodyThrowsItselfFailsTheAttemptAtOnce() async throws {
        let selfCancel = ActivityDefinition("selfCancel") { (_: String, ctx: ActivityContext) -> String in
            if ctx.info.attempt == 1 { throw CancellationError() }
            return "ok on attempt \(ctx.info.attempt)"
        }
        let once = try await withWorker(workflows: [RunActivity.self], activities: [selfCancel]) { w in
            try await w.start(RunActivity.self, ActivityCall(activity: "selfCancel", startToClose: 60, maxAttempts: 1)).result(
                as: String.self)
        }
        #expect(once == "error:UnexpectedCancellation|timeout:")
        let retried = try await withWorker(workflows: [RunActivity.self], activities: [selfCancel]) { w in
            try await w.start(RunActivity.self, ActivityCall(activity: "selfCancel", startToClose: 60)).result(as: String.self)
        }
        #expect(retried == "ok on attempt 2")
    }

    /// The same for a rethrown error about something else (here a timeout failure taken from
    /// another workflow's result): wrapped as an application failure with it as the cause.
    @Test func aRethrownNonApplicationFailureFailsTheAttemptAtOnce() async throws {
        let rethrow = ActivityDefinition("rethrow") { (_: String, _: ActivityContext) -> String in
            var timeout = Failure()
            timeout.message = "child timed out"
            timeout.timeoutFailureInfo = Temporal_Api_Failure_V1_TimeoutFailureInfo()
            throw TemporalError(kind: .workflowTimedOut, message: "child timed out", failure: timeout)
        }
        let result = try await withWorker(workflows: [RunActivity.self], activities: [rethrow]) { w in
            try await w.start(RunActivity.self, ActivityCall(activity: "rethrow", startToClose: 60, maxAttempts: 1)).result(as: String.self)
        }
        #expect(result.hasPrefix("error:UnexpectedFailure|"), "\(result)")  // the timeout is its cause
    }

    @Test func unknownActivityFailsTheAttempt() async throws {
        let result = try await withWorker(workflows: [RunActivity.self], activities: [echo]) { w in
            try await w.start(RunActivity.self, ActivityCall(activity: "nope", maxAttempts: 1)).result(as: String.self)
        }
        #expect(result == "error:ActivityNotRegisteredError|timeout:")
    }
}

/// The stop reasons an activity saw.
final class StopLog: Sendable {
    private let value = Mutex<[ActivityStopReason?]>([])
    func append(_ reason: ActivityStopReason?) { value.withLock { $0.append(reason) } }
    var reasons: [ActivityStopReason?] { value.withLock { $0 } }
}
