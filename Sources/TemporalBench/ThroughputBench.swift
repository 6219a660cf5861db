import ArgumentParser
import Foundation
import SwiftProtobuf
import Temporal
import TemporalBenchWorkload
import TemporalProto

/// N BenchFlow workflows (three activities each) at a fixed concurrency, on a worker in its
/// own process; reports throughput, end-to-end latency, worker CPU per workflow task and
/// peak RSS, and the per-step breakdown from history timestamps.
struct ThroughputBench: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "throughput", abstract: "Workflows/s, latency, worker CPU per workflow task and RSS, per worker kind.")

    @Option(help: "Temporal frontend host:port.") var address = ProcessInfo.processInfo.environment["TEMPORAL_HOST"] ?? "127.0.0.1:7233"
    @Option(help: "Workflows to run (after 10 warm-up workflows).") var workflows = 200
    @Option(help: "Workflows in flight at once.") var concurrency = 50
    @Option(help: "Worker kinds to measure, in order: swift, python, or both (swift,python).") var worker = "swift"
    @Option(help: "Histories sampled for the per-step breakdown (0 = none).") var sample = 50
    @Option(help: "Write the results as JSON to this file.") var json: String?
    @Option(help: "Worker processes polling the queue (the scale scenario).") var processes = 1
    @Option(help: "Extra arguments for the Swift worker process, e.g. \"--workflow-pollers 4\".") var swiftWorkerArgs = ""
    @Option(
        help: "Run each worker process under a CPU quota of this many cores (cgroup v1 or v2; root), e.g. 0.1, as a container limit would.")
    var cpuLimit: Double?
    @Option(help: "Workflow type: BenchFlow (three activities) or BenchFlowLocal (the same as local activities; Swift worker only).")
    var workflowType = BenchFlow.name

    func run() async throws {
        let kinds = try worker.split(separator: ",").map { name -> WorkerProcess.Kind in
            guard let kind = WorkerProcess.Kind(rawValue: String(name)) else {
                throw ValidationError("unknown worker kind '\(name)': use swift, python or swift,python")
            }
            return kind
        }
        let client = try await TemporalClient.connect(target: address)
        var results: [ThroughputResult] = []
        for kind in kinds {
            let result = try await measure(kind: kind, client: client)
            print(result.line)
            results.append(result)
        }
        if results.count == 2 {
            let (a, b) = (results[0], results[1])
            print(
                String(
                    format: "ratio %@/%@: throughput %.2f×, CPU per workflow task %.2f×, peak RSS %.2f×, p50 latency %.2f×",
                    a.worker, b.worker, a.workflowsPerSecond / b.workflowsPerSecond,
                    a.cpuPerWorkflowTaskMs / b.cpuPerWorkflowTaskMs, Double(a.peakRSSBytes) / Double(b.peakRSSBytes),
                    a.latencyP50Ms / b.latencyP50Ms))
            if let pa = a.peakPSSBytes, let pb = b.peakPSSBytes, let ua = a.peakPrivateBytes, let ub = b.peakPrivateBytes, pb > 0, ub > 0 {
                print(
                    String(
                        format: "ratio %@/%@: peak PSS %.2f×, peak private memory %.2f×", a.worker, b.worker,
                        Double(pa) / Double(pb), Double(ua) / Double(ub)))
            }
        }
        try writeBenchJSON(results, to: json)
        client.close()
    }

    func measure(kind: WorkerProcess.Kind, client: TemporalClient) async throws -> ThroughputResult {
        let queue = "bench-\(kind)-\(UUID().uuidString.prefix(8))"
        let workers = try (0..<max(1, processes)).map { _ in
            try WorkerProcess(
                kind: kind, address: address, taskQueue: queue,
                extraArguments: kind == .swift ? swiftWorkerArgs.split(separator: " ").map(String.init) : [],
                cpuLimit: cpuLimit)
        }
        defer { for worker in workers { worker.stop() } }
        _ = try await runWorkflows(count: 10, concurrency: min(10, concurrency), queue: queue, client: client)
        guard let before = ProcessStats.sum(workers.map(\.stats)) else { throw ValidationError("cannot read the workers' /proc stats") }
        let throttledBefore = workers.compactMap(\.quota).map(\.throttledMicroseconds).reduce(0, +)
        let memory = MemorySampler(pids: workers.map(\.pid))
        let clock = ContinuousClock()
        let start = clock.now
        let (latencies, ids) = try await runWorkflows(count: workflows, concurrency: concurrency, queue: queue, client: client)
        let elapsed = clock.now - start
        guard let after = ProcessStats.sum(workers.map(\.stats)) else { throw ValidationError("cannot read the workers' /proc stats") }
        let peakMemory = memory.stop()
        // Under a quota: the share of it the workers used, and how long they were throttled.
        var quotaUsed: Double?
        var throttledMs: Double?
        if let cpuLimit {
            quotaUsed = (after.cpu - before.cpu).ms / (cpuLimit * Double(workers.count) * elapsed.ms)
            throttledMs = (workers.compactMap(\.quota).map(\.throttledMicroseconds).reduce(0, +) - throttledBefore) / 1000
        }

        // Workflow tasks per workflow and the per-step breakdown, from history.
        var breakdown = StepBreakdown()
        var tasksSeen = 0
        var workflowsSeen = 0
        for id in ids.prefix(max(sample, 1)) {
            let events = try await client.workflowHandle(id: id).fetchHistory()
            tasksSeen += events.filter { $0.eventType == .workflowTaskCompleted }.count
            workflowsSeen += 1
            if sample > 0 { breakdown.add(events) }
        }
        let tasksPerWorkflow = Double(tasksSeen) / Double(max(workflowsSeen, 1))
        let sorted = latencies.sorted()
        let totalTasks = tasksPerWorkflow * Double(workflows)
        return ThroughputResult(
            worker: kind.rawValue + (processes > 1 ? "×\(processes)" : ""), workflows: workflows, concurrency: concurrency,
            seconds: elapsed.ms / 1000, workflowsPerSecond: Double(workflows) / (elapsed.ms / 1000),
            latencyP50Ms: quantile(sorted, 0.5), latencyP99Ms: quantile(sorted, 0.99),
            workflowTasksPerWorkflow: tasksPerWorkflow,
            cpuPerWorkflowTaskMs: (after.cpu - before.cpu).ms / totalTasks,
            cpuPerWorkflowMs: (after.cpu - before.cpu).ms / Double(workflows),
            peakRSSBytes: after.peakRSS, peakPSSBytes: peakMemory.pss, peakPrivateBytes: peakMemory.uss,
            cpuLimit: cpuLimit, quotaUsed: quotaUsed, throttledMs: throttledMs, steps: breakdown.summary())
    }

    /// Keeps `concurrency` workflows in flight until `count` have completed.
    func runWorkflows(count: Int, concurrency: Int, queue: String, client: TemporalClient) async throws -> ([Double], [String]) {
        try await withThrowingTaskGroup(of: (Double, String).self) { group in
            var started = 0
            var latencies: [Double] = []
            var ids: [String] = []
            func startOne() {
                let id = "\(queue)-\(started)"
                let member = "member_\(started % 4 + 1)"
                started += 1
                group.addTask {
                    let clock = ContinuousClock()
                    let t0 = clock.now
                    let handle = try await client.startWorkflow(type: workflowType, id: id, taskQueue: queue, args: member)
                    _ = try await handle.result(as: BenchFlow.Summary.self)
                    return ((clock.now - t0).ms, id)
                }
            }
            while started < min(concurrency, count) { startOne() }
            while let (latency, id) = try await group.next() {
                latencies.append(latency)
                ids.append(id)
                if started < count { startOne() }
            }
            return (latencies, ids)
        }
    }
}

struct ThroughputResult: Codable {
    var worker: String
    var workflows: Int
    var concurrency: Int
    var seconds: Double
    var workflowsPerSecond: Double
    var latencyP50Ms: Double
    var latencyP99Ms: Double
    var workflowTasksPerWorkflow: Double
    var cpuPerWorkflowTaskMs: Double
    var cpuPerWorkflowMs: Double
    var peakRSSBytes: Int
    /// Peak proportional set size (shared pages divided among their users), sampled every 100 ms.
    var peakPSSBytes: Int?
    /// Peak private memory (USS: pages no other process maps), sampled every 100 ms.
    var peakPrivateBytes: Int?
    /// The CPU quota per worker process (cores), when one was set.
    var cpuLimit: Double?
    /// CPU used ÷ (quota × elapsed): near 1 means the worker was CPU-bound under its quota.
    var quotaUsed: Double?
    /// Time the workers were throttled by the quota during the measurement.
    var throttledMs: Double?
    var steps: [String: Double]

    var line: String {
        var s = String(
            format:
                "%@ worker: %d workflows at concurrency %d in %.2f s = %.1f wf/s; latency p50 %.1f ms p99 %.1f ms; %.2f workflow tasks/wf; worker CPU %.3f ms/workflow task (%.2f ms/wf); peak RSS %.1f MiB",
            worker, workflows, concurrency, seconds, workflowsPerSecond, latencyP50Ms, latencyP99Ms,
            workflowTasksPerWorkflow, cpuPerWorkflowTaskMs, cpuPerWorkflowMs, Double(peakRSSBytes) / 1_048_576)
        if let cpuLimit, let quotaUsed {
            s += String(
                format: "; CPU limit %.2f core: quota used %.0f%% (%@), throttled %.0f ms", cpuLimit, quotaUsed * 100,
                quotaUsed >= 0.9 ? "worker-bound" : "server-bound", throttledMs ?? 0)
        }
        if let pss = peakPSSBytes, let uss = peakPrivateBytes {
            s += String(format: ", PSS %.1f MiB, private %.1f MiB", Double(pss) / 1_048_576, Double(uss) / 1_048_576)
        }
        if !steps.isEmpty {
            s +=
                "; p50 steps: "
                + steps.sorted { $0.key < $1.key }.map { String(format: "%@ %.1f ms", $0.key, $0.value) }.joined(separator: ", ")
        }
        return s
    }
}

/// p50 durations of the steps of a run, from history event times.
struct StepBreakdown {
    var samples: [String: [Double]] = [:]

    mutating func add(_ events: [HistoryEvent]) {
        var scheduled: [Int64: Date] = [:]
        var started: [Int64: Date] = [:]
        for e in events {
            let t = e.eventTime.date
            switch e.attributes {
            case .workflowTaskScheduledEventAttributes?, .activityTaskScheduledEventAttributes?:
                scheduled[e.eventID] = t
            case .workflowTaskStartedEventAttributes(let a)?:
                started[e.eventID] = t
                if let s = scheduled[a.scheduledEventID] { record("wft schedule→start", t.timeIntervalSince(s)) }
            case .workflowTaskCompletedEventAttributes(let a)?:
                if let s = started[a.startedEventID] { record("wft start→complete", t.timeIntervalSince(s)) }
            case .activityTaskStartedEventAttributes(let a)?:
                started[e.eventID] = t
                if let s = scheduled[a.scheduledEventID] { record("activity schedule→start", t.timeIntervalSince(s)) }
            case .activityTaskCompletedEventAttributes(let a)?:
                if let s = started[a.startedEventID] { record("activity start→complete", t.timeIntervalSince(s)) }
            default:
                break
            }
        }
        if let first = events.first?.eventTime.date, let last = events.last?.eventTime.date {
            record("first→last event", last.timeIntervalSince(first))
        }
    }

    mutating func record(_ step: String, _ seconds: TimeInterval) { samples[step, default: []].append(seconds * 1000) }

    func summary() -> [String: Double] { samples.mapValues { quantile($0.sorted(), 0.5) } }
}

/// Sequential workflows: the latency scenario (throughput at concurrency 1 with the breakdown).
struct LatencyBench: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "latency", abstract: "Sequential workflows with a per-step breakdown from history.")
    @Option(help: "Temporal frontend host:port.") var address = ProcessInfo.processInfo.environment["TEMPORAL_HOST"] ?? "127.0.0.1:7233"
    @Option(help: "Workflows.") var workflows = 100
    @Option(help: "Worker kinds: swift, python or swift,python.") var worker = "swift"
    @Option(help: "Workflow type: BenchFlow, or BenchFlowLocal (local activities; Swift worker only).") var workflowType = BenchFlow.name
    @Option(help: "Write the results as JSON to this file.") var json: String?

    func run() async throws {
        let t = try ThroughputBench.parse(
            [
                "--address", address, "--workflows", "\(workflows)", "--concurrency", "1",
                "--worker", worker, "--sample", "\(workflows)", "--workflow-type", workflowType,
            ]
                + (json.map { ["--json", $0] } ?? []))
        try await t.run()
    }
}

/// Throughput with 1, 2 and 4 worker processes on one task queue.
///
/// With the defaults every activity answers at once, so one worker process is bounded only by
/// CPU, which it shares with the server on a small machine. `--activity-ms` and
/// `--max-activities` give each worker a fixed capacity instead (slots ÷ activity time, like a
/// worker whose activities wait on I/O): adding processes then shows how throughput scales on
/// one queue until the server saturates. All counts run against one server here, which slows
/// as it fills, so later counts are handicapped: `scripts/bench-scale` runs one count per
/// fresh server.
struct ScaleBench: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "scale", abstract: "Throughput with 1, 2 and 4 worker processes on one queue.")
    @Option(help: "Temporal frontend host:port.") var address = ProcessInfo.processInfo.environment["TEMPORAL_HOST"] ?? "127.0.0.1:7233"
    @Option(help: "Workflows per measurement.") var workflows = 200
    @Option(help: "Workflows in flight.") var concurrency = 100
    @Option(parsing: .upToNextOption, help: "Process counts to measure.") var processes: [Int] = [1, 2, 4]
    @Option(help: "Milliseconds each activity waits (simulated I/O); 0 = answer at once.") var activityMs = 0
    @Option(help: "Activity slots per worker process; default: the worker's (100).") var maxActivities: Int?
    @Flag(help: "Workers with autoscaled pollers (see TemporalBenchWorker --autoscale-pollers).") var autoscalePollers = false
    @Option(help: "Write the results as JSON to this file.") var json: String?

    func run() async throws {
        var workerArguments = ["--activity-ms", "\(activityMs)"]
        if let maxActivities { workerArguments += ["--max-activities", "\(maxActivities)"] }
        if autoscalePollers { workerArguments.append("--autoscale-pollers") }
        if activityMs > 0, let maxActivities {
            print(
                String(
                    format: "each worker process: %d activity slots × %d ms per activity = at most %.1f workflows/s (3 activities each)",
                    maxActivities, activityMs, Double(maxActivities) * 1000 / Double(activityMs) / 3))
        }
        var results: [ThroughputResult] = []
        let temporary = FileManager.default.temporaryDirectory.appendingPathComponent("scale-\(UUID().uuidString).json").path
        defer { try? FileManager.default.removeItem(atPath: temporary) }
        for n in processes {
            let t = try ThroughputBench.parse([
                "--address", address, "--workflows", "\(workflows)", "--concurrency", "\(concurrency)",
                "--worker", "swift", "--sample", "0", "--processes", "\(n)",
                "--swift-worker-args=" + workerArguments.joined(separator: " "), "--json", temporary,
            ])
            try await t.run()
            results += try JSONDecoder().decode([ThroughputResult].self, from: Data(contentsOf: URL(fileURLWithPath: temporary)))
        }
        if let first = results.first {
            print(
                "scaling vs \(first.worker): "
                    + results.map {
                        String(format: "%@ %.2f×", $0.worker, $0.workflowsPerSecond / first.workflowsPerSecond)
                    }.joined(separator: ", "))
        }
        try writeBenchJSON(results, to: json)
    }
}
