import CSQLite
import Dispatch
import Foundation
import Synchronization

/// The SQLite event store (the seed's `Database`): one file, WAL, a busy timeout, a versioned
/// schema, prepared statements, idempotent upserts.
///
/// Thread-safety: the connection lives in a `Mutex` and all SQLite work runs on the store's
/// own serial dispatch queue, so async callers never block Swift's cooperative pool while
/// SQLite waits on disk or on another process's lock. Several `Database` values (in one or
/// many processes) may write the same file; `BEGIN IMMEDIATE` plus the busy timeout
/// serialises them.
public final class Database: Sendable {
    /// The database file.
    public let path: String
    private let confined: QueueConfined<SQLiteConnection>

    /// `ETL_DB_PATH` from the environment, else `launchpad_events.db`.
    public static var defaultPath: String {
        let configured = ProcessInfo.processInfo.environment["ETL_DB_PATH"] ?? ""
        return configured.isEmpty ? "launchpad_events.db" : configured
    }

    /// Opens (creating and migrating as needed) the database at `path`.
    ///
    /// - Parameters:
    ///   - path: the SQLite file; defaults to `defaultPath`.
    ///   - busyTimeoutMilliseconds: how long a writer waits for another writer's lock
    ///     before failing with a retryable `.database` error (default 30 s).
    public init(path: String = Database.defaultPath, busyTimeoutMilliseconds: Int = 30_000) throws(ETLError) {
        let connection = try SQLiteConnection(path: path, busyTimeoutMilliseconds: Int32(clamping: busyTimeoutMilliseconds))
        try connection.execute("PRAGMA journal_mode = WAL")
        try connection.execute("PRAGMA synchronous = NORMAL")
        try connection.execute("PRAGMA foreign_keys = ON")
        try Schema.migrate(connection)
        self.path = path
        self.confined = QueueConfined(connection, queue: DispatchQueue(label: "LaunchpadETL.Database"))
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
                let statement = try connection.statement(Self.upsertSQL)
                var changed = 0
                for event in events {
                    try statement.run(Self.values(of: event))
                    changed += connection.changes
                }
                return changed
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
            let where_ = employeeId == nil ? "" : " WHERE employee_id = ?1"
            let statement = try connection.statement("SELECT \(Self.columns) FROM events\(where_) ORDER BY id")
            defer { statement.reset() }
            if let employeeId { try statement.bind([.text(employeeId)]) }
            var events: [Event] = []
            while try statement.step() { events.append(try Self.event(from: statement)) }
            return events
        }
    }

    /// Runs `body` with the connection on the store's queue.
    func perform<T: Sendable>(_ body: @escaping @Sendable (SQLiteConnection) throws(ETLError) -> T) async throws(ETLError) -> T {
        try await confined.perform(body)
    }

    static let columns = "id, parent_id, week, employee_id, source_kind_id, event_type, event_time_utc, relation_properties"

    static let changedCondition = """
        events.parent_id IS NOT excluded.parent_id OR events.week IS NOT excluded.week
        OR events.employee_id IS NOT excluded.employee_id OR events.source_kind_id IS NOT excluded.source_kind_id
        OR events.event_type IS NOT excluded.event_type OR events.event_time_utc IS NOT excluded.event_time_utc
        OR events.relation_properties IS NOT excluded.relation_properties
        """

    static let upsertClause = """
        ON CONFLICT (id) DO UPDATE SET
            parent_id = excluded.parent_id, week = excluded.week, employee_id = excluded.employee_id,
            source_kind_id = excluded.source_kind_id, event_type = excluded.event_type,
            event_time_utc = excluded.event_time_utc, relation_properties = excluded.relation_properties
        WHERE \(changedCondition)
        """

    static let upsertSQL = "INSERT INTO events (\(columns)) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8) \(upsertClause)"

    static func values(of event: Event) -> [SQLiteValue] {
        [
            .text(event.id), .text(event.parentId), .text(event.week), .text(event.employeeId),
            .text(event.sourceKindId), .text(event.type), .text(event.timeUTC), .optional(event.relationPropertiesJSON()),
        ]
    }

    /// Rebuilds an event from a row selected with `columns` (starting at column `offset`).
    static func event(from statement: SQLiteStatement, offset: Int32 = 0) throws(ETLError) -> Event {
        var properties: [String: JSONValue] = [:]
        if let text = statement.text(offset + 7) {
            guard let parsed = try? JSONParser.parse(text).objectValue else {
                throw ETLError(.database, "stored relation_properties of event '\(statement.text(offset) ?? "")' is not a JSON object", nonRetryable: true)
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
