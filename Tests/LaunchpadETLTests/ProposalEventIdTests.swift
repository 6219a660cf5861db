import Foundation
import Testing

@testable import LaunchpadETL

/// A merge proposal's review, review request and merge are named by their time
/// (`ProposalEventId`): Launchpad overwrites each of those fields when it happens again, so
/// `mp-<id>-r` (and `-rq`, `-m`) named a slot that a later run overwrote in the store.
@Suite struct ProposalEventIdTests {
    static let api = "https://api.launchpad.net/devel/"
    static let firstReview = "2024-03-05T10:00:00.250000+00:00"  // 1709632800.25
    static let secondReview = "2024-03-12T16:30:00+00:00"  // 1710261000

    /// The proposal as Launchpad shows it, with `fields` set.
    static func proposal(_ fields: [String: JSONValue]) -> JSONValue {
        var all: [String: JSONValue] = [
            "self_link": .string(api + "~carol/netplan/+git/netplan/+merge/4711"),
            "registrant_link": .string(api + "~carol"), "date_created": "2024-02-01T09:00:00+00:00", "queue_status": "Approved",
        ]
        all.merge(fields) { _, new in new }
        return .object(all)
    }

    static func events(_ member: String, _ fields: [String: JSONValue]) throws -> [Event] {
        let window = try marchQuery(member, serviceRoot: "https://api.launchpad.net/").window()
        return try EventBuilders.mergeProposalEvents(proposal: proposal(fields), comments: [], member: member, window: window)
    }

    /// alice reviews, her run loads it; bob reviews again, Launchpad now shows bob, his run
    /// loads it. Both reviews stay, each with its reviewer and time.
    @Test func aLaterReviewerDoesNotTakeAnEarlierReviewersEvent() async throws {
        let directory = try TemporaryDirectory()
        let store = try SQLiteEventStore(path: directory.file("events.db"))
        let alice = try Self.events("alice", ["reviewer_link": .string(Self.api + "~alice"), "date_reviewed": .string(Self.firstReview)])
        let bob = try Self.events("bob", ["reviewer_link": .string(Self.api + "~bob"), "date_reviewed": .string(Self.secondReview)])
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

    /// A proposal sent back to Work in progress and asked for review again, and one taken out
    /// of Merged and merged again by someone else: each occurrence stays.
    @Test func aRepeatedReviewRequestOrMergeKeepsTheEarlierOne() async throws {
        let directory = try TemporaryDirectory()
        let store = try SQLiteEventStore(path: directory.file("events.db"))
        for date in [Self.firstReview, Self.secondReview] {
            _ = try await store.insertEventsBatch(try Self.events("carol", ["date_review_requested": .string(date)]))
        }
        _ = try await store.insertEventsBatch(
            try Self.events("carol", ["merge_reporter_link": .string(Self.api + "~carol"), "date_merged": .string(Self.firstReview)]))
        _ = try await store.insertEventsBatch(
            try Self.events("dave", ["merge_reporter_link": .string(Self.api + "~dave"), "date_merged": .string(Self.secondReview)]))
        let ids = try await store.events().map(\.id)
        #expect(ids == ["mp-4711-m1709632800", "mp-4711-m1710261000", "mp-4711-rq1709632800", "mp-4711-rq1710261000"], "\(ids)")
    }

    @Test func legacyIdsAreRecognisedExactly() throws {
        #expect(ProposalEventId.isLegacy("mp-4711-r", type: "merge_proposal:reviewed"))
        #expect(ProposalEventId.isLegacy("mp-4711-rq", type: "merge_proposal:review_requested"))
        #expect(ProposalEventId.isLegacy("mp-4711-m", type: "merge_proposal:merged"))
        for (id, type) in [
            ("mp-4711-rq", "merge_proposal:reviewed"), ("mp-4711-r1709632800", "merge_proposal:reviewed"),
            ("mp--r", "merge_proposal:reviewed"), ("mp-47a1-r", "merge_proposal:reviewed"), ("b-4711-r", "merge_proposal:reviewed"),
            ("mp-4711-r", "merge_proposal:merged"), ("mp-4711-c", "merge_proposal:created"), ("mp-4711-m", "bug:created"),
        ] {
            #expect(!ProposalEventId.isLegacy(id, type: type), "\(id) \(type)")
        }
        let time = try #require(UTCTimestamp(parsing: Self.firstReview))
        #expect(ProposalEventId.current(id: "mp-4711-r", type: "merge_proposal:reviewed", time: time) == "mp-4711-r1709632800")
        #expect(ProposalEventId.current(id: "mp-4711-r", type: "merge_proposal:merged", time: time) == "mp-4711-r")
        // An event read back from an older release's workflow history gets the current id.
        let legacy = try Event(
            id: "mp-4711-m", parentId: "mp-4711", employeeId: "alice", type: "merge_proposal:merged", timeUTC: Self.firstReview)
        #expect(legacy.id == "mp-4711-m1709632800")
        let before = try #require(UTCTimestamp(parsing: "1969-12-31T23:59:59.5Z"))
        #expect(ProposalEventId.seconds(before) == -1, "rounded down, as SQL reads the stored second")
    }

    /// Rows an older release wrote: stored events, and batches staged before the upgrade, one
    /// of which a resumed attempt completed with the same review under its current id.
    static let legacyRows: [(table: String, batch: String?, id: String, type: String)] = [
        ("events", nil, "mp-4711-r", "merge_proposal:reviewed"), ("events", nil, "mp-4711-rq", "merge_proposal:review_requested"),
        ("events", nil, "mp-4711-m", "merge_proposal:merged"),
        ("staged_events", "old", "mp-4711-r", "merge_proposal:reviewed"), ("staged_events", "old", "mp-4712-r", "merge_proposal:reviewed"),
        ("staged_events", "mixed", "mp-4713-r", "merge_proposal:reviewed"),
        ("staged_events", "mixed", "mp-4713-r1709632800", "merge_proposal:reviewed"),
    ]

    static func insert(
        _ rows: [(table: String, batch: String?, id: String, type: String)], columns: String, _ execute: (String) throws -> Void
    )
        rethrows
    {
        for row in rows {
            let parent = String(row.id.prefix(7))
            let batch = row.batch.map { "'\($0)', " } ?? ""
            try execute(
                """
                INSERT INTO \(row.table) (\(row.batch == nil ? "" : "batch_id, ")\(columns)) VALUES (\(batch)'\(row.id)',
                '\(parent)', '2024-03-04', 'alice', 'launchpad', '\(row.type)', '2024-03-05T10:00:00.250000Z', '{}')
                """)
        }
    }

    /// dave asks erin to review carol's proposal 4711 at `secondReview`. A builder before
    /// version 6 credited that request to carol, the registrant (`-rq<t>`, from the proposal's
    /// request date, which the form sets at the same instant); version 6 credits it to dave
    /// (`-rr<reference>`, from the vote reference) and makes no `-rq` then. Whichever of the two
    /// loads last, the older `-rq` gives way, and a store holding both (written directly) drops
    /// it when opened; carol's own request at another instant stays.
    static func checkRequestCreditedByAnOlderBuilder(_ store: any FlowStore, reopen: () async throws -> any FlowStore) async throws {
        let requested: [String: JSONValue] = ["date_review_requested": .string(secondReview)]
        let vote: JSONValue = .object([
            "self_link": .string(api + "~carol/netplan/+git/netplan/+merge/4711/+review/55"),
            "registrant_link": .string(api + "~dave"), "reviewer_link": .string(api + "~erin"), "date_created": .string(secondReview),
            "review_type": .null,
        ])
        let window = try marchQuery("dave", serviceRoot: "https://api.launchpad.net/").window()
        let davesRead = try EventBuilders.mergeProposalEvents(
            proposal: proposal(requested), comments: [], votes: [vote], member: "dave", window: window)
        let carolsOlderRead = try events("carol", requested)  // no vote references: as before version 6
        #expect(davesRead.map(\.id) == ["mp-4711-rr55"] && carolsOlderRead.map(\.id) == ["mp-4711-rq1710261000"])
        func load(_ batchId: String, _ events: [Event]) async throws {
            _ = try await store.stageEvents(events, batchId: batchId)
            _ = try await store.loadBatch(try await store.stagedBatch(batchId))
        }
        func stored() async throws -> [String] { try await store.events().map { "\($0.id) \($0.employeeId)" } }
        try await load("carol-own", try events("carol", ["date_review_requested": .string(firstReview)]))
        try await load("carol-v5", carolsOlderRead)
        try await load("dave-v6", davesRead)
        let expected = ["mp-4711-rq1709632800 carol", "mp-4711-rr55 dave"]
        #expect(try await stored() == expected, "the older -rq gives way to the -rr loaded after it")
        try await load("carol-v5-late", carolsOlderRead)  // an older worker's read, loaded late
        #expect(try await stored() == expected, "and to the -rr loaded before it")
        _ = try await store.insertEventsBatch(carolsOlderRead)  // written directly, as an older release's insert
        #expect(try await store.eventCount() == 3)
        let reopened = try await reopen()
        #expect(try await reopened.events().map { "\($0.id) \($0.employeeId)" } == expected, "an open drops it")
    }

    @Test func anSQLiteStoreKeepsTheRequestersReviewRequestNotTheRegistrants() async throws {
        let directory = try TemporaryDirectory()
        let path = directory.file("events.db")
        try await Self.checkRequestCreditedByAnOlderBuilder(try SQLiteEventStore(path: path)) { try SQLiteEventStore(path: path) }
    }

    @Test(.enabled(if: PostgresTestServer.isAvailable, PostgresTestServer.unavailableReason))
    func aPostgresStoreKeepsTheRequestersReviewRequestNotTheRegistrants() async throws {
        let url = try await PostgresTestServer.shared().makeDatabase()
        try await Self.checkRequestCreditedByAnOlderBuilder(try await PostgresEventStore.connect(url: url)) {
            try await PostgresEventStore.connect(url: url)
        }
    }

    static let expectedAfterLoads = [
        "mp-4711-m1709632800", "mp-4711-r1709632800", "mp-4711-rq1709632800", "mp-4712-r1709632800", "mp-4713-r1709632800",
    ]

    /// A store written by a release before schema 5: opening it renames the stored ids, and
    /// batches staged then load under the current ids without a duplicate. Ids an older worker
    /// still running writes afterwards are renamed at the next open (its twin wins).
    @Test func anOlderSQLiteStoreIsRenamedAndItsStagedEventsLoadRenamed() async throws {
        let directory = try TemporaryDirectory()
        let path = directory.file("events.db")
        do {
            let connection = try SQLiteConnection(path: path, busyTimeoutMilliseconds: 1_000)
            for migration in SQLiteSchema.migrations.prefix(4) { try connection.execute(migration) }
            try connection.execute("PRAGMA user_version = 4")
            try Self.insert(Self.legacyRows, columns: SQLiteEventStore.columns) { try connection.execute($0) }
        }
        do {
            let store = try SQLiteEventStore(path: path)
            #expect(try await store.schemaVersion() == SQLiteSchema.currentVersion)
            #expect(try await store.events().map(\.id) == ["mp-4711-m1709632800", "mp-4711-r1709632800", "mp-4711-rq1709632800"])
            let old = try await store.stagedBatch("old")
            let mixed = try await store.stagedBatch("mixed")
            #expect(old.rowCount == 2 && mixed.rowCount == 2, "the staged rows and their reference are untouched")
            #expect(try await store.loadStagedBatch(old) == 1, "4711 was stored already; 4712 is new")
            #expect(try await store.loadStagedBatch(mixed) == 1)
            #expect(try await store.events().map(\.id) == Self.expectedAfterLoads)
        }
        // An older worker that opened the store before the upgrade writes old ids again.
        do {
            let connection = try SQLiteConnection(path: path, busyTimeoutMilliseconds: 1_000)
            try Self.insert(
                [("events", nil, "mp-4711-r", "merge_proposal:reviewed"), ("events", nil, "mp-4714-m", "merge_proposal:merged")],
                columns: SQLiteEventStore.columns
            ) { try connection.execute($0) }
        }
        let reopened = try SQLiteEventStore(path: path)
        #expect(try await reopened.events().map(\.id) == Self.expectedAfterLoads + ["mp-4714-m1709632800"])
        #expect(try await reopened.eventCount() == 6, "no review counted twice")
        // Every open looks for them through the partial index (none: no write lock taken).
        let plan = try await reopened.perform { connection throws(ETLError) -> String in
            let statement = try connection.statement("EXPLAIN QUERY PLAN " + ProposalEventId.sqliteHasLegacy)
            defer { statement.reset() }
            var details: [String] = []
            while try statement.step() { details.append(statement.text(3) ?? "") }
            return details.joined(separator: "; ")
        }
        #expect(plan.contains("events_legacy_proposal_ids"), "\(plan)")
        #expect(
            try await reopened.perform { connection throws(ETLError) in try connection.scalarInt(ProposalEventId.sqliteHasLegacy) } == 0)
        // Without the index (dropped by hand), the next open makes it again instead of failing.
        try await reopened.perform { connection throws(ETLError) in try connection.execute("DROP INDEX events_legacy_proposal_ids") }
        #expect(try await SQLiteEventStore(path: path).eventCount() == 6)
    }

    /// The same on PostgreSQL (schema 3 → 4), where one upsert may not touch a row twice.
    @Test(.enabled(if: PostgresTestServer.isAvailable, PostgresTestServer.unavailableReason))
    func anOlderPostgresStoreIsRenamedAndItsStagedEventsLoadRenamed() async throws {
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
            try Self.insert(Self.legacyRows, columns: PostgresEventStore.columns) { try connection.execute($0) }
        }
        let store = try await PostgresEventStore.connect(url: url)
        #expect(try await store.schemaVersion() == PostgresSchema.currentVersion)
        #expect(try await store.events().map(\.id) == ["mp-4711-m1709632800", "mp-4711-r1709632800", "mp-4711-rq1709632800"])
        let old = try await store.stagedBatch("old")
        let mixed = try await store.stagedBatch("mixed")
        #expect(old.rowCount == 2 && mixed.rowCount == 2)
        #expect(try await store.loadStagedBatch(old) == 1)
        #expect(try await store.loadStagedBatch(mixed) == 1)
        #expect(try await store.events().map(\.id) == Self.expectedAfterLoads)
        do {
            let connection = try PostgresConnection(url: url)
            try Self.insert(
                [("events", nil, "mp-4711-r", "merge_proposal:reviewed"), ("events", nil, "mp-4714-m", "merge_proposal:merged")],
                columns: PostgresEventStore.columns
            ) { try connection.execute($0) }
        }
        let again = try await PostgresEventStore.connect(url: url)
        #expect(try await again.events().map(\.id) == Self.expectedAfterLoads + ["mp-4714-m1709632800"])
        #expect(try await again.eventCount() == 6)
    }
}
