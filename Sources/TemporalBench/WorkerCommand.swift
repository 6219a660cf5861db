import ArgumentParser
import Foundation
import Temporal
import TemporalWorker

/// Runs the Swift benchmark worker in its own process (so its CPU and memory are measured alone).
struct WorkerCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "worker", abstract: "Run the BenchFlow worker until SIGTERM.")

    @Option(help: "Temporal frontend host:port.") var address = "127.0.0.1:7233"
    @Option(help: "Task queue.") var taskQueue = "bench"
    @Option(help: "Sticky cache size (0 = no cache).") var cache = 1000
    @Flag(help: "Do not request eager activity execution.") var noEager = false
    @Option(help: "Workflow-task pollers per queue (normal and sticky); default: the worker's.") var workflowPollers: Int?
    @Option(help: "Activity-task pollers; default: the worker's.") var activityPollers: Int?

    func run() async throws {
        let client = try await TemporalClient.connect(target: address)
        var options = WorkerOptions()
        options.maxCachedWorkflows = cache
        options.eagerActivities = !noEager
        if let workflowPollers { options.workflowPollers = workflowPollers }
        if let activityPollers { options.activityPollers = activityPollers }
        let worker = Worker(client: client, taskQueue: taskQueue, workflows: [BenchFlow.self],
                            activities: BenchFlow.activities, options: options)
        let parent = getppid()
        let watchdog = Task {
            // Stop when the driver that started us goes away.
            while getppid() == parent, !Task.isCancelled { try? await Task.sleep(for: .milliseconds(500)) }
            await worker.shutdown()
        }
        FileHandle.standardOutput.write(Data("ready\n".utf8))
        try await worker.runUntilTerminated()
        watchdog.cancel()
        let m = worker.metrics.snapshot
        FileHandle.standardError.write(Data("worker: \(m.workflowTasks) workflow tasks, \(m.activities) activities (\(m.eagerActivities) eager)\n".utf8))
    }
}
