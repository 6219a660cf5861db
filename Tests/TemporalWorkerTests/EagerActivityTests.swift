import Foundation
import Temporal
import TemporalTestSupport
import Testing

@testable import TemporalWorker

#if canImport(Glibc)
import Glibc
#endif

/// Eager activity dispatch needs `system.enableActivityEagerExecution`, off by default on the
/// dev server: this suite starts its own server with it on.
@Suite("Eager activities")
struct EagerActivityTests {
    @Test func activitiesComeBackInTheWorkflowTaskResponse() async throws {
        // Start after the shared server is up (two dev servers starting at once can collide);
        // stopped with SIGKILL, not SIGTERM (a SIGTERM-ed dev server took the test process down with it).
        _ = try await DevServer.shared()
        let port = try DevServer.freePort()
        let server = Process()
        server.executableURL = URL(fileURLWithPath: try DevServer.findTemporalCLI())
        server.arguments = [
            "server", "start-dev", "--headless", "--ip", "127.0.0.1", "--port", "\(port)",
            "--ui-port", "\(try DevServer.freePort())", "--log-level", "error",
            "--dynamic-config-value", "system.enableActivityEagerExecution=true",
        ]
        server.standardOutput = FileHandle.nullDevice
        server.standardError = FileHandle.nullDevice
        try server.run()
        defer {
            kill(server.processIdentifier, SIGKILL)
            server.waitUntilExit()
        }
        let address = "127.0.0.1:\(port)"
        var client: TemporalClient?
        for _ in 0..<150 where client == nil {
            if let c = try? await TemporalClient.connect(target: address, retryPolicy: .none), (try? await c.describeNamespace()) != nil {
                client = c
            } else {
                try await Task.sleep(for: .milliseconds(200))
            }
        }
        let connected = try #require(client)
        let steps = ["step1", "step2", "step3"].map { name in
            ActivityDefinition(name) { (s: String, _: ActivityContext) in s + name.suffix(1) }
        }
        let echo = ActivityDefinition("echo") { (s: String, _: ActivityContext) in s }
        let worker = Worker(
            client: connected, taskQueue: uniqueQueue("eager"), workflows: [ThreeSteps.self, ManyActivities.self],
            activities: steps + [echo])
        let running = RunningWorker(worker: worker)
        let result = try await withTimeout(60) {
            try await connected.startWorkflow(type: ThreeSteps.name, id: "eager-\(UUID())", taskQueue: worker.taskQueue, args: "x")
                .result(as: String.self)
        }
        #expect(result == "x123")
        #expect(worker.metrics.snapshot.eagerActivities == 3)
        // A fan-out of ten in one task: at most 3 run eagerly (as Go and Core reserve), the rest
        // go through the queue to whichever worker polls (all ten went to this worker).
        let fanned = try await withTimeout(60) {
            try await connected.startWorkflow(
                type: ManyActivities.name, id: "eager-fan-\(UUID())", taskQueue: worker.taskQueue, args: [1, 10]
            ).result(as: Int.self)
        }
        await running.stop()
        #expect(fanned == 10)
        #expect(worker.metrics.snapshot.eagerActivities == 6)
    }
}
