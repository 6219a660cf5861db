public import Foundation

/// Where loaded events are written: the SQLite `SQLiteEventStore` (the default) or a shared
/// `PostgresEventStore`. Both keep the same `events` table semantics: one row per event id,
/// idempotent upserts that report how many rows were new or changed.
public protocol EventStore: Sendable {
    /// Inserts or updates one event; returns 1 when a row was added or changed, 0 when an
    /// identical row already existed.
    func insertEvent(_ event: Event) async throws(ETLError) -> Int

    /// Upserts `events` in one transaction (keyed on event id) and returns how many rows were
    /// new or changed; re-inserting the same events returns 0. If any row fails, the whole
    /// batch rolls back and the error is thrown.
    func insertEventsBatch(_ events: [Event]) async throws(ETLError) -> Int

    /// The number of stored events, optionally for one employee.
    func eventCount(employeeId: String?) async throws(ETLError) -> Int

    /// The stored events ordered by id, optionally for one employee.
    func events(employeeId: String?) async throws(ETLError) -> [Event]

    /// How many events each member has per week, event type and source (`GROUP BY` in the
    /// store), ordered by member, week, type and source.
    func eventCounts() async throws(ETLError) -> [EventCount]

    /// What every load recorded it covered (`LoadedWindow`), ordered by member and first day.
    func loadedWindows() async throws(ETLError) -> [LoadedWindow]

    /// The Launchpad the store's events were read from (`StoreLaunchpad.key`), nil when no load
    /// has named one.
    func boundLaunchpad() async throws(ETLError) -> String?

    /// What a report reads (`boundLaunchpad`, `loadedWindows`, `eventCounts`), from one snapshot
    /// of the store: a load committing meanwhile is in all of them or in none.
    func reportSnapshot() async throws(ETLError) -> ReportSnapshot
}

/// What a report reads of a store, at one moment (`EventStore.reportSnapshot`).
public struct ReportSnapshot: Sendable {
    /// `EventStore.boundLaunchpad()`.
    public var launchpad: String?
    /// `EventStore.loadedWindows()`.
    public var windows: [LoadedWindow]
    /// `EventStore.eventCounts()`.
    public var counts: [EventCount]

    public init(launchpad: String?, windows: [LoadedWindow], counts: [EventCount]) {
        (self.launchpad, self.windows, self.counts) = (launchpad, windows, counts)
    }
}

/// One cell of the activity report: a member's events of one type in one week.
public struct EventCount: Sendable, Hashable {
    /// The member (`employee_id`).
    public var member: String
    /// Monday of the week, `YYYY-MM-DD`.
    public var week: String
    /// The event type, e.g. `bug:commented`.
    public var type: String
    /// How many events.
    public var count: Int
    /// The events' source (`source_kind_id`), e.g. `launchpad` or `mock`.
    public var sourceKind: String

    /// Creates a count.
    public init(member: String, week: String, type: String, count: Int, sourceKind: String = Event.launchpadSourceKind) {
        self.member = member
        self.week = week
        self.type = type
        self.count = count
        self.sourceKind = sourceKind
    }
}

extension EventStore {
    /// None recorded: a store that cannot say is named so in a report.
    public func boundLaunchpad() async throws(ETLError) -> String? { nil }

    /// Read one after the other, windows before counts: a load committing between them shows
    /// as events without their window (unread), never as a window without its events.
    public func reportSnapshot() async throws(ETLError) -> ReportSnapshot {
        let launchpad = try await boundLaunchpad()
        let windows = try await loadedWindows()
        return ReportSnapshot(launchpad: launchpad, windows: windows, counts: try await eventCounts())
    }

    /// The number of stored events.
    public func eventCount() async throws(ETLError) -> Int {
        try await eventCount(employeeId: nil)
    }

    /// All stored events ordered by id.
    public func events() async throws(ETLError) -> [Event] {
        try await events(employeeId: nil)
    }
}

extension SQLiteEventStore: EventStore {}
extension SQLiteEventStore: StagingStore {}

/// Which store an `ETL_DB_URL` names.
public enum EventStoreLocation: Sendable, Hashable, CustomStringConvertible {
    /// A SQLite file (`sqlite:///abs/path`, `sqlite://relative.db` or a bare path).
    case sqlite(path: String)
    /// A PostgreSQL database (`postgres://user:password@host:port/dbname`, `postgresql://…`, or
    /// a libpq keyword string such as `host=db dbname=etl user=etl`), kept as given (libpq
    /// parses it).
    case postgres(url: String)

    /// Parses a store URL.
    ///
    /// Throws a non-retryable `.database` error for an empty string or an unsupported scheme.
    public init(url: String) throws(ETLError) {
        let trimmed = url.trimmingCharacters(in: .whitespacesAndNewlines)
        guard !trimmed.isEmpty else {
            throw ETLError(
                .database,
                "the event store URL is empty; set ETL_DB_URL to sqlite:///path/to/events.db, a file path, or postgres://user:password@host:5432/dbname",
                nonRetryable: true)
        }
        // `host=db dbname=etl user=etl password=…` is libpq's keyword form, not a file name:
        // opening it as SQLite would make a local file of that name (and log the password).
        // Checked first: a value in it may hold `://`.
        if Self.isConninfo(trimmed) {
            self = .postgres(url: trimmed)
            return
        }
        guard let schemeEnd = trimmed.range(of: "://") else {
            self = .sqlite(path: trimmed)
            return
        }
        let scheme = trimmed[..<schemeEnd.lowerBound].lowercased()
        let rest = String(trimmed[schemeEnd.upperBound...])
        switch scheme {
        case "sqlite", "sqlite3", "file":
            let path = rest.removingPercentEncoding ?? rest
            guard !path.isEmpty else {
                throw ETLError(
                    .database, "the event store URL '\(trimmed)' names no SQLite file; use sqlite:///absolute/path/to/events.db",
                    nonRetryable: true)
            }
            self = .sqlite(path: path)
        case "postgres", "postgresql":
            // `user:pa/ss@host`: libpq ends the user information at the first `/`, so it would
            // take part of the password for a host and port, and say so in its error.
            if let at = rest.lastIndex(of: "@"), !rest[..<at].contains("?"), let colon = rest[..<at].firstIndex(of: ":"),
                let slash = rest[..<at].firstIndex(of: "/"), colon < slash
            {
                throw ETLError(
                    .database,
                    "the password in the event store URL '\(EventStoreLocation.redacted(trimmed))' holds a '/': percent-encode it (%2F; also ':' as %3A, '@' as %40), or leave it out of the URL and set PGPASSWORD",
                    nonRetryable: true)
            }
            self = .postgres(url: trimmed)
        default:
            throw ETLError(
                .database,
                "the event store URL '\(EventStoreLocation.redacted(trimmed))' has the unsupported scheme '\(EventStoreLocation.redacted(scheme))'; set ETL_DB_URL to sqlite:///path/to/events.db, a file path, or postgres://user:password@host:5432/dbname",
                nonRetryable: true)
        }
    }

    /// The location for messages and logs, any password redacted.
    public var description: String {
        switch self {
        case .sqlite(let path): "sqlite://\(path)"
        case .postgres(let url): EventStoreLocation.redacted(url)
        }
    }

    /// A warning for a store URL given on the command line that carries a password (which
    /// every user of the machine reads in the process list), or nil.
    public static func passwordOnCommandLine(_ url: String?, option: String) -> String? {
        guard let url, redacted(url) != url else { return nil }
        return
            "\(option) carries a password, which every user of this machine can read in the process list: set the URL in ETL_DB_URL instead, or the password in PGPASSWORD or ~/.pgpass"
    }

    /// `url` with any password replaced by `***`, for messages and logs: the `user:password@`
    /// of a URL, a `password=` query parameter (libpq reads one), and the `password=` of a
    /// libpq keyword string (`host=db password=…`, quoted or not).
    public static func redacted(_ url: String) -> String {
        var text = url
        if !isConninfo(url), let schemeEnd = text.range(of: "://") {
            // Everything from the first `:` to the last `@` is masked: a password may hold `?`,
            // `#` or an unencoded `/` (as base64 ones do). libpq then reads the URL otherwise
            // and fails, and its message must not show the password either. An `@` later in the
            // URL (a query value) only makes the mask wider.
            let afterScheme = text[schemeEnd.upperBound...]
            if let at = afterScheme.lastIndex(of: "@"), let colon = afterScheme[..<at].firstIndex(of: ":") {
                text = String(text[..<colon]) + ":***" + String(text[at...])
            }
        }
        return redactingPasswordParameters(text)
    }

    /// Replaces the value of every `password=` parameter (`?password=…&`, `&password=…`, or a
    /// keyword string's `password=…` / `password = '…'`) with `***`.
    static func redactingPasswordParameters(_ text: String) -> String {
        var result = ""
        var rest = Substring(text)
        while let match = rest.range(of: "password", options: .caseInsensitive) {
            var before = rest[..<match.lowerBound]
            if before.lowercased().hasSuffix("ssl") { before = before.dropLast(3) }  // sslpassword
            let boundary = before.last.map { $0 == "?" || $0 == "&" || $0.isWhitespace } ?? true
            var cursor = match.upperBound
            while cursor < rest.endIndex, rest[cursor] == " " { cursor = rest.index(after: cursor) }
            guard boundary, cursor < rest.endIndex, rest[cursor] == "=" else {
                result += rest[..<match.upperBound]
                rest = rest[match.upperBound...]
                continue
            }
            cursor = rest.index(after: cursor)
            while cursor < rest.endIndex, rest[cursor] == " " { cursor = rest.index(after: cursor) }
            var end = cursor
            if end < rest.endIndex, rest[end] == "'" {
                end = rest.index(after: end)
                while end < rest.endIndex, rest[end] != "'" {
                    if rest[end] == "\\", rest.index(after: end) < rest.endIndex { end = rest.index(after: end) }
                    end = rest.index(after: end)
                }
                if end < rest.endIndex { end = rest.index(after: end) }
            } else {
                while end < rest.endIndex, rest[end] != "&", rest[end] != "#", !rest[end].isWhitespace {
                    // A backslash escapes the next character (`password=a\ b` is one value).
                    if rest[end] == "\\", rest.index(after: end) < rest.endIndex { end = rest.index(after: end) }
                    end = rest.index(after: end)
                }
            }
            result += rest[..<cursor] + "***"
            rest = rest[end...]
        }
        return result + rest
    }

    /// True when `text` reads as a libpq keyword/value connection string (`host=… dbname=…`):
    /// it starts with one of libpq's connection keywords followed by `=`.
    static func isConninfo(_ text: String) -> Bool {
        let keyword = text.prefix(while: { $0.isLetter || $0 == "_" }).lowercased()
        guard libpqKeywords.contains(keyword) else { return false }
        return text.dropFirst(keyword.count).drop(while: { $0 == " " }).first == "="
    }

    /// libpq's connection keywords (PostgreSQL 15, "Parameter Key Words").
    static let libpqKeywords: Set<String> = [
        "host", "hostaddr", "port", "dbname", "user", "password", "passfile", "channel_binding", "connect_timeout",
        "client_encoding", "options", "application_name", "fallback_application_name", "keepalives", "keepalives_idle",
        "keepalives_interval", "keepalives_count", "tcp_user_timeout", "replication", "gssencmode", "sslmode", "requiressl",
        "sslcompression", "sslcert", "sslkey", "sslpassword", "sslrootcert", "sslcrl", "sslcrldir", "sslsni",
        "requirepeer", "ssl_min_protocol_version", "ssl_max_protocol_version", "krbsrvname", "gsslib", "service",
        "target_session_attrs",
    ]
}

/// Opens the `EventStore` an `ETL_DB_URL` names.
public enum EventStoreFactory {
    /// The environment variable naming the store.
    public static let urlVariable = "ETL_DB_URL"

    /// Opens (creating and migrating as needed) the store `url` names:
    /// `sqlite:///abs/path` or a bare path opens a SQLite `SQLiteEventStore`;
    /// `postgres://user:password@host:port/dbname` or `postgresql://…` connects a
    /// `PostgresEventStore`. Anything else throws a non-retryable `.database` error.
    public static func open(url: String) async throws(ETLError) -> any FlowStore {
        switch try EventStoreLocation(url: url) {
        case .sqlite(let path): return try SQLiteEventStore(path: path)
        case .postgres(let url): return try await PostgresEventStore.connect(url: url)
        }
    }

    /// Opens an existing store to read it, as a report does: nothing is created or migrated
    /// (`SQLiteEventStore.openForReading`, `PostgresEventStore.connectForReading`).
    public static func openForReading(_ location: EventStoreLocation) async throws(ETLError) -> any EventStore {
        switch location {
        case .sqlite(let path): return try SQLiteEventStore.openForReading(path: path)
        case .postgres(let url): return try await PostgresEventStore.connectForReading(url: url)
        }
    }

    /// Opens the store named by `ETL_DB_URL`, or, when that is unset or empty, the SQLite
    /// file named by `ETL_DB_PATH` (`SQLiteEventStore.defaultPath`).
    public static func fromEnvironment(
        _ environment: [String: String] = ProcessInfo.processInfo.environment
    ) async throws(ETLError) -> any FlowStore {
        guard let url = ETLEnvironment.value(urlVariable, in: environment) else {
            return try SQLiteEventStore(path: ETLEnvironment.value("ETL_DB_PATH", in: environment) ?? "launchpad_events.db")
        }
        return try await open(url: url)
    }
}
