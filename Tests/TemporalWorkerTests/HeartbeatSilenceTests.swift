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
}
