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

    func run() async throws {
        let path = database ?? FileManager.default.temporaryDirectory.appendingPathComponent("store-bench-\(UUID()).db").path
        defer { if database == nil { for s in ["", "-wal", "-shm"] { try? FileManager.default.removeItem(atPath: path + s) } } }
        let fresh = try await StoreBenchmark.run(events: events, batchSize: batchSize, databasePath: path)
        print("store fresh: \(fresh)")
        let again = try await StoreBenchmark.run(events: events, batchSize: batchSize, databasePath: path)
        print("store re-run (all conflicts): \(again); rows changed: \(again.inserted)")
        if staged {
            // Always a new file: batch ids repeat between invocations, and a loaded batch refuses new staging.
            let stagedPath = FileManager.default.temporaryDirectory.appendingPathComponent("store-bench-staged-\(UUID()).db").path
            defer { for s in ["", "-wal", "-shm"] { try? FileManager.default.removeItem(atPath: stagedPath + s) } }
            let first = try await StoreBenchmark.runStaged(events: events, batchSize: batchSize, databasePath: stagedPath, runLabel: "run-1")
            print("store staged fresh (stage + reference + load, the flow's path): \(first)")
            let second = try await StoreBenchmark.runStaged(events: events, batchSize: batchSize, databasePath: stagedPath, runLabel: "run-2")
            print("store staged re-run (all conflicts): \(second); rows changed: \(second.inserted)")
        }
    }
}

/// One member's full extraction from the offline fixture server, at given injected latencies.
struct ExtractBench: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "extract", abstract: "Wall time of one member's extraction from the fixture server.")

    @Option(help: "Fixture member.") var member = "carol-busy"
    @Option(help: "Injected latencies per request, ms.") var latency: [Int] = [0, 50]
    @Option(help: "Concurrent requests per extraction.") var concurrency = 4
    @Option(help: "LaunchpadFixtureServer executable (default: next to this one).") var fixture: String?

    func run() async throws {
        let exe = fixture ?? URL(fileURLWithPath: "/proc/self/exe").resolvingSymlinksInPath().deletingLastPathComponent()
            .appendingPathComponent("LaunchpadFixtureServer").path
        for ms in latency {
            let path = FileManager.default.temporaryDirectory.appendingPathComponent("extract-bench-\(UUID()).db").path
            defer { for s in ["", "-wal", "-shm"] { try? FileManager.default.removeItem(atPath: path + s) } }
            let r = try await ExtractionBenchmark.runAgainstFixture(latencyMilliseconds: ms, member: member, databasePath: path,
                                                                   maxConcurrentRequests: concurrency, fixtureExecutable: exe)
            print("extract \(ms) ms latency: \(r)")
        }
    }
}
