#if canImport(Glibc)
import Glibc
#endif

/// Lines for the starters' standard output, written at once with `write(2)`: `print` buffers
/// whole blocks when stdout is a file or pipe, so an interrupted starter would lose the
/// `started <id>` lines the user needs to find its workflows.
public enum ConsoleOutput {
    /// Writes `text` and a newline to standard output, unbuffered.
    public static func line(_ text: String) {
        var bytes = Array((text + "\n").utf8)[...]
        while !bytes.isEmpty {
            let written = bytes.withUnsafeBytes { write(1, $0.baseAddress, $0.count) }
            if written < 0 {
                if errno == EINTR { continue }
                return
            }
            bytes = bytes.dropFirst(written)
        }
    }
}
