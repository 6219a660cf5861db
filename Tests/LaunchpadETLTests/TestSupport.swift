import Foundation
import Testing

@testable import LaunchpadETL
@testable import LaunchpadFixture

/// A fresh directory under the system temp dir, removed when the test ends.
final class TemporaryDirectory: Sendable {
    let path: String

    init() throws {
        path = NSTemporaryDirectory() + "lpetl-" + UUID().uuidString
        try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
    }

    deinit { try? FileManager.default.removeItem(atPath: path) }

    func file(_ name: String) -> String { path + "/" + name }
}

/// Runs `body` and returns the `ETLError` it throws (nil if it did not throw one).
func etlError<T>(_ body: () async throws -> T) async -> ETLError? {
    do {
        _ = try await body()
        return nil
    } catch let error as ETLError {
        return error
    } catch {
        return nil
    }
}

func sampleEvent(_ index: Int, employee: String = "alice-example", day: Int = 5) throws -> Event {
    try Event(
        id: "b-\(1000 + index)-c", parentId: "b-\(1000 + index)", employeeId: employee, type: "bug:created",
        timeUTC: "2024-03-\(day < 10 ? "0" : "")\(day)T10:00:\(String(format: "%02d", index % 60)).123456+00:00",
        relationProperties: ["bug_id": .int(1000 + index), "title": .string("Bug \(index)")]
    )
}

/// A checkpoint replaces the stored one only within the same start of its batch (the
/// `generation` the store holds); nothing stored, or another start's checkpoint, refuses it.
func checkCheckpointReplacement(_ store: any FlowStore) async throws {
    let first = ExtractionCheckpoint(batchId: "wf/replace", phase: .bugsReported, storeId: store.identity.id, generation: "start-1")
    let none = await etlError { try await store.replaceCheckpoint(first, generation: "start-1") }
    #expect(none?.code == .stagingMismatch)
    #expect(none?.message.contains("no checkpoint") == true)
    try await store.saveCheckpoint(first)
    var next = first
    next.phase = .bugsTouched
    try await store.replaceCheckpoint(next, generation: "start-1")
    #expect(try await store.loadCheckpoint(batchId: "wf/replace") == next)
    // Another attempt starts the batch again.
    try await store.deleteStagedBatch("wf/replace")
    var other = first
    other.generation = "start-2"
    try await store.saveCheckpoint(other)
    var late = next
    late.phase = .questions
    let refused = await etlError { try await store.replaceCheckpoint(late, generation: "start-1") }
    #expect(refused?.code == .stagingMismatch)
    #expect(refused?.nonRetryable == false)
    #expect(refused?.message.contains("start start-2") == true)
    #expect(try await store.loadCheckpoint(batchId: "wf/replace") == other)
    try await store.requireGeneration("start-2", batchId: "wf/replace")
    #expect(await etlError { try await store.requireGeneration("start-1", batchId: "wf/replace") }?.code == .stagingMismatch)
    // The superseded start's staging writes are refused in their own transaction too: its
    // rows, items and reader went into start-2's batch, loaded with it, until its next save.
    let stale = BatchClaim(generation: "start-1")
    let (one, two) = (try sampleEvent(1), try sampleEvent(2))
    let writes: [(String, () async throws(ETLError) -> Void)] = [
        ("events", { () throws(ETLError) in _ = try await store.stageEvents([one], batchId: "wf/replace", claim: stale) }),
        (
            "items",
            { () throws(ETLError) in try await store.stageItems([("b-1", .int(1))], kind: .bug, batchId: "wf/replace", claim: stale) }
        ),
        ("reader", { () throws(ETLError) in try await store.recordReader("oauth:stale", batchId: "wf/replace", claim: stale) }),
    ]
    for (what, write) in writes {
        #expect(await etlError { try await write() }?.code == .stagingMismatch, "\(what)")
    }
    #expect(try await store.stagingProgress("wf/replace") == StagingProgress(rows: 0, items: 0))
    #expect(try await store.readers(batchId: "wf/replace").isEmpty)
    let current = BatchClaim(generation: "start-2")
    #expect(try await store.stageEvents([two], batchId: "wf/replace", claim: current) == 1)
    try await store.recordReader("anonymous", batchId: "wf/replace", claim: current)
    #expect(try await store.readers(batchId: "wf/replace") == ["anonymous"])

    // An attempt resuming counts itself only while the store holds the start it resumes: not
    // after another attempt cleared the batch and claimed it (here start-2), nor when nothing is stored.
    let counted = await etlError { try await LaunchpadExtractActivity.countAttempt(next, store: store, limit: 10) }
    #expect(counted?.code == .stagingMismatch)
    #expect(try await store.loadCheckpoint(batchId: "wf/replace") == other, "the other start's claim stays")
    let resumed = try await LaunchpadExtractActivity.countAttempt(other, store: store, limit: 10)
    #expect(resumed.stalledAttempts == 1)
    try await store.deleteStagedBatch("wf/replace")
    #expect(await etlError { try await LaunchpadExtractActivity.countAttempt(other, store: store, limit: 10) }?.code == .stagingMismatch)

    // A checkpoint from before generations replaces only one without a generation.
    let legacy = ExtractionCheckpoint(batchId: "wf/legacy", phase: .bugsTouched, storeId: store.identity.id)
    try await store.saveCheckpoint(legacy)
    _ = try await LaunchpadExtractActivity.countAttempt(legacy, store: store, limit: 10)
    #expect(await etlError { try await store.replaceCheckpoint(legacy, generation: "start-1") }?.code == .stagingMismatch)

    // Once loaded, a batch is not cleared (by an attempt that outlived its timeout).
    let event = try sampleEvent(1)
    try await store.stageEvents([event], batchId: "wf/loaded")
    _ = try await store.loadStagedBatch(try await store.stagedBatch("wf/loaded"))
    #expect(await etlError { try await store.deleteStagedBatch("wf/loaded") }?.code == .batchAlreadyLoaded)
}

/// The staging of a batch whose last checkpoint is older than the janitor's age is removed
/// (events, items, readers, checkpoint), a few batches per transaction; a batch in progress is
/// not. `age` makes the checkpoints of the batches named "old…" a year old (store-specific SQL).
func checkAbandonedStagingPurge(_ store: any FlowStore, age: () async throws -> Void) async throws {
    for batch in ["old", "old-2", "old-3", "fresh"] {
        try await store.saveCheckpoint(
            ExtractionCheckpoint(batchId: batch, phase: .bugsReported, storeId: store.identity.id, generation: batch))
        try await store.stageEvents([try sampleEvent(1), try sampleEvent(2)], batchId: batch)
        try await store.stageItems([("b-1", .int(1))], kind: .bug, batchId: batch)
        try await store.recordReader("anonymous", batchId: batch)
    }
    // More abandoned batches than one transaction removes (checkpoints alone).
    for index in 1...22 {
        try await store.saveCheckpoint(
            ExtractionCheckpoint(batchId: "old-bulk-\(index)", phase: .bugsReported, storeId: store.identity.id, generation: "g"))
    }
    try await age()
    // One transaction removes at most its share; the whole purge goes on until none is left.
    #expect(try await store.purgeAbandonedStaging(olderThan: .seconds(7 * 86_400), atMost: 1) == 1)
    #expect(try await store.purgeAbandonedStaging(olderThan: .seconds(7 * 86_400)) == 24)
    #expect(try await store.stagingProgress("old") == StagingProgress(rows: 0, items: 0))
    #expect(try await store.readers(batchId: "old").isEmpty)
    #expect(try await store.loadCheckpoint(batchId: "old") == nil)
    #expect(try await store.stagingProgress("fresh") == StagingProgress(rows: 2, items: 1))
    #expect(try await store.readers(batchId: "fresh") == ["anonymous"])
    #expect(try await store.purgeAbandonedStaging(olderThan: .seconds(7 * 86_400)) == 0)
}
