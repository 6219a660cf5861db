import ArgumentParser
import Foundation
import LaunchpadETL

/// Batch upserts into SQLite: a fresh table, then the same events again (all conflicts).
struct StoreBench: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "store", abstract: "SQLite batch upserts, events/s (fresh and re-run).")

    @Option(help: "Events to insert.") var events = 100_000
    @Option(help: "Events per batch (one transaction each).") var batchSize = 1_000
    @Option(help: "Database file (default: a new temporary file).") var database: String?
    @Flag(inversion: .prefixedNo, help: "Also time the flow's own path: stage, reference, load per batch.") var staged = true
    @Option(help: "Write the results as JSON to this file.") var json: String?

    func run() async throws {
        let path = database ?? FileManager.default.temporaryDirectory.appendingPathComponent("store-bench-\(UUID()).db").path
        defer { if database == nil { for s in ["", "-wal", "-shm"] { try? FileManager.default.removeItem(atPath: path + s) } } }
        let fresh = try await StoreBenchmark.run(events: events, batchSize: batchSize, databasePath: path)
        print("store fresh: \(fresh)")
        var results = [Self.row("store fresh", fresh)]
        let again = try await StoreBenchmark.run(events: events, batchSize: batchSize, databasePath: path)
        print("store re-run (all conflicts): \(again); rows changed: \(again.inserted)")
        results.append(Self.row("store re-run", again))
        if staged {
            // Always a new file: batch ids repeat between invocations, and a loaded batch refuses new staging.
            let stagedPath = FileManager.default.temporaryDirectory.appendingPathComponent("store-bench-staged-\(UUID()).db").path
            defer { for s in ["", "-wal", "-shm"] { try? FileManager.default.removeItem(atPath: stagedPath + s) } }
            let first = try await StoreBenchmark.runStaged(events: events, batchSize: batchSize, databasePath: stagedPath, runLabel: "run-1")
            print("store staged fresh (stage + reference + load, the flow's path): \(first)")
            results.append(Self.row("store staged fresh", first))
            let second = try await StoreBenchmark.runStaged(events: events, batchSize: batchSize, databasePath: stagedPath, runLabel: "run-2")
            print("store staged re-run (all conflicts): \(second); rows changed: \(second.inserted)")
            results.append(Self.row("store staged re-run", second))
        }
        try writeBenchJSON(results, to: json)
    }

    static func row(_ scenario: String, _ r: StoreBenchmark.Result) -> RateResult {
        RateResult(scenario: scenario, operations: r.events, seconds: r.seconds,
                   details: ["batchSize": Double(r.batchSize), "rowsChanged": Double(r.inserted)])
    }
}

/// One member's full extraction from the offline fixture server, at given injected latencies.
struct ExtractBench: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "extract", abstract: "Wall time of one member's extraction from the fixture server.")

    @Option(help: "Fixture member.") var member = "carol-busy"
    @Option(help: "Injected latencies per request, ms.") var latency: [Int] = [0, 50]
    @Option(help: "Concurrent requests per extraction.") var concurrency = 4
    @Option(help: "LaunchpadFixtureServer executable (default: next to this one).") var fixture: String?
    @Option(help: "Write the results as JSON to this file.") var json: String?

    func run() async throws {
        let exe = fixture ?? URL(fileURLWithPath: "/proc/self/exe").resolvingSymlinksInPath().deletingLastPathComponent()
            .appendingPathComponent("LaunchpadFixtureServer").path
        var results: [RateResult] = []
        for ms in latency {
            let path = FileManager.default.temporaryDirectory.appendingPathComponent("extract-bench-\(UUID()).db").path
            defer { for s in ["", "-wal", "-shm"] { try? FileManager.default.removeItem(atPath: path + s) } }
            let r = try await ExtractionBenchmark.runAgainstFixture(latencyMilliseconds: ms, member: member, databasePath: path,
                                                                   maxConcurrentRequests: concurrency, fixtureExecutable: exe)
            print("extract \(ms) ms latency: \(r)")
            results.append(RateResult(scenario: "extract \(r.member)", operations: r.requests, seconds: r.seconds,
                                      details: ["events": Double(r.events), "injectedLatencyMs": Double(ms), "concurrentRequests": Double(concurrency)]))
        }
        try writeBenchJSON(results, to: json)
    }
}
