import Foundation
import TemporalTestSupport
import Testing

@testable import LaunchpadETL
@testable import LaunchpadFixture

/// The error `body` throws, or nil when it succeeds.
private func thrownError<T>(_ body: () async throws(ETLError) -> T) async -> ETLError? {
    do {
        let value = try await body()
        withExtendedLifetime(value) {}
        return nil
    } catch {
        return error
    }
}

/// The error `body` throws, or nil when it succeeds.
private func syncThrownError<T>(_ body: () throws(ETLError) -> T) -> ETLError? {
    do {
        let value = try body()
        withExtendedLifetime(value) {}
        return nil
    } catch {
        return error
    }
}

/// `EventStoreFactory` URL handling; needs no server.
@Suite struct PostgresEventStoreFactoryTests {
    @Test func locationsParseByScheme() throws {
        #expect(try EventStoreLocation(url: "sqlite:///var/lib/etl/events.db") == .sqlite(path: "/var/lib/etl/events.db"))
        #expect(try EventStoreLocation(url: "sqlite://events.db") == .sqlite(path: "events.db"))
        #expect(try EventStoreLocation(url: "/tmp/events.db") == .sqlite(path: "/tmp/events.db"))
        #expect(try EventStoreLocation(url: "launchpad_events.db") == .sqlite(path: "launchpad_events.db"))
        #expect(try EventStoreLocation(url: "postgres://etl:secret@db:5432/etl") == .postgres(url: "postgres://etl:secret@db:5432/etl"))
        #expect(try EventStoreLocation(url: "POSTGRESQL://db/etl") == .postgres(url: "POSTGRESQL://db/etl"))
        #expect(EventStoreLocation.postgres(url: "postgres://etl:secret@db:5432/etl").description == "postgres://etl:***@db:5432/etl")
    }

    /// libpq also takes a password as a URI query parameter and in its keyword form; neither
    /// may reach a log line, and the keyword form is PostgreSQL, not a SQLite file of that name.
    @Test func passwordsInQueryParametersAndKeywordStringsAreRedacted() throws {
        let query = "postgres://db.example.com:5432/etl?user=etl&password=s3cret&sslmode=require"
        #expect(EventStoreLocation.redacted(query) == "postgres://db.example.com:5432/etl?user=etl&password=***&sslmode=require")
        #expect(EventStoreLocation.redacted("postgres://u:p4ss@h/etl?password=s3cret") == "postgres://u:***@h/etl?password=***")
        // A password on the command line is in the process list for every user: said so.
        #expect(EventStoreLocation.passwordOnCommandLine("postgres://u:p4ss@h/etl", option: "--db-url")?.contains("ETL_DB_URL") == true)
        #expect(EventStoreLocation.passwordOnCommandLine("postgres://u@h/etl", option: "--db-url") == nil)
        #expect(EventStoreLocation.passwordOnCommandLine(nil, option: "--db-url") == nil)
        let keywords = "host=db dbname=etl user=etl password=s3cret sslpassword='k e y' port=5432"
        #expect(try EventStoreLocation(url: keywords) == .postgres(url: keywords))
        #expect(EventStoreLocation.redacted(keywords) == "host=db dbname=etl user=etl password=*** sslpassword=*** port=5432")
        #expect(EventStoreLocation.redacted("dbname = etl password = 'it\\'s' host=db") == "dbname = etl password = *** host=db")
        #expect(try EventStoreLocation(url: "password=s3cret host=db").description == "password=*** host=db")
        // A password holding `?`, a keyword string holding `://`, an escaped space.
        #expect(EventStoreLocation.redacted("postgres://u:pa?ss@h/db") == "postgres://u:***@h/db")
        // A password holding an unencoded `/` (base64 ones do) was shown whole.
        #expect(EventStoreLocation.redacted("postgres://etl:Ab3/xyz@db:5432/etl") == "postgres://etl:***@db:5432/etl")
        // … and such a URL is refused before libpq reads part of the password as a host and port.
        let slashed = syncThrownError { () throws(ETLError) in try EventStoreLocation(url: "postgres://etl:Ab3/xyz@db:5432/etl") }
        #expect(slashed.map { $0.message.contains("%2F") && !$0.message.contains("Ab3") } == true, "\(String(describing: slashed))")
        #expect(try EventStoreLocation(url: "postgres://db:5432/etl?user=a@b") == .postgres(url: "postgres://db:5432/etl?user=a@b"))
        #expect(try EventStoreLocation(url: "host=db password=p://x") == .postgres(url: "host=db password=p://x"))
        #expect(EventStoreLocation.redacted("host=db password=p://x") == "host=db password=***")
        #expect(EventStoreLocation.redacted("host=db password=a\\ b user=u") == "host=db password=*** user=u")
        let odd = syncThrownError { () throws(ETLError) in try EventStoreLocation(url: "weird password=s3cret://x") }
        #expect(odd.map { !$0.message.contains("s3cret") } == true, "\(String(describing: odd))")
        // Not passwords, not keyword strings.
        #expect(
            EventStoreLocation.redacted("postgres://h/etl?application_name=passwordless")
                == "postgres://h/etl?application_name=passwordless")
        #expect(try EventStoreLocation(url: "hostnames.db") == .sqlite(path: "hostnames.db"))
        #expect(try EventStoreLocation(url: "/data/host=1/events.db") == .sqlite(path: "/data/host=1/events.db"))
    }

    @Test func unsupportedOrEmptyURLsAreClearErrors() {
        let unsupported = syncThrownError { () throws(ETLError) in try EventStoreLocation(url: "mysql://etl:secret@db/etl") }
        #expect(unsupported != nil, "mysql:// was accepted")
        if let error = unsupported {
            #expect(error.code == .database)
            #expect(error.nonRetryable)
            #expect(error.message.contains("unsupported scheme 'mysql'"))
            #expect(error.message.contains("ETL_DB_URL"))
            #expect(!error.message.contains("secret"))
        }
        #expect(throws: ETLError.self) { try EventStoreLocation(url: "  ") }
        #expect(throws: ETLError.self) { try EventStoreLocation(url: "sqlite://") }
    }

    @Test func factoryOpensSQLiteByURLAndEnvironment() async throws {
        let directory = try TemporaryDirectory()
        let store = try await EventStoreFactory.open(url: "sqlite://" + directory.file("a.db"))
        #expect(store is SQLiteEventStore)
        #expect(try await store.insertEventsBatch([try sampleEvent(1), try sampleEvent(2)]) == 2)
        #expect(try await store.eventCount() == 2)

        let fromURL = try await EventStoreFactory.fromEnvironment(["ETL_DB_URL": directory.file("b.db")])
        #expect((fromURL as? SQLiteEventStore)?.path == directory.file("b.db"))
        let fromPath = try await EventStoreFactory.fromEnvironment(["ETL_DB_URL": "", "ETL_DB_PATH": directory.file("c.db")])
        #expect((fromPath as? SQLiteEventStore)?.path == directory.file("c.db"))
    }

    @Test func refusedPortNamesHostPortAndVariable() async throws {
        let port = try DevServer.freePort()
        let refused = await thrownError { () async throws(ETLError) in
            try await EventStoreFactory.open(url: "postgres://etl:secret@127.0.0.1:\(port)/etl")
        }
        #expect(refused != nil, "connected to a port nobody listens on")
        if let error = refused {
            #expect(error.code == .database)
            #expect(!error.nonRetryable)
            #expect(error.message.contains("127.0.0.1:\(port)"))
            #expect(error.message.contains("ETL_DB_URL"))
            #expect(!error.message.contains("secret"))
        }
    }

    /// A URL libpq cannot parse is refused without libpq's message, which repeats the part it
    /// could not read — a whole password with a stray `%` in a URL, the tail of an unquoted
    /// keyword value with a space — and says how to write it. Libpq's message went into the
    /// error (the worker's stderr, its journal) as it was.
    @Test func aURLLibpqCannotParseIsRefusedWithoutItsPassword() async throws {
        for (url, secrets) in [
            ("postgres://etl:s3%zzcret@127.0.0.1:1/etl", ["s3%zz", "zzcret"]),
            ("host=127.0.0.1 port=1 password=abc def", ["abc", "def"]),
            // Where libpq's reading of the user info and a mask's could differ.
            ("postgres://etl:p?ss%zz@127.0.0.1:1/etl", ["ss%zz"]), ("postgres://etl:pa/ss%zz@127.0.0.1:1/etl", ["ss%zz"]),
            ("postgres://etl:p@ss%zz@127.0.0.1:1/etl", ["ss%zz"]), ("postgres://127.0.0.1:1/etl?password=se%zzret", ["se%zz"]),
        ] {
            let error = await thrownError { () async throws(ETLError) in try await PostgresEventStore.connect(url: url) }
            #expect(error?.code == .database && error?.nonRetryable == true, "\(String(describing: error))")
            let message = error?.message ?? ""
            for secret in secrets { #expect(!message.contains(secret), "\(message)") }
            #expect(message.contains("%25") && message.contains("ETL_DB_URL"), "\(message)")
        }
        // Libpq's reason is kept where it cannot hold the password: a URL's typo is named.
        let typo = await thrownError { () async throws(ETLError) in
            try await PostgresEventStore.connect(url: "postgres://127.0.0.1:1/etl?sslmod=require")
        }
        #expect(typo?.message.contains("sslmod") == true && typo?.message.contains("s3cret") == false, "\(String(describing: typo))")
    }

    /// A password with an unencoded `@` is refused before connecting, without any of it: libpq
    /// reads the user information up to the first `@`, so the rest of the password became the
    /// host, and "could not connect to PostgreSQL at ssw0rd@127.0.0.1:1" showed it.
    @Test func aPasswordWithAnAtSignIsRefusedWithoutShowingIt() async throws {
        for url in ["postgres://etl:p@ssw0rd@127.0.0.1:1/etl", "postgresql://etl:p@ssw0rd@127.0.0.1:1/etl?sslmode=disable"] {
            let error = await thrownError { () async throws(ETLError) in try await EventStoreFactory.open(url: url) }
            let message = error?.message ?? ""
            #expect(error?.code == .database && error?.nonRetryable == true, "\(String(describing: error))")
            #expect(!message.contains("ssw0rd") && message.contains("%40") && message.contains("ETL_DB_URL"), "\(message)")
        }
    }

    @Test func malformedPostgresURLIsAClearError() async throws {
        let malformed = await thrownError { () async throws(ETLError) in
            try await PostgresEventStore.connect(url: "postgres://etl@127.0.0.1:notaport/etl")
        }
        #expect(malformed != nil, "a malformed URL was accepted")
        if let error = malformed {
            #expect(error.code == .database)
            #expect(error.message.contains("ETL_DB_URL"))
        }
    }

    @Test func batchesAreSplitByIdOrderAndRepeats() throws {
        let a = try sampleEvent(1)
        let b = try sampleEvent(2)
        var a2 = a
        a2.addRelationProperty("status", "Fixed")
        let statements = PostgresEventStore.statements(for: [b, a, a2])
        #expect(statements.map { $0.map(\.id) } == [[a.id], [a.id, b.id]])
        #expect(statements[1][0] == a2)
        let many = try (0..<2_500).map { try sampleEvent($0) }
        #expect(PostgresEventStore.statements(for: many).map(\.count) == [1_000, 1_000, 500])
    }
}

/// `PostgresEventStore` against a real PostgreSQL 15 server started for the test run.
@Suite(.enabled(if: PostgresTestServer.isAvailable, PostgresTestServer.unavailableReason))
struct PostgresEventStoreTests {
    private func freshStore() async throws -> PostgresEventStore {
        let server = try await PostgresTestServer.shared()
        return try await PostgresEventStore.connect(url: try server.makeDatabase())
    }

    @Test func upsertIsIdempotentAndRoundTrips() async throws {
        let store = try await freshStore()
        #expect(try await store.schemaVersion() == PostgresSchema.currentVersion)
        let events = try (0..<50).map { try sampleEvent($0) }
        #expect(try await store.insertEventsBatch(events) == 50)
        #expect(try await store.eventCount() == 50)
        #expect(try await store.insertEventsBatch(events) == 0)
        #expect(try await store.insertEvent(events[0]) == 0)
        var changed = events[3]
        changed.addRelationProperty("status", "Fix Released")
        #expect(try await store.insertEventsBatch([changed, events[4]]) == 1)
        #expect(try await store.insertEventsBatch([changed]) == 0)
        let stored = try await store.events()
        #expect(stored.count == 50)
        #expect(stored.first { $0.id == changed.id } == changed)
        #expect(Set(stored) == Set(events.map { $0.id == changed.id ? changed : $0 }))
        #expect(try await store.eventCount(employeeId: "alice-example") == 50)
        #expect(try await store.eventCount(employeeId: "nobody") == 0)
        #expect(try await store.insertEventsBatch([]) == 0)
    }

    @Test func matchesSQLiteForRepeatedIdsAndLargeBatches() async throws {
        let store = try await freshStore()
        let directory = try TemporaryDirectory()
        let sqlite = try SQLiteEventStore(path: directory.file("events.db"))
        let first = try sampleEvent(7)
        var second = first
        second.addRelationProperty("status", "Triaged")
        let batch = [first, second, first] + (try (0..<2_345).map { try sampleEvent(100 + $0, day: 6) })
        let expected = try await sqlite.insertEventsBatch(batch)
        #expect(try await store.insertEventsBatch(batch) == expected)
        #expect(try await store.eventCount() == sqlite.eventCount())
        #expect(try await store.events() == sqlite.events())
        #expect(try await store.insertEventsBatch(batch) == sqlite.insertEventsBatch(batch))
        // The report's counts (GROUP BY member, week, type) agree too.
        let counts = try await store.eventCounts()
        #expect(counts == (try await sqlite.eventCounts()))
        #expect(counts.reduce(0) { $0 + $1.count } == 2_346)
        // Every store has an identity, made once.
        #expect(store.identity.isShared && store.identity.id.count == 32)
    }

    /// A role that may only read and write rows (no CREATE on the schema: PostgreSQL 15's
    /// default for `public`) runs workers on a current store; before, every connection ran a
    /// CREATE TABLE IF NOT EXISTS and was refused (42501), so no worker started. On a database
    /// that still needs its schema, it is told what to do.
    @Test func aRoleWithRowAccessOnlyUsesACurrentStore() async throws {
        let server = try await PostgresTestServer.shared()
        let url = try server.makeDatabase()
        let owner = try await PostgresEventStore.connect(url: url)
        let role = "rows_" + UUID().uuidString.prefix(8).lowercased()
        try await owner.perform { connection throws(ETLError) in
            try connection.execute("CREATE ROLE \(role) LOGIN")
            try connection.execute("GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA public TO \(role)")
        }
        let asRole = { (url: String) in url.replacingOccurrences(of: "postgres://postgres@", with: "postgres://\(role)@") }
        let worker = try await PostgresEventStore.connect(url: asRole(url))
        #expect(try await worker.insertEventsBatch([try sampleEvent(1)]) == 1)
        #expect(try await owner.eventCount() == 1)

        let error = await etlError { try await PostgresEventStore.connect(url: asRole(try server.makeDatabase())) }
        #expect(error?.message.contains("this role may not") == true, "\(String(describing: error))")
        #expect(error?.nonRetryable == true)
    }

    @Test func reconnectKeepsSchemaAndIndexesExist() async throws {
        let server = try await PostgresTestServer.shared()
        let url = try server.makeDatabase()
        let store = try await PostgresEventStore.connect(url: url)
        _ = try await store.insertEvent(try sampleEvent(1))
        let again = try await EventStoreFactory.open(url: url)
        #expect(again is PostgresEventStore)
        #expect(try await again.eventCount() == 1)
        let indexes = try await store.perform { connection throws(ETLError) in
            try connection.query("SELECT indexname FROM pg_indexes WHERE tablename = $1 ORDER BY indexname", ["events"]).rows.compactMap {
                $0.first ?? nil
            }
        }
        #expect(indexes.contains("events_employee_week"))
        #expect(indexes.contains("events_type"))
        let versions = try await store.perform { connection throws(ETLError) in
            try connection.scalarInt("SELECT count(*) FROM schema_version")
        }
        #expect(versions == PostgresSchema.currentVersion)
    }

    @Test func concurrentWritersLeaveNoDuplicates() async throws {
        let server = try await PostgresTestServer.shared()
        let url = try server.makeDatabase()
        let writerA = try await PostgresEventStore.connect(url: url)
        let writerB = try await PostgresEventStore.connect(url: url)
        let eventsA = try (0..<3_000).map { try sampleEvent($0, employee: "team-\($0 % 7)") }
        let eventsB = try (1_500..<4_500).map { try sampleEvent($0, employee: "team-\($0 % 7)") }
        async let a = Self.load(writerA, eventsA, reversed: false)
        async let b = Self.load(writerB, eventsB, reversed: true)
        let (changedA, changedB) = try await (a, b)
        // Every event has one content, so each of the 4,500 rows is written exactly once.
        #expect(changedA + changedB == 4_500)
        #expect(try await writerA.eventCount() == 4_500)
        let distinct = try await writerB.perform { connection throws(ETLError) in
            try connection.scalarInt("SELECT count(DISTINCT id) FROM events")
        }
        #expect(distinct == 4_500)
        #expect(try await writerA.insertEventsBatch(eventsB) == 0)
    }

    /// Writes `events` in shuffled chunks of 700, optionally last chunk first.
    private static func load(_ store: PostgresEventStore, _ events: [Event], reversed: Bool) async throws -> Int {
        var chunks = stride(from: 0, to: events.count, by: 700).map { Array(events[$0..<min($0 + 700, events.count)]) }
        if reversed { chunks.reverse() }
        var changed = 0
        for chunk in chunks { changed += try await store.insertEventsBatch(chunk.shuffled()) }
        return changed
    }

    /// The loads' locking assumes READ COMMITTED (a load that waited for another's member lock
    /// must see what that load committed): a database whose default is another isolation level
    /// does not change it. Before, `BEGIN` took the database's default.
    @Test func transactionsAreReadCommittedWhateverTheDatabasesDefault() async throws {
        let server = try await PostgresTestServer.shared()
        let url = try server.makeDatabase()
        let admin = try PostgresConnection(url: server.url())
        let database = String(url.split(separator: "/").last ?? "")
        try admin.execute("ALTER DATABASE \(database) SET default_transaction_isolation = 'repeatable read'")
        let connection = try PostgresConnection(url: url)
        #expect(try connection.query("SHOW transaction_isolation").rows.first?.first == "repeatable read")
        let level = try connection.transaction { () throws(ETLError) in try connection.query("SHOW transaction_isolation").rows.first?.first
        }
        #expect(level == "read committed")
    }

    /// Launchpad text with a NUL character (U+0000) loads: it is kept as U+FFFD, as PostgreSQL's
    /// `jsonb` refuses NUL. Before, the staged batch's load failed on every attempt, and the
    /// member's flow with it.
    @Test func aNULCharacterInLaunchpadTextLoads() async throws {
        let store = try await PostgresEventStore.connect(url: try await PostgresTestServer.shared().makeDatabase())
        let event = try Event(
            id: "b-7-c", parentId: "b-7", employeeId: "alice-example", type: "bug:created", timeUTC: "2024-03-05T10:00:00Z",
            relationProperties: ["bug_id": .int(7), "title": .string("nul\u{0}here"), "tags": .array([.string("a\u{0}")])])
        try await store.stageEvents([event], batchId: "nul")
        let outcome = try await store.loadBatch(try await store.stagedBatch("nul"))
        #expect(outcome.changed == 1)
        let stored = try await store.events(employeeId: "alice-example")
        #expect(stored.first?.relationProperties["title"] == .string("nul\u{FFFD}here"))
        #expect(stored.first?.relationProperties["tags"] == .array([.string("a\u{FFFD}")]))
    }

    /// A write refused because the server is read-only (a standby after a failover) is
    /// retryable and says why, and the next statement connects again (where libpq may find the
    /// new primary). Before, it failed the activity for good.
    @Test func aReadOnlyServerIsRetryableAndReconnects() async throws {
        let server = try await PostgresTestServer.shared()
        let url = try server.makeDatabase()
        let store = try await PostgresEventStore.connect(url: url)
        let pid = try await store.perform { connection throws(ETLError) in try connection.scalarInt("SELECT pg_backend_pid()") }
        let admin = try PostgresConnection(url: server.url())
        let database = String(url.split(separator: "/").last ?? "")
        try admin.execute("ALTER DATABASE \(database) SET default_transaction_read_only = on")
        // Sessions started before the change keep their setting: make this one read-only too.
        try await store.perform { connection throws(ETLError) in try connection.execute("SET default_transaction_read_only = on") }
        let event = try sampleEvent(1)
        let error = await thrownError({ () async throws(ETLError) in _ = try await store.insertEvent(event) })
        #expect(error?.nonRetryable == false && error?.message.contains("read-only") == true, "\(String(describing: error))")
        try admin.execute("ALTER DATABASE \(database) SET default_transaction_read_only = off")
        #expect(try await store.insertEvent(event) == 1)
        let newPid = try await store.perform { connection throws(ETLError) in try connection.scalarInt("SELECT pg_backend_pid()") }
        #expect(newPid != pid)
    }

    /// A worker does not start on a server it cannot write to (a standby, a read-only
    /// database): on a current schema the migration writes nothing, so it started, polled the
    /// store's queue and read a lagging copy. A report still reads there.
    @Test func aWorkerRefusesAReadOnlyServerAReportReadsIt() async throws {
        let server = try await PostgresTestServer.shared()
        let url = try server.makeDatabase()
        _ = try await PostgresEventStore.connect(url: url)  // the schema, current
        let admin = try PostgresConnection(url: server.url())
        let database = String(url.split(separator: "/").last ?? "")
        try admin.execute("ALTER DATABASE \(database) SET default_transaction_read_only = on")
        defer { try? admin.execute("ALTER DATABASE \(database) SET default_transaction_read_only = off") }
        let error = await thrownError { () async throws(ETLError) in try await PostgresEventStore.connect(url: url) }
        #expect(
            error?.nonRetryable == false && error?.message.contains("target_session_attrs=read-write") == true,
            "\(String(describing: error))")
        _ = try await PostgresEventStore.connectForReading(url: url)
    }

    /// A database whose `events` table another application made (no `schema_version`) is
    /// refused, saying so: migration 1 adopted the table, and later ones altered it or failed
    /// with an SQL error that did not say why.
    @Test func anotherApplicationsEventsTableIsRefused() async throws {
        let server = try await PostgresTestServer.shared()
        let url = try server.makeDatabase()
        let other = try PostgresConnection(url: url)
        try other.execute("CREATE TABLE events (id TEXT PRIMARY KEY, event_type TEXT)")
        let error = await thrownError { () async throws(ETLError) in try await PostgresEventStore.connect(url: url) }
        #expect(
            error?.nonRetryable == true && error?.message.contains("did not create") == true, "\(String(describing: error))")
        #expect(try other.scalarInt("SELECT count(*) FROM information_schema.columns WHERE table_name = 'events'") == 2)
        // A schema of its own first on the search path: the store is made there, beside theirs.
        try other.execute("CREATE SCHEMA launchpad_etl")
        let own = try await PostgresEventStore.connect(url: url + "?options=-csearch_path%3Dlaunchpad_etl%2Cpublic")
        #expect(try await own.insertEvent(try sampleEvent(1)) == 1)
        #expect(try other.scalarInt("SELECT count(*) FROM launchpad_etl.events") == 1)
    }

    /// Data sent and not acknowledged (a network dropped mid-statement) fails the call within two
    /// minutes (TCP user timeout), unless the URL says otherwise: it held the call, and the
    /// worker's store queue behind it, for the kernel's 15 minutes of retransmissions.
    @Test func aConnectionGivesUpOnUnacknowledgedDataWithinTwoMinutes() async throws {
        let server = try await PostgresTestServer.shared()
        let url = try server.makeDatabase()
        #expect(try PostgresConnection(url: url).option("tcp_user_timeout") == "120000")
        #expect(try PostgresConnection(url: url + "?tcp_user_timeout=5000").option("tcp_user_timeout") == "5000")
    }

    @Test func droppedConnectionIsRetryableThenReconnects() async throws {
        let server = try await PostgresTestServer.shared()
        let store = try await PostgresEventStore.connect(url: try server.makeDatabase())
        _ = try await store.insertEvent(try sampleEvent(1))
        let pid = try await store.perform { connection throws(ETLError) in try connection.scalarInt("SELECT pg_backend_pid()") }
        let admin = try PostgresConnection(url: server.url())
        try admin.query("SELECT pg_terminate_backend($1::integer)", [String(pid)])
        // The first statement on the dead connection may fail (retryably); the next reconnects.
        if let error = await thrownError({ () async throws(ETLError) in try await store.eventCount() }) {
            #expect(!error.nonRetryable)
        }
        #expect(try await store.eventCount() == 1)
        #expect(try await store.insertEvent(try sampleEvent(2)) == 1)
        // A transaction's BEGIN on a session the server ended goes again on a new one at once:
        // it wrote nothing (it failed the write, and an activity's attempt with it).
        let next = try await store.perform { connection throws(ETLError) in try connection.scalarInt("SELECT pg_backend_pid()") }
        try admin.query("SELECT pg_terminate_backend($1::integer)", [String(next)])
        try await Task.sleep(for: .milliseconds(200))
        #expect(try await store.insertEvent(try sampleEvent(3)) == 1)
        #expect(try await store.eventCount() == 3)
    }

    @Test func factoryPicksPostgresAndSQLErrorsAreClear() async throws {
        let server = try await PostgresTestServer.shared()
        let store = try await EventStoreFactory.fromEnvironment([
            "ETL_DB_URL": try server.makeDatabase(), "ETL_DB_PATH": "/nonexistent/x.db",
        ])
        #expect(store is PostgresEventStore)
        let missing = await thrownError { () async throws(ETLError) in
            try await EventStoreFactory.open(url: server.url(database: "no_such_database"))
        }
        #expect(missing != nil, "connected to a database that does not exist")
        if let error = missing {
            #expect(error.message.contains("no_such_database"))
            #expect(error.message.contains("127.0.0.1:\(server.port)"))
        }
        guard let postgres = store as? PostgresEventStore else { return }
        let badQuery = await thrownError { () async throws(ETLError) in
            try await postgres.perform { connection throws(ETLError) in
                try connection.query("SELECT count(*) FROM no_such_table WHERE id = $1", ["x"]).rows.count
            }
        }
        #expect(badQuery != nil, "a bad query succeeded")
        if let error = badQuery {
            #expect(error.message.contains("no_such_table"))
            #expect(error.message.contains("42P01"))
            #expect(error.nonRetryable)
        }
    }
}
