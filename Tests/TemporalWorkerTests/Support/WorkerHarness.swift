import Foundation
import Synchronization
import Temporal
import TemporalTestSupport
import Testing

@testable import TemporalWorker

/// A unique task queue per test, so tests run in parallel against one server.
func uniqueQueue(_ prefix: String = "wt") -> String { "\(prefix)-\(UUID().uuidString.prefix(8))" }

/// Runs `body`, failing with `FlowTimeout` after `seconds` (TemporalTestSupport's `within`).
func withTimeout<T: Sendable>(_ seconds: Double, _ body: @escaping @Sendable () async throws -> T) async throws -> T {
    try await within(seconds, body)
}

/// A running worker on its own task queue.
final class RunningWorker: Sendable {
    let worker: Worker
    let client: TemporalClient
    let runTask: Task<Void, any Error>
    var taskQueue: String { worker.taskQueue }

    init(worker: Worker) {
        self.worker = worker
        self.client = worker.client
        runTask = Task { try await worker.run() }
    }

    func stop(grace: Duration = .seconds(1)) async {
        await worker.shutdown(gracePeriod: grace)
        _ = await runTask.result
    }
}

func startWorker(
    taskQueue: String = uniqueQueue(), workflows: [any Workflow.Type] = [], activities: [ActivityDefinition] = [],
    configure: (inout WorkerOptions) -> Void = { _ in }
) async throws -> RunningWorker {
    let client = try await DevServer.client()
    var options = WorkerOptions()
    options.gracefulShutdownTimeout = .seconds(1)
    configure(&options)
    return RunningWorker(
        worker: Worker(client: client, taskQueue: taskQueue, workflows: workflows, activities: activities, options: options))
}

/// Runs `body` with a worker and stops it afterwards, bounded by `timeout` seconds.
func withWorker<T: Sendable>(
    workflows: [any Workflow.Type] = [], activities: [ActivityDefinition] = [], timeout: Double = 60,
    configure: (inout WorkerOptions) -> Void = { _ in },
    _ body: @escaping @Sendable (RunningWorker) async throws -> T
) async throws -> T {
    let running = try await startWorker(workflows: workflows, activities: activities, configure: configure)
    do {
        let value = try await withTimeout(timeout) { try await body(running) }
        await running.stop()
        return value
    } catch {
        await running.stop(grace: .zero)
        throw error
    }
}

/// A thread-safe counter/box for activities to report what they saw.
final class Counter: Sendable {
    private let value = Mutex(0)
    @discardableResult func increment() -> Int {
        value.withLock {
            $0 += 1
            return $0
        }
    }
    @discardableResult func decrement() -> Int {
        value.withLock {
            $0 -= 1
            return $0
        }
    }
    var current: Int { value.withLock { $0 } }
    /// Raises the value to `candidate` if it is higher, in one step (a peak gauge).
    func raise(to candidate: Int) { value.withLock { $0 = max($0, candidate) } }
}

final class Flag: Sendable {
    private let value = Mutex(false)
    func set() { value.withLock { $0 = true } }
    var isSet: Bool { value.withLock { $0 } }
}

/// Polls `condition` until true (bounded).
func eventually(_ seconds: Double = 10, _ condition: @Sendable () async throws -> Bool) async throws -> Bool {
    let deadline = Date().addingTimeInterval(seconds)
    while Date() < deadline {
        if (try? await condition()) == true { return true }
        try await Task.sleep(for: .milliseconds(100))
    }
    return false
}

extension RunningWorker {
    func start<W: Workflow>(_ type: W.Type, _ args: any Encodable..., id: String = "wf-\(UUID().uuidString)") async throws -> WorkflowHandle
    {
        try await client.startWorkflow(type: W.name, id: id, taskQueue: taskQueue, arguments: args)
    }
}

/// Runs a process to its end on a thread of its own (blocking a cooperative thread could starve
/// the worker the process talks to); its standard output and error.
func runProcess(_ path: String, _ arguments: [String], timeout: Double = 90) async throws -> String {
    let p = Process()
    p.executableURL = URL(fileURLWithPath: path)
    p.arguments = arguments
    let out = Pipe()
    p.standardOutput = out
    p.standardError = out
    try p.run()
    let killer = DispatchWorkItem { if p.isRunning { p.terminate() } }
    DispatchQueue.global().asyncAfter(deadline: .now() + timeout, execute: killer)
    defer { killer.cancel() }
    return await withCheckedContinuation { (continuation: CheckedContinuation<String, Never>) in
        DispatchQueue.global().async {
            let data = out.fileHandleForReading.readDataToEndOfFile()
            p.waitUntilExit()
            continuation.resume(returning: String(decoding: data, as: UTF8.self))
        }
    }
}

func curl(_ arguments: [String]) async throws -> String { try await runProcess("/usr/bin/curl", ["--max-time", "20"] + arguments) }

func temporalCLI(_ arguments: [String]) async throws -> String { try await runProcess(try DevServer.findTemporalCLI(), arguments) }

/// Values recorded from any thread (activities, alarms, executions), in arrival order.
final class Recorded<T: Sendable>: Sendable {
    private let storage = Mutex<[T]>([])
    func append(_ value: T) { storage.withLock { $0.append(value) } }
    func removeAll() { storage.withLock { $0.removeAll() } }
    var values: [T] { storage.withLock { $0 } }
}
