import Foundation
import Temporal
import TemporalProto
import TemporalTestSupport
import Testing

@testable import LaunchpadETL
@testable import LaunchpadFixture

@Suite struct FlowResumeTests {
    /// Where the first worker may be killed: from bug details (mid-item) to merge proposal
    /// details. Not the question phases: after the last question's checkpoint only database
    /// work is left, and the attempt could finish before the kill lands.
    static let killablePhases: Set<ExtractionPhase> = [
        .bugDetails, .mergeProposalsOwned, .mergeProposalsRequested, .reviewTargets, .mergeProposalDetails,
    ]

    /// A worker killed mid-extract: a fresh worker resumes the extract from the heartbeated
    /// checkpoint and the final table equals an uninterrupted run. With PostgreSQL the
    /// second worker has its own connection to the shared store, as a worker on another
    /// machine would: staging and checkpoints are shared, not per host.
    @Test(arguments: TestStoreKind.available)
    func aKilledWorkersExtractResumesFromItsHeartbeat(kind: TestStoreKind) async throws {
        let directory = try TemporaryDirectory()
        let location = try await kind.freshLocation(directory)
        let slow = try await startFixture(["--latency-ms", "120"])
        // The uninterrupted reference, straight through the extractor (same server: links in
        // relation_properties carry its address).
        let referenceDatabase = try SQLiteEventStore(path: directory.file("reference.db"))
        let extractor = try LaunchpadExtractor(
            query: try marchQuery("alice-example", serviceRoot: slow.serviceRoot),
            client: try fixtureClient(slow), store: referenceDatabase)
        _ = try await referenceDatabase.loadStagedBatch(try await extractor.run(batchId: "reference").batch)

        let first = try await FlowWorkers(store: try await EventStoreFactory.open(url: location), pageSize: 2, chunkSize: 2)
        let handle = try await first.start(LaunchpadFlow.self, launchpadInput("alice-example", serviceRoot: slow.serviceRoot))
        // Wait until the server holds a heartbeat and the extraction is past its bug searches
        // (see `killablePhases`: a slow box cannot miss the moment), then kill the worker (its
        // last checkpoint goes out with the attempt's failure).
        let converter = first.client.dataConverter
        let database = first.database
        let heartbeated = try await within(60) { () -> ExtractionCheckpoint? in
            while true {
                let pending = try await handle.describe().pendingActivities.first
                let local = try await database.loadCheckpoint(batchId: "\(handle.id)/\(try await handle.describe().runID)")
                if let pending, pending.activityType.name == "extract_data", pending.hasHeartbeatDetails, let local,
                    Self.killablePhases.contains(local.phase), local.itemCursor != nil || local.phase != .bugDetails
                {
                    return try converter.fromPayloads(pending.heartbeatDetails, as: ExtractionCheckpoint.self)
                }
                try await Task.sleep(for: .milliseconds(50))
            }
        }
        #expect(heartbeated != nil)
        await first.kill()

        let second = try await FlowWorkers(
            store: try await EventStoreFactory.open(url: location), launchpadQueue: first.launchpadQueue, mockQueue: first.mockQueue,
            pageSize: 2, chunkSize: 2)
        let result: FlowResult
        do {
            result = try await within(120) { try await handle.result(as: FlowResult.self) }
        } catch {
            await second.stop()
            throw error
        }
        await second.stop()
        #expect(result.itemsProcessed == 24)
        #expect(result.itemsInserted == 24)
        let extract = try await handle.activityResults("extract_data", as: ExtractOutput.self)
        #expect(extract.count == 1)
        #expect((extract.first?.attempt ?? 0) >= 2)
        // The newest checkpoint the store vouches for: the heartbeat, or the store's own when it is further.
        #expect(["heartbeat", "database"].contains(extract.first?.resumedFrom ?? ""))
        #expect(extract.first?.resumedPhase != nil && extract.first?.resumedPhase != .bugsReported)

        let events = try await EventStoreFactory.open(url: location).events()
        let reference = try await referenceDatabase.events()
        #expect(events.map(\.id) == reference.map(\.id))
        #expect(events.map(\.type) == reference.map(\.type))
        #expect(events.map(\.timeUTC) == reference.map(\.timeUTC))
        #expect(events.map(\.relationProperties) == reference.map(\.relationProperties))
        #expect(Dictionary(uniqueKeysWithValues: events.map { ($0.id, $0.type) }) == ExtractionTests.aliceExpected)
    }
}
