import Foundation
import Temporal
import TemporalTestSupport
import Testing
@testable import LaunchpadETL

@Suite struct FlowResumeTests {
    /// A worker killed mid-extract: a fresh worker resumes the extract from the heartbeated
    /// checkpoint and the final table equals an uninterrupted run.
    @Test func aKilledWorkersExtractResumesFromItsHeartbeat() async throws {
        let directory = try TemporaryDirectory()
        // The uninterrupted reference, straight through the extractor.
        let referenceDatabase = try Database(path: directory.file("reference.db"))
        do {
            let clean = try await startFixture()
            let extractor = try LaunchpadExtractor(query: try marchQuery("alice-example", serviceRoot: clean.serviceRoot),
                                                   client: try fixtureClient(clean), database: referenceDatabase)
            _ = try await referenceDatabase.loadStagedBatch(try await extractor.run(batchId: "reference").batch)
        }

        let slow = try await startFixture(["--latency-ms", "120"])
        let path = directory.file("events.db")
        let first = try await FlowWorkers(databasePath: path, pageSize: 2, chunkSize: 2)
        let handle = try await first.start(LaunchpadFlow.self, launchpadInput("alice-example", serviceRoot: slow.serviceRoot))
        // Wait until the server holds a heartbeat from the detail phases, then kill the worker.
        let converter = first.client.dataConverter
        let heartbeated = try await within(60) { () -> ExtractionCheckpoint? in
            while true {
                let pending = try await handle.describe().pendingActivities.first
                if let pending, pending.hasHeartbeatDetails,
                   let checkpoint = try? converter.fromPayloads(pending.heartbeatDetails, as: ExtractionCheckpoint.self),
                   checkpoint.phase == .bugDetails, checkpoint.itemCursor != nil {
                    return checkpoint
                }
                try await Task.sleep(for: .milliseconds(100))
            }
        }
        #expect(heartbeated?.phase == .bugDetails)
        await first.kill()

        let second = try await FlowWorkers(databasePath: path, launchpadQueue: first.launchpadQueue, mockQueue: first.mockQueue,
                                           pageSize: 2, chunkSize: 2)
        let result: FlowResult
        do {
            result = try await within(120) { try await handle.result(as: FlowResult.self) }
        } catch {
            await second.stop()
            throw error
        }
        await second.stop()
        #expect(result.itemsProcessed == 23)
        #expect(result.itemsInserted == 23)
        let extract = try await handle.activityResults("extract_data", as: ExtractOutput.self)
        #expect(extract.count == 1)
        #expect((extract.first?.attempt ?? 0) >= 2)
        #expect(extract.first?.resumedFrom == "heartbeat")

        let events = try await Database(path: path).events()
        let reference = try await referenceDatabase.events()
        #expect(events.map(\.id) == reference.map(\.id))
        #expect(events.map(\.type) == reference.map(\.type))
        #expect(events.map(\.timeUTC) == reference.map(\.timeUTC))
        #expect(events.map(\.relationProperties) == reference.map(\.relationProperties))
        #expect(Dictionary(uniqueKeysWithValues: events.map { ($0.id, $0.type) }) == ExtractionTests.aliceExpected)
    }
}
