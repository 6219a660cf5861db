#if canImport(Glibc)
import Glibc
#endif

/// Lines for the starters' standard output, written at once with `write(2)`: `print` buffers
/// whole blocks when stdout is a file or pipe, so an interrupted starter would lose the
/// `started <id>` lines the user needs to find its workflows.
public enum ConsoleOutput {
    /// Writes `text` and a newline to standard output, unbuffered.
    public static func line(_ text: String) { write(text, to: 1) }

    /// Writes `text` and a newline to standard error, unbuffered (a warning, apart from what
    /// scripts read on standard output).
    public static func warning(_ text: String) { write(text, to: 2) }

    private static func write(_ text: String, to descriptor: Int32) {
        var bytes = Array((text + "\n").utf8)[...]
        while !bytes.isEmpty {
            let written = bytes.withUnsafeBytes { Glibc.write(descriptor, $0.baseAddress, $0.count) }
            if written < 0 {
                if errno == EINTR { continue }
                return
            }
            bytes = bytes.dropFirst(written)
        }
    }
}
