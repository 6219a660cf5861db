import Foundation
import Temporal
import TemporalTestSupport
import Testing

@testable import LaunchpadETL
@testable import LaunchpadFixture

/// A store binds to the Launchpad of its first load: another Launchpad's events (staging's,
/// the fixture's: the same numbers for other bugs and proposals) would overwrite its own.
func checkOneLaunchpadPerStore(_ store: any FlowStore) async throws {
    let production = StoreLaunchpad.key(try ServiceRoot("production"))
    let local = StoreLaunchpad.key(try ServiceRoot("http://127.0.0.1:8999/"))
    #expect(production == "https://api.launchpad.net/" && local == "local")
    #expect(StoreLaunchpad.key(try ServiceRoot("http://localhost:4000")) == local, "every loopback root is the fixture")
    #expect(StoreLaunchpad.key(try ServiceRoot("HTTPS://API.Launchpad.net:443")) == production, "case and default port do not matter")
    #expect(StoreLaunchpad.key(try ServiceRoot("staging")) != production)

    func load(_ batchId: String, _ events: [Event], from launchpad: String?) async throws -> Int {
        try await store.stageEvents(events, batchId: batchId)
        var batch = try await store.stagedBatch(batchId)
        batch.window = LoadedWindow(
            member: "alice-example", sourceKind: "launchpad", firstDay: "2024-03-01", lastDay: "2024-03-31", launchpad: launchpad)
        return try await store.loadStagedBatch(batch)
    }
    try await store.requireLaunchpad(local)  // an unbound store takes any
    #expect(try await load("prod-1", try (0..<3).map { try sampleEvent($0) }, from: production) == 3)
    try await store.requireLaunchpad(production)

    let early = await etlError { try await store.requireLaunchpad(local) }
    #expect(early?.code == .storeHoldsAnotherLaunchpad && early?.nonRetryable == true, "\(String(describing: early))")
    #expect(early?.message.contains("https://api.launchpad.net/ (production)") == true, "\(String(describing: early))")
    #expect(early?.message.contains("a local Launchpad (the fixture server)") == true, "\(String(describing: early))")

    // The same numbers from the fixture: refused, nothing of production's overwritten.
    let overwriting = try (0..<3).map { try sampleEvent($0, employee: "bob-example") }
    let refused = await etlError { _ = try await load("local-1", overwriting, from: local) }
    #expect(refused?.code == .storeHoldsAnotherLaunchpad, "\(String(describing: refused))")
    #expect(try await store.loadedRowCount("local-1") == nil)
    #expect(try await store.loadedRowCount("prod-1") == 3)
    // A window that names no Launchpad (another source, an older run) is not checked.
    #expect(try await load("unnamed", [try sampleEvent(7)], from: nil) == 1)
}

@Suite struct StoreLaunchpadTests {
    @Test func anSQLiteStoreHoldsOneLaunchpad() async throws {
        let directory = try TemporaryDirectory()
        let store = try SQLiteEventStore(path: directory.file("events.db"))
        try await checkOneLaunchpadPerStore(store)
        #expect(try await store.events(employeeId: "bob-example").isEmpty)
        #expect(try await store.eventCount(employeeId: "alice-example") == 4)
    }

    @Test(.enabled(if: PostgresTestServer.isAvailable, PostgresTestServer.unavailableReason))
    func aPostgresStoreHoldsOneLaunchpad() async throws {
        let store = try await PostgresEventStore.connect(url: try await PostgresTestServer.shared().makeDatabase())
        try await checkOneLaunchpadPerStore(store)
        #expect(try await store.eventCount(employeeId: "bob-example") == 0)
    }

    /// A flow against the fixture on a store of production's events fails at once, before its
    /// first request, saying what to do; before, its load overwrote production's events.
    @Test func aFlowOfAnotherLaunchpadFailsBeforeItReadsAnything() async throws {
        let directory = try TemporaryDirectory()
        let path = directory.file("events.db")
        let store = try SQLiteEventStore(path: path)
        try await store.stageEvents([try sampleEvent(1)], batchId: "prod")
        var batch = try await store.stagedBatch("prod")
        batch.window = LoadedWindow(
            member: "alice-example", sourceKind: "launchpad", firstDay: "2024-03-01", lastDay: "2024-03-31",
            launchpad: StoreLaunchpad.key(try ServiceRoot("production")))
        _ = try await store.loadStagedBatch(batch)

        let fixture = try await startFixture()
        let workers = try await FlowWorkers(databasePath: path)
        let handle = try await workers.start(LaunchpadFlow.self, launchpadInput("alice-example", serviceRoot: fixture.serviceRoot))
        let failure = await flowFailure(handle)
        await workers.stop()
        #expect(failure?.type == "StoreHoldsAnotherLaunchpad" && failure?.nonRetryable == true, "\(String(describing: failure))")
        #expect(failure?.message.contains("give this run a store of its own") == true, "\(String(describing: failure))")
        #expect(
            failure?.message.hasPrefix("extract_data failed") == true,
            "refused by the extraction, not the load: \(String(describing: failure))")
        #expect(try await store.eventCount() == 1)

        // The fixture's events go to a store of their own.
        let own = try await FlowWorkers(databasePath: directory.file("fixture.db"))
        let fine = try await own.start(LaunchpadFlow.self, launchpadInput("alice-example", serviceRoot: fixture.serviceRoot))
        let result = try await fine.result(as: FlowResult.self)
        await own.stop()
        #expect(result.itemsInserted > 0)
    }
}
