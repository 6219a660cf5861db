public import Foundation

#if canImport(Glibc)
import Glibc
#endif

/// Runs a server for tests under a watchdog shell that stops it when the test process goes
/// away, however that happens (the shared servers are never stopped explicitly).
public enum Watchdog {
    /// A shutdown: SIGTERM, then SIGKILL once `seconds` passed, so that a child that ignores
    /// SIGTERM is not waited on for ever (the TLS tests' proxies outlived their runs).
    public static func terminateChild(after seconds: Int = 2) -> String {
        "kill $child 2>/dev/null; n=0; while kill -0 $child 2>/dev/null && [ $n -lt \(seconds * 5) ]; do sleep 0.2; n=$((n+1)); done; "
            + "kill -0 $child 2>/dev/null && kill -9 $child 2>/dev/null; wait $child"
    }

    /// Whether this system's `env` can reset signal dispositions (`--default-signal`, coreutils
    /// 8.31 and later).
    private static let envResetsSignals: Bool = {
        let probe = Process()
        probe.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        probe.arguments = ["--default-signal=TERM,INT", "true"]
        probe.standardOutput = FileHandle.nullDevice
        probe.standardError = FileHandle.nullDevice
        guard (try? probe.run()) != nil else { return false }
        probe.waitUntilExit()
        return probe.terminationStatus == 0
    }()

    /// Starts `command` (a shell command line) in the background.
    ///
    /// The shell and the command start with SIGTERM and SIGINT at their default dispositions
    /// where `env` can reset them: a test process that ignores them (to handle them itself)
    /// would pass that on, and a shell that starts with a signal ignored cannot trap it, so
    /// `terminate()` did nothing.
    /// - Parameter shutdown: shell lines that stop it (`$child` is its pid); default:
    ///   `terminateChild()`.
    /// - Returns: the watchdog shell; stopping it (`terminate`) runs `shutdown`.
    public static func launch(_ command: String, shutdown: String = Watchdog.terminateChild()) throws -> Process {
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
        if envResetsSignals {
            p.executableURL = URL(fileURLWithPath: "/usr/bin/env")
            p.arguments = ["--default-signal=TERM,INT", "/bin/sh", "-c", script]
        } else {
            p.executableURL = URL(fileURLWithPath: "/bin/sh")
            p.arguments = ["-c", script]
        }
        p.standardInput = FileHandle.nullDevice
        // Never inherit the test's stdout/stderr: `swift test` waits for those pipes to close.
        p.standardOutput = FileHandle.nullDevice
        p.standardError = FileHandle.nullDevice
        try p.run()
        return p
    }
}
