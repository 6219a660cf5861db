import ArgumentParser
import Foundation

/// Benchmarks, measured by this executable and never by timed tests.
@main
struct TemporalBench: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Measures the client, the worker and the ETL against a real Temporal server.",
        subcommands: [RPCBench.self, ThroughputBench.self, WorkerCommand.self])
}
