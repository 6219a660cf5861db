import ArgumentParser
import TemporalBenchWorkload
import TemporalWorker

/// The benchmark's Swift worker as its own small executable: only `Temporal`,
/// `TemporalWorker` and the BenchFlow workload, like a user's worker binary (no LaunchpadETL,
/// libcurl, SQLite or full Foundation), so the throughput driver measures the worker's own memory.
@main
struct TemporalBenchWorker: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Run the BenchFlow worker until SIGTERM.")

    @Option(help: "Temporal frontend host:port.") var address = "127.0.0.1:7233"
    @Option(help: "Task queue.") var taskQueue = "bench"
    @Option(help: "Sticky cache size (0 = no cache).") var cache = 1000
    @Flag(help: "Do not request eager activity execution.") var noEager = false
    @Option(help: "Workflow-task pollers per queue (normal and sticky); default: the worker's.") var workflowPollers: Int?
    @Option(help: "Activity-task pollers; default: the worker's.") var activityPollers: Int?

    func run() async throws {
        var options = WorkerOptions()
        options.maxCachedWorkflows = cache
        options.eagerActivities = !noEager
        if let workflowPollers { options.workflowPollers = workflowPollers }
        if let activityPollers { options.activityPollers = activityPollers }
        try await BenchWorker.run(address: address, taskQueue: taskQueue, options: options)
    }
}
