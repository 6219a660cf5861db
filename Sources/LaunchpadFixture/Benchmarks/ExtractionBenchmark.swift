import Foundation
public import LaunchpadETL

/// Times one member's extraction (for `TemporalBench`).
public enum ExtractionBenchmark {
    /// What one run measured.
    public struct Result: Sendable, Hashable, CustomStringConvertible {
        public var member: String
        public var events: Int
        public var requests: Int
        public var latencyMilliseconds: Int?
        public var seconds: Double
        /// New connections opened (TLS handshakes over https).
        public var connections: Int = 0
        /// Responses that came over HTTP/2.
        public var http2Responses: Int = 0

        public var description: String {
            let latency = latencyMilliseconds.map { ", \($0) ms injected latency" } ?? ""
            return
                "\(member): \(events) events, \(requests) requests (\(http2Responses) over HTTP/2), \(connections) connections in \(String(format: "%.2f", seconds)) s\(latency)"
        }
    }

    /// Extracts `member` for `from...to` from the Launchpad at `serviceRoot` into a staging
    /// batch in `databasePath`, and times it (wall clock, person lookup included).
    public static func run(
        serviceRoot: String, member: String = "carol-busy", from: String = "2024-03-01", to: String = "2024-03-31",
        databasePath: String, maxConcurrentRequests: Int = 4, maxConcurrentRequestsOverHTTP2: Int? = nil, reuseConnections: Bool = true,
        caFile: String? = nil, chunkSize: Int = 16
    ) async throws(ETLError) -> Result {
        let query = try LaunchpadQuery(
            applicationName: "temporal-bench", serviceRoot: serviceRoot, version: "devel", member: member,
            dataDateStart: from, dataDateEnd: to)
        var configuration = LaunchpadClientConfiguration(
            serviceRoot: try query.resolvedServiceRoot(), version: "devel", applicationName: "temporal-bench")
        configuration.maxConcurrentRequests = maxConcurrentRequests
        if let maxConcurrentRequestsOverHTTP2 { configuration.maxConcurrentRequestsOverHTTP2 = maxConcurrentRequestsOverHTTP2 }
        configuration.reuseConnections = reuseConnections
        configuration.caFile = caFile
        let client = LaunchpadClient(configuration: configuration)
        var extractor = try LaunchpadExtractor(query: query, client: client, store: try SQLiteEventStore(path: databasePath))
        extractor.chunkSize = chunkSize
        let clock = ContinuousClock()
        let started = clock.now
        let result = try await extractor.run(batchId: "bench-\(member)-\(from)-\(to)")
        return Result(
            member: member, events: result.batch.rowCount, requests: result.requests, latencyMilliseconds: nil,
            seconds: StoreBenchmark.seconds(clock.now - started), connections: result.connections ?? 0,
            http2Responses: client.http2ResponseCount)
    }

    /// Starts the fixture server with `--latency-ms latencyMilliseconds`, extracts `member`
    /// from it, stops it, and returns the timing.
    public static func runAgainstFixture(
        latencyMilliseconds: Int, member: String = "carol-busy", databasePath: String, maxConcurrentRequests: Int = 4,
        fixtureExecutable: String? = nil
    ) async throws(ETLError) -> Result {
        let server = try await FixtureServerProcess.start(
            arguments: ["--latency-ms", String(latencyMilliseconds)], executablePath: fixtureExecutable)
        defer { server.stop() }
        var result = try await run(
            serviceRoot: server.serviceRoot, member: member, databasePath: databasePath, maxConcurrentRequests: maxConcurrentRequests)
        result.latencyMilliseconds = latencyMilliseconds
        return result
    }
}
