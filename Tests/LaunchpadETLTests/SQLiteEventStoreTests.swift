import Foundation
import Synchronization
import Testing

@testable import LaunchpadETL
@testable import LaunchpadFixture

/// A SQLite library the store's SQL cannot run on is refused at open, saying which and why:
/// it failed at the first staging write or load with an SQL error that did not say why.
@Test func aSQLiteLibraryTooOldOrWithoutJSONIsNamed() {
    #expect(SQLiteConnection.libraryRefusal(number: 3_046_001, version: "3.46.1", hasJSON: true) == nil)
    let old = SQLiteConnection.libraryRefusal(number: 3_022_000, version: "3.22.0", hasJSON: true)
    #expect(old?.contains("version 3.22.0, older than 3.24.0") == true, "\(old ?? "")")
    let noJSON = SQLiteConnection.libraryRefusal(number: 3_046_001, version: "3.46.1", hasJSON: false)
    #expect(noJSON?.contains("without the JSON functions") == true, "\(noJSON ?? "")")
}

@Suite struct DatabaseTests {
    /// A call whose task is cancelled while it waits for the store's queue does not run: an
    /// activity attempt that timed out behind a busy queue left its scans queued, and each
    /// retry queued another copy behind them. One already running finishes.
    @Test func aCallCancelledBeforeItsTurnDoesNotRun() async throws {
        let directory = try TemporaryDirectory()
        let database = try SQLiteEventStore(path: directory.file("events.db"))
        let ran = Atomic(false)
        // The queue stays busy until the waiting call is cancelled, however loaded the machine
        // (fixed sleeps let a starved test cancel after the busy call had ended).
        let started = Atomic(false)
        let release = Atomic(false)
        let busy = Task {
            try await database.perform { _ in
                started.store(true, ordering: .releasing)
                for _ in 0..<2_000 where !release.load(ordering: .acquiring) { Thread.sleep(forTimeInterval: 0.005) }
            }
        }
        while !started.load(ordering: .acquiring) { try await Task.sleep(for: .milliseconds(5)) }
        let waiting = Task { try await database.perform { _ in ran.store(true, ordering: .relaxed) } }
        try await Task.sleep(for: .milliseconds(100))  // queued behind the busy call by now, or cancelled before it asks
        waiting.cancel()
        release.store(true, ordering: .releasing)
        _ = try await busy.value
        let error = await #expect(throws: ETLError.self) { try await waiting.value }
        #expect(error?.message.contains("cancelled before its turn") == true, "\(String(describing: error))")
        let didRun = ran.load(ordering: .relaxed)
        #expect(!didRun)
        #expect(try await database.eventCount() == 0)  // the store serves the next call
    }

    /// A file this process may only read is refused at open, saying what to make writable: SQLite
    /// opened it read-only without a word, and every write failed (as retried) until the process
    /// ended, however the permissions were mended. (Root may write any file: not checked as root.)
    @Test(.enabled(if: geteuid() != 0, "root may write any file"))
    func aFileThisProcessMayOnlyReadIsRefusedAtOpen() async throws {
        let directory = try TemporaryDirectory()
        let path = directory.file("events.db")
        _ = try SQLiteEventStore(path: path)
        try FileManager.default.setAttributes([.posixPermissions: 0o400], ofItemAtPath: path)
        let refused = #expect(throws: ETLError.self) { _ = try SQLiteEventStore(path: path) }
        #expect(refused?.message.contains("can only be read by this process") == true, "\(String(describing: refused))")
    }

    /// A store the worker creates holds what its credentials read (private bugs included): the
    /// file and its WAL are its owner's alone (they were created as the umask allowed, usually
    /// readable by every user). An existing file keeps the mode it has.
    @Test func aNewStoreIsReadableByItsOwnerAlone() async throws {
        let directory = try TemporaryDirectory()
        let path = directory.file("events.db")
        let store = try SQLiteEventStore(path: path)
        _ = try await store.insertEvent(try sampleEvent(1))
        for file in [path, path + "-wal"] {
            let mode = try FileManager.default.attributesOfItem(atPath: file)[.posixPermissions] as? Int
            #expect(mode == 0o600, "\(file): \(String(format: "%o", mode ?? 0))")
        }
        let shared = directory.file("shared.db")
        FileManager.default.createFile(atPath: shared, contents: nil, attributes: [.posixPermissions: 0o640])
        _ = try SQLiteEventStore(path: shared)
        #expect(try FileManager.default.attributesOfItem(atPath: shared)[.posixPermissions] as? Int == 0o640)
    }

    @Test func schemaIsVersionedAndReopenable() async throws {
        let directory = try TemporaryDirectory()
        let path = directory.file("events.db")
        do {
            let database = try SQLiteEventStore(path: path)
            #expect(try await database.schemaVersion() == SQLiteSchema.currentVersion)
            _ = try await database.insertEvent(try sampleEvent(1))
        }
        let reopened = try SQLiteEventStore(path: path)
        #expect(try await reopened.schemaVersion() == SQLiteSchema.currentVersion)
        #expect(try await reopened.eventCount() == 1)
        #expect(FileManager.default.fileExists(atPath: path + "-wal"))
    }

    /// A connection an earlier error left inside its transaction (its ROLLBACK failed, e.g. on
    /// an I/O error) ends that transaction before the next one: every later transaction failed
    /// ("cannot start a transaction within a transaction", not retryable) while the process
    /// held the write lock.
    @Test func aTransactionLeftOpenIsEndedBeforeTheNext() throws {
        let directory = try TemporaryDirectory()
        let connection = try SQLiteConnection(path: directory.file("plain.db"), busyTimeoutMilliseconds: 1_000)
        try connection.execute("CREATE TABLE t (x INTEGER)")
        try connection.execute("BEGIN IMMEDIATE")
        try connection.execute("INSERT INTO t VALUES (1)")
        try connection.transaction { () throws(ETLError) in try connection.execute("INSERT INTO t VALUES (2)") }
        // A load's durable transaction too (its PRAGMA is refused inside a transaction).
        try connection.execute("BEGIN IMMEDIATE")
        try connection.execute("INSERT INTO t VALUES (3)")
        try connection.durableTransaction { () throws(ETLError) in try connection.execute("INSERT INTO t VALUES (4)") }
        let statement = try connection.statement("SELECT group_concat(x) FROM t")
        #expect(try statement.step() && statement.text(0) == "2,4", "the open transactions' rows rolled back, the new ones committed")
    }

    /// Staging of batches no attempt will load (a flow that extracted again, a failed run) was
    /// never removed: the tables grew for ever.
    @Test func abandonedStagingIsPurged() async throws {
        let directory = try TemporaryDirectory()
        let database = try SQLiteEventStore(path: directory.file("events.db"))
        try await checkAbandonedStagingPurge(database) {
            try await database.perform { connection throws(ETLError) in
                try connection.execute(
                    "UPDATE extraction_checkpoints SET updated_at = datetime('now', '-365 days') WHERE batch_id LIKE 'old%'")
            }
        }
    }

    /// A full disk failed the extract at once for good (non-retryable), losing its hours of
    /// resumable retries, with only SQLite's "database or disk is full" to go on. It is
    /// retried now, and says what to do.
    @Test func aFullDiskIsRetriedAndSaysWhatToDo() async throws {
        let directory = try TemporaryDirectory()
        let database = try SQLiteEventStore(path: directory.file("events.db"))
        try await database.perform { connection throws(ETLError) in
            let pages = try connection.statement("PRAGMA page_count")
            defer { pages.reset() }
            _ = try pages.step()
            try connection.execute("PRAGMA max_page_count = \(pages.int(0) + 1)")
        }
        let events = try (0..<2_000).map { try sampleEvent($0) }
        let error = await etlError { try await database.stageEvents(events, batchId: "full") }
        #expect(error?.nonRetryable == false, "\(String(describing: error))")
        #expect(error?.message.contains("free space") == true, "\(String(describing: error))")
    }

    /// Another process holding the file's write lock past the busy timeout (an `sqlite3` shell
    /// left in a transaction, a stuck worker) fails retryably and says what to do: SQLite's
    /// "database is locked" was all it said.
    @Test func aLockHeldElsewhereIsRetriedAndSaysWhatToDo() async throws {
        let directory = try TemporaryDirectory()
        let path = directory.file("events.db")
        let database = try SQLiteEventStore(path: path, busyTimeoutMilliseconds: 100)
        let holder = try SQLiteConnection(path: path, busyTimeoutMilliseconds: 100)
        try holder.execute("BEGIN IMMEDIATE")
        defer { try? holder.execute("ROLLBACK") }
        let error = await etlError { try await database.stageEvents([try sampleEvent(1)], batchId: "locked") }
        #expect(error?.nonRetryable == false, "\(String(describing: error))")
        #expect(error?.message.contains("another connection holds the database's write lock") == true, "\(String(describing: error))")
    }

    /// A load's commit is synced to disk (`synchronous = FULL` for its transaction); the rest
    /// of the store keeps `NORMAL` (WAL), also after a transaction that failed.
    @Test func theLoadsTransactionIsDurableAndOnlyIt() async throws {
        let directory = try TemporaryDirectory()
        let database = try SQLiteEventStore(path: directory.file("events.db"))
        let levels: [Int] = try await database.perform { connection throws(ETLError) in
            let before = try connection.scalarInt("PRAGMA synchronous")
            let inside = try connection.durableTransaction { () throws(ETLError) in try connection.scalarInt("PRAGMA synchronous") }
            _ = try? connection.durableTransaction { () throws(ETLError) in throw ETLError(.database, "fails", nonRetryable: false) }
            return [before, inside, try connection.scalarInt("PRAGMA synchronous")]
        }
        #expect(levels == [1, 2, 1], "NORMAL, FULL inside, NORMAL after: \(levels)")
        // And the load is such a transaction: it still loads.
        try await database.stageEvents([try sampleEvent(1)], batchId: "b")
        #expect(try await database.loadStagedBatch(try await database.stagedBatch("b")) == 1)
    }

    @Test func upsertIsIdempotentAndStoresParentId() async throws {
        let directory = try TemporaryDirectory()
        let database = try SQLiteEventStore(path: directory.file("events.db"))
        let events = try (0..<50).map { try sampleEvent($0) }
        #expect(try await database.insertEventsBatch(events) == 50)
        #expect(try await database.insertEventsBatch(events) == 0)
        #expect(try await database.insertEvent(events[0]) == 0)
        var changed = events[3]
        changed.addRelationProperty("status", "Fix Released")
        #expect(try await database.insertEventsBatch([changed, events[4]]) == 1)
        let stored = try await database.events()
        #expect(stored.count == 50)
        #expect(stored.first { $0.id == changed.id } == changed)
        #expect(stored.allSatisfy { $0.parentId.hasPrefix("b-") })
        #expect(try await database.eventCount(employeeId: "alice-example") == 50)
        #expect(try await database.eventCount(employeeId: "nobody") == 0)
    }

    @Test func multiRowUpsertsCountOnlyNewOrChangedRows() async throws {
        let directory = try TemporaryDirectory()
        let database = try SQLiteEventStore(path: directory.file("events.db"))
        // 137 rows: two full multi-row statements and a remainder of one-row statements.
        let events = try (0..<137).map { try sampleEvent($0) }
        #expect(try await database.insertEventsBatch(events) == 137)
        #expect(try await database.insertEventsBatch(events) == 0)
        var again = events
        for index in [0, 49, 50, 99, 100, 136] { again[index].addRelationProperty("status", "Triaged") }
        // A duplicate inside one statement: the second copy updates the first (1 more change).
        var duplicate = events[10]
        duplicate.addRelationProperty("note", "a \"quoted\"\ttab")
        again.insert(duplicate, at: 20)
        #expect(try await database.insertEventsBatch(again) == 7)
        // Rows apply in order, as with one statement per row: the original copy of event 10
        // changes the row back, its modified copy changes it again.
        #expect(try await database.insertEventsBatch(again) == 2)
        let stored = Dictionary(uniqueKeysWithValues: try await database.events().map { ($0.id, $0) })
        #expect(stored.count == 137)
        #expect(stored[events[136].id] == again[137])
        #expect(stored[duplicate.id] == duplicate)
        // Staging takes the same path, with the batch id bound once per statement.
        #expect(try await database.stageEvents(again, batchId: "wf-m") == 138)
        #expect(try await database.stageEvents(again, batchId: "wf-m") == 2)
        #expect(try await database.stageEvents(Array(again[21...]), batchId: "wf-m") == 0)
        #expect(try await database.stagedBatch("wf-m").rowCount == 137)
    }

    @Test func walIsCheckpointedByTheBackgroundConnection() async throws {
        let directory = try TemporaryDirectory()
        let path = directory.file("events.db")
        let database = try SQLiteEventStore(path: path, busyTimeoutMilliseconds: 30_000, checkpointThresholdFrames: 1)
        let sizeBefore = try fileSize(path)
        #expect(try await database.insertEventsBatch(try (0..<2_000).map { try sampleEvent($0) }) == 2_000)
        // The commit's frames reach the database file only through a checkpoint.
        let deadline = ContinuousClock.now + .seconds(10)
        while try fileSize(path) <= sizeBefore + 64 * 4_096, ContinuousClock.now < deadline {
            try await Task.sleep(for: .milliseconds(20))
        }
        #expect(try fileSize(path) > sizeBefore + 64 * 4_096, "no checkpoint copied the WAL into the database file")
        #expect(try await database.eventCount() == 2_000)
    }

    @Test func writerCatchesUpInlineOnlyPastFourTimesTheThreshold() async throws {
        let directory = try TemporaryDirectory()
        let path = directory.file("events.db")
        _ = try SQLiteEventStore(path: path)
        let checkpointer = try WALCheckpointer(path: path, busyTimeoutMilliseconds: 1_000, thresholdFrames: 100)
        #expect(checkpointer.walDidCommit(frames: 99) == false)
        #expect(checkpointer.walDidCommit(frames: 100) == false, "queues a background checkpoint instead")
        #expect(checkpointer.walDidCommit(frames: 399) == false)
        #expect(checkpointer.walDidCommit(frames: 400) == true)
    }

    private func fileSize(_ path: String) throws -> Int {
        (try FileManager.default.attributesOfItem(atPath: path)[.size] as? Int) ?? 0
    }

    @Test func indexesExist() async throws {
        let directory = try TemporaryDirectory()
        let database = try SQLiteEventStore(path: directory.file("events.db"))
        let names: [String] = try await database.perform { connection throws(ETLError) in
            let statement = try connection.statement(
                "SELECT name FROM sqlite_master WHERE type = 'index' AND tbl_name = 'events' ORDER BY name")
            defer { statement.reset() }
            var names: [String] = []
            while try statement.step() { names.append(statement.text(0) ?? "") }
            return names
        }
        #expect(names.contains("events_employee_week"))
        #expect(names.contains("events_type"))
    }

    @Test func aRowBreakingAConstraintRollsBackTheWholeBatchAndTheStoreStaysUsable() async throws {
        let directory = try TemporaryDirectory()
        let database = try SQLiteEventStore(path: directory.file("events.db"))
        let events = try (0..<SQLiteEventStore.rowsPerUpsert).map { try sampleEvent($0) }
        let failed: Bool = try await database.perform { connection throws(ETLError) in
            do {
                try connection.transaction { () throws(ETLError) in
                    _ = try SQLiteEventStore.upsert(
                        Array(events.prefix(3)), connection, sql: SQLiteEventStore.upsertSQL(rows:), firstColumn: 1
                    ) { _ throws(ETLError) in }
                    // One multi-row statement whose last row has no week (NOT NULL).
                    let statement = try connection.statement(SQLiteEventStore.upsertSQL(rows: SQLiteEventStore.rowsPerUpsert))
                    for (row, event) in events.enumerated() { try SQLiteEventStore.bind(event, to: statement, at: Int32(1 + row * 8)) }
                    try statement.bind(Int32(1 + (SQLiteEventStore.rowsPerUpsert - 1) * 8 + 2), nil)
                    try statement.execute()
                }
                return false
            } catch {
                return true
            }
        }
        #expect(failed)
        #expect(try await database.eventCount() == 0)  // the three rows before the bad statement too
        #expect(try await database.insertEventsBatch(events) == events.count)
        #expect(try await database.eventCount() == events.count)
    }

    @Test func concurrentWritersOnOneFile() async throws {
        let directory = try TemporaryDirectory()
        let path = directory.file("events.db")
        let databases = try (0..<4).map { _ in try SQLiteEventStore(path: path) }
        // 4 connections x 5 batches; batches overlap so each id is written several times.
        let inserted = try await withThrowingTaskGroup(of: Int.self) { group in
            for (writer, database) in databases.enumerated() {
                for batch in 0..<5 {
                    group.addTask {
                        let start = (writer * 5 + batch) * 40
                        let events = try (start..<start + 80).map { try sampleEvent($0 % 700) }
                        return try await database.insertEventsBatch(events)
                    }
                }
            }
            return try await group.reduce(0, +)
        }
        let count = try await databases[0].eventCount()
        let expected = Set((0..<20).flatMap { i in (i * 40..<i * 40 + 80).map { $0 % 700 } }).count
        #expect(count == expected)
        #expect(inserted == count)
    }

    @Test func stagingPassesOnlyAReference() async throws {
        let directory = try TemporaryDirectory()
        let database = try SQLiteEventStore(path: directory.file("events.db"))
        let events = try (0..<120).map { try sampleEvent($0) }
        #expect(try await database.stageEvents(Array(events[0..<70]), batchId: "wf-1") == 70)
        #expect(try await database.stageEvents(Array(events[50...]), batchId: "wf-1") == 50)
        let batch = try await database.stagedBatch("wf-1")
        #expect(batch.rowCount == 120)
        #expect(batch.sha256.count == 64)
        #expect(try await database.stagedEvents("wf-1") == events.sorted { $0.id < $1.id })
        let encoded = try JSONEncoder().encode(batch)
        #expect(encoded.count < 256)
        #expect(try await database.loadStagedBatch(batch) == 120)
        // A retried load (its completion lost) returns the first load's count and changes nothing.
        #expect(try await database.loadStagedBatch(batch) == 120)
        #expect(try await database.loadedRowCount("wf-1") == 120)
        #expect(try await database.eventCount() == 120)
        #expect(try await database.stagedBatch("wf-1").rowCount == 0, "the load leaves staging rows behind")

        // A batch whose staging changed since its reference was taken is refused.
        #expect(try await database.stageEvents(Array(events[0..<70]), batchId: "wf-2") == 70)
        var tampered = try await database.stagedBatch("wf-2")
        tampered.rowCount = 69
        let error = await etlError { try await database.loadStagedBatch(tampered) }
        #expect(error?.code == .stagingMismatch)
        #expect(try await database.loadedRowCount("wf-2") == nil)

        try await database.deleteStagedBatch("wf-2")
        #expect(try await database.stagedBatch("wf-2").rowCount == 0)
    }

    /// A reference is a contract between builds: a workflow history may hold one taken before
    /// an upgrade and verified after it. The SQLite store hashes its rows' bytes directly; this
    /// pins that to the documented row text (`StagedRowHash`) across chunk boundaries, with a
    /// NULL column, non-ASCII text, and one digest written out.
    @Test func aStagedBatchsHashIsTheDocumentedRowText() async throws {
        let directory = try TemporaryDirectory()
        let database = try SQLiteEventStore(path: directory.file("events.db"))
        let one = try Event(
            id: "b-1-c", parentId: "b-1", employeeId: "zoë", type: "bug:created", timeUTC: "2024-03-05T10:00:00+00:00",
            relationProperties: [:])
        try await database.stageEvents([one], batchId: "pinned")
        #expect(
            try await database.stagedBatch("pinned").sha256
                == SHA256.hex(
                    "b-1-c\u{1F}b-1\u{1F}2024-03-04\u{1F}zoë\u{1F}\(Event.launchpadSourceKind)\u{1F}bug:created\u{1F}2024-03-05T10:00:00Z\u{1F}\n"
                ))
        #expect(
            try await database.stagedBatch("pinned").sha256
                == "c803bbe21cb726bd082e9c71f0433a34b8cd4ec03bbd6a6c7319af68155deba0")

        // About 300 bytes a row: 400 rows cross the hash input's 32 KiB chunks several times.
        let events = try (0..<400).map { index in
            try Event(
                id: "e-\(100_000 + index)", parentId: "p-\(index / 7)", employeeId: "member-\(index % 9)", type: "bug:commented",
                timeUTC: "2024-03-05T10:00:\(String(format: "%02d", index % 60))+00:00",
                relationProperties: index % 5 == 0
                    ? [:] : ["text": .string(String(repeating: "Ünïcödé ✓ ", count: 20)), "n": .int(index)])
        }
        try await database.stageEvents(events, batchId: "long")
        var expected = SHA256()
        for event in events.sorted(by: { $0.id < $1.id }) {
            StagedRowHash.update(
                &expected,
                columns: [
                    event.id, event.parentId, event.week, event.employeeId, event.sourceKindId, event.type, event.timeUTC,
                    event.relationPropertiesJSON() ?? "",
                ])
        }
        let batch = try await database.stagedBatch("long")
        #expect(batch.rowCount == 400)
        #expect(batch.sha256 == expected.hexDigest())
        #expect(try await database.loadStagedBatch(batch) == 400)

        // Rows other writers could leave: invalid UTF-8, an embedded NUL, numbers in the DATE
        // and TIMESTAMP columns (NUMERIC affinity). They hash as the rows' `String`s read them.
        let (actual, oracle) = try await database.perform { connection throws(ETLError) in
            try connection.execute(
                """
                INSERT INTO staged_events (batch_id, id, parent_id, week, employee_id, source_kind_id, event_type, event_time_utc, relation_properties)
                VALUES ('odd', 'a', CAST(X'41C328FF' AS TEXT), 2024, 'm', 'launchpad', 'bug:created', 1.5, CAST(X'7B7D0078' AS TEXT)),
                       ('odd', 'b', 'p', '2024-03-04', CAST(X'EDA080' AS TEXT), 'launchpad', 'bug:created', '2024-03-05T10:00:00Z', NULL)
                """)
            let statement = try connection.statement(
                "SELECT \(SQLiteEventStore.columns) FROM staged_events WHERE batch_id = 'odd' ORDER BY id")
            defer { statement.reset() }
            var hash = SHA256()
            while try statement.step() { StagedRowHash.update(&hash, columns: (Int32(0)..<8).map { statement.text($0) ?? "" }) }
            return (try SQLiteEventStore.reference("odd", connection).sha256, hash.hexDigest())
        }
        #expect(actual == oracle)
    }

    @Test func checkpointsRoundTrip() async throws {
        let directory = try TemporaryDirectory()
        let database = try SQLiteEventStore(path: directory.file("events.db"))
        #expect(try await database.loadCheckpoint(batchId: "b") == nil)
        let checkpoint = ExtractionCheckpoint(batchId: "b", phase: .bugsTouched, nextPageLink: "http://x/?ws.start=300", rowsSoFar: 12)
        try await database.saveCheckpoint(checkpoint)
        #expect(try await database.loadCheckpoint(batchId: "b") == checkpoint)
        let later = ExtractionCheckpoint(batchId: "b", phase: .bugDetails, itemCursor: "000000001234", rowsSoFar: 40)
        try await database.saveCheckpoint(later)
        #expect(try await database.loadCheckpoint(batchId: "b") == later)
        let decoded = try JSONDecoder().decode(ExtractionCheckpoint.self, from: JSONEncoder().encode(later))
        #expect(decoded == later)
    }

    @Test func unopenablePathIsAClearError() async {
        let error = await etlError { try SQLiteEventStore(path: "/nonexistent-dir/x/events.db") }
        #expect(error?.code == .database)
        #expect(error?.message.contains("ETL_DB_PATH") == true)
    }
}
