import ArgumentParser
import Foundation
import SwiftProtobuf
import Temporal
import TemporalBenchWorkload
import TemporalProto
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
        /// Per workflow, medians: time in unary RPCs (start, task completions — the server's
        /// work on them and the round trip), in dispatch (a workflow task scheduled → started,
        /// from history), between the last history event and the result reaching the caller,
        /// and the rest: this process's own work (worker and client) and its hand-offs.
        var serverRPCMs: Double
        var dispatchMs: Double
        var resultWaitMs: Double
        var ownMs: Double
    }

    /// One measured workflow: its id, when its result arrived, its latency and its RPC time.
    private struct Sample {
        var id: String
        var eager: Bool
        var resultAt: Date
        var latencyMs: Double
        var rpcMs: Double
    }

    func run() async throws {
        let rpcTime = RPCTimeRecorder()
        let client = try await TemporalClient.connect(target: address, metricsFactory: rpcTime)
        let queue = "eager-bench-\(UUID().uuidString.prefix(8))"
        var options = WorkerOptions()
        options.gracefulShutdownTimeout = .seconds(1)
        let worker = Worker(
            client: client, taskQueue: queue, workflows: [BenchFlow.self, BenchFlowLocal.self],
            activities: BenchFlow.activities, options: options)
        let running = Task { try await worker.run() }
        defer { running.cancel() }
        var samples: [Sample] = []
        for i in 0..<(10 + 2 * workflows) {
            let eager = i % 2 == 0
            let clock = ContinuousClock()
            let start = clock.now
            let rpcBefore = rpcTime.nanoseconds
            let id = "\(queue)-\(i)"
            let handle = try await client.startWorkflow(
                type: workflowType, id: id, taskQueue: queue,
                args: "member_\(i % 4 + 1)", options: WorkflowOptions(eagerStart: eager))
            _ = try await handle.result(as: BenchFlow.Summary.self)
            let latency = (clock.now - start).ms
            if i >= 10 {
                samples.append(
                    Sample(
                        id: id, eager: eager, resultAt: Date(), latencyMs: latency,
                        rpcMs: Double(rpcTime.nanoseconds - rpcBefore) / 1e6))
            }
        }
        await worker.shutdown()
        let eagerTasks = worker.metrics.snapshot.eagerWorkflowTasks
        var results: [Result] = []
        for eager in [false, true] {
            let mine = samples.filter { $0.eager == eager }
            var dispatch: [Double] = []
            var resultWait: [Double] = []
            var own: [Double] = []
            for sample in mine {
                let events = try await client.workflowHandle(id: sample.id).fetchHistory()
                var steps = StepBreakdown()
                steps.add(events)
                let waits = (steps.samples["wft schedule→start"] ?? []).reduce(0, +)
                let wait = events.last.map { sample.resultAt.timeIntervalSince($0.eventTime.date) * 1000 } ?? 0
                dispatch.append(waits)
                resultWait.append(wait)
                own.append(sample.latencyMs - sample.rpcMs - waits - wait)
            }
            let sorted = mine.map(\.latencyMs).sorted()
            let r = Result(
                mode: eager ? "eager start" : "normal start", workflows: sorted.count,
                latencyP50Ms: quantile(sorted, 0.5), latencyP99Ms: quantile(sorted, 0.99),
                serverRPCMs: quantile(mine.map(\.rpcMs).sorted(), 0.5), dispatchMs: quantile(dispatch.sorted(), 0.5),
                resultWaitMs: quantile(resultWait.sorted(), 0.5), ownMs: quantile(own.sorted(), 0.5))
            print(
                String(
                    format: "%@ (%@): %d workflows, latency p50 %.1f ms p99 %.1f ms; per workflow (medians): "
                        + "unary RPCs %.1f ms, dispatch %.1f ms, result wait %.1f ms, this process %.1f ms",
                    r.mode, workflowType, r.workflows, r.latencyP50Ms, r.latencyP99Ms, r.serverRPCMs, r.dispatchMs,
                    r.resultWaitMs, r.ownMs))
            results.append(r)
        }
        print("first tasks received eagerly: \(eagerTasks)")
        try writeBenchJSON(results, to: json)
        client.close()
    }
}
