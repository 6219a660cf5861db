import Foundation
import Synchronization
import TemporalTestSupport
import Testing

@testable import LaunchpadETL
@testable import LaunchpadFixture

/// Staging on the shared PostgreSQL store behaves exactly like SQLite's, and stays correct
/// when several workers (connections) stage and load at once.
@Suite(.enabled(if: PostgresTestServer.isAvailable, PostgresTestServer.unavailableReason))
struct PostgresStagingTests {
    private func freshURL() async throws -> String {
        try await PostgresTestServer.shared().makeDatabase()
    }

    @Test func aCheckpointIsReplacedOnlyWithinItsStartOfTheBatch() async throws {
        try await checkCheckpointReplacement(try await PostgresEventStore.connect(url: try await freshURL()))
    }

    /// A fresh start's clear of a batch (another worker's) waits for a load in progress —
    /// between the load's check of the staged rows and its copy of them — and, once that load
    /// has committed, refuses to clear a loaded batch. Before, the clear ran at once and the
    /// load copied what was left.
    @Test func clearingABatchWaitsForALoadInProgressAndThenRefuses() async throws {
        let url = try await freshURL()
        let extractor = try await PostgresEventStore.connect(url: url)
        let loader = try await PostgresEventStore.connect(url: url)
        try await extractor.stageEvents(try (0..<10).map { try sampleEvent($0) }, batchId: "held")
        let locked = Mutex(false)
        let release = DispatchSemaphore(value: 0)
        // A load that has taken its lock and checked the rows, paused before it copies them.
        async let load: Void = loader.performTransaction { connection throws(ETLError) in
            try connection.query("SELECT pg_advisory_xact_lock(hashtextextended($1, 0))", ["held"])
            locked.withLock { $0 = true }
            release.wait()
            try connection.query("INSERT INTO loaded_batches (batch_id, row_count, changed_rows) VALUES ('held', 10, 10)")
        }
        while !locked.withLock({ $0 }) { try await Task.sleep(for: .milliseconds(10)) }
        let clearing = Task { await etlError { try await extractor.deleteStagedBatch("held") } }
        try await Task.sleep(for: .milliseconds(300))  // time for the clear to reach the lock (none needed to pass)
        release.signal()
        try await load
        let error = await clearing.value
        #expect(error?.code == .batchAlreadyLoaded, "\(String(describing: error))")
        #expect(try await extractor.stagedBatch("held").rowCount == 10, "the clear must not have run")
    }

    /// A loader cut off mid-transaction (its host partitioned away) held the batch's and the
    /// member's locks until the server noticed the dead socket (15 min to hours): every retry of
    /// the batch, and every load of the member, failed on them meanwhile. The server now ends
    /// such a session after a minute idle in its transaction.
    @Test func aTransactionLeftIdleByADeadClientIsEndedByTheServer() async throws {
        let store = try await PostgresEventStore.connect(url: try await freshURL())
        let value = try await store.performTransaction { connection throws(ETLError) -> String? in
            try connection.query("SHOW idle_in_transaction_session_timeout").rows.first?.first ?? nil
        }
        #expect(value == "1min")
    }

    @Test func abandonedStagingIsPurged() async throws {
        let store = try await PostgresEventStore.connect(url: try await freshURL())
        try await checkAbandonedStagingPurge(store) {
            _ = try await store.performTransaction { connection throws(ETLError) in
                try connection.query(
                    "UPDATE extraction_checkpoints SET updated_at = now() - interval '365 days' WHERE batch_id LIKE 'old%'")
            }
        }
    }

    /// A batch being loaded (its advisory lock held exclusively) is left to the load by the
    /// janitor, however old its checkpoint: under READ COMMITTED the purge could commit between
    /// the load's check of the staged rows and its copy of them, and the load copied nothing and
    /// succeeded.
    @Test func theJanitorLeavesABatchBeingLoaded() async throws {
        let url = try await freshURL()
        let store = try await PostgresEventStore.connect(url: url)
        try await store.saveCheckpoint(
            ExtractionCheckpoint(batchId: "old-loading", phase: .bugsReported, storeId: store.identity.id, generation: "g"))
        try await store.stageEvents([try sampleEvent(1)], batchId: "old-loading")
        _ = try await store.performTransaction { connection throws(ETLError) in
            try connection.query("UPDATE extraction_checkpoints SET updated_at = now() - interval '365 days'")
        }
        let loading = try PostgresConnection(url: url)
        try loading.execute("BEGIN; SELECT pg_advisory_xact_lock(hashtextextended('old-loading', 0))")
        let purged = try await store.purgeAbandonedStaging(olderThan: .seconds(7 * 86_400))
        try loading.execute("ROLLBACK")
        #expect(purged == 0)
        #expect(try await store.stagingProgress("old-loading") == StagingProgress(rows: 1, items: 0))
        #expect(try await store.purgeAbandonedStaging(olderThan: .seconds(7 * 86_400)) == 1, "purged once no load holds it")
    }

    /// A transaction a failed statement aborted, whose body went on (it caught the error), is
    /// not reported committed: PostgreSQL answers its COMMIT with "ROLLBACK" and writes nothing.
    @Test func anAbortedTransactionIsNotReportedCommitted() async throws {
        let connection = try PostgresConnection(url: try await freshURL())
        try connection.execute("CREATE TABLE t (x INTEGER)")
        let error = await etlError {
            try connection.transaction { () throws(ETLError) in
                try connection.query("INSERT INTO t VALUES (1)")
                _ = try? connection.query("SELECT 1 / 0")
            }
        }
        #expect(error?.message.contains("did not commit") == true && error?.nonRetryable == false, "\(String(describing: error))")
        #expect(try connection.scalarInt("SELECT count(*) FROM t") == 0)
    }

    /// A report's reads come from one snapshot (REPEATABLE READ, READ ONLY), the same as read one by one.
    @Test func aReportReadsOneSnapshot() async throws {
        let store = try await PostgresEventStore.connect(url: try await freshURL())
        _ = try await store.insertEventsBatch([try sampleEvent(1), try sampleEvent(2)])
        let snapshot = try await store.reportSnapshot()
        let (counts, windows) = (try await store.eventCounts(), try await store.loadedWindows())
        #expect(!snapshot.counts.isEmpty && snapshot.counts == counts && snapshot.windows == windows)
    }

    @Test func stagingMatchesSQLiteRowForRow() async throws {
        let store = try await PostgresEventStore.connect(url: try await freshURL())
        let directory = try TemporaryDirectory()
        let sqlite = try SQLiteEventStore(path: directory.file("events.db"))
        var events = try (0..<130).map { try sampleEvent($0) }
        events[5].addRelationProperty("note", "ünïcode ✓ and a \u{1F} separator")
        // Ids whose bytewise and linguistic orders differ: the reference must not depend on the locale.
        events.append(
            try Event(
                id: "B-1", parentId: "B", employeeId: "alice-example", type: "bug:created",
                timeUTC: "2024-03-05T10:00:00Z", relationProperties: [:]))
        events.append(
            try Event(
                id: "a-1", parentId: "a", employeeId: "alice-example", type: "bug:created",
                timeUTC: "2024-03-05T10:00:00Z", relationProperties: [:]))
        for target in [store as any FlowStore, sqlite] {
            #expect(try await target.stageEvents(Array(events[0..<80]), batchId: "wf/1") == 80)
            #expect(try await target.stageEvents(Array(events[60...]), batchId: "wf/1") == events.count - 80)
            #expect(try await target.stageEvents(Array(events[60...]), batchId: "wf/1") == 0)
        }
        let reference = try await store.stagedBatch("wf/1")
        #expect(reference == (try await sqlite.stagedBatch("wf/1")))
        #expect(reference.rowCount == events.count)
        #expect(try await store.stagedEvents("wf/1") == (try await sqlite.stagedEvents("wf/1")))

        var tampered = reference
        tampered.sha256 = String(repeating: "0", count: 64)
        let mismatch = await etlError { try await store.loadStagedBatch(tampered) }
        #expect(mismatch?.code == .stagingMismatch)
        #expect(mismatch?.nonRetryable == false)

        #expect(try await store.loadStagedBatch(reference) == events.count)
        #expect(try await store.loadStagedBatch(reference) == events.count, "a retried load must return the recorded count")
        #expect(try await store.loadedRowCount("wf/1") == events.count)
        #expect(try await store.stagedBatch("wf/1").rowCount == 0)
        #expect(try await sqlite.loadStagedBatch(reference) == events.count)
        #expect(Set(try await store.events()) == Set(try await sqlite.events()))

        // A late staging write (an extract attempt that outlived its timeout) is refused, in both stores.
        for target in [store as any FlowStore, sqlite] {
            let late = await etlError { try await target.stageEvents([events[0]], batchId: "wf/1") }
            #expect(late?.code == .batchAlreadyLoaded)
            #expect(late?.nonRetryable == true)
            let lateCheckpoint = await etlError {
                try await target.saveCheckpoint(ExtractionCheckpoint(batchId: "wf/1", phase: .bugsTouched))
            }
            #expect(lateCheckpoint?.code == .batchAlreadyLoaded)
            let lateItems = await etlError { try await target.stageItems([("1", .int(1))], kind: .bug, batchId: "wf/1") }
            #expect(lateItems?.code == .batchAlreadyLoaded)
            #expect(try await target.stagedBatch("wf/1").rowCount == 0)
        }

        // A second run over the same window changes nothing in `events`.
        try await store.stageEvents(events, batchId: "wf/2")
        #expect(try await store.loadStagedBatch(try await store.stagedBatch("wf/2")) == 0)
        #expect(try await store.eventCount() == events.count)
    }

    /// When a batch's read started is kept as it was, whatever the session's DateStyle and time
    /// zone (a role's or database's settings, `PGTZ`, the URL's options): it went through
    /// `::text`, and Shanghai's "CST" read back as US Central, 14 hours late.
    @Test func aReadsStartIsKeptWhateverTheSessionsDateStyleAndZone() async throws {
        let base = try await freshURL()
        let store = try await PostgresEventStore.connect(
            url: base + "?options=-c%20DateStyle%3DSQL%2CDMY%20-c%20TimeZone%3DAsia%2FShanghai")
        try await store.recordReader(LaunchpadAccess.anonymous, batchId: "wf/1")
        try await store.stageEvents([try sampleEvent(0)], batchId: "wf/1")
        #expect(try await store.loadStagedBatch(try await store.stagedBatch("wf/1")) == 1)
        let plain = try PostgresConnection(url: base)
        let offset = try plain.scalarInt(
            "SELECT abs(extract(epoch FROM now() - read_started_at))::integer FROM loaded_batches WHERE batch_id = 'wf/1'")
        #expect(offset < 600, "read_started_at is \(offset) s away from now")
    }

    /// Stored events come ordered bytewise by id, as from SQLite, in a database whose collation
    /// is linguistic (ICU): they came in the database's order.
    @Test func eventsAreOrderedBytewiseWhateverTheCollation() async throws {
        let server = try await PostgresTestServer.shared()
        // ICU as a database's collation provider came with PostgreSQL 15.
        guard try PostgresConnection(url: server.url()).scalarInt("SELECT current_setting('server_version_num')::integer") >= 150_000
        else { return }
        let name = "t_icu_" + UUID().uuidString.replacingOccurrences(of: "-", with: "").lowercased()
        try PostgresConnection(url: server.url()).execute(
            "CREATE DATABASE \(name) TEMPLATE template0 ENCODING 'UTF8' LOCALE 'C.UTF-8' LOCALE_PROVIDER icu ICU_LOCALE 'en-US'")
        let store = try await PostgresEventStore.connect(url: server.url(database: name))
        let ids = ["b-20", "B-1", "a-1", "b-2-m1"]
        let events = try ids.map {
            try Event(
                id: $0, parentId: "p", employeeId: "alice-example", type: "bug:created", timeUTC: "2024-03-05T10:00:00Z",
                relationProperties: [:])
        }
        try await store.stageEvents(events, batchId: "wf/1")
        #expect(try await store.loadStagedBatch(try await store.stagedBatch("wf/1")) == 4)
        #expect(try await store.events().map(\.id) == ids.sorted())
    }

    /// A database not encoded in UTF-8 is refused when the store connects, saying how to create
    /// one: an event with a title in another script failed for good at staging, with an
    /// encoding error that did not say what to do.
    @Test func aDatabaseNotInUTF8IsRefusedSayingWhatToDo() async throws {
        let server = try await PostgresTestServer.shared()
        let name = "t_latin1_" + UUID().uuidString.replacingOccurrences(of: "-", with: "").lowercased()
        try PostgresConnection(url: server.url()).execute("CREATE DATABASE \(name) TEMPLATE template0 ENCODING 'LATIN1' LOCALE 'C'")
        let refused = await etlError { _ = try await PostgresEventStore.connect(url: server.url(database: name)) }
        #expect(refused?.code == .database && refused?.nonRetryable == true, "\(String(describing: refused))")
        #expect(refused?.message.contains("ENCODING 'UTF8'") == true, "\(String(describing: refused))")
    }

    @Test func checkpointsAndItemsRoundTrip() async throws {
        let store = try await PostgresEventStore.connect(url: try await freshURL())
        #expect(try await store.loadCheckpoint(batchId: "b") == nil)
        let checkpoint = ExtractionCheckpoint(batchId: "b", phase: .bugsTouched, nextPageLink: "http://x/?ws.start=300", rowsSoFar: 12)
        try await store.saveCheckpoint(checkpoint)
        var later = checkpoint
        later.rowsSoFar = 40
        try await store.saveCheckpoint(later)
        #expect(try await store.loadCheckpoint(batchId: "b") == later)

        let keys = ["0010", "0009", "B", "a", "0010"]
        try await store.stageItems(keys.enumerated().map { ($0.element, JSONValue.int($0.offset)) }, kind: .bug, batchId: "b")
        let first = try await store.stagedItems(kind: .bug, batchId: "b", after: nil, limit: 2)
        #expect(first.map(\.key) == ["0009", "0010"])
        #expect(first[1].payload == .int(4), "the last payload of a repeated key wins")
        let rest = try await store.stagedItems(kind: .bug, batchId: "b", after: "0010", limit: 10)
        #expect(rest.map(\.key) == ["B", "a"])
        #expect(try await store.stagedItems(kind: .question, batchId: "b", after: nil, limit: 10).isEmpty)

        try await store.deleteStagedBatch("b")
        #expect(try await store.loadCheckpoint(batchId: "b") == nil)
        #expect(try await store.stagedItems(kind: .bug, batchId: "b", after: nil, limit: 10).isEmpty)
    }

    /// Two workers (two connections) loading overlapping batches at once: every event lands
    /// once, the changed counts add up to the row count, nothing deadlocks for good.
    @Test func concurrentLoadsFromTwoConnectionsNeverDuplicate() async throws {
        let url = try await freshURL()
        let stores = [try await PostgresEventStore.connect(url: url), try await PostgresEventStore.connect(url: url)]
        let batches = 8
        for index in 0..<batches {
            let events = try (index * 150..<index * 150 + 400).map { try sampleEvent($0 % 1_000) }
            try await stores[index % 2].stageEvents(events, batchId: "run-\(index)")
        }
        let changed = try await withThrowingTaskGroup(of: Int.self) { group in
            for index in 0..<batches {
                group.addTask {
                    let store = stores[index % 2]
                    return try await store.loadStagedBatch(try await store.stagedBatch("run-\(index)"))
                }
            }
            return try await group.reduce(0, +)
        }
        let expected = Set((0..<batches).flatMap { i in (i * 150..<i * 150 + 400).map { $0 % 1_000 } }).count
        #expect(try await stores[0].eventCount() == expected)
        #expect(changed == expected)
        let duplicates = try await stores[1].perform { connection throws(ETLError) in
            try connection.scalarInt("SELECT count(*) - count(DISTINCT id) FROM events")
        }
        #expect(duplicates == 0)
    }

    /// Two members' loads at once (a team run) that hold the same event: the newer read's load
    /// commits after the older one checked for newer reads and before it wrote the event. The
    /// older read must not write its view over the newer one: it did, as nothing serialised the
    /// check and the write across members (SQLite's loads are one at a time).
    @Test func anOlderReadsLoadDoesNotOverwriteANewerLoadCommittingMeanwhile() async throws {
        let url = try await freshURL()
        let older = try await PostgresEventStore.connect(url: url)
        let newer = try await PostgresEventStore.connect(url: url)
        let access = "oauth:aaaaaaaaaaaaaaaa"
        func shared(_ title: String) throws -> Event {
            try Event(
                id: "b-77-m1", parentId: "b-77", employeeId: "yann", type: "bug:commented", timeUTC: "2024-03-07T10:00:00Z",
                relationProperties: ["bug_id": .int(77), "title": .string(title)])
        }
        func staged(_ store: PostgresEventStore, _ batchId: String, _ member: String, _ title: String) async throws -> StagedBatch {
            try await store.stageEvents([try shared(title)], batchId: batchId)
            var batch = try await store.stagedBatch(batchId)
            batch.window = LoadedWindow(
                member: member, sourceKind: Event.launchpadSourceKind, firstDay: "2024-03-01", lastDay: "2024-03-31", access: access)
            return batch
        }
        try await older.recordReader(access, batchId: "xavier-read")
        try await Task.sleep(for: .milliseconds(5))
        try await newer.recordReader(access, batchId: "yann-read")
        let olderBatch = try await staged(older, "xavier-read", "xavier", "old")
        let newerBatch = try await staged(newer, "yann-read", "yann", "new")
        // Holds the newer load after it wrote the event, before it commits (its staging's delete).
        let holder = try PostgresConnection(url: url)
        try holder.execute("BEGIN; SELECT 1 FROM staged_events WHERE batch_id = 'yann-read' FOR UPDATE")
        async let newerLoad = newer.loadBatch(newerBatch)
        // Until `count` sessions wait for a lock (or 10 s).
        func waitForWaiters(_ count: Int) async throws {
            let end = ContinuousClock.now + .seconds(10)
            while ContinuousClock.now < end {
                let waiting = try holder.scalarInt(
                    "SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock' AND datname = current_database()")
                if waiting >= count { return }
                try await Task.sleep(for: .milliseconds(10))
            }
            Issue.record("\(count) sessions never waited for a lock")
        }
        try await waitForWaiters(1)
        async let olderLoad = older.loadBatch(olderBatch)
        try await waitForWaiters(2)
        try holder.execute("ROLLBACK")
        _ = try await newerLoad
        let outcome = try await olderLoad
        #expect(try await newer.events(employeeId: "yann").map(\.relationProperties["title"]) == [.string("new")])
        #expect(outcome.changed == 0 && outcome.superseded == 1, "\(outcome)")
    }

    /// The same batch loaded by two workers at the same moment (an activity retried on
    /// another worker while the first attempt still runs): one load moves the rows, the
    /// other returns the recorded count.
    @Test func sameBatchLoadedTwiceAtOnceIsLoadedOnce() async throws {
        let url = try await freshURL()
        let stores = [try await PostgresEventStore.connect(url: url), try await PostgresEventStore.connect(url: url)]
        try await stores[0].stageEvents(try (0..<3_000).map { try sampleEvent($0) }, batchId: "wf/retried")
        let batch = try await stores[0].stagedBatch("wf/retried")
        let results = try await withThrowingTaskGroup(of: Int.self) { group in
            for store in stores { group.addTask { try await store.loadStagedBatch(batch) } }
            return try await group.reduce(into: [Int]()) { $0.append($1) }
        }
        #expect(results == [3_000, 3_000])
        #expect(try await stores[1].eventCount() == 3_000)
    }
}
