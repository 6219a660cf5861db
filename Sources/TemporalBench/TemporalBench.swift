import ArgumentParser
import Foundation

/// Benchmarks, measured by this executable and never by timed tests.
@main
struct TemporalBench: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Measures the client, the worker and the ETL against a real Temporal server.",
        subcommands: [
            ThroughputBench.self, LatencyBench.self, EagerStartBench.self, RPCBench.self, StoreBench.self, ExtractBench.self,
            ScaleBench.self, WorkerCommand.self,
        ])
}
