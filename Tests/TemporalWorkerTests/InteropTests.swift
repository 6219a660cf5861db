import Foundation
import Temporal
import TemporalTestSupport
import Testing

@testable import TemporalWorker

@Suite("Interoperability")
struct InteropTests {
    @Test func workflowStartedByTheCLI() async throws {
        let result = try await withWorker(workflows: [Hello.self], activities: [greet]) { w in
            let server = try await DevServer.shared()
            let id = "cli-\(UUID())"
            _ = try runCLI([
                "workflow", "start", "--address", server.address, "--type", "Hello", "--task-queue", w.taskQueue,
                "--workflow-id", id, "--input", #"{"name":"cli"}"#,
            ])
            return try await w.client.workflowHandle(id: id).result(as: String.self)
        }
        #expect(result == "hi cli")
    }

    @Test func ourWorkflowCallsAPythonActivity() async throws {
        let server = try await DevServer.shared()
        let pyQueue = uniqueQueue("py")
        let peer = try await PythonPeer.start(address: server.address, taskQueue: pyQueue)
        defer { peer.stop() }
        let result = try await withWorker(workflows: [RunActivity.self]) { w in
            try await w.start(RunActivity.self, ActivityCall(activity: "py_shout", input: "hello from swift", taskQueue: pyQueue))
                .result(as: String.self)
        }
        #expect(result == "HELLO FROM SWIFT")
    }
}
