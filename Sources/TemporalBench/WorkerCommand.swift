import ArgumentParser
import TemporalBenchWorkload

/// Runs the Swift benchmark worker inside this executable (the throughput driver prefers the
/// lean `TemporalBenchWorker` executable next to this one; this is the fallback).
struct WorkerCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "worker", abstract: "Run the BenchFlow worker until SIGTERM.")

    @OptionGroup var arguments: BenchWorkerArguments

    func run() async throws {
        try await arguments.runWorker()
    }
}
