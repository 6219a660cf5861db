import CSQLite
import Foundation

/// One open SQLite connection with a cache of prepared statements.
///
/// Not thread-safe by itself: `SQLiteEventStore` owns it inside a `Mutex` and only touches it from
/// its serial queue.
final class SQLiteConnection {
    private var handle: OpaquePointer?
    private var statements: [String: SQLiteStatement] = [:]
    private var walHook: WALHook?
    let path: String

    /// Process-wide set-up, once, before the first connection initialises SQLite: memory
    /// statistics off (nothing reads them), so allocations skip SQLite's global mutex.
    private static let configured: Void = { _ = csqlite_disable_memory_statistics() }()

    /// Opens (creating if needed) the database file at `path`; with `readOnly`, opens an
    /// existing file for reading only (every write then fails).
    init(path: String, busyTimeoutMilliseconds: Int32, readOnly: Bool = false) throws(ETLError) {
        self.path = path
        _ = Self.configured
        var opened: OpaquePointer?
        if !readOnly { Self.createPrivately(path) }
        let flags = (readOnly ? SQLITE_OPEN_READONLY : SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE) | SQLITE_OPEN_NOMUTEX
        let status = sqlite3_open_v2(path, &opened, flags, nil)
        guard status == SQLITE_OK, let opened else {
            let reason = opened.map { String(cString: sqlite3_errmsg($0)) } ?? String(cString: sqlite3_errstr(status))
            sqlite3_close_v2(opened)
            throw ETLError(
                .database,
                "cannot open the SQLite database '\(path)'\(Self.relativeNote(path)): \(reason); check the path given (--db-path, ETL_DB_PATH or ETL_DB_URL) and that \(readOnly ? "the file exists and is readable" : "its directory exists and is writable")",
                nonRetryable: true)
        }
        // A file this process may not write is opened read-only without a word, and every write
        // then failed as "retried" for good: the handle stays read-only until the process ends,
        // however the file's permissions are mended.
        if !readOnly, sqlite3_db_readonly(opened, "main") == 1 {
            sqlite3_close_v2(opened)
            throw ETLError(
                .database,
                "the SQLite database '\(path)'\(Self.relativeNote(path)) can only be read by this process (user id \(geteuid())): make the file, and the directory it is in (SQLite writes its -wal and -shm files there), writable for it (its permissions, or a file system or volume mounted read-only), then start the worker again",
                nonRetryable: true)
        }
        handle = opened
        sqlite3_busy_timeout(opened, busyTimeoutMilliseconds)
        sqlite3_extended_result_codes(opened, 1)
    }

    /// The oldest SQLite library the store's SQL runs on: upserts (`ON CONFLICT … DO UPDATE`)
    /// came in 3.24.0; the JSON functions (`json_valid`, `json_extract`) must be built in.
    static let oldestLibrary = (number: Int32(3_024_000), text: "3.24.0")

    /// Refuses, at open, a SQLite library the store's SQL cannot run on, naming it: such a
    /// library failed at the first staging write or load with an SQL error that did not say why.
    func requireCapableLibrary() throws(ETLError) {
        let hasJSON = (try? scalarInt("SELECT json_valid('{}')")) == 1
        if let refusal = Self.libraryRefusal(
            number: sqlite3_libversion_number(), version: String(cString: sqlite3_libversion()), hasJSON: hasJSON)
        {
            throw ETLError(.database, refusal, nonRetryable: true)
        }
    }

    /// What is wrong with a SQLite library of version `number` (`version` as text), with or
    /// without the JSON functions; nil when nothing is.
    static func libraryRefusal(number: Int32, version: String, hasJSON: Bool) -> String? {
        if number < oldestLibrary.number {
            return
                "the SQLite library is version \(version), older than \(oldestLibrary.text), which the event store needs (upserts): install a newer libsqlite3 (apt: libsqlite3-dev), or use PostgreSQL (ETL_DB_URL)"
        }
        if !hasJSON {
            return
                "the SQLite library (version \(version)) was built without the JSON functions, which the event store needs: install a build with them (Debian's and Ubuntu's libsqlite3 have them), or use PostgreSQL (ETL_DB_URL)"
        }
        return nil
    }

    deinit {
        statements.removeAll()
        sqlite3_close_v2(handle)
    }

    /// The last error message of this connection.
    var lastError: String { handle.map { String(cString: sqlite3_errmsg($0)) } ?? "connection closed" }

    /// Rows changed by the last INSERT/UPDATE/DELETE.
    var changes: Int { Int(sqlite3_changes(handle)) }

    func error(_ what: String, status: Int32) -> ETLError {
        ETLError(
            .database, "SQLite \(what) failed on '\(path)': \(lastError) (code \(status))\(Self.advice(status, path: path))",
            nonRetryable: !Self.mayHeal(status))
    }

    /// Whether an error of `status` may pass (retried): a lock another connection holds, or the
    /// machine's state — a full disk, an I/O error, a read-only or unreachable file — which its
    /// operator can mend while the extract's retries (hours) or the load's run. A corrupt file,
    /// a constraint or an SQL error fails the same way every time.
    static func mayHeal(_ status: Int32) -> Bool {
        // Read-only as such, or its directory: made writable. Not the file moved or deleted
        // under the open connection (DBMOVED), nor a hot journal it cannot roll back: those
        // fail the same way on this connection every time.
        if status & 0xFF == SQLITE_READONLY { return status == SQLITE_READONLY || status == readOnlyDirectory }
        return [SQLITE_BUSY, SQLITE_LOCKED, SQLITE_FULL, SQLITE_IOERR, SQLITE_CANTOPEN, SQLITE_NOMEM, SQLITE_PROTOCOL].contains(
            status & 0xFF)
    }

    /// SQLITE_READONLY_DIRECTORY and SQLITE_READONLY_DBMOVED (extended codes).
    static let readOnlyDirectory = SQLITE_READONLY | 6 << 8
    static let readOnlyMoved = SQLITE_READONLY | 4 << 8

    /// What to do about an error of `status` the machine's operator can mend; empty otherwise.
    static func advice(_ status: Int32, path: String) -> String {
        switch status & 0xFF {
        case SQLITE_FULL: "; the disk holding it is full: free space there (the attempt is retried)"
        case SQLITE_IOERR: "; the disk or file system failed to read or write it: check the volume (the attempt is retried)"
        case SQLITE_READONLY where status == readOnlyMoved:
            "; the file was moved or deleted while the worker had it open: restart the worker (on the path ETL_DB_PATH names)"
        case SQLITE_READONLY where mayHeal(status):
            "; this worker may not write it (the file, its directory or its volume is read-only): make it writable (the attempt is retried)"
        case SQLITE_BUSY:
            "; another connection holds the database's write lock past the busy timeout (an sqlite3 shell left inside a transaction, a stuck or second worker writing to the same file): end that transaction or process (the attempt is retried)"
        case SQLITE_CANTOPEN:
            "; it, or its -wal/-shm files beside it, cannot be opened: check that the directory exists and is writable (the attempt is retried)"
        default: ""
        }
    }

    /// Runs one or more SQL statements without results.
    func execute(_ sql: String) throws(ETLError) {
        var message: UnsafeMutablePointer<CChar>?
        let status = sqlite3_exec(handle, sql, nil, nil, &message)
        if status != SQLITE_OK {
            let text = message.map { String(cString: $0) } ?? lastError
            sqlite3_free(message)
            throw ETLError(
                .database,
                "SQLite failed on '\(path)': \(text) (code \(status)) while running: \(sql.prefix(120))\(Self.advice(status, path: path))",
                nonRetryable: !Self.mayHeal(status))
        }
    }

    /// A cached prepared statement for `sql`, reset and with cleared bindings.
    func statement(_ sql: String) throws(ETLError) -> SQLiteStatement {
        if let cached = statements[sql] {
            cached.reset()
            return cached
        }
        var prepared: OpaquePointer?
        let status = sqlite3_prepare_v2(handle, sql, -1, &prepared, nil)
        guard status == SQLITE_OK, let prepared else { throw error("prepare", status: status) }
        let statement = SQLiteStatement(prepared, connection: self)
        statements[sql] = statement
        return statement
    }

    /// Runs `body` in a `BEGIN IMMEDIATE` transaction (taking the write lock up front, so
    /// concurrent writers wait on the busy timeout instead of deadlocking), committing on
    /// success and rolling back on error.
    func transaction<T>(_ body: () throws(ETLError) -> T) throws(ETLError) -> T {
        try inTransaction(begun: "BEGIN IMMEDIATE") { () throws(ETLError) -> T in
            if let schema = writesSchema {
                // Under the write lock a migration also takes: no newer build's schema can come
                // in before this transaction ends.
                try SchemaMismatch.refuseMigratedMeanwhile(
                    store: "the database '\(path)'", version: try scalarInt("PRAGMA user_version"), current: schema)
            }
            return try body()
        }
    }

    /// The schema version this connection's writes are made for, once its store is migrated:
    /// each write transaction refuses a store a newer build migrated since (a rolling upgrade's
    /// newer worker opened it while this one ran on).
    var writesSchema: Int?

    /// Runs `body` in a read transaction (deferred: no lock is taken until it reads), so that
    /// its reads see one snapshot of the store.
    func readTransaction<T>(_ body: () throws(ETLError) -> T) throws(ETLError) -> T {
        try inTransaction(begun: "BEGIN", body)
    }

    /// Runs `body` in the transaction `begin` starts, committing on success and rolling back on error.
    private func inTransaction<T>(begun begin: String, _ body: () throws(ETLError) -> T) throws(ETLError) -> T {
        try endTransactionLeftOpen()
        try execute(begin)
        do {
            let result = try body()
            try execute("COMMIT")
            return result
        } catch {
            try? execute("ROLLBACK")
            throw error
        }
    }

    /// A ROLLBACK that failed after an earlier error (an I/O error) left the connection in
    /// that transaction, holding the write lock: ended here first, or every later BEGIN (and
    /// `PRAGMA synchronous`) fails, not retryably ("cannot start a transaction within a
    /// transaction"), and other processes wait on the lock until this one exits.
    private func endTransactionLeftOpen() throws(ETLError) {
        if sqlite3_get_autocommit(handle) == 0 { try execute("ROLLBACK") }
    }

    /// A transaction whose commit is on disk when it returns, even across a power loss or an
    /// OS crash: `synchronous = FULL` for it (the WAL is synced at its commit), the
    /// connection's `NORMAL` otherwise. Under `NORMAL` a commit survives a killed process but
    /// the last ones may roll back after a power loss — harmless for staging and checkpoints
    /// (an attempt resumes from what the store still holds and the load verifies the batch),
    /// not for a load, whose success the workflow records and whose staging it deletes.
    func durableTransaction<T>(_ body: () throws(ETLError) -> T) throws(ETLError) -> T {
        try endTransactionLeftOpen()  // before the pragma, which SQLite refuses inside one
        try execute("PRAGMA synchronous = FULL")
        defer { try? execute("PRAGMA synchronous = NORMAL") }
        return try transaction(body)
    }

    /// Calls `body` after each commit with the number of frames in the WAL, instead of
    /// SQLite's auto-checkpoint (which a WAL hook replaces); when `body` returns `true`, the
    /// committing connection runs a `PASSIVE` checkpoint itself, as the auto-checkpoint did.
    func onWALCommit(_ body: @escaping (Int) -> Bool) {
        let hook = WALHook(body)
        walHook = hook
        sqlite3_wal_hook(
            handle,
            { context, db, _, frames in
                if let context, Unmanaged<WALHook>.fromOpaque(context).takeUnretainedValue().body(Int(frames)) {
                    sqlite3_wal_checkpoint_v2(db, nil, SQLITE_CHECKPOINT_PASSIVE, nil, nil)
                }
                return SQLITE_OK
            }, Unmanaged.passUnretained(hook).toOpaque())
    }

    /// Runs a `PASSIVE` checkpoint of the main database (copies as much of the WAL into the
    /// database file as it can without waiting for anyone); returns the SQLite status.
    @discardableResult
    func checkpoint() -> Int32 {
        sqlite3_wal_checkpoint_v2(handle, nil, SQLITE_CHECKPOINT_PASSIVE, nil, nil)
    }

    /// The single integer a query with `values` bound returns (e.g. `PRAGMA user_version`).
    func scalarInt(_ sql: String, _ values: [SQLiteValue] = []) throws(ETLError) -> Int {
        let statement = try statement(sql)
        defer { statement.reset() }
        if !values.isEmpty { try statement.bind(values) }
        guard try statement.step() else { return 0 }
        return statement.int(0)
    }
}

/// The closure behind `SQLiteConnection.onWALCommit`; the connection keeps it alive (and
/// closes its handle, and so the hook, before releasing it).
private final class WALHook {
    let body: (Int) -> Bool
    init(_ body: @escaping (Int) -> Bool) { self.body = body }
}

/// A prepared statement owned by a `SQLiteConnection`.
final class SQLiteStatement {
    private let handle: OpaquePointer
    private unowned let connection: SQLiteConnection

    init(_ handle: OpaquePointer, connection: SQLiteConnection) {
        self.handle = handle
        self.connection = connection
    }

    deinit { sqlite3_finalize(handle) }

    func reset() {
        sqlite3_reset(handle)
        sqlite3_clear_bindings(handle)
    }

    /// Binds parameters `?1…?n` in order (`nil` binds NULL).
    func bind(_ values: [SQLiteValue]) throws(ETLError) {
        for (offset, value) in values.enumerated() {
            let index = Int32(offset + 1)
            let status: Int32
            switch value {
            case .null: status = sqlite3_bind_null(handle, index)
            case .int(let number): status = sqlite3_bind_int64(handle, index, Int64(number))
            case .text(let text): status = sqlite3_bind_text(handle, index, text, -1, csqlite_transient())
            }
            guard status == SQLITE_OK else { throw connection.error("bind", status: status) }
        }
    }

    /// Binds `text` to parameter `index` (1-based), or NULL when `text` is nil. The UTF-8
    /// bytes go straight from the string's storage to SQLite (which copies them), with
    /// their length, so there is no C-string conversion and no `strlen`.
    func bind(_ index: Int32, _ text: String?) throws(ETLError) {
        let status: Int32
        if var text {
            status = text.withUTF8 { bytes in
                // A nil pointer would bind NULL, so an empty string binds the literal "".
                guard let base = bytes.baseAddress, !bytes.isEmpty else {
                    return sqlite3_bind_text(handle, index, "", 0, csqlite_transient())
                }
                return sqlite3_bind_text(
                    handle, index, UnsafeRawPointer(base).assumingMemoryBound(to: CChar.self), Int32(bytes.count), csqlite_transient())
            }
        } else {
            status = sqlite3_bind_null(handle, index)
        }
        guard status == SQLITE_OK else { throw connection.error("bind", status: status) }
    }

    /// Runs the statement with its current bindings (no rows expected) and resets it,
    /// keeping the bindings: callers rebind every parameter before the next run.
    func execute() throws(ETLError) {
        defer { sqlite3_reset(handle) }
        while try step() {}
    }

    /// Steps once: `true` when a row is available, `false` when done.
    func step() throws(ETLError) -> Bool {
        let status = sqlite3_step(handle)
        switch status {
        case SQLITE_ROW: return true
        case SQLITE_DONE: return false
        default: throw connection.error("step", status: status)
        }
    }

    /// Binds and runs a statement that returns no rows.
    func run(_ values: [SQLiteValue]) throws(ETLError) {
        defer { reset() }
        try bind(values)
        while try step() {}
    }

    func text(_ column: Int32) -> String? {
        guard sqlite3_column_type(handle, column) != SQLITE_NULL, let bytes = sqlite3_column_text(handle, column) else { return nil }
        return String(cString: bytes)
    }

    /// Appends the UTF-8 of `text(column)` to `buffer` (nothing for NULL) without making a
    /// `String` in the usual case: the text up to its first NUL, as `String(cString:)` reads it.
    /// Text that is not valid UTF-8 (only writers other than this store could leave it) is
    /// repaired as `String` repairs it, so the bytes are always the `String`'s.
    func appendText(_ column: Int32, to buffer: inout [UInt8]) {
        guard sqlite3_column_type(handle, column) != SQLITE_NULL, let bytes = sqlite3_column_text(handle, column) else { return }
        let stored = UnsafeBufferPointer(start: bytes, count: Int(sqlite3_column_bytes(handle, column)))
        let text = UnsafeBufferPointer(rebasing: stored[..<(stored.firstIndex(of: 0) ?? stored.endIndex)])
        if Self.isASCII(text) || String(validating: text, as: UTF8.self) != nil {
            buffer.append(contentsOf: text)
        } else {
            buffer.append(contentsOf: String(decoding: text, as: UTF8.self).utf8)
        }
    }

    /// Whether every byte is below 0x80, eight at a time.
    private static func isASCII(_ bytes: UnsafeBufferPointer<UInt8>) -> Bool {
        let raw = UnsafeRawBufferPointer(bytes)
        var offset = 0
        var seen: UInt64 = 0
        while offset + 8 <= raw.count {
            seen |= raw.loadUnaligned(fromByteOffset: offset, as: UInt64.self)
            offset += 8
        }
        while offset < raw.count {
            seen |= UInt64(raw[offset])
            offset += 1
        }
        return seen & 0x8080_8080_8080_8080 == 0
    }

    func int(_ column: Int32) -> Int { Int(sqlite3_column_int64(handle, column)) }
}

/// A value bound to a statement parameter.
enum SQLiteValue {
    case null
    case int(Int)
    case text(String)

    static func optional(_ text: String?) -> SQLiteValue { text.map(SQLiteValue.text) ?? .null }
}

extension SQLiteConnection {
    /// Creates the database file at `path`, if there is none, readable and writable by its owner
    /// alone (0600; SQLite gives its `-wal` and `-shm` files the same mode): it holds what the
    /// worker's credentials read, private bugs included, and was created as the umask allowed
    /// (usually readable by every user). An existing file keeps its mode; a name SQLite reads
    /// otherwise (`:memory:`, a `file:` URI, the empty temporary name) is left to it.
    static func createPrivately(_ path: String) {
        guard !path.isEmpty, path != ":memory:", !path.hasPrefix("file:") else { return }
        let descriptor = open(path, O_CREAT | O_EXCL | O_WRONLY | O_CLOEXEC, 0o600)
        if descriptor >= 0 { close(descriptor) }
    }

    /// " (in <working directory>)" for a relative path, so that a message names the file
    /// wherever the reader of a log stands; "" otherwise.
    static func relativeNote(_ path: String) -> String {
        guard !path.hasPrefix("/"), !path.isEmpty, path != ":memory:" else { return "" }
        return " (in \(FileManager.default.currentDirectoryPath))"
    }
}
