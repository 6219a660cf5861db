import CSQLite
import Dispatch
import Foundation
import Synchronization

/// The SQLite event store (the seed's `SQLiteEventStore`): one file, WAL, a busy timeout, a versioned
/// schema, prepared statements, idempotent upserts.
///
/// Thread-safety: the connection lives in a `Mutex` and all SQLite work runs on the store's
/// own serial dispatch queue, so async callers never block Swift's cooperative pool while
/// SQLite waits on disk or on another process's lock. Several `SQLiteEventStore` values (in one or
/// many processes) may write the same file; `BEGIN IMMEDIATE` plus the busy timeout
/// serialises them. WAL checkpoints run on a second connection (`WALCheckpointer`), so a
/// commit never waits for one.
public final class SQLiteEventStore: Sendable {
    /// The database file.
    public let path: String
    /// The file's identity (`store_identity`, made by migration 4).
    public let identity: StoreIdentity
    private let confined: QueueConfined<SQLiteConnection>

    /// `ETL_DB_PATH` from the environment, else `launchpad_events.db`.
    public static var defaultPath: String {
        ETLEnvironment.value("ETL_DB_PATH", in: ProcessInfo.processInfo.environment) ?? "launchpad_events.db"
    }

    /// Opens (creating and migrating as needed) the database at `path`.
    ///
    /// - Parameters:
    ///   - path: the SQLite file; defaults to `defaultPath`.
    ///   - busyTimeoutMilliseconds: how long a writer waits for another writer's lock
    ///     before failing with a retryable `.database` error (default 30 s).
    public convenience init(path: String = SQLiteEventStore.defaultPath, busyTimeoutMilliseconds: Int = 30_000) throws(ETLError) {
        try self.init(
            path: path, busyTimeoutMilliseconds: busyTimeoutMilliseconds, checkpointThresholdFrames: WALCheckpointer.defaultThresholdFrames)
    }

    /// Opens the database with a given WAL checkpoint threshold (tests use a small one).
    convenience init(path: String, busyTimeoutMilliseconds: Int, checkpointThresholdFrames: Int) throws(ETLError) {
        let connection = try SQLiteConnection(path: path, busyTimeoutMilliseconds: Int32(clamping: busyTimeoutMilliseconds))
        try connection.requireCapableLibrary()
        // SQLite answers the mode it is in, without an error when WAL is impossible there (a file
        // system without shared memory, a VFS without WAL): the store would run in rollback mode
        // with synchronous=NORMAL, which is not durable, and without its checkpointer.
        let mode = try connection.statement("PRAGMA journal_mode = WAL")
        let journal = try mode.step() ? mode.text(0)?.lowercased() : nil
        mode.reset()
        guard journal == "wal" else {
            throw ETLError(
                .database,
                "the SQLite database '\(path)' cannot use write-ahead logging (journal mode is \(journal ?? "unknown")): its file system does not support it (a network file system?); put ETL_DB_PATH on a local disk",
                nonRetryable: true)
        }
        try connection.execute("PRAGMA synchronous = NORMAL")
        // A WAL grown while a long reader (a report, an sqlite3 shell) held checkpoints back is
        // cut back to 64 MiB once it is reset; it kept its largest size for the worker's life.
        try connection.execute("PRAGMA journal_size_limit = \(SQLiteEventStore.walSizeLimitBytes)")
        try connection.execute("PRAGMA foreign_keys = ON")
        // Multi-row upserts keep a statement journal (to undo a half-applied statement);
        // in memory it costs a page copy instead of temp-file writes. Durability is unchanged.
        try connection.execute("PRAGMA temp_store = MEMORY")
        try SQLiteSchema.migrate(connection)
        connection.writesSchema = SQLiteSchema.currentVersion
        let checkpointer = try WALCheckpointer(
            path: path, busyTimeoutMilliseconds: Int32(clamping: busyTimeoutMilliseconds), thresholdFrames: checkpointThresholdFrames)
        connection.onWALCommit { frames in checkpointer.walDidCommit(frames: frames) }
        try self.init(path: path, connection: connection)
    }

    private init(path: String, connection: sending SQLiteConnection) throws(ETLError) {
        self.path = path
        self.identity = StoreIdentity(id: try Self.storeId(connection), location: "sqlite://\(path)", isShared: false)
        self.confined = QueueConfined(connection, queue: DispatchQueue(label: "LaunchpadETL.SQLiteEventStore"))
    }

    /// Opens the existing database at `path` for reading only, as a report does: nothing is
    /// created, migrated or repaired, so older workers sharing the file keep working.
    ///
    /// Throws a non-retryable `.database` error when the file cannot be opened or its schema is
    /// not this build's (older: a worker of this build migrates it when it opens it; newer: use
    /// a newer build).
    public static func openForReading(path: String) throws(ETLError) -> SQLiteEventStore {
        let connection = try SQLiteConnection(path: path, busyTimeoutMilliseconds: 30_000, readOnly: true)
        try SQLiteSchema.requireCurrent(connection)
        return try SQLiteEventStore(path: path, connection: connection)
    }

    /// The schema version of the open file (`PRAGMA user_version`).
    public func schemaVersion() async throws(ETLError) -> Int {
        try await perform { connection throws(ETLError) in try connection.scalarInt("PRAGMA user_version") }
    }

    /// Inserts or updates one event; returns 1 when a row was added or changed, 0 when an
    /// identical row already existed.
    public func insertEvent(_ event: Event) async throws(ETLError) -> Int {
        try await insertEventsBatch([event])
    }

    /// Upserts `events` in one transaction (keyed on event id, `parent_id` included) and
    /// returns how many rows were new or changed; re-inserting the same events returns 0.
    /// If any row fails the whole batch rolls back and the error is thrown.
    public func insertEventsBatch(_ events: [Event]) async throws(ETLError) -> Int {
        guard !events.isEmpty else { return 0 }
        return try await perform { connection throws(ETLError) in
            try connection.transaction { () throws(ETLError) -> Int in
                try Self.upsert(events, connection, sql: Self.upsertSQL(rows:), firstColumn: 1) { _ throws(ETLError) in }
            }
        }
    }

    /// The number of rows in `events`, optionally for one employee.
    public func eventCount(employeeId: String? = nil) async throws(ETLError) -> Int {
        try await perform { connection throws(ETLError) in
            let statement = try connection.statement(
                employeeId == nil ? "SELECT count(*) FROM events" : "SELECT count(*) FROM events WHERE employee_id = ?1")
            defer { statement.reset() }
            if let employeeId { try statement.bind([.text(employeeId)]) }
            return try statement.step() ? statement.int(0) : 0
        }
    }

    /// The stored events ordered by id, optionally for one employee.
    public func events(employeeId: String? = nil) async throws(ETLError) -> [Event] {
        try await perform { connection throws(ETLError) in
            let filter = employeeId == nil ? "" : " WHERE employee_id = ?1"
            let statement = try connection.statement("SELECT \(Self.columns) FROM events\(filter) ORDER BY id")
            defer { statement.reset() }
            if let employeeId { try statement.bind([.text(employeeId)]) }
            var events: [Event] = []
            while try statement.step() { events.append(try Self.event(from: statement)) }
            return events
        }
    }

    /// Events per member, week and type, ordered by member, week and type.
    public func eventCounts() async throws(ETLError) -> [EventCount] {
        try await perform { connection throws(ETLError) in try Self.eventCounts(connection) }
    }

    /// What a report reads, in one read transaction (one snapshot of the WAL).
    public func reportSnapshot() async throws(ETLError) -> ReportSnapshot {
        try await perform { connection throws(ETLError) in
            try connection.readTransaction { () throws(ETLError) in
                ReportSnapshot(
                    launchpad: try Self.boundLaunchpad(connection), windows: try Self.loadedWindows(connection),
                    counts: try Self.eventCounts(connection))
            }
        }
    }

    static func eventCounts(_ connection: SQLiteConnection) throws(ETLError) -> [EventCount] {
        let statement = try connection.statement(
            """
            SELECT employee_id, week, event_type, count(*), source_kind_id FROM events
            GROUP BY employee_id, week, event_type, source_kind_id ORDER BY 1, 2, 3, 5
            """)
        defer { statement.reset() }
        var counts: [EventCount] = []
        while try statement.step() {
            counts.append(
                EventCount(
                    member: statement.text(0) ?? "", week: statement.text(1) ?? "", type: statement.text(2) ?? "",
                    count: statement.int(3), sourceKind: statement.text(4) ?? ""))
        }
        return counts
    }

    /// Runs `body` with the connection on the store's queue.
    func perform<T: Sendable>(_ body: @escaping @Sendable (SQLiteConnection) throws(ETLError) -> T) async throws(ETLError) -> T {
        try await confined.perform(body)
    }

    /// The size a reset WAL file is cut back to (`PRAGMA journal_size_limit`).
    static let walSizeLimitBytes = 64 * 1024 * 1024

    static let columns = "id, " + columnsAfterId
    /// Every column of `columns` but the first, `id`.
    static let columnsAfterId = "parent_id, week, employee_id, source_kind_id, event_type, event_time_utc, relation_properties"

    static let changedCondition = changed(from: "excluded")

    /// SQL: the stored row `events` differs from the row of `table` (the same columns): what an
    /// upsert changes (`excluded`), or what a load would (`staged_events`).
    static func changed(from table: String) -> String {
        columnsAfterId.split(separator: ",").map { column in
            let name = column.trimmingCharacters(in: .whitespaces)
            return "events.\(name) IS NOT \(table).\(name)"
        }.joined(separator: " OR ")
    }

    /// The upsert of a direct insert: a row it changes no longer names a load (who could see it
    /// is unknown, so `StaleEvents` keeps it).
    static let upsertClause = """
        ON CONFLICT (id) DO UPDATE SET
            parent_id = excluded.parent_id, week = excluded.week, employee_id = excluded.employee_id,
            source_kind_id = excluded.source_kind_id, event_type = excluded.event_type,
            event_time_utc = excluded.event_time_utc, relation_properties = excluded.relation_properties,
            loaded_by = NULL
        WHERE \(changedCondition)
        """

    /// `upsertClause` for a staged batch's load: a row it adds or changes names the batch in
    /// `loaded_by` (what `StaleEvents` reads); a row it finds unchanged keeps its loader. With
    /// `unless`, a row for which that SQL condition holds is left as it is too (`NewerReads`).
    static func loadUpsertClause(unless condition: String? = nil) -> String {
        """
        ON CONFLICT (id) DO UPDATE SET
            parent_id = excluded.parent_id, week = excluded.week, employee_id = excluded.employee_id,
            source_kind_id = excluded.source_kind_id, event_type = excluded.event_type,
            event_time_utc = excluded.event_time_utc, relation_properties = excluded.relation_properties,
            loaded_by = excluded.loaded_by
        WHERE (\(changedCondition))\(condition.map { " AND NOT \($0)" } ?? "")
        """
    }

    /// Rows per multi-row `INSERT … VALUES (…), (…)` upsert: one statement step per chunk
    /// instead of per row (fewer VDBE runs, resets and `changes` calls). A batch's remainder
    /// goes through the one-row statement, so at most two statements are cached per table.
    static let rowsPerUpsert = 50

    /// The upsert of `rows` events into `events`, parameters `?1…?(8·rows)`, row by row.
    static func upsertSQL(rows: Int) -> String {
        rows == 1 ? singleRowUpsertSQL : rows == rowsPerUpsert ? chunkUpsertSQL : makeUpsertSQL(rows: rows)
    }

    private static let singleRowUpsertSQL = makeUpsertSQL(rows: 1)
    private static let chunkUpsertSQL = makeUpsertSQL(rows: rowsPerUpsert)

    private static func makeUpsertSQL(rows: Int) -> String {
        "INSERT INTO events (\(columns)) VALUES \(placeholders(rows: rows, firstColumn: 1)) \(upsertClause)"
    }

    /// `(?f, …, ?f+7), (?f+8, …)` for `rows` rows of the eight event columns; with `prefix`
    /// (e.g. `"?1, "`), every row starts with it.
    static func placeholders(rows: Int, firstColumn: Int, prefix: String = "") -> String {
        (0..<rows).map { row in
            let first = firstColumn + row * 8
            return "(" + prefix + (first..<first + 8).map { "?\($0)" }.joined(separator: ", ") + ")"
        }.joined(separator: ", ")
    }

    /// Runs `sql(rows)` statements over `events` in chunks of `rowsPerUpsert` (the remainder one
    /// row at a time), binding each event's eight columns from parameter `firstColumn + 8·row`
    /// after `bindPrefix` bound the leading parameters, and returns the rows SQLite reports
    /// as inserted or updated (a conflict whose `WHERE` is false counts 0). The caller holds
    /// the transaction.
    static func upsert(
        _ events: [Event], _ connection: SQLiteConnection, sql: (Int) -> String, firstColumn: Int32,
        bindPrefix: (SQLiteStatement) throws(ETLError) -> Void
    ) throws(ETLError) -> Int {
        var changed = 0
        var start = events.startIndex
        var chunk: SQLiteStatement?
        while events.endIndex - start >= rowsPerUpsert {
            let statement: SQLiteStatement
            if let chunk {
                statement = chunk
            } else {
                statement = try connection.statement(sql(rowsPerUpsert))
                try bindPrefix(statement)
                chunk = statement
            }
            for row in 0..<rowsPerUpsert {
                try bind(events[start + row], to: statement, at: firstColumn + Int32(row * 8))
            }
            try statement.execute()
            changed += connection.changes
            start += rowsPerUpsert
        }
        if start < events.endIndex {
            let statement = try connection.statement(sql(1))
            try bindPrefix(statement)
            for event in events[start...] {
                try bind(event, to: statement, at: firstColumn)
                try statement.execute()
                changed += connection.changes
            }
        }
        return changed
    }

    /// Binds the eight `columns` of `event` to parameters `first…first+7`.
    static func bind(_ event: Event, to statement: SQLiteStatement, at first: Int32) throws(ETLError) {
        try statement.bind(first, event.id)
        try statement.bind(first + 1, event.parentId)
        try statement.bind(first + 2, event.week)
        try statement.bind(first + 3, event.employeeId)
        try statement.bind(first + 4, event.sourceKindId)
        try statement.bind(first + 5, event.type)
        try statement.bind(first + 6, event.timeUTC)
        try statement.bind(first + 7, event.relationPropertiesJSON())
    }

    /// Rebuilds an event from a row selected with `columns` (starting at column `offset`).
    static func event(from statement: SQLiteStatement, offset: Int32 = 0) throws(ETLError) -> Event {
        var properties: [String: JSONValue] = [:]
        if let text = statement.text(offset + 7) {
            guard let parsed = try? JSONParser.parse(text).objectValue else {
                throw ETLError(
                    .database, "stored relation_properties of event '\(statement.text(offset) ?? "")' is not a JSON object",
                    nonRetryable: true)
            }
            properties = parsed
        }
        return try Event(
            id: statement.text(offset) ?? "", parentId: statement.text(offset + 1) ?? "",
            employeeId: statement.text(offset + 3) ?? "", type: statement.text(offset + 5) ?? "",
            timeUTC: statement.text(offset + 6) ?? "", week: statement.text(offset + 2),
            sourceKindId: statement.text(offset + 4) ?? "", relationProperties: properties
        )
    }
}
