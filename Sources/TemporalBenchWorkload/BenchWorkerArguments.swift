public import ArgumentParser
import TemporalWorker

/// The benchmark worker's flags, shared by `TemporalBenchWorker` and `TemporalBench worker`.
public struct BenchWorkerArguments: ParsableArguments {
    @Option(help: "Temporal frontend host:port.") public var address = "127.0.0.1:7233"
    @Option(help: "Task queue.") public var taskQueue = "bench"
    @Option(help: "Sticky cache size (0 = no cache).") public var cache = 1000
    @Flag(help: "Do not request eager activity execution.") public var noEager = false
    @Option(help: "Workflow-task pollers per queue (normal and sticky); default: the worker's.") public var workflowPollers: Int?
    @Option(help: "Activity-task pollers; default: the worker's.") public var activityPollers: Int?
    @Option(help: "Activity slots (activities run at once); default: the worker's.") public var maxActivities: Int?
    @Option(help: "Workflow task slots (workflow tasks and their polls at once); default: the worker's.")
    public var maxWorkflowTasks: Int?
    @Flag(help: "Autoscaled pollers (1 to 100, 5 at first, following the server's hints) instead of a fixed number.")
    public var autoscalePollers = false
    @Flag(help: "Run workflow code on the polling task's thread, without the deadlock detector's threads.")
    public var noDeadlockDetection = false
    @Flag(help: "Let the threads run on every CPU even under a CPU limit (WorkerOptions.fitThreadsToCPULimit off).")
    public var noCPULimitFit = false
    @Option(help: "Milliseconds each activity waits before answering (simulated I/O); default 0.") public var activityMs = 0

    public init() {}

    /// Runs the BenchFlow worker with these settings until SIGTERM.
    public func runWorker() async throws {
        var options = WorkerOptions()
        options.maxCachedWorkflows = cache
        options.eagerActivities = !noEager
        if noDeadlockDetection { options.deadlockDetectionTimeout = nil }
        options.fitThreadsToCPULimit = !noCPULimitFit
        if let workflowPollers { options.workflowPollers = workflowPollers }
        if let activityPollers { options.activityPollers = activityPollers }
        if let maxActivities { options.maxConcurrentActivities = max(1, maxActivities) }
        if let maxWorkflowTasks { options.maxConcurrentWorkflowTasks = max(1, maxWorkflowTasks) }
        if autoscalePollers {
            options.workflowTaskPollerBehavior = .autoscaling()
            options.activityTaskPollerBehavior = .autoscaling()
        }
        try await BenchWorker.run(
            address: address, taskQueue: taskQueue, options: options,
            activityLatency: .milliseconds(max(0, activityMs)))
    }
}
