import ArgumentParser
import Foundation
import Temporal

/// Unary-RPC rate through the C shim: sequential calls, then N concurrent callers.
struct RPCBench: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "rpc", abstract: "Unary RPC calls per second (GetSystemInfo, DescribeNamespace).")

    @Option(help: "Temporal frontend host:port.") var address = ProcessInfo.processInfo.environment["TEMPORAL_HOST"] ?? "127.0.0.1:7233"
    @Option(help: "Calls per measurement.") var calls = 5000
    @Option(help: "Concurrent callers for the concurrent measurement.") var concurrency = 32
    @Option(help: "RPC: GetSystemInfo or DescribeNamespace.") var rpc = "GetSystemInfo"
    @Option(help: "Write the results as JSON to this file.") var json: String?

    func run() async throws {
        let client = try await TemporalClient.connect(target: address)
        let service = client.workflowService
        let one: @Sendable () async throws -> Void
        if rpc == "DescribeNamespace" {
            one = { _ = try await client.describeNamespace() }
        } else {
            one = { _ = try await service.getSystemInfo() }
        }
        for _ in 0..<200 { try await one() }  // warm-up: connection, allocator

        let clock = ContinuousClock()
        var start = clock.now
        for _ in 0..<calls { try await one() }
        let sequential = clock.now - start
        var results = [report("sequential", calls: calls, elapsed: sequential)]

        start = clock.now
        let perCaller = calls / concurrency
        try await withThrowingTaskGroup(of: Void.self) { group in
            for _ in 0..<concurrency {
                group.addTask { for _ in 0..<perCaller { try await one() } }
            }
            try await group.waitForAll()
        }
        results.append(report("\(concurrency) concurrent", calls: perCaller * concurrency, elapsed: clock.now - start))
        client.close()
        try writeBenchJSON(results, to: json)
    }

    func report(_ label: String, calls: Int, elapsed: Duration) -> RateResult {
        let seconds = Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18
        let rate = Double(calls) / seconds
        let micros = seconds / Double(calls) * 1e6
        print(String(format: "%@ %@: %d calls in %.2f s = %.0f calls/s (%.0f µs/call)", rpc, label, calls, seconds, rate, micros))
        return RateResult(scenario: "\(rpc) \(label)", operations: calls, seconds: seconds, details: ["microsecondsPerCall": micros])
    }
}
