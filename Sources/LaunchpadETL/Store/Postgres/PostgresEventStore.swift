import Dispatch
import Foundation
import Synchronization

/// The PostgreSQL event store: the SQLite `SQLiteEventStore`'s `events` semantics on a server that
/// several workers (on several machines) can share.
///
/// One libpq connection, kept in a `Mutex` and used only on the store's own serial dispatch
/// queue, so blocking libpq calls never hold a thread of Swift's cooperative pool. Values are
/// always sent as `PQexecParams` parameters. Upserts are keyed on the event id and only
/// rewrite rows whose content differs, so re-running a load reports 0 changed rows.
/// Concurrent writers are safe: each batch is written in event-id order (so two overlapping
/// batches cannot deadlock) and a transaction that loses a deadlock or serialization race is
/// retried.
///
/// Why libpq rather than postgres-nio: the project links only system libraries through small
/// C modules (libgrpc, libcurl, SQLite), libpq comes from Debian's `libpq-dev` in seconds,
/// whereas postgres-nio would add SwiftNIO and its dependency tree to every build; the store
/// needs only a handful of parameterized statements on one serialized connection.
public final class PostgresEventStore: Sendable {
    /// The URL the store was opened with, password redacted.
    public let target: String
    /// The database's identity (`store_identity`, made by migration 3), the same for every
    /// worker sharing it.
    public let identity: StoreIdentity
    private let confined: QueueConfined<PostgresConnection>

    /// Rows per `INSERT … VALUES` statement (8 parameters each; PostgreSQL allows 65,535).
    static let rowsPerStatement = 1_000

    private init(url: String, queue: DispatchQueue, forReading: Bool) throws(ETLError) {
        let connection = try PostgresConnection(url: url)
        try PostgresSchema.requireSupportedServer(connection)
        if forReading {
            try PostgresSchema.requireCurrent(connection)
        } else {
            try Self.requireWritable(connection)
            try PostgresSchema.migrate(connection)
            connection.writesSchema = PostgresSchema.currentVersion
        }
        self.target = connection.target
        guard let id = try connection.query("SELECT store_id FROM store_identity WHERE singleton = 1").rows.first?.first ?? nil, !id.isEmpty
        else {
            throw ETLError(
                .database,
                "the PostgreSQL database \(connection.target) has no store identity (table store_identity is empty); restore it from a backup",
                nonRetryable: true)
        }
        self.identity = StoreIdentity(id: id, location: connection.target, isShared: true)
        // A reconnect may reach another server than the one opened: a standby after a failover
        // (whose reads lag: a transform's reference read there made a false staging mismatch),
        // or another database under the same name. Checked as at the open, retryably.
        connection.onReconnect = { [forReading] reached throws(ETLError) in
            if !forReading { try Self.requireWritable(reached) }
            let now = try reached.query("SELECT store_id FROM store_identity WHERE singleton = 1").rows.first?.first ?? nil
            guard now == id else {
                throw ETLError(
                    .database,
                    "after reconnecting, \(reached.target) holds another event store (identity \(now ?? "none"), not \(id), the one this worker opened): its name now reaches another database; restart the worker to use that one, or point ETL_DB_URL back (retried)",
                    nonRetryable: false)
            }
        }
        self.confined = QueueConfined(connection, queue: queue)
    }

    /// Refuses a server a worker cannot write to — a standby, or a database whose sessions are
    /// read-only — with a retryable error saying what to do. On a schema already current the
    /// migration writes nothing, so such a worker started, polled the store's queue (a replica
    /// has the primary's store identity), and its transforms read a lagging copy: a false
    /// staging mismatch that threw the extraction away.
    private static func requireWritable(_ connection: PostgresConnection) throws(ETLError) {
        let row = try connection.query("SELECT pg_is_in_recovery()::text, current_setting('transaction_read_only')").rows.first
        let standby = row?[0] == "true"
        guard standby || row?[1] == "on" else { return }
        throw ETLError(
            .database,
            "the PostgreSQL server at \(connection.target) is \(standby ? "a standby (in recovery)" : "read-only for this database's sessions (default_transaction_read_only)"): a worker writes its events there; give ETL_DB_URL the primary (with several hosts, add target_session_attrs=read-write) (retried: a failover may promote it)",
            nonRetryable: false)
    }

    /// Connects to `url` (`postgres://user:password@host:port/dbname`, `postgresql://…`, or
    /// a libpq conninfo string) and migrates the schema. Connecting runs on the store's queue.
    ///
    /// Throws a retryable `.database` error naming the host and port when the server cannot
    /// be reached, or a non-retryable one when the schema is newer than this build's.
    public static func connect(url: String) async throws(ETLError) -> PostgresEventStore {
        try await connect(url: url, forReading: false)
    }

    /// Connects to `url` to read, as a report does: the schema is checked, never created or
    /// migrated, so older workers sharing the database keep working.
    ///
    /// Throws a non-retryable `.database` error when the schema is not this build's (older: a
    /// worker of this build migrates it when it connects; newer: use a newer build).
    public static func connectForReading(url: String) async throws(ETLError) -> PostgresEventStore {
        try await connect(url: url, forReading: true)
    }

    private static func connect(url: String, forReading: Bool) async throws(ETLError) -> PostgresEventStore {
        let queue = DispatchQueue(label: "LaunchpadETL.PostgresEventStore")
        let result: Result<PostgresEventStore, ETLError> = await withCheckedContinuation { continuation in
            queue.async {
                do throws(ETLError) {
                    continuation.resume(returning: .success(try PostgresEventStore(url: url, queue: queue, forReading: forReading)))
                } catch {
                    continuation.resume(returning: .failure(error))
                }
            }
        }
        return try result.get()
    }

    /// The schema version recorded in `schema_version`.
    public func schemaVersion() async throws(ETLError) -> Int {
        try await perform { connection throws(ETLError) in
            try connection.scalarInt("SELECT coalesce(max(version), 0) FROM schema_version")
        }
    }

    /// Inserts or updates one event; returns 1 when a row was added or changed, 0 when an
    /// identical row already existed.
    public func insertEvent(_ event: Event) async throws(ETLError) -> Int {
        try await insertEventsBatch([event])
    }

    /// Upserts `events` in one transaction (keyed on event id, `parent_id` included) and
    /// returns how many rows were new or changed; re-inserting the same events returns 0.
    /// If any row fails the whole batch rolls back and the error is thrown. An event id
    /// repeated within the batch behaves as if the rows were written one after another.
    public func insertEventsBatch(_ events: [Event]) async throws(ETLError) -> Int {
        guard !events.isEmpty else { return 0 }
        let statements = Self.statements(for: events)
        return try await performTransaction { connection throws(ETLError) -> Int in
            var changed = 0
            for rows in statements {
                changed += try connection.query(Self.upsertSQL(rows: rows.count), rows.flatMap(Self.values(of:))).affected
            }
            return changed
        }
    }

    /// The number of rows in `events`, optionally for one employee.
    public func eventCount(employeeId: String? = nil) async throws(ETLError) -> Int {
        try await perform { connection throws(ETLError) in
            if let employeeId {
                return try connection.scalarInt("SELECT count(*) FROM events WHERE employee_id = $1", [employeeId])
            }
            return try connection.scalarInt("SELECT count(*) FROM events")
        }
    }

    /// The stored events ordered by id (bytewise, as SQLite orders them, whatever the
    /// database's collation), optionally for one employee.
    public func events(employeeId: String? = nil) async throws(ETLError) -> [Event] {
        try await perform { connection throws(ETLError) in
            let select = """
                SELECT id, parent_id, to_char(week, 'YYYY-MM-DD'), employee_id, source_kind_id, event_type,
                       to_char(event_time_utc AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"'), relation_properties::text
                FROM events
                """
            let result =
                employeeId == nil
                ? try connection.query(select + " ORDER BY id COLLATE \"C\"")
                : try connection.query(select + " WHERE employee_id = $1 ORDER BY id COLLATE \"C\"", [employeeId])
            var events: [Event] = []
            events.reserveCapacity(result.rows.count)
            for row in result.rows { events.append(try Self.event(from: row)) }
            return events
        }
    }

    /// Events per member, week and type, ordered by member, week and type.
    public func eventCounts() async throws(ETLError) -> [EventCount] {
        try await perform { connection throws(ETLError) in try Self.eventCounts(connection) }
    }

    /// What a report reads, in one REPEATABLE READ, READ ONLY transaction (one snapshot).
    public func reportSnapshot() async throws(ETLError) -> ReportSnapshot {
        try await perform { connection throws(ETLError) in
            try connection.readSnapshot { () throws(ETLError) in
                ReportSnapshot(
                    launchpad: try Self.boundLaunchpad(connection), windows: try Self.loadedWindows(connection),
                    counts: try Self.eventCounts(connection))
            }
        }
    }

    static func eventCounts(_ connection: PostgresConnection) throws(ETLError) -> [EventCount] {
        let result = try connection.query(
            """
            SELECT employee_id, to_char(week, 'YYYY-MM-DD'), event_type, count(*)::text, source_kind_id FROM events
            GROUP BY employee_id, week, event_type, source_kind_id
            ORDER BY employee_id COLLATE "C", week, event_type COLLATE "C", source_kind_id COLLATE "C"
            """)
        return result.rows.map { row in
            func column(_ index: Int) -> String { index < row.count ? row[index] ?? "" : "" }
            return EventCount(
                member: column(0), week: column(1), type: column(2), count: Int(column(3)) ?? 0, sourceKind: column(4))
        }
    }

    /// Runs `body` with the connection on the store's queue.
    func perform<T: Sendable>(_ body: @escaping @Sendable (PostgresConnection) throws(ETLError) -> T) async throws(ETLError) -> T {
        try await confined.perform(body)
    }

    /// Runs `body` in a transaction on the store's queue; a transaction that loses a deadlock
    /// or serialization race to another writer is retried (up to 5 attempts).
    func performTransaction<T: Sendable>(_ body: @escaping @Sendable (PostgresConnection) throws(ETLError) -> T) async throws(ETLError) -> T
    {
        try await perform { connection throws(ETLError) in
            var attempt = 0
            while true {
                attempt += 1
                do throws(ETLError) {
                    return try connection.transaction { () throws(ETLError) -> T in try body(connection) }
                } catch  where attempt < 5 && PostgresConnection.isTransactionConflict(error) {
                    usleep(UInt32(attempt) * 20_000)
                }
            }
        }
    }

    /// Splits a batch into statements: rows sorted by id (so concurrent writers lock rows in
    /// the same order), at most `rowsPerStatement` per statement, and a new statement
    /// whenever an id repeats (one `INSERT … ON CONFLICT` may not touch a row twice).
    /// Repeated ids keep their batch order, so the last one wins as in SQLite.
    static func statements(for events: [Event]) -> [[Event]] {
        let ordered = events.enumerated().sorted { a, b in
            a.element.id != b.element.id ? a.element.id < b.element.id : a.offset < b.offset
        }
        var statements: [[Event]] = []
        var current: [Event] = []
        var previousId: String?
        for (_, event) in ordered {
            if current.count == rowsPerStatement || event.id == previousId {
                statements.append(current)
                current = []
            }
            current.append(event)
            previousId = event.id
        }
        if !current.isEmpty { statements.append(current) }
        return statements
    }

    static let columns = "id, parent_id, week, employee_id, source_kind_id, event_type, event_time_utc, relation_properties"

    /// `upsertClause` for a staged batch's load: a row it adds or changes names the batch in
    /// `loaded_by` (what `StaleEvents` reads); a row it finds unchanged keeps its loader.
    static let loadUpsertClause = upsertClause(loadedBy: "excluded.loaded_by")

    /// `loadUpsertClause` leaving a row for which SQL `condition` holds as it is (`NewerReads`).
    static func loadUpsertClause(unless condition: String) -> String {
        upsertClause(loadedBy: "excluded.loaded_by") + " AND NOT \(condition)"
    }

    /// The upsert of a direct insert: a row it changes no longer names a load (who could see it
    /// is unknown, so `StaleEvents` keeps it).
    static let upsertClause = upsertClause(loadedBy: "NULL")

    private static func upsertClause(loadedBy: String) -> String {
        """
        ON CONFLICT (id) DO UPDATE SET
            parent_id = excluded.parent_id, week = excluded.week, employee_id = excluded.employee_id,
            source_kind_id = excluded.source_kind_id, event_type = excluded.event_type,
            event_time_utc = excluded.event_time_utc, relation_properties = excluded.relation_properties,
            loaded_by = \(loadedBy)
        WHERE (events.parent_id, events.week, events.employee_id, events.source_kind_id, events.event_type,
               events.event_time_utc, events.relation_properties)
              IS DISTINCT FROM
              (excluded.parent_id, excluded.week, excluded.employee_id, excluded.source_kind_id, excluded.event_type,
               excluded.event_time_utc, excluded.relation_properties)
        """
    }

    /// `INSERT … VALUES ($1, …), ($9, …) … ON CONFLICT …` for `rows` rows.
    static func upsertSQL(rows: Int) -> String {
        var sql = "INSERT INTO events (\(columns)) VALUES "
        sql.reserveCapacity(rows * 72 + 800)
        for row in 0..<rows {
            let p = row * 8
            if row > 0 { sql += ", " }
            sql += "($\(p + 1), $\(p + 2), $\(p + 3)::date, $\(p + 4), $\(p + 5), $\(p + 6), $\(p + 7)::timestamptz, $\(p + 8)::jsonb)"
        }
        return sql + " " + upsertClause
    }

    static func values(of event: Event) -> [String?] {
        [
            event.id, event.parentId, event.week, event.employeeId, event.sourceKindId, event.type, event.timeUTC,
            event.relationPropertiesJSON(),
        ]
    }

    /// Rebuilds an event from a row selected by `events(employeeId:)`.
    static func event(from row: [String?]) throws(ETLError) -> Event {
        func column(_ index: Int) -> String { index < row.count ? row[index] ?? "" : "" }
        var properties: [String: JSONValue] = [:]
        if row.count > 7, let text = row[7] {
            guard let parsed = try? JSONParser.parse(text).objectValue else {
                throw ETLError(.database, "stored relation_properties of event '\(column(0))' is not a JSON object", nonRetryable: true)
            }
            properties = parsed
        }
        return try Event(
            id: column(0), parentId: column(1), employeeId: column(3), type: column(5),
            timeUTC: column(6), week: column(2), sourceKindId: column(4), relationProperties: properties)
    }
}

extension PostgresEventStore: EventStore {}
