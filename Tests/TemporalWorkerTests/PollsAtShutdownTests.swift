import Foundation
import Synchronization
import Temporal
import TemporalProto
import TemporalTestSupport
import Testing

@testable import TemporalWorker

/// A stopping worker and its long polls. A server that answers a stopping worker's polls itself
/// (the namespace's `worker_poll_complete_on_shutdown`; the dev server with
/// `frontend.enableCancelWorkerPollsOnShutdown`) is told which polls are the worker's, and the
/// worker waits for their answers instead of cancelling them: a task handed to a poll as it was
/// cancelled was started on the server and run by nobody until its timeout.
@Suite struct PollsAtShutdownTests {
    /// Passes calls to a real channel and records each request and how it ended.
    final class Recorder: ServiceTransport {
        let inner: GRPCChannel
        let calls = Mutex<[(rpc: String, request: Data, outcome: String)]>([])
        init(_ inner: GRPCChannel) { self.inner = inner }
        var target: String { inner.target }
        func unary(method: String, request: Data, metadata: [(String, String)], timeout: Duration?) async throws -> Data {
            let rpc = String(method.split(separator: "/").last ?? "")
            do {
                let response = try await inner.unary(method: method, request: request, metadata: metadata, timeout: timeout)
                calls.withLock { $0.append((rpc, request, "answered")) }
                return response
            } catch {
                calls.withLock { $0.append((rpc, request, "failed: \(error)")) }
                throw error
            }
        }
        func close() { inner.close() }
        func ended(_ rpc: String) -> [(request: Data, outcome: String)] {
            calls.withLock { $0.filter { $0.rpc == rpc }.map { ($0.request, $0.outcome) } }
        }
    }

    @Test func aStoppingWorkerLetsTheServerAnswerItsPolls() async throws {
        let server = try await DevServer.start(extraArguments: [
            "--dynamic-config-value", "frontend.enableCancelWorkerPollsOnShutdown=true",
        ])
        defer { server.stop() }
        let recorder = Recorder(try GRPCChannel(target: server.address))
        let client = try await TemporalClient.connect(transport: recorder)
        try #require(try await client.describeNamespace().namespaceInfo.capabilities.workerPollCompleteOnShutdown)
        let queue = uniqueQueue("drain")
        var options = WorkerOptions()
        options.gracefulShutdownTimeout = .seconds(5)
        let worker = Worker(client: client, taskQueue: queue, workflows: [Instant.self], activities: [greet], options: options)
        let running = Task { try await worker.run() }
        let handle = try await client.startWorkflow(type: Instant.name, id: "drain-\(UUID())", taskQueue: queue, args: "x")
        #expect(try await handle.result(as: String.self) == "at once: x")
        // Polling, and the namespace's capabilities read (a poll is answered empty after 60 s at
        // the earliest, so none ends before the shutdown by itself).
        #expect(
            try await eventually(20) {
                worker.health.isReady && worker.pollsAnsweredByServerAtShutdown
            })
        await worker.shutdown()
        _ = await running.result

        let polls = recorder.ended("PollActivityTaskQueue")
        #expect(!polls.isEmpty && polls.allSatisfy { $0.outcome == "answered" }, "\(polls.map(\.outcome))")
        for poll in polls {
            #expect(
                try Temporal_Api_Workflowservice_V1_PollActivityTaskQueueRequest(serializedBytes: poll.request).workerInstanceKey
                    == worker.workerInstanceKey)
        }
        let workflowPolls = recorder.ended("PollWorkflowTaskQueue")
        #expect(
            workflowPolls.count > 1 && workflowPolls.allSatisfy { $0.outcome == "answered" },
            "sticky and normal: \(workflowPolls.map(\.outcome))")
        for poll in workflowPolls {
            #expect(
                try Temporal_Api_Workflowservice_V1_PollWorkflowTaskQueueRequest(serializedBytes: poll.request).workerInstanceKey
                    == worker.workerInstanceKey)
        }
        let shutdowns = try recorder.ended("ShutdownWorker").map {
            try Temporal_Api_Workflowservice_V1_ShutdownWorkerRequest(serializedBytes: $0.request)
        }
        #expect(shutdowns.count == 1)
        #expect(shutdowns.first?.workerInstanceKey == worker.workerInstanceKey)
        #expect(shutdowns.first?.taskQueue == queue && shutdowns.first?.taskQueueTypes == [.workflow, .activity])
        #expect(shutdowns.first?.stickyTaskQueue == worker.stickyQueue)
    }
}
