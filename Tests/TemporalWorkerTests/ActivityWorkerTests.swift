import Foundation
import Temporal
import TemporalTestSupport
import Testing

@testable import TemporalWorker

@Suite("Activities against the dev server")
struct ActivityWorkerTests {
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

    @Test func cancellationReachesTheActivity() async throws {
        let sawCancel = Flag()
        let cancellable = ActivityDefinition("cancellable") { (ctx: ActivityContext) -> String in
            do {
                for _ in 0..<200 {
                    ctx.heartbeat()
                    try await Task.sleep(for: .milliseconds(100))
                }
            } catch {
                sawCancel.set()
                throw error
            }
            return "finished"
        }
        // Heartbeats every 500 ms: the cancel request rides on a heartbeat's reply, and with the
        // default throttle (0.8 × the 5 s heartbeat timeout) a heartbeat a second late on a
        // loaded box let the server time the activity out before the cancellation reached it.
        let result = try await withWorker(
            workflows: [CancelActivity.self], activities: [cancellable],
            configure: { $0.maxHeartbeatThrottleInterval = .milliseconds(500) }
        ) { w in
            try await w.start(CancelActivity.self).result(as: String.self)
        }
        #expect(result == "cancelled")
        #expect(sawCancel.isSet)
    }

    @Test func unknownActivityFailsTheAttempt() async throws {
        let result = try await withWorker(workflows: [RunActivity.self], activities: [echo]) { w in
            try await w.start(RunActivity.self, ActivityCall(activity: "nope", maxAttempts: 1)).result(as: String.self)
        }
        #expect(result == "error:ActivityNotRegisteredError|timeout:")
    }
}
