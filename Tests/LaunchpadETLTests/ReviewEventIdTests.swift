import Foundation
import Testing

@testable import LaunchpadETL

/// A merge proposal's review is named by its time (`ReviewEventId`): Launchpad overwrites the
/// proposal's reviewer and review date when it is reviewed again, so `mp-<id>-r` named a slot
/// that a later reviewer's run overwrote in the store.
@Suite struct ReviewEventIdTests {
    static let api = "https://api.launchpad.net/devel/"
    static let firstReview = "2024-03-05T10:00:00.250000+00:00"
    static let secondReview = "2024-03-12T16:30:00+00:00"

    /// The proposal as Launchpad shows it after `reviewer` reviewed it at `date`.
    static func proposal(reviewedBy reviewer: String, at date: String) -> JSONValue {
        [
            "self_link": .string(api + "~carol/netplan/+git/netplan/+merge/4711"),
            "registrant_link": .string(api + "~carol"), "date_created": "2024-02-01T09:00:00+00:00",
            "reviewer_link": .string(api + "~" + reviewer), "date_reviewed": .string(date), "queue_status": "Approved",
        ]
    }

    static func reviewEvents(_ reviewer: String, _ date: String) throws -> [Event] {
        let window = try marchQuery(reviewer, serviceRoot: "https://api.launchpad.net/").window()
        return try EventBuilders.mergeProposalEvents(
            proposal: proposal(reviewedBy: reviewer, at: date), comments: [], member: reviewer, window: window)
    }

    /// alice reviews, her run loads it; bob reviews again, Launchpad now shows bob, his run
    /// loads it. Both reviews stay, each with its reviewer and time.
    @Test func aLaterReviewerDoesNotTakeAnEarlierReviewersEvent() async throws {
        let directory = try TemporaryDirectory()
        let store = try SQLiteEventStore(path: directory.file("events.db"))
        let alice = try Self.reviewEvents("alice", Self.firstReview)
        let bob = try Self.reviewEvents("bob", Self.secondReview)
        #expect(alice.map(\.id) == ["mp-4711-r1709632800"])
        #expect(bob.map(\.id) == ["mp-4711-r1710261000"])
        _ = try await store.insertEventsBatch(alice)
        _ = try await store.insertEventsBatch(bob)
        let reviews = try await store.events().filter { $0.type == "merge_proposal:reviewed" }
        #expect(reviews.map(\.employeeId).sorted() == ["alice", "bob"])
        #expect(Set(reviews.map(\.timeUTC)) == ["2024-03-05T10:00:00.250000Z", "2024-03-12T16:30:00Z"])
        // Re-running either changes nothing.
        #expect(try await store.insertEventsBatch(alice + bob) == 0)
    }

    @Test func legacyIdsAreRecognisedExactly() throws {
        #expect(ReviewEventId.isLegacy("mp-4711-r"))
        for id in ["mp-4711-rq", "mp-4711-r1709632800", "mp--r", "mp-47a1-r", "b-4711-r", "mp-4711-c"] {
            #expect(!ReviewEventId.isLegacy(id), "\(id)")
        }
        let time = try #require(UTCTimestamp(parsing: Self.firstReview))
        #expect(ReviewEventId.current(id: "mp-4711-r", type: "merge_proposal:reviewed", time: time) == "mp-4711-r1709632800")
        #expect(ReviewEventId.current(id: "mp-4711-r", type: "merge_proposal:merged", time: time) == "mp-4711-r")
        // An event read back from an older release's workflow history gets the current id.
        let legacy = try Event(
            id: "mp-4711-r", parentId: "mp-4711", employeeId: "alice", type: "merge_proposal:reviewed", timeUTC: Self.firstReview)
        #expect(legacy.id == "mp-4711-r1709632800")
        let before = try #require(UTCTimestamp(parsing: "1969-12-31T23:59:59.5Z"))
        #expect(ReviewEventId.seconds(before) == -1, "rounded down, as SQL reads the stored second")
    }

    /// Rows an older release wrote: one stored event, and a batch staged before the upgrade
    /// that a resumed attempt completed with the same review under its current id.
    static let legacyRows: [(table: String, batch: String?, id: String)] = [
        ("events", nil, "mp-4711-r"),
        ("staged_events", "old", "mp-4711-r"), ("staged_events", "old", "mp-4712-r"),
        ("staged_events", "mixed", "mp-4713-r"), ("staged_events", "mixed", "mp-4713-r1709632800"),
    ]

    /// A store written by a release before schema 5: the migration renames its stored review,
    /// and a batch staged then loads under the current ids, without a duplicate.
    @Test func anOlderSQLiteStoreIsMigratedAndItsStagedReviewsLoadRenamed() async throws {
        let directory = try TemporaryDirectory()
        let path = directory.file("events.db")
        do {
            let connection = try SQLiteConnection(path: path, busyTimeoutMilliseconds: 1_000)
            for migration in SQLiteSchema.migrations.prefix(4) { try connection.execute(migration) }
            try connection.execute("PRAGMA user_version = 4")
            for row in Self.legacyRows {
                let parent = String(row.id.prefix(7))
                let batch = row.batch.map { "'\($0)', " } ?? ""
                try connection.execute(
                    """
                    INSERT INTO \(row.table) (\(row.batch == nil ? "" : "batch_id, ")\(SQLiteEventStore.columns)) VALUES (\(batch)'\(row.id)',
                    '\(parent)', '2024-03-04', 'alice', 'launchpad', 'merge_proposal:reviewed', '2024-03-05T10:00:00.250000Z', '{}')
                    """)
            }
        }
        let store = try SQLiteEventStore(path: path)
        #expect(try await store.schemaVersion() == 5)
        #expect(try await store.events().map(\.id) == ["mp-4711-r1709632800"])
        let old = try await store.stagedBatch("old")
        let mixed = try await store.stagedBatch("mixed")
        #expect(old.rowCount == 2 && mixed.rowCount == 2, "the staged rows and their reference are untouched")
        #expect(try await store.loadStagedBatch(old) == 1, "4711 was stored already; 4712 is new")
        #expect(try await store.loadStagedBatch(mixed) == 1)
        #expect(try await store.events().map(\.id) == ["mp-4711-r1709632800", "mp-4712-r1709632800", "mp-4713-r1709632800"])
    }

    /// The same on PostgreSQL (schema 3 → 4), where one upsert may not touch a row twice.
    @Test(.enabled(if: PostgresTestServer.isAvailable, PostgresTestServer.unavailableReason))
    func anOlderPostgresStoreIsMigratedAndItsStagedReviewsLoadRenamed() async throws {
        let server = try await PostgresTestServer.shared()
        let url = try server.makeDatabase()
        do {
            let connection = try PostgresConnection(url: url)
            try connection.execute(
                "CREATE TABLE schema_version (version INTEGER PRIMARY KEY, applied_at TIMESTAMPTZ NOT NULL DEFAULT now())")
            for (index, migration) in PostgresSchema.migrations.prefix(3).enumerated() {
                try connection.execute(migration)
                try connection.execute("INSERT INTO schema_version (version) VALUES (\(index + 1))")
            }
            for row in Self.legacyRows {
                let parent = String(row.id.prefix(7))
                let batch = row.batch.map { "'\($0)', " } ?? ""
                try connection.execute(
                    """
                    INSERT INTO \(row.table) (\(row.batch == nil ? "" : "batch_id, ")\(PostgresEventStore.columns)) VALUES (\(batch)'\(row.id)',
                    '\(parent)', '2024-03-04', 'alice', 'launchpad', 'merge_proposal:reviewed', '2024-03-05T10:00:00.250000Z', '{}')
                    """)
            }
        }
        let store = try await PostgresEventStore.connect(url: url)
        #expect(try await store.schemaVersion() == 4)
        #expect(try await store.events().map(\.id) == ["mp-4711-r1709632800"])
        let old = try await store.stagedBatch("old")
        let mixed = try await store.stagedBatch("mixed")
        #expect(old.rowCount == 2 && mixed.rowCount == 2)
        #expect(try await store.loadStagedBatch(old) == 1)
        #expect(try await store.loadStagedBatch(mixed) == 1)
        #expect(try await store.events().map(\.id) == ["mp-4711-r1709632800", "mp-4712-r1709632800", "mp-4713-r1709632800"])
    }
}
