import Foundation
import Temporal
import TemporalTestSupport
import Testing

@testable import TemporalWorker

/// A body that stops heartbeating (hung on a dead connection) is stopped once its heartbeat
/// timeout and a margin pass, answering nothing, as Core stops it: the server has timed the
/// attempt out and runs the next one. Before, it ran on until its start-to-close (hours, for
/// long activities), beside the next attempt, holding its slot: a few such hangs and the worker
/// took no more activities.
@Suite struct HeartbeatSilenceTests {
    @Test func aBodyThatStopsHeartbeatingIsStoppedAndItsSlotFreed() async throws {
        let stopped = Flag()
        let hanging = ActivityDefinition("hangsAfterOneHeartbeat") { (_: String, context: ActivityContext) -> String in
            if context.info.attempt > 1 { return "ok on attempt \(context.info.attempt)" }
            context.heartbeat("started")
            do {
                try await Task.sleep(for: .seconds(90))  // hung: no more heartbeats
            } catch {
                stopped.set()
                throw error
            }
            return "late"
        }
        try await withWorker(
            workflows: [RunActivity.self], activities: [hanging], timeout: 80,
            configure: { $0.maxConcurrentActivities = 1 }  // the next attempt needs the hung one's slot
        ) { w in
            let call = ActivityCall(activity: "hangsAfterOneHeartbeat", startToClose: 120, heartbeat: 2, maxAttempts: 2)
            let handle = try await w.start(RunActivity.self, call)
            let result = try await within(45) { try await handle.result(as: String.self) }
            #expect(result == "ok on attempt 2")
            #expect(stopped.isSet, "the hung attempt was stopped")
        }
    }

    /// A heartbeat the throttle held reaches the server later, which times the attempt from it:
    /// a body quiet after it is not stopped before the server would time it out. The silence
    /// was counted from when the body recorded it (16 s earlier here), and a body that completed
    /// in time for the server was stopped, answering nothing: a success became a heartbeat
    /// timeout and a retry. (A 20 s heartbeat timeout: margins of seconds on both sides for a
    /// loaded box; with 10 s, a full CI run once took the completion past the server's timeout.)
    @Test func silenceCountsFromAHeldHeartbeatsSending() async throws {
        let stopped = Flag()
        let quiet = ActivityDefinition("quietAfterAHeldHeartbeat") { (_: String, context: ActivityContext) -> String in
            context.heartbeat("a")  // sent at once
            try await Task.sleep(for: .milliseconds(500))
            context.heartbeat("b")  // held by the throttle (0.8 × 20 s) until about 16 s
            do {
                // Done at 30 s: the server's timeout is at about 36 s; counted from the
                // recording, the body would be stopped at 25.5 s (20 s and the 5 s margin).
                try await Task.sleep(for: .seconds(29.5))
            } catch {
                stopped.set()
                throw error
            }
            return "done"
        }
        try await withWorker(workflows: [RunActivity.self], activities: [quiet], timeout: 100) { w in
            let call = ActivityCall(activity: "quietAfterAHeldHeartbeat", startToClose: 90, heartbeat: 20, maxAttempts: 1)
            let handle = try await w.start(RunActivity.self, call)
            #expect(try await within(75) { try await handle.result(as: String.self) } == "done")
            #expect(!stopped.isSet)
        }
    }
}
