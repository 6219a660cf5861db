import Foundation
#if canImport(Glibc)
import Glibc
#endif
import Temporal

/// Starts the Python SDK peer (Tests/peers/python_worker.py) and waits for "ready", reading its
/// output on a dedicated thread. (TemporalTestSupport's `PythonPeer.start` waits with
/// `FileHandle.bytes.lines`, which does not deliver the line on Linux and hangs.)
final class PeerProcess: Sendable {
    private let process: Process

    private init(process: Process) { self.process = process }

    static func start(address: String, taskQueue: String) async throws -> PeerProcess {
        let script = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().appendingPathComponent("peers/python_worker.py").path
        let p = Process()
        p.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        p.arguments = ["python3", script, address, taskQueue, "default"]
        let out = Pipe()
        p.standardOutput = out
        p.standardError = FileHandle.nullDevice
        p.standardInput = FileHandle.nullDevice
        try p.run()
        let handle = out.fileHandleForReading
        let ready = await withCheckedContinuation { (c: CheckedContinuation<Bool, Never>) in
            Thread.detachNewThread {
                var text = ""
                while true {
                    let data = handle.availableData
                    if data.isEmpty { c.resume(returning: false); return }
                    text += String(decoding: data, as: UTF8.self)
                    if text.contains("ready") { c.resume(returning: true); return }
                }
            }
        }
        guard ready else {
            p.terminate()
            throw TemporalError(kind: .invalidArgument, message: "the Python peer did not start (is `temporalio` installed?)")
        }
        return PeerProcess(process: p)
    }

    /// Kills the peer (SIGKILL: the Python SDK worker does not exit promptly on SIGTERM).
    func stop() {
        if process.isRunning {
            kill(process.processIdentifier, SIGKILL)
            process.waitUntilExit()
        }
    }
}
