import ArgumentParser
import Foundation
import Temporal
import TemporalBenchWorkload
import TemporalWorker

/// Sequential BenchFlow runs started by a client in the same process as the worker, with and
/// without eager workflow start (interleaved, so the server's drift hits both alike): the
/// latency eager start saves when a starter runs beside a worker.
struct EagerStartBench: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "eager-start",
        abstract: "Sequential latency with and without eager workflow start (worker in this process).")
    @Option(help: "Temporal frontend host:port.") var address = ProcessInfo.processInfo.environment["TEMPORAL_HOST"] ?? "127.0.0.1:7233"
    @Option(help: "Workflows per mode (after 10 warm-up workflows).") var workflows = 100
    @Option(help: "Workflow type: BenchFlow or BenchFlowLocal.") var workflowType = BenchFlow.name
    @Option(help: "Write the results as JSON to this file.") var json: String?

    struct Result: Codable {
        var mode: String
        var workflows: Int
        var latencyP50Ms: Double
        var latencyP99Ms: Double
    }

    func run() async throws {
        let client = try await TemporalClient.connect(target: address)
        let queue = "eager-bench-\(UUID().uuidString.prefix(8))"
        var options = WorkerOptions()
        options.gracefulShutdownTimeout = .seconds(1)
        let worker = Worker(
            client: client, taskQueue: queue, workflows: [BenchFlow.self, BenchFlowLocal.self],
            activities: BenchFlow.activities, options: options)
        let running = Task { try await worker.run() }
        defer { running.cancel() }
        var latencies: [Bool: [Double]] = [true: [], false: []]
        for i in 0..<(10 + 2 * workflows) {
            let eager = i % 2 == 0
            let clock = ContinuousClock()
            let start = clock.now
            let handle = try await client.startWorkflow(
                type: workflowType, id: "\(queue)-\(i)", taskQueue: queue,
                args: "member_\(i % 4 + 1)", options: WorkflowOptions(eagerStart: eager))
            _ = try await handle.result(as: BenchFlow.Summary.self)
            if i >= 10 { latencies[eager, default: []].append((clock.now - start).ms) }
        }
        await worker.shutdown()
        let eagerTasks = worker.metrics.snapshot.eagerWorkflowTasks
        var results: [Result] = []
        for eager in [false, true] {
            let sorted = (latencies[eager] ?? []).sorted()
            let r = Result(
                mode: eager ? "eager start" : "normal start", workflows: sorted.count,
                latencyP50Ms: quantile(sorted, 0.5), latencyP99Ms: quantile(sorted, 0.99))
            print(
                String(
                    format: "%@ (%@): %d workflows, latency p50 %.1f ms p99 %.1f ms", r.mode, workflowType, r.workflows, r.latencyP50Ms,
                    r.latencyP99Ms))
            results.append(r)
        }
        print("first tasks received eagerly: \(eagerTasks)")
        try writeBenchJSON(results, to: json)
        client.close()
    }
}
