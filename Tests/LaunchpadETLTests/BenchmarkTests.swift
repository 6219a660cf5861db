import Testing

@testable import LaunchpadETL
@testable import LaunchpadFixture

@Suite struct BenchmarkTests {
    @Test func storeBenchmarkInsertsEveryEvent() async throws {
        let directory = try TemporaryDirectory()
        let result = try await StoreBenchmark.run(events: 5_000, batchSize: 500, databasePath: directory.file("bench.db"))
        #expect(result.inserted == 5_000)
        #expect(result.eventsPerSecond > 0)
        #expect(try await SQLiteEventStore(path: directory.file("bench.db")).eventCount() == 5_000)
    }

    @Test func extractionBenchmarkAgainstFixtureWithLatency() async throws {
        let directory = try TemporaryDirectory()
        let result = try await ExtractionBenchmark.runAgainstFixture(
            latencyMilliseconds: 5, member: "alice-example", databasePath: directory.file("bench.db"))
        #expect(result.events == FixtureDataset.aliceMarch2024EventCount)
        #expect(result.requests > 10)
        #expect(result.seconds > 0.005)
    }
}
