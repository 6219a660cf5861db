import Foundation
import Temporal
import TemporalProto
import TemporalTestSupport
import TemporalTesting
import Testing

/// A call whose task is cancelled throws `CancellationError`, whether an attempt or the backoff
/// before a retry was under way, so that code above it (an activity body, a workflow starter)
/// tells cancellation from a failure by one type. The old code threw `TemporalError` with
/// CANCELLED during an attempt: an activity cancelled during an RPC answered "failed".
@Suite struct CallCancellationTests {
    @Test(arguments: ChannelConfiguration.TransportKind.allCases)
    func cancellingDuringAnAttemptThrowsCancellationError(kind: ChannelConfiguration.TransportKind) async throws {
        let server = try await DevServer.shared()
        let transport: any ServiceTransport =
            switch kind {
            case .grpcCore: try GRPCChannel(target: server.address)
            case .http2: try HTTP2Transport(target: server.address)
            }
        let service = WorkflowService(transport: transport, headers: [])
        var poll = Temporal_Api_Workflowservice_V1_PollActivityTaskQueueRequest()
        poll.namespace = "default"
        poll.taskQueue.name = "nobody-sends-here-\(UUID())"
        let task = Task { try await service.pollActivityTaskQueue(poll) }
        try await Task.sleep(for: .milliseconds(300))
        task.cancel()
        await #expect(throws: CancellationError.self) { _ = try await task.value }
    }

    @Test func cancellingDuringABackoffThrowsCancellationError() async throws {
        let memory = InMemoryTemporalService()
        memory.failNextCalls(to: "GetSystemInfo", count: 1000, code: .unavailable)
        let service = WorkflowService(transport: memory, headers: [])
        let task = Task { try await service.getSystemInfo() }
        try await Task.sleep(for: .milliseconds(300))
        task.cancel()
        await #expect(throws: CancellationError.self) { _ = try await task.value }
    }

    /// A call that failed for a reason of its own keeps it, even when the task was cancelled
    /// meanwhile.
    @Test func aFailureOfItsOwnIsKept() async throws {
        let memory = InMemoryTemporalService()
        memory.failNextCalls(to: "GetSystemInfo", count: 1, code: .notFound)
        let service = WorkflowService(transport: memory, headers: [])
        let task = Task {
            withUnsafeCurrentTask { $0?.cancel() }
            return try await service.getSystemInfo()
        }
        await #expect(throws: TemporalError.self) { _ = try await task.value }
    }
}
