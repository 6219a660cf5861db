import ArgumentParser
import Foundation
import LaunchpadETL
import LaunchpadFixture

/// Batch upserts into the event store: new events, then the same events again (all conflicts),
/// straight into `events` and along the flow's staged path. SQLite by default (a new temporary
/// file); PostgreSQL with `--db-url`.
struct StoreBench: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "store", abstract: "Event-store batch upserts, events/s (fresh and re-run), SQLite or PostgreSQL.")

    @Option(help: "Events to insert.") var events = 100_000
    @Option(help: "Events per batch (one transaction each).") var batchSize = 1_000
    @Option(help: "SQLite database file (default: a new temporary file).") var database: String?
    @Option(help: "Measure this store instead, e.g. postgres://user@host:5432/db (a throwaway database: the run's rows stay).")
    var dbURL: String?
    @Flag(inversion: .prefixedNo, help: "Also time the flow's own path: stage, reference, load per batch.") var staged = true
    @Option(help: "Write the results as JSON to this file.") var json: String?

    func run() async throws {
        // Ids unique to this invocation, so "fresh" means new rows on a store that is reused.
        let runID = UUID().uuidString.prefix(8).lowercased()
        var temporaryFiles: [String] = []
        defer { for path in temporaryFiles { for s in ["", "-wal", "-shm"] { try? FileManager.default.removeItem(atPath: path + s) } } }
        func openStore() async throws -> (any FlowStore, String) {
            if let dbURL { return (try await EventStoreFactory.open(url: dbURL), "postgres") }
            let path = database ?? FileManager.default.temporaryDirectory.appendingPathComponent("store-bench-\(UUID()).db").path
            if database == nil { temporaryFiles.append(path) }
            return (try SQLiteEventStore(path: path), "sqlite")
        }
        let (store, kind) = try await openStore()
        var results: [RateResult] = []
        func report(_ label: String, _ r: StoreBenchmark.Result, changed: Bool = false) {
            print("store \(kind) \(label): \(r)" + (changed ? "; rows changed: \(r.inserted)" : ""))
            results.append(
                RateResult(
                    scenario: "store \(kind) \(label)", operations: r.events, seconds: r.seconds,
                    details: r.steps.reduce(into: ["batchSize": Double(r.batchSize), "rowsChanged": Double(r.inserted)]) {
                        $0["\($1.name)Seconds"] = $1.seconds
                    }))
        }
        // A new SQLite file keeps the plain ids of earlier sessions' figures; a reused store needs new ones.
        let fileIsNew = dbURL == nil && database == nil
        let prefix = fileIsNew ? "bench" : "bench-\(runID)"
        report("fresh", try await StoreBenchmark.run(events: events, batchSize: batchSize, store: store, idPrefix: prefix))
        report(
            "re-run (all conflicts)", try await StoreBenchmark.run(events: events, batchSize: batchSize, store: store, idPrefix: prefix),
            changed: true)
        if staged {
            // New events (own ids) and new batch ids, so the staged path starts fresh too.
            let (stagedStore, _) = try await openStore()
            let stagedPrefix = fileIsNew ? "bench" : "bench-staged-\(runID)"
            report(
                "staged fresh (stage + reference + load, the flow's path)",
                try await StoreBenchmark.runStaged(
                    events: events, batchSize: batchSize, store: stagedStore, runLabel: "\(runID)-1", idPrefix: stagedPrefix))
            report(
                "staged re-run (all conflicts)",
                try await StoreBenchmark.runStaged(
                    events: events, batchSize: batchSize, store: stagedStore, runLabel: "\(runID)-2", idPrefix: stagedPrefix),
                changed: true)
        }
        try writeBenchJSON(results, to: json)
    }
}

/// One member's full extraction from the offline fixture server, at given injected latencies.
struct ExtractBench: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "extract", abstract: "Wall time of one member's extraction from the fixture server.")

    @Option(help: "Fixture member.") var member = "carol-busy"
    @Option(help: "Injected latencies per request, ms.") var latency: [Int] = [0, 50]
    @Option(help: "Concurrent requests per extraction.") var concurrency = 4
    @Option(help: "LaunchpadFixtureServer executable (default: next to this one).") var fixture: String?
    @Option(help: "Write the results as JSON to this file.") var json: String?
    @Option(
        name: .customLong("https-upstream-port"),
        help:
            "Extract over TLS from a TLS front end of the fixture on this 127.0.0.1 port (scripts/bench-extract-tls starts nginx) instead of the plain fixture."
    )
    var httpsUpstreamPort: Int?
    @Option(name: .customLong("ca-file"), help: "With --https-upstream-port: the CA certificate (PEM) of the front end.") var caFile:
        String?
    @Option(name: .customLong("tls-host"), help: "With --https-upstream-port: the name in the front end's certificate.") var tlsHost =
        "localhost"
    @Option(name: .customLong("rtt-ms"), help: "With --https-upstream-port: network round trip simulated by a delaying TCP proxy, ms.")
    var rttMilliseconds = 50
    @Option(
        name: .customLong("http2-upstream-port"),
        help: "With --https-upstream-port: a second TLS front end of the fixture that offers HTTP/2 (ALPN h2), for the h2 mode.")
    var http2UpstreamPort: Int?
    @Option(
        help:
            "With --https-upstream-port: modes to run, in order: off (a new connection per request), h1 (kept HTTP/1.1 connections), h2 (HTTP/2 streams on one connection; needs --http2-upstream-port)."
    )
    var modes = "off,h1,h2"
    @Option(
        name: .customLong("h2-concurrency"),
        help: "With --https-upstream-port: concurrent requests once the server answers over HTTP/2 (default: the client's, 8).")
    var http2Concurrency: Int?
    @Option(help: "With --https-upstream-port: runs per mode (the median is kept).") var repeats = 3
    @Option(name: .customLong("chunk-size"), help: "Items per checkpoint in the detail phases (the worker's default is 16).")
    var chunkSize = 16

    func run() async throws {
        if let upstream = httpsUpstreamPort { return try await runOverTLS(upstreamPort: upstream) }
        let exe =
            fixture
            ?? URL(fileURLWithPath: "/proc/self/exe").resolvingSymlinksInPath().deletingLastPathComponent()
            .appendingPathComponent("LaunchpadFixtureServer").path
        var results: [RateResult] = []
        for ms in latency {
            let path = FileManager.default.temporaryDirectory.appendingPathComponent("extract-bench-\(UUID()).db").path
            defer { for s in ["", "-wal", "-shm"] { try? FileManager.default.removeItem(atPath: path + s) } }
            let r = try await ExtractionBenchmark.runAgainstFixture(
                latencyMilliseconds: ms, member: member, databasePath: path,
                maxConcurrentRequests: concurrency, fixtureExecutable: exe)
            print("extract \(ms) ms latency: \(r)")
            results.append(
                RateResult(
                    scenario: "extract \(r.member)", operations: r.requests, seconds: r.seconds,
                    details: ["events": Double(r.events), "injectedLatencyMs": Double(ms), "concurrentRequests": Double(concurrency)]))
        }
        try writeBenchJSON(results, to: json)
    }

    /// carol-busy over TLS through a delaying proxy: a new connection per request, kept
    /// HTTP/1.1 connections, HTTP/2 streams.
    func runOverTLS(upstreamPort: Int) async throws {
        var results: [RateResult] = []
        for mode in modes.split(separator: ",").map(String.init) {
            let port: Int
            let reuseConnections = mode != "off"
            var requests = concurrency
            switch mode {
            case "off", "h1": port = upstreamPort
            case "h2":
                guard let http2UpstreamPort else {
                    print("skipping h2: no --http2-upstream-port")
                    continue
                }
                port = http2UpstreamPort
                requests = http2Concurrency ?? LaunchpadClientConfiguration.defaultMaxConcurrentRequestsOverHTTP2
            default: throw ValidationError("unknown mode '\(mode)' in --modes: use off, h1 and h2")
            }
            var runs: [ExtractionBenchmark.Result] = []
            for _ in 0..<max(1, repeats) {
                let proxy = try LatencyProxy(upstreamPort: port, oneWayDelay: .milliseconds(rttMilliseconds) / 2)
                defer { proxy.stop() }
                let path = FileManager.default.temporaryDirectory.appendingPathComponent("extract-bench-\(UUID()).db").path
                defer { for s in ["", "-wal", "-shm"] { try? FileManager.default.removeItem(atPath: path + s) } }
                let r = try await ExtractionBenchmark.run(
                    serviceRoot: "https://\(tlsHost):\(proxy.port)/", member: member, databasePath: path,
                    maxConcurrentRequests: concurrency, maxConcurrentRequestsOverHTTP2: requests, reuseConnections: reuseConnections,
                    caFile: caFile,
                    chunkSize: chunkSize)
                print(
                    "extract over TLS, \(rttMilliseconds) ms round trip, mode \(mode), \(requests) concurrent: \(r); proxy accepted \(proxy.connectionsAccepted) TCP connections"
                )
                runs.append(r)
            }
            let sorted = runs.sorted { $0.seconds < $1.seconds }
            let median = sorted[runs.count / 2]
            results.append(
                RateResult(
                    scenario: "extract \(median.member) tls \(mode) c=\(requests)", operations: median.requests,
                    seconds: median.seconds,
                    details: [
                        "events": Double(median.events), "rttMs": Double(rttMilliseconds), "connections": Double(median.connections),
                        "concurrentRequests": Double(requests), "minSeconds": sorted[0].seconds,
                        "maxSeconds": sorted[sorted.count - 1].seconds,
                        "http2Responses": Double(median.http2Responses),
                    ]))
        }
        if let baseline = results.first, results.count > 1 {
            for other in results.dropFirst() {
                print(
                    String(
                        format: "%@ is %.2fx faster than %@ (medians of %d)", other.scenario, baseline.seconds / other.seconds,
                        baseline.scenario, max(1, repeats)))
            }
        }
        try writeBenchJSON(results, to: json)
    }
}
