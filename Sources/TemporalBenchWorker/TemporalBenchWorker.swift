import ArgumentParser
import TemporalBenchWorkload

/// The benchmark's Swift worker as its own small executable: only `Temporal`,
/// `TemporalWorker` and the BenchFlow workload, like a user's worker binary (no LaunchpadETL,
/// libcurl, SQLite or full Foundation), so the throughput driver measures the worker's own memory.
@main
struct TemporalBenchWorker: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Run the BenchFlow worker until SIGTERM.")

    @OptionGroup var arguments: BenchWorkerArguments

    func run() async throws {
        try await arguments.runWorker()
    }
}
