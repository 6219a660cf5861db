import CLibPQ
import Foundation

/// One libpq connection (`PGconn`). Not thread-safe: `PostgresEventStore` keeps it behind a
/// lock and uses it only on its own serial queue. Every value goes through `PQexecParams`
/// parameters; SQL text is only ever our own constants.
final class PostgresConnection {
    /// The rows and affected-row count of one statement (all values as text).
    struct QueryResult {
        var rows: [[String?]] = []
        /// `PQcmdTuples`: rows inserted, updated or deleted (0 when not applicable).
        var affected: Int = 0
    }

    private let handle: OpaquePointer
    /// Set when the server said it is read-only (25006): after a failover the connection may
    /// still reach the old primary, now a standby, so the next statement connects again (with
    /// several hosts and `target_session_attrs=read-write`, libpq then finds the new primary).
    private var mustReconnect = false
    /// The URL with any password redacted, for messages.
    let target: String

    /// Connects with `url` (a `postgres://` / `postgresql://` URI or a libpq conninfo string).
    /// Unless the URL sets them: a connect timeout of 10 s; UTF-8 as the client encoding (what
    /// every string we send is, whatever `PGCLIENTENCODING` says); TCP keepalives that find a
    /// dead server within about two minutes, and (on Linux) a TCP user timeout of two minutes for
    /// data sent and not acknowledged (a network that drops mid-statement held the call, and the worker's
    /// store queue behind it, for the kernel's 15 minutes of retransmissions). Every transaction
    /// sets a lock timeout (`transaction`).
    init(url: String) throws(ETLError) {
        let password = try Self.passwordIfParsed(url)
        let target = EventStoreLocation.redacted(url)
        // Earlier keywords are overridden by what the expanded `dbname` URL sets.
        let keywords = [
            "connect_timeout", "application_name", "client_encoding", "keepalives", "keepalives_idle", "keepalives_interval",
            "keepalives_count", "tcp_user_timeout", "dbname",
        ]
        let values = ["10", "LaunchpadETL", "UTF8", "1", "60", "10", "6", "120000", url]
        let cKeywords = keywords.map { strdup($0) }
        let cValues = values.map { strdup($0) }
        defer {
            for pointer in cKeywords + cValues { free(pointer) }
        }
        var keywordPointers = cKeywords.map { UnsafePointer<CChar>($0) } + [nil]
        var valuePointers = cValues.map { UnsafePointer<CChar>($0) } + [nil]
        let connection = keywordPointers.withUnsafeMutableBufferPointer { k in
            valuePointers.withUnsafeMutableBufferPointer { v in
                PQconnectdbParams(k.baseAddress, v.baseAddress, 1)
            }
        }
        guard let connection else {
            throw ETLError(.database, "could not allocate a PostgreSQL connection for \(target)", nonRetryable: false)
        }
        guard PQstatus(connection) == CONNECTION_OK else {
            let host = PQhost(connection).map { String(cString: $0) } ?? ""
            let port = PQport(connection).map { String(cString: $0) } ?? ""
            var reason = Self.trimmed(PQerrorMessage(connection))
            if let password, !password.isEmpty { reason = reason.replacingOccurrences(of: password, with: "***") }
            PQfinish(connection)
            let place = host.isEmpty ? target : "\(host):\(port.isEmpty ? "5432" : port)"
            throw ETLError(
                .database,
                "could not connect to PostgreSQL at \(place) (\(target)): \(reason); check ETL_DB_URL and that the server is running and accepts connections there",
                nonRetryable: false)
        }
        PQsetNoticeProcessor(connection, { _, _ in }, nil)
        self.handle = connection
        self.target = target
    }

    deinit { PQfinish(handle) }

    /// Libpq's reason for not parsing `url`, when it cannot hold the password: for a URL
    /// without user info or a password parameter (libpq repeats the token it could not read);
    /// otherwise, and for a keyword string (an unquoted value's tail is repeated), not at all.
    static func safeParseReason(_ reason: String, url: String) -> String {
        // A URL with user info (any `@`) or a password parameter may have its password quoted
        // in the reason, cut where libpq's reading and ours could differ: not shown then.
        guard url.hasPrefix("postgres://") || url.hasPrefix("postgresql://"), !url.contains("@"),
            !url.lowercased().contains("password")
        else { return "libpq's reason is not shown: it can repeat the password" }
        return "libpq: \(reason)"
    }

    /// The value the connection uses for libpq's `keyword` (tests).
    func option(_ keyword: String) -> String? {
        guard let options = PQconninfo(handle) else { return nil }
        defer { PQconninfoFree(options) }
        var option = options
        while let name = option.pointee.keyword {
            if String(cString: name) == keyword { return option.pointee.val.map { String(cString: $0) } }
            option += 1
        }
        return nil
    }

    /// Parses `url` as libpq will (`PQconninfoParse`, which connects to nothing): its password,
    /// if it sets one, to keep out of messages.
    /// - Throws: a non-retryable error when libpq cannot parse it — without libpq's message,
    ///   which repeats the part it could not read (a whole password with a stray `%` in a URL,
    ///   the tail of an unquoted keyword value with a space).

    private static func passwordIfParsed(_ url: String) throws(ETLError) -> String? {
        var message: UnsafeMutablePointer<CChar>?
        guard let options = PQconninfoParse(url, &message) else {
            let reason = message.map { trimmed($0) } ?? ""
            if let message { PQfreemem(message) }
            throw ETLError(
                .database,
                "ETL_DB_URL does not parse as a PostgreSQL URL or libpq keyword string (\(safeParseReason(reason, url: url))). In a URL, percent-encode reserved characters of the user and password (% as %25, @ as %40, : as %3A, / as %2F, space as %20); in a keyword string, quote a value with spaces or quotes (password='a b', with \\' for a quote)",
                nonRetryable: true)
        }
        defer { PQconninfoFree(options) }
        var option = options
        var password: String?
        while let keyword = option.pointee.keyword {
            switch String(cString: keyword) {
            case "password":
                password = option.pointee.val.map { String(cString: $0) }
            case "host":
                // libpq ends a URL's user information at its first `@`: with another `@` in the
                // password, the rest of the password became the host, which every connection
                // error named (the redacted URL beside it looked safe).
                // (A host beginning with `@` is an abstract-namespace socket, PostgreSQL 14+.)
                if let host = option.pointee.val.map({ String(cString: $0) }), host.dropFirst().contains("@") {
                    throw ETLError(
                        .database,
                        "the user or password in ETL_DB_URL holds an '@', so PostgreSQL would read part of it as the host: percent-encode it (%40; also '/' as %2F, ':' as %3A), or leave the password out of the URL and set PGPASSWORD",
                        nonRetryable: true)
                }
            default:
                break
            }
            option += 1
        }
        return password
    }

    /// Runs one or more parameterless statements (our own SQL constants only).
    func execute(_ sql: String) throws(ETLError) {
        try ensureConnected()
        let result = PQexec(handle, sql)
        defer { PQclear(result) }
        try check(result, sql: sql)
    }

    /// Runs one statement with text parameters (`$1`, `$2`, …; `nil` is SQL NULL).
    @discardableResult
    func query(_ sql: String, _ parameters: [String?] = []) throws(ETLError) -> QueryResult {
        try ensureConnected()
        for case let value? in parameters where value.utf8.contains(0) {
            throw ETLError(
                .database, "a value contains a NUL character, which PostgreSQL text cannot store: \(value.prefix(80).debugDescription)",
                nonRetryable: true)
        }
        let cValues: [UnsafeMutablePointer<CChar>?] = parameters.map { $0.map { strdup($0) } ?? nil }
        defer { for pointer in cValues { free(pointer) } }
        let pointers = cValues.map { $0.map { UnsafePointer<CChar>($0) } }
        let result = pointers.withUnsafeBufferPointer { buffer in
            PQexecParams(handle, sql, Int32(parameters.count), nil, buffer.baseAddress, nil, nil, 0)
        }
        defer { PQclear(result) }
        try check(result, sql: sql)
        var output = QueryResult()
        if let result {
            let rowCount = PQntuples(result)
            let columnCount = PQnfields(result)
            output.rows.reserveCapacity(Int(rowCount))
            for row in 0..<rowCount {
                var values: [String?] = []
                values.reserveCapacity(Int(columnCount))
                for column in 0..<columnCount {
                    values.append(PQgetisnull(result, row, column) == 1 ? nil : String(cString: PQgetvalue(result, row, column)))
                }
                output.rows.append(values)
            }
            output.affected = Int(String(cString: PQcmdTuples(result))) ?? 0
        }
        return output
    }

    /// The first column of the first row as an integer (0 when there is none).
    func scalarInt(_ sql: String, _ parameters: [String?] = []) throws(ETLError) -> Int {
        let result = try query(sql, parameters)
        return result.rows.first?.first.flatMap { $0 }.flatMap { Int($0) } ?? 0
    }

    /// Runs `body` inside `BEGIN … COMMIT`, rolling back when it throws, with lock waits that
    /// end after `lockTimeout` seconds (retryable 55P03): a load waiting for a lock another host holds
    /// (a loader stalled in a network partition) fails and is retried rather than holding the
    /// worker's store for as long as the server keeps that session (hours). Set per transaction
    /// (`SET LOCAL`, in the same round trip as `BEGIN`), not as a startup option: poolers such
    /// as PgBouncer refuse those.
    func transaction<T>(lockTimeout: Int = lockTimeoutSeconds, _ body: () throws(ETLError) -> T) throws(ETLError) -> T {
        try inTransaction(begun: "BEGIN ISOLATION LEVEL READ COMMITTED; SET LOCAL lock_timeout = '\(lockTimeout)s'") {
            () throws(ETLError) -> T in
            if let schema = writesSchema {
                // Shared with every other write, exclusive to a migration (which holds it until
                // it commits, and waits for this transaction to end): the version is then read
                // in a statement of its own, whose snapshot comes after a migration under way.
                try query("SELECT pg_advisory_xact_lock_shared($1::bigint)", [PostgresSchema.migrationLockKey])
                try SchemaMismatch.refuseMigratedMeanwhile(
                    store: "the PostgreSQL database \(target)",
                    version: try scalarInt("SELECT coalesce(max(version), 0) FROM schema_version"), current: schema)
            }
            return try body()
        }
    }

    /// The schema version this connection's writes are made for, once its store is migrated:
    /// each write transaction refuses a store a newer build migrated since (a rolling upgrade's
    /// newer worker started while this one ran on).
    var writesSchema: Int?

    /// Runs `body` in a REPEATABLE READ, READ ONLY transaction: its reads see one snapshot.
    /// (Ended after a minute idle too: a reader cut off mid-read would hold its snapshot, and
    /// vacuum back, until the server noticed the dead socket.)
    func readSnapshot<T>(_ body: () throws(ETLError) -> T) throws(ETLError) -> T {
        try inTransaction(begun: "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY", body)
    }

    /// Runs `body` in the transaction `begin` starts (ended after a minute idle), committing on
    /// success (`commit`) and rolling back on error.
    private func inTransaction<T>(begun begin: String, _ body: () throws(ETLError) -> T) throws(ETLError) -> T {
        do {
            // Inside the `do`: when BEGIN succeeds and SET fails, the transaction it opened is
            // rolled back (left open, every later BEGIN would fail).
            // A session cut off mid-transaction (its host partitioned away) holds its locks until
            // the server notices the dead socket (15 min to hours): ended after a minute idle, so
            // the batch's and the member's locks come free while the load's retries still run.
            let opening = begin + "; SET LOCAL idle_in_transaction_session_timeout = '\(Self.idleInTransactionSeconds)s'"
            // (Not when the session was known gone before: its reconnection failed already.)
            let wasConnected = PQstatus(handle) == CONNECTION_OK && !mustReconnect
            do { try execute(opening) } catch  where wasConnected && PQstatus(handle) != CONNECTION_OK {
                // The session was gone (the server restarted, a failover, an idle session cut):
                // the BEGIN found it out and wrote nothing, so it goes once more on a new one
                // rather than failing this attempt of the activity.
                try execute(opening)
            }
            let value = try body()
            try commit()
            return value
        } catch {
            if PQstatus(handle) == CONNECTION_OK { PQclear(PQexec(handle, "ROLLBACK")) }
            throw error
        }
    }

    /// Commits the open transaction, on this session only (a session re-established meanwhile
    /// would commit nothing and answer "COMMIT"), and checks that the server committed it: a
    /// transaction a failed statement aborted (an error its body caught) answers COMMIT with
    /// "ROLLBACK", and nothing of it is written.
    private func commit() throws(ETLError) {
        let result = PQexec(handle, "COMMIT")
        defer { PQclear(result) }
        try check(result, sql: "COMMIT")
        let tag = result.map { String(cString: PQcmdStatus($0)) } ?? ""
        guard tag == "COMMIT" else {
            throw ETLError(
                .database,
                "PostgreSQL (\(target)) did not commit the transaction (it answered \(tag.isEmpty ? "nothing" : tag)): a statement in it failed, so nothing of it was written; it is retried",
                nonRetryable: false)
        }
    }

    /// Re-establishes a dropped connection (once) before running a statement, then runs
    /// `onReconnect` on it: the server reached may not be the one opened (a failover, a name
    /// that now resolves to a standby or another database).
    private func ensureConnected() throws(ETLError) {
        guard PQstatus(handle) != CONNECTION_OK || mustReconnect else { return }
        mustReconnect = false
        PQreset(handle)
        guard PQstatus(handle) == CONNECTION_OK else {
            throw ETLError(
                .database,
                "lost the PostgreSQL connection to \(target) and could not reconnect: \(Self.trimmed(PQerrorMessage(handle))); check ETL_DB_URL and that the server is running",
                nonRetryable: false)
        }
        if let onReconnect {
            do throws(ETLError) {
                try onReconnect(self)
            } catch {
                mustReconnect = true  // checked again at the next statement, not taken as good
                throw error
            }
        }
    }

    /// Checks what a re-established connection reached, as the store's open checked it (set
    /// by the store); throwing refuses the statement that reconnected.
    var onReconnect: ((PostgresConnection) throws(ETLError) -> Void)?

    private func check(_ result: OpaquePointer?, sql: String) throws(ETLError) {
        let status = result.map { PQresultStatus($0) } ?? PGRES_FATAL_ERROR
        guard status != PGRES_COMMAND_OK, status != PGRES_TUPLES_OK else { return }
        let message = result.flatMap { PQresultErrorMessage($0) }.map { Self.trimmed($0) } ?? ""
        let state = result.flatMap { PQresultErrorField($0, Int32(UInt8(ascii: "C"))) }.map { String(cString: $0) } ?? ""
        var reason = message.isEmpty ? Self.trimmed(PQerrorMessage(handle)) : message
        if state == Self.readOnlyState {
            mustReconnect = true
            reason +=
                " (the server is read-only: a standby, perhaps after a failover; the worker connects again and retries. Point ETL_DB_URL at the primary, or list every host with target_session_attrs=read-write)"
        }
        let statement = sql.split(separator: "\n").first.map { String($0.prefix(60)) } ?? ""
        throw ETLError(
            .database,
            "PostgreSQL (\(target)) failed \(state.isEmpty ? "" : "with SQLSTATE \(state) ")running '\(statement)…': \(reason)",
            nonRetryable: !Self.isRetryable(state: state, connectionLost: PQstatus(handle) != CONNECTION_OK),
            cause: PostgresError(sqlState: state, message: reason))
    }

    /// Whether `error` came from a deadlock or serialization failure (worth retrying the
    /// whole transaction at once): by the SQLSTATE the server sent, not the message.
    static func isTransactionConflict(_ error: ETLError) -> Bool {
        guard let state = (error.cause as? PostgresError)?.sqlState else { return false }
        return state == "40P01" || state == "40001"
    }

    /// How long a transaction waits for a lock: below the transform's and the load's
    /// start-to-close timeouts (30 s and 60 s, `ETLActivityOptions`), so that a wait fails and
    /// is retried within the attempt rather than outlive it (with 5 minutes, every attempt of a
    /// load timed out while its libpq call still waited, holding the worker's connection).
    static let lockTimeoutSeconds = 20
    /// How long a transaction's session may sit idle (between two of its statements) before
    /// the server ends it: this code never pauses inside a transaction, only a dead client does.
    static let idleInTransactionSeconds = 60

    /// Whether `error` is a lock wait that ended at `lockTimeoutSeconds`.
    static func isLockTimeout(_ error: ETLError) -> Bool { (error.cause as? PostgresError)?.sqlState == "55P03" }

    /// `read_only_sql_transaction`: a write sent to a standby.
    static let readOnlyState = "25006"

    /// Connection problems (08), transaction rollbacks (40), resource shortages (53) and
    /// operator intervention (57) may succeed when retried; everything else will not.
    private static func isRetryable(state: String, connectionLost: Bool) -> Bool {
        // 55P03: a lock not granted within `lock_timeout`; another attempt may get it.
        // 25006: a standby (after a failover); the next attempt connects again.
        if connectionLost || state.isEmpty || state == "55P03" || state == readOnlyState { return true }
        return ["08", "40", "53", "57"].contains(String(state.prefix(2)))
    }

    private static func trimmed(_ message: UnsafePointer<CChar>?) -> String {
        guard let message else { return "" }
        return trimmed(String(cString: message))
    }

    private static func trimmed(_ message: String) -> String {
        message.trimmingCharacters(in: .whitespacesAndNewlines)
            .replacingOccurrences(of: "\n", with: " ")
    }
}

/// What PostgreSQL reported for a failed statement: its SQLSTATE (`PG_DIAG_SQLSTATE`, empty
/// when the failure was the connection's) and its message. The cause of the `ETLError` thrown.
public struct PostgresError: Error, Sendable, CustomStringConvertible {
    /// The five-character SQLSTATE, e.g. `40P01` (deadlock detected).
    public let sqlState: String
    public let message: String
    public var description: String { sqlState.isEmpty ? message : "SQLSTATE \(sqlState): \(message)" }
}
