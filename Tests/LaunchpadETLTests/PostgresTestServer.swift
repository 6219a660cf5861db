import Foundation
import TemporalTestSupport
import Testing

@testable import LaunchpadETL
@testable import LaunchpadFixture

#if canImport(Glibc)
import Glibc
#endif

/// A throwaway PostgreSQL server (the newest installed) for the test process: `initdb` into a temporary
/// directory, `postgres` on a free port on 127.0.0.1 (as the `postgres` OS user when the tests
/// run as root, since postgres refuses to run as root). A watchdog shell stops the server
/// (fast shutdown) and removes its directory when the test process exits, however it exits.
final class PostgresTestServer: Sendable {
    /// Debian's PostgreSQL server binaries, of the newest version installed (as
    /// scripts/lib/throwaway-postgres.sh picks them): any Debian or Ubuntu release's, not only
    /// 15's (elsewhere every PostgreSQL test was skipped, and the run still green).
    static let binDirectory: String = {
        let root = "/usr/lib/postgresql"
        let versions = ((try? FileManager.default.contentsOfDirectory(atPath: root)) ?? []).compactMap { Int($0) }
        // A client-only version (postgresql-client-N beside an older server) has no initdb.
        let servers = versions.filter {
            FileManager.default.isExecutableFile(atPath: "\(root)/\($0)/bin/initdb")
                && FileManager.default.isExecutableFile(atPath: "\(root)/\($0)/bin/postgres")
        }
        return "\(root)/\(servers.max() ?? 15)/bin"
    }()

    /// Whether a server can be started here.
    static var isAvailable: Bool {
        let fm = FileManager.default
        guard fm.isExecutableFile(atPath: binDirectory + "/initdb"), fm.isExecutableFile(atPath: binDirectory + "/postgres") else {
            return false
        }
        return getuid() != 0 || (getpwnam("postgres") != nil && fm.isExecutableFile(atPath: "/usr/sbin/runuser"))
    }

    /// Why the PostgreSQL tests are disabled when `isAvailable` is false.
    static let unavailableReason: Comment =
        "PostgreSQL server binaries (Debian package `postgresql`, /usr/lib/postgresql/N/bin) are not installed, or the tests run as root without a `postgres` user; scripts/test installs them"

    let port: Int
    let directory: String
    private let process: Process

    private init(port: Int, directory: String, process: Process) {
        self.port = port
        self.directory = directory
        self.process = process
    }

    private static let sharedServer = SharedPostgres()

    /// The process-wide server, started on first use.
    static func shared() async throws -> PostgresTestServer {
        try await sharedServer.get()
    }

    /// A `postgres://` URL for `database` on this server.
    func url(database: String = "postgres") -> String {
        "postgres://postgres@127.0.0.1:\(port)/\(database)"
    }

    /// Creates a fresh database and returns its URL.
    func makeDatabase() throws -> String {
        let name = "t_" + UUID().uuidString.replacingOccurrences(of: "-", with: "").lowercased()
        let admin = try PostgresConnection(url: url())
        // CREATE DATABASE takes no parameters; the name is our own generated identifier.
        try admin.execute("CREATE DATABASE \(name)")
        return url(database: name)
    }

    /// Stops the server (fast shutdown) and waits for the watchdog to exit.
    func stop() {
        guard process.isRunning else { return }
        process.terminate()
        let deadline = ContinuousClock.now + .seconds(20)
        while process.isRunning, ContinuousClock.now < deadline { usleep(20_000) }
        if process.isRunning { kill(process.processIdentifier, SIGKILL) }
    }

    static func start() async throws -> PostgresTestServer {
        let root = NSTemporaryDirectory() + "lpetl-pg-" + UUID().uuidString.prefix(8).lowercased()
        let data = root + "/data"
        try FileManager.default.createDirectory(atPath: data, withIntermediateDirectories: true)
        let asRoot = getuid() == 0
        if asRoot { try run("/bin/chown", ["-R", "postgres:", root]) }
        let prefix = asRoot ? ["/usr/sbin/runuser", "-u", "postgres", "--"] : []
        try run(
            prefix.first ?? binDirectory + "/initdb",
            Array(prefix.dropFirst()) + (asRoot ? [binDirectory + "/initdb"] : [])
                + ["-D", data, "-U", "postgres", "--auth=trust", "-E", "UTF8", "--no-sync"])
        let port = try DevServer.freePort()
        // Room for every store the suites hold open at once when they run in parallel (each
        // keeps its connections until it is released): at 50, a run with one more store than
        // usual failed a test with "remaining connection slots are reserved".
        let command =
            (prefix + [
                binDirectory + "/postgres", "-D", data, "-p", "\(port)", "-k", root,
                "-c", "listen_addresses=127.0.0.1", "-c", "fsync=off", "-c", "max_connections=150",
            ])
            .map { "'\($0)'" }.joined(separator: " ")
        // The watchdog: run the server, fast-shut it down (SIGINT to the postmaster) when our
        // process (the shell's parent) goes away or the watchdog is told to stop.
        let process = try Watchdog.launch(
            command,
            shutdown: """
                pid=$(head -1 '\(data)/postmaster.pid' 2>/dev/null)
                [ -n "$pid" ] && kill -INT "$pid" 2>/dev/null
                i=0; while kill -0 $child 2>/dev/null && [ $i -lt 100 ]; do sleep 0.1; i=$((i+1)); done
                kill -KILL $child 2>/dev/null; [ -n "$pid" ] && kill -KILL "$pid" 2>/dev/null
                wait $child 2>/dev/null
                rm -rf '\(root)'
                """)
        let server = PostgresTestServer(port: port, directory: root, process: process)
        try await server.waitUntilReady()
        return server
    }

    /// Connects until the server accepts connections (30 s at most).
    func waitUntilReady(timeout: Duration = .seconds(30)) async throws {
        let deadline = ContinuousClock.now + timeout
        var lastError: (any Error)?
        while ContinuousClock.now < deadline {
            do {
                _ = try PostgresConnection(url: url() + "?connect_timeout=2")
                return
            } catch {
                lastError = error
                try await Task.sleep(for: .milliseconds(100))
            }
        }
        stop()
        throw ETLError(
            .database, "the test PostgreSQL server on port \(port) did not start: \(String(describing: lastError))", nonRetryable: true)
    }

    /// Runs a command to completion with output discarded; throws when it fails.
    private static func run(_ executable: String, _ arguments: [String]) throws {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: executable)
        process.arguments = arguments
        process.standardInput = FileHandle.nullDevice
        process.standardOutput = FileHandle.nullDevice
        process.standardError = FileHandle.nullDevice
        try process.run()
        let deadline = ContinuousClock.now + .seconds(120)
        while process.isRunning, ContinuousClock.now < deadline { usleep(20_000) }
        if process.isRunning {
            kill(process.processIdentifier, SIGKILL)
            throw ETLError(.database, "\(executable) \(arguments.joined(separator: " ")) timed out", nonRetryable: true)
        }
        guard process.terminationStatus == 0 else {
            throw ETLError(
                .database, "\(executable) \(arguments.joined(separator: " ")) exited with status \(process.terminationStatus)",
                nonRetryable: true)
        }
    }
}

/// Starts (once) and hands out the shared server.
private actor SharedPostgres {
    private var task: Task<PostgresTestServer, any Error>?

    func get() async throws -> PostgresTestServer {
        if let task { return try await task.value }
        let task = Task { try await PostgresTestServer.start() }
        self.task = task
        return try await task.value
    }
}

/// The event stores a test can run its flows on: SQLite always, PostgreSQL when its server
/// binaries are installed (scripts/test installs them).
enum TestStoreKind: String, CaseIterable, Sendable, CustomTestStringConvertible {
    case sqlite, postgres

    static var available: [TestStoreKind] { PostgresTestServer.isAvailable ? [.sqlite, .postgres] : [.sqlite] }

    var testDescription: String { rawValue }

    /// An `ETL_DB_URL` for a fresh, empty store of this kind.
    func freshLocation(_ directory: TemporaryDirectory) async throws -> String {
        switch self {
        case .sqlite: "sqlite://" + directory.file("events-\(UUID().uuidString.prefix(8)).db")
        case .postgres: try await PostgresTestServer.shared().makeDatabase()
        }
    }
}

/// `scripts/test` requires the PostgreSQL tests (`ETL_REQUIRE_POSTGRES=1`): where they cannot
/// run, this fails instead of the run passing with every PostgreSQL suite skipped.
@Suite struct PostgresRequiredTests {
    @Test func thePostgresTestsRunWhenRequired() {
        guard ProcessInfo.processInfo.environment["ETL_REQUIRE_POSTGRES"] == "1" else { return }
        #expect(PostgresTestServer.isAvailable, PostgresTestServer.unavailableReason)
    }
}
