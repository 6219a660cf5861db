import Foundation
import Temporal

/// A benchmark worker in its own process: ours (`TemporalBench worker`) or the Python SDK's.
final class WorkerProcess {
    enum Kind: String, CaseIterable {
        case swift, python
    }

    let kind: Kind
    let process: Process

    /// The CPU quota the process runs under, if any.
    let quota: CPUQuota?

    init(kind: Kind, address: String, taskQueue: String, extraArguments: [String] = [], cpuLimit: Double? = nil) throws {
        self.kind = kind
        let p = Process()
        switch kind {
        case .swift:
            var (executable, leading) = Self.swiftWorkerCommand()
            // A command to run the worker under instead (scripts/bench-callgrind: valgrind and a
            // copy of the worker without debug info), words separated by spaces.
            if let wrapper = ProcessInfo.processInfo.environment["TEMPORAL_BENCH_WORKER_COMMAND"], !wrapper.isEmpty {
                executable = URL(fileURLWithPath: "/usr/bin/env")  // finds the command on PATH
                leading = wrapper.split(separator: " ").map(String.init)
            }
            p.executableURL = executable
            p.arguments = leading + ["--address", address, "--task-queue", taskQueue] + extraArguments
        case .python:
            p.executableURL = URL(fileURLWithPath: "/usr/bin/env")
            p.arguments = ["python3", Self.pythonWorkerPath(), address, taskQueue]
        }
        let out = Pipe()
        p.standardOutput = out
        p.standardInput = FileHandle.nullDevice
        let quota = try cpuLimit.map { try CPUQuota(limit: $0) }
        if let quota, let executable = p.executableURL {
            // Into the quota before the worker starts, as a container runtime does: a shell
            // writes its own pid to the group, then becomes the worker (same pid). The worker
            // sees its limit from its first instruction (WorkerOptions.fitThreadsToCPULimit).
            p.arguments = ["-c", "echo $$ > \"$0\"; exec \"$@\"", quota.processesFile, executable.path] + (p.arguments ?? [])
            p.executableURL = URL(fileURLWithPath: "/bin/sh")
        }
        try p.run()
        process = p
        self.quota = quota
        do {
            try quota?.add(pid: p.processIdentifier)  // already there; kept for a shell that could not write
        } catch {
            p.terminate()
            quota?.remove()
            throw error
        }
        // Wait for "ready".
        var seen = ""
        let deadline = Date().addingTimeInterval(60)
        while !seen.contains("ready") {
            let chunk = out.fileHandleForReading.availableData
            if chunk.isEmpty || Date() > deadline {
                p.terminate()
                throw TemporalError(
                    kind: .invalidArgument, message: "the \(kind) benchmark worker did not start (python: is `temporalio` installed?)")
            }
            seen += String(decoding: chunk, as: UTF8.self)
        }
    }

    var stats: ProcessStats? { ProcessStats.read(pid: process.processIdentifier) }
    var pid: Int32 { process.processIdentifier }

    func stop() {
        guard process.isRunning else { return }
        process.terminate()
        // TEMPORAL_BENCH_WORKER_STOP_SECONDS: longer for a worker under valgrind (default 15).
        let grace = ProcessInfo.processInfo.environment["TEMPORAL_BENCH_WORKER_STOP_SECONDS"].flatMap(Double.init) ?? 15
        let deadline = Date().addingTimeInterval(grace)
        while process.isRunning, Date() < deadline { usleep(20_000) }
        if process.isRunning { kill(process.processIdentifier, SIGKILL) }
        process.waitUntilExit()
        quota?.remove()
    }

    /// The lean `TemporalBenchWorker` executable next to this one (`swift build --product
    /// TemporalBenchWorker`), or else `TemporalBench worker` (same worker, but a process that
    /// also maps LaunchpadETL's libraries and full Foundation, so its RSS is higher).
    static func swiftWorkerCommand() -> (URL, [String]) {
        let me = URL(fileURLWithPath: "/proc/self/exe").resolvingSymlinksInPath()
        let lean = me.deletingLastPathComponent().appendingPathComponent("TemporalBenchWorker")
        if ProcessInfo.processInfo.environment["TEMPORAL_BENCH_INPROCESS_WORKER"] != "1",
            FileManager.default.isExecutableFile(atPath: lean.path)
        {
            return (lean, [])
        }
        FileHandle.standardError.write(
            Data("note: using `TemporalBench worker` (build TemporalBenchWorker for the lean worker process)\n".utf8))
        return (me, ["worker"])
    }

    /// scripts/bench/python_bench_worker.py, found from the working directory or next to the source.
    static func pythonWorkerPath() -> String {
        let candidates = [
            FileManager.default.currentDirectoryPath + "/scripts/bench/python_bench_worker.py",
            URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
                .deletingLastPathComponent().appendingPathComponent("scripts/bench/python_bench_worker.py").path,
        ]
        return candidates.first { FileManager.default.fileExists(atPath: $0) } ?? candidates[0]
    }
}
