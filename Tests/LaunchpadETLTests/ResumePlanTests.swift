import Foundation
import Testing

@testable import LaunchpadETL
@testable import LaunchpadFixture

/// Which checkpoint an extract attempt resumes from (`ResumePlan`), and how the extractor and
/// the stores keep checkpoints honest.
@Suite struct ResumePlanTests {
    static let mine = StoreIdentity(id: "aaaa1111aaaa1111aaaa1111aaaa1111", location: "sqlite://mine.db", isShared: false)
    static let other = "bbbb2222bbbb2222bbbb2222bbbb2222"

    static func checkpoint(
        _ phase: ExtractionPhase, rows: Int, items: Int? = 10, store: String? = mine.id, generation: String? = "g1",
        cursor: String? = nil
    ) -> ExtractionCheckpoint {
        ExtractionCheckpoint(
            batchId: "b", phase: phase, itemCursor: cursor, rowsSoFar: rows, itemsSoFar: items, storeId: store, generation: generation)
    }

    @Test func aHeartbeatFromAnotherStoreIsRefusedAndTheExtractionStartsOver() {
        // The reported failure: the retry's store holds nothing of the batch.
        let heartbeat = Self.checkpoint(.bugDetails, rows: 544, store: Self.other)
        let plan = ResumePlan.choose(heartbeat: heartbeat, stored: nil, store: Self.mine, progress: StagingProgress(rows: 0, items: 0))
        #expect(plan.checkpoint == nil)
        #expect(plan.refusals.count == 1)
        #expect(plan.refusals[0].contains("written to store bbbb2222"))
        #expect(plan.refusals[0].contains("PostgreSQL"))
    }

    @Test func theFurthestTrustedCheckpointWins() {
        let heartbeat = Self.checkpoint(.bugDetails, rows: 96, cursor: "000000000010")
        let stored = Self.checkpoint(.bugDetails, rows: 192, cursor: "000000000020")
        let plan = ResumePlan.choose(
            heartbeat: heartbeat, stored: stored, store: Self.mine, progress: StagingProgress(rows: 192, items: 10))
        #expect(plan.checkpoint == stored)
        #expect(plan.source == "database")
        #expect(plan.refusals.isEmpty)
        // On a tie, the store's own (saved before each heartbeat).
        let tie = ResumePlan.choose(heartbeat: stored, stored: stored, store: Self.mine, progress: StagingProgress(rows: 192, items: 10))
        #expect(tie.source == "database")
        // Review targets go in rank order, not their names': a heartbeat at "zope" (rank 1) is
        // not further than the store's checkpoint at "bzr" (rank 3). It won by name.
        let ranked = ResumePlan.choose(
            heartbeat: Self.checkpoint(.reviewTargets, rows: 50, cursor: "zope"),
            stored: Self.checkpoint(.reviewTargets, rows: 50, cursor: "bzr"), store: Self.mine,
            progress: StagingProgress(rows: 50, items: 10))
        #expect(ranked.source == "database")
    }

    @Test func aCheckpointClaimingMoreThanTheStoreHoldsIsRefused() {
        let stored = Self.checkpoint(.bugDetails, rows: 192)
        let fewerRows = ResumePlan.choose(heartbeat: nil, stored: stored, store: Self.mine, progress: StagingProgress(rows: 150, items: 10))
        #expect(fewerRows.checkpoint == nil)
        #expect(fewerRows.refusals.first?.contains("claims 192 staged events") == true)
        let fewerItems = ResumePlan.choose(heartbeat: nil, stored: stored, store: Self.mine, progress: StagingProgress(rows: 192, items: 3))
        #expect(fewerItems.checkpoint == nil)
        // More than claimed is fine: staging is an upsert, redoing work re-stages the same rows.
        let more = ResumePlan.choose(heartbeat: nil, stored: stored, store: Self.mine, progress: StagingProgress(rows: 200, items: 12))
        #expect(more.checkpoint == stored)
    }

    @Test func aHeartbeatOfAnEarlierGenerationOrWithoutAStoreIsRefused() {
        let stored = Self.checkpoint(.bugsReported, rows: 0, generation: "g2")
        let old = Self.checkpoint(.bugDetails, rows: 0, generation: "g1")
        let plan = ResumePlan.choose(heartbeat: old, stored: stored, store: Self.mine, progress: StagingProgress(rows: 0, items: 10))
        #expect(plan.checkpoint == stored)
        #expect(plan.refusals.first?.contains("earlier start") == true)
        let anonymous = Self.checkpoint(.bugDetails, rows: 0, items: nil, store: nil, generation: nil)
        #expect(
            ResumePlan.choose(heartbeat: anonymous, stored: nil, store: Self.mine, progress: StagingProgress(rows: 0, items: 0)).checkpoint
                == nil)
        // A checkpoint the store itself saved before stores had identities is still its own.
        #expect(
            ResumePlan.choose(heartbeat: nil, stored: anonymous, store: Self.mine, progress: StagingProgress(rows: 0, items: 0)).checkpoint
                == anonymous)
    }

    @Test func checkpointsRoundTripTheirStoreAndCounts() throws {
        var checkpoint = Self.checkpoint(.questions, rows: 7, items: 9)
        checkpoint.nextPageLink = "https://api.launchpad.net/devel/~m?ws.op=searchQuestions&memo=300&ws.size=300&ws.start=300"
        checkpoint.pageAnchors = [
            "https://api.launchpad.net/devel/ubuntu/+question/1", "https://api.launchpad.net/devel/ubuntu/+question/2",
        ]
        checkpoint.listingRestarts = 1
        checkpoint.skipped = ["questions: a note"]
        checkpoint.readAnonymously = true
        checkpoint.readersRecorded = true
        checkpoint.bugTargetsLinked = true
        checkpoint.eventBuilders = EventBuilders.version
        checkpoint.teamProjectsLeft = 3
        #expect(try ExtractionCheckpoint(json: checkpoint.json) == checkpoint)
        let decoded = try JSONDecoder().decode(ExtractionCheckpoint.self, from: try JSONEncoder().encode(checkpoint))
        #expect(decoded == checkpoint)
        // Checkpoints written by older workers still parse.
        let legacy = try ExtractionCheckpoint(json: try JSONParser.parse(#"{"batch_id":"b","phase":"bug_details","rows_so_far":3}"#))
        #expect(legacy.storeId == nil && legacy.itemsSoFar == nil && legacy.rowsSoFar == 3)
    }

    @Test func everyStoreHasItsOwnIdentityAndTheExtractorRecordsIt() async throws {
        let directory = try TemporaryDirectory()
        let one = try SQLiteEventStore(path: directory.file("one.db"))
        let again = try SQLiteEventStore(path: directory.file("one.db"))
        let two = try SQLiteEventStore(path: directory.file("two.db"))
        #expect(one.identity.id.count == 32)
        #expect(one.identity == again.identity)
        #expect(one.identity.id != two.identity.id)
        #expect(try await one.schemaVersion() == SQLiteSchema.currentVersion)

        let server = try await startFixture()
        let recorder = CheckpointRecorder()
        let extractor = try LaunchpadExtractor(
            query: try marchQuery("alice-example", serviceRoot: server.serviceRoot),
            client: try fixtureClient(server, pageSize: 2), store: one)
        let result = try await extractor.run(batchId: "b") { await recorder.record($0) }
        #expect(result.batch.storeId == one.identity.id)
        let checkpoints = await recorder.checkpoints
        #expect(!checkpoints.isEmpty)
        #expect(checkpoints.allSatisfy { $0.storeId == one.identity.id && $0.generation == checkpoints[0].generation })
        // Counts are what the store held: they never go down, and end at the batch's rows.
        #expect(zip(checkpoints, checkpoints.dropFirst()).allSatisfy { $0.rowsSoFar <= $1.rowsSoFar })
        #expect(checkpoints.last?.rowsSoFar == result.batch.rowCount)
        #expect(
            try await one.stagingProgress("b") == StagingProgress(rows: result.batch.rowCount, items: checkpoints.last?.itemsSoFar ?? -1))
        // Another store refuses the batch at load.
        let error = await etlError { try StagingActivities.checkStore(result.batch, two) }
        #expect(error?.code == .batchInOtherStore)
    }

    /// A heartbeat whose store checkpoint is gone (the batch was cleared since) is not resumed
    /// from: its compare-and-set would fail at every attempt.
    @Test func aHeartbeatWithNoCheckpointBehindItIsRefused() {
        let heartbeat = Self.checkpoint(.bugDetails, rows: 0, items: 0)
        let plan = ResumePlan.choose(heartbeat: heartbeat, stored: nil, store: Self.mine, progress: StagingProgress(rows: 0, items: 0))
        #expect(plan.checkpoint == nil)
        #expect(plan.refusals.first?.contains("has no checkpoint behind it") == true, "\(plan.refusals)")
    }
}
