import Foundation
import Logging
import Temporal
import TemporalTestSupport
import TemporalTesting
import Testing

@testable import TemporalWorker

/// The heartbeat sender against the in-memory service with injected failures.
@Suite struct HeartbeaterTests {
    func heartbeater(timeout: Duration) -> (Heartbeater, InMemoryTemporalService) {
        let service = InMemoryTemporalService()
        service.failNextCalls(to: "RecordActivityTaskHeartbeat", count: 100, code: .unavailable)
        let workflowService = WorkflowService(transport: service, headers: [], retryPolicy: .none)
        let heartbeater = Heartbeater(
            heartbeatTimeout: timeout, service: workflowService, namespace: "default", identity: "test",
            taskToken: Data([1]), logger: Logger(label: "heartbeat"))
        return (heartbeater, service)
    }

    /// Once heartbeats have failed for longer than the heartbeat timeout, the server has timed
    /// the attempt out and runs it again: the attempt is stopped (as Go does) rather than left
    /// doing the same work twice until a later heartbeat gets NOT_FOUND.
    @Test func heartbeatsFailingLongerThanTheTimeoutStopTheAttempt() async throws {
        let (heartbeater, _) = heartbeater(timeout: .milliseconds(300))
        try await Task.sleep(for: .milliseconds(400))
        heartbeater.record(nil)
        #expect(try await eventually(5) { heartbeater.cancelRequested })
        #expect(heartbeater.stopReason == .attemptGone)
        // It answers "failed" (retryable), not "cancelled": the server refuses "cancelled" for an
        // attempt nobody asked to cancel, and may not have timed this one out yet.
        #expect(!ActivityTaskRunner.answersCancelled(heartbeater.stopReason))
        #expect(ActivityTaskRunner.answersCancelled(.cancelRequested))
        await heartbeater.finish(sendPending: false)
    }

    /// A heartbeat's RPC is retried for the throttle interval (at least 1 s), as Go bounds it,
    /// not for the client's whole 60 s budget: past the heartbeat timeout the server has timed
    /// the attempt out, and the next heartbeat finds that out. The old code kept retrying the
    /// first heartbeat for 60 s, the attempt running on (and its answer waiting) all that time.
    @Test func aHeartbeatIsRetriedNoLongerThanTheHeartbeatTimeout() async throws {
        let service = InMemoryTemporalService()
        service.failNextCalls(to: "RecordActivityTaskHeartbeat", count: 1000, code: .unavailable)
        let heartbeater = Heartbeater(
            heartbeatTimeout: .seconds(1), service: WorkflowService(transport: service, headers: []), namespace: "default",
            identity: "test", taskToken: Data([1]), logger: Logger(label: "heartbeat"))
        #expect(heartbeater.retryBudget == .seconds(1))
        heartbeater.record(nil)
        try await Task.sleep(for: .seconds(1.2))
        heartbeater.record(nil)
        #expect(try await eventually(8) { heartbeater.cancelRequested })
        #expect(heartbeater.stopReason == .attemptGone)
        await heartbeater.finish(sendPending: false)
        #expect(
            Heartbeater(
                heartbeatTimeout: nil, service: WorkflowService(transport: service, headers: []), namespace: "default",
                identity: "test", taskToken: Data([1]), logger: Logger(label: "heartbeat")
            ).retryBudget == .seconds(30))
    }

    /// A failure within the timeout (the server may still hold the attempt) only logs.
    @Test func aHeartbeatFailingWithinTheTimeoutLetsTheAttemptRun() async throws {
        let (heartbeater, _) = heartbeater(timeout: .seconds(60))
        heartbeater.record(nil)
        try await Task.sleep(for: .milliseconds(300))
        #expect(!heartbeater.cancelRequested)
        await heartbeater.finish(sendPending: false)
    }
}
