import Foundation
import Synchronization
import Temporal

/// A worker of the official Python SDK (`Tests/peers/python_worker.py`) polling a task queue:
/// the independent peer that proves our client and worker interoperate with another SDK.
public final class PythonPeer: Sendable {
    public let taskQueue: String
    private let process: Process

    private init(taskQueue: String, process: Process) {
        self.taskQueue = taskQueue
        self.process = process
    }

    /// Starts the peer on `taskQueue` and waits until it prints "ready".
    public static func start(address: String, taskQueue: String, namespace: String = "default") async throws -> PythonPeer {
        let script = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .appendingPathComponent("peers/python_worker.py").path
        let p = Process()
        p.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        p.arguments = ["python3", script, address, taskQueue, namespace]
        let out = Pipe()
        p.standardOutput = out
        p.standardError = FileHandle.nullDevice
        p.standardInput = FileHandle.nullDevice
        try p.run()
        let ready = await waitForOutput(out.fileHandleForReading, containing: "ready", timeout: 60)
        guard ready else {
            p.terminate()
            throw TemporalError(
                kind: .invalidArgument,
                message: "the Python peer worker did not start: is the `temporalio` package installed (pip install temporalio)?")
        }
        return PythonPeer(taskQueue: taskQueue, process: p)
    }

    /// Stops the peer.
    public func stop() {
        process.stop(grace: .milliseconds(500))  // the Python SDK worker is slow to honour SIGTERM
    }
}

/// Reads `handle` on a background thread until a chunk contains `text` (true), EOF or timeout (false).
func waitForOutput(_ handle: FileHandle, containing text: String, timeout: Double) async -> Bool {
    await withCheckedContinuation { (continuation: CheckedContinuation<Bool, Never>) in
        let once = ResumeOnce(continuation)
        DispatchQueue.global().async {
            var seen = ""
            while true {
                let chunk = handle.availableData
                if chunk.isEmpty {
                    once.resume(false)
                    return
                }
                seen += String(decoding: chunk, as: UTF8.self)
                if seen.contains(text) {
                    once.resume(true)
                    return
                }
            }
        }
        DispatchQueue.global().asyncAfter(deadline: .now() + timeout) { once.resume(false) }
    }
}

private final class ResumeOnce: Sendable {
    private let continuation: Mutex<CheckedContinuation<Bool, Never>?>
    init(_ c: CheckedContinuation<Bool, Never>) { continuation = Mutex(c) }
    func resume(_ value: Bool) {
        let c = continuation.withLock { c -> CheckedContinuation<Bool, Never>? in
            defer { c = nil }
            return c
        }
        c?.resume(returning: value)
    }
}
