import Temporal
public import TemporalWorker

#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// The benchmark worker's body, shared by `TemporalBenchWorker` (the lean executable the
/// throughput driver starts) and `TemporalBench worker`.
///
/// Imports only FoundationEssentials, like `Temporal` and `TemporalWorker`, so a process built
/// from it never loads libFoundation, FoundationInternationalization or ICU.
public enum BenchWorker {
    /// Connects, prints "ready", runs the BenchFlow worker until SIGTERM or until the parent
    /// process (the driver) goes away.
    public static func run(
        address: String, taskQueue: String, options: WorkerOptions,
        activityLatency: Duration = .zero
    ) async throws {
        // TEMPORAL_TRANSPORT picks the transport, as for the other executables.
        let client = try await TemporalClient.connectFromEnvironment(host: address, namespace: "default")
        let worker = Worker(
            client: client, taskQueue: taskQueue, workflows: [BenchFlow.self, BenchFlowLocal.self],
            activities: BenchFlow.activities(latency: activityLatency), options: options)
        let parent = getppid()
        let watchdog = Task {
            // Stop when the driver that started us goes away.
            while getppid() == parent, !Task.isCancelled { try? await Task.sleep(for: .milliseconds(500)) }
            await worker.shutdown()
        }
        writeLine("ready", to: 1)
        try await worker.runUntilTerminated()
        watchdog.cancel()
        let m = worker.metrics.snapshot
        writeLine(
            "worker: \(m.workflowTasks) workflow tasks (\(m.fullReplays) from event 1), \(m.activities) activities (\(m.eagerActivities) eager)",
            to: 2)
    }

    private static func writeLine(_ text: String, to fd: Int32) {
        var line = text + "\n"
        line.withUTF8 { _ = write(fd, $0.baseAddress, $0.count) }
    }
}
