import Dispatch
import Foundation
public import LaunchpadETL
import Synchronization

/// Runs the `LaunchpadFixtureServer` executable on a free port, for tests and benchmarks.
public final class FixtureServerProcess: Sendable {
    /// The service root to give the ETL, e.g. `http://127.0.0.1:41234/`.
    public let serviceRoot: String
    private let process: Mutex<Process?>

    /// Starts the server (`--port 0`) with `arguments` (e.g. `["--latency-ms", "50"]`) and
    /// waits until it prints its address.
    ///
    /// The executable is `executablePath`, else `LP_FIXTURE_SERVER_BIN`, else
    /// `LaunchpadFixtureServer` next to the running binary (SwiftPM's build directory).
    public static func start(arguments: [String] = [], executablePath: String? = nil) async throws(ETLError) -> FixtureServerProcess {
        guard let path = executablePath ?? locateExecutable() else {
            throw ETLError(
                .fixture,
                "cannot find the LaunchpadFixtureServer executable; build it (swift build --product LaunchpadFixtureServer) or set LP_FIXTURE_SERVER_BIN",
                nonRetryable: true)
        }
        let process = Process()
        process.executableURL = URL(fileURLWithPath: path)
        process.arguments = ["--port", "0"] + arguments
        let output = Pipe()
        process.standardOutput = output
        process.standardError = FileHandle.standardError
        do {
            try process.run()
        } catch {
            throw ETLError(.fixture, "cannot start \(path): \(error)", nonRetryable: true, cause: error)
        }
        let reader = output.fileHandleForReading
        let line: String? = await withCheckedContinuation { continuation in
            DispatchQueue(label: "LaunchpadETL.FixtureServerProcess").async {
                var buffer = Data()
                while true {
                    let chunk = reader.availableData
                    if chunk.isEmpty { break }
                    buffer.append(chunk)
                    if let text = String(data: buffer, encoding: .utf8), let newline = text.firstIndex(of: "\n") {
                        continuation.resume(returning: String(text[text.startIndex..<newline]))
                        return
                    }
                }
                continuation.resume(returning: nil)
            }
        }
        guard let line, let range = line.range(of: "http://") else {
            process.terminate()
            throw ETLError(.fixture, "LaunchpadFixtureServer did not report its address (got \(line ?? "EOF"))", nonRetryable: true)
        }
        return FixtureServerProcess(serviceRoot: String(line[range.lowerBound...]).trimmingSpaces, process: process)
    }

    private init(serviceRoot: String, process: sending Process) {
        self.serviceRoot = serviceRoot
        self.process = Mutex(process)
    }

    /// Stops the server (SIGTERM) and waits for it to exit.
    public func stop() {
        let running = process.withLock { current -> Process? in
            let taken = current
            current = nil
            return taken
        }
        guard let running else { return }
        if running.isRunning { running.terminate() }
        running.waitUntilExit()
    }

    deinit { stop() }

    static func locateExecutable() -> String? {
        if let configured = ProcessInfo.processInfo.environment["LP_FIXTURE_SERVER_BIN"], !configured.isEmpty { return configured }
        var candidates: [String] = []
        if let exe = try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe") { candidates.append(exe) }
        candidates.append(CommandLine.arguments.first ?? "")
        candidates.append(Bundle.main.executablePath ?? "")
        for candidate in candidates where !candidate.isEmpty {
            var directory = URL(fileURLWithPath: candidate).deletingLastPathComponent()
            for _ in 0..<4 {
                let path = directory.appendingPathComponent("LaunchpadFixtureServer").path
                if FileManager.default.isExecutableFile(atPath: path) { return path }
                directory = directory.deletingLastPathComponent()
            }
        }
        return nil
    }
}
