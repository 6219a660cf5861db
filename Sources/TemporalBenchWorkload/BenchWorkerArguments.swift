import ArgumentParser
import TemporalWorker

/// The benchmark worker's flags, shared by `TemporalBenchWorker` and `TemporalBench worker`.
public struct BenchWorkerArguments: ParsableArguments {
    @Option(help: "Temporal frontend host:port.") public var address = "127.0.0.1:7233"
    @Option(help: "Task queue.") public var taskQueue = "bench"
    @Option(help: "Sticky cache size (0 = no cache).") public var cache = 1000
    @Flag(help: "Do not request eager activity execution.") public var noEager = false
    @Option(help: "Workflow-task pollers per queue (normal and sticky); default: the worker's.") public var workflowPollers: Int?
    @Option(help: "Activity-task pollers; default: the worker's.") public var activityPollers: Int?

    public init() {}

    /// Runs the BenchFlow worker with these settings until SIGTERM.
    public func runWorker() async throws {
        var options = WorkerOptions()
        options.maxCachedWorkflows = cache
        options.eagerActivities = !noEager
        if let workflowPollers { options.workflowPollers = workflowPollers }
        if let activityPollers { options.activityPollers = activityPollers }
        try await BenchWorker.run(address: address, taskQueue: taskQueue, options: options)
    }
}
