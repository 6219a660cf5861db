public import Foundation

#if canImport(Glibc)
import Glibc
#endif

/// Runs a server for tests under a watchdog shell that stops it when the test process goes
/// away, however that happens (the shared servers are never stopped explicitly).
public enum Watchdog {
    /// The default shutdown: SIGTERM, then SIGKILL after 2 s. A child may have SIGTERM ignored
    /// (inherited from a test process that ignores it to handle it itself), and waiting on it
    /// then hung for ever, leaking the child (the TLS tests' proxies outlived their runs).
    public static let terminateChild =
        "kill $child 2>/dev/null; n=0; while kill -0 $child 2>/dev/null && [ $n -lt 10 ]; do sleep 0.2; n=$((n+1)); done; kill -9 $child 2>/dev/null; wait $child"

    /// Starts `command` (a shell command line) in the background.
    /// - Parameter shutdown: shell lines that stop it (`$child` is its pid); default:
    ///   `terminateChild`.
    /// - Returns: the watchdog shell; stopping it (`terminate`) runs `shutdown`.
    public static func launch(_ command: String, shutdown: String = Watchdog.terminateChild) throws -> Process {
        let script = """
            \(command) >/dev/null 2>&1 &
            child=$!
            finish() {
            \(shutdown)
            exit 0
            }
            trap finish TERM INT
            while kill -0 \(getpid()) 2>/dev/null && kill -0 $child 2>/dev/null; do sleep 0.5; done
            finish
            """
        let p = Process()
        p.executableURL = URL(fileURLWithPath: "/bin/sh")
        p.arguments = ["-c", script]
        p.standardInput = FileHandle.nullDevice
        // Never inherit the test's stdout/stderr: `swift test` waits for those pipes to close.
        p.standardOutput = FileHandle.nullDevice
        p.standardError = FileHandle.nullDevice
        try p.run()
        return p
    }
}
