import Foundation
import Logging
import Synchronization
import Temporal

@testable import TemporalWorker

/// How `RunActivity` calls its activity.
struct ActivityCall: Codable, Sendable {
    var activity: String
    var input: String = ""
    var startToClose: Double = 10
    var heartbeat: Double?
    var maxAttempts: Int?
    var taskQueue: String?
}

/// Calls one activity; reports failures in its result instead of failing.
final class RunActivity: Workflow {
    init() {}
    func run(context: WorkflowContext, input: ActivityCall) async throws -> String {
        var options = ActivityOptions(taskQueue: input.taskQueue, startToCloseTimeout: .milliseconds(Int(input.startToClose * 1000)))
        if let h = input.heartbeat { options.heartbeatTimeout = .milliseconds(Int(h * 1000)) }
        options.retryPolicy = RetryPolicy(initialInterval: .milliseconds(100), backoffCoefficient: 1, maximumAttempts: input.maxAttempts)
        do {
            return try await context.executeActivity(input.activity, input: input.input, options: options, as: String.self)
        } catch let error as ActivityError {
            return "error:\(error.applicationError?.type ?? "")|timeout:\(error.timeoutType.map { "\($0)" } ?? "")"
        }
    }
}

/// Runs a heartbeating activity and cancels it after a 1 s timer; `input`: its heartbeat
/// timeout in seconds (none: 5).
final class CancelActivity: Workflow {
    init() {}
    func run(context: WorkflowContext, input: Double?) async throws -> String {
        try await withThrowingTaskGroup(of: String.self) { group in
            group.addTask {
                // 5 s: a 1 s heartbeat timeout expired on a loaded CI box before the cancellation reached the activity.
                let heartbeat = Duration.milliseconds(Int((input ?? 5) * 1000))
                var options = ActivityOptions(startToCloseTimeout: .seconds(120), heartbeatTimeout: heartbeat)
                options.cancellationType = .waitCancellationCompleted
                do {
                    return try await context.executeActivity("cancellable", options: options, as: String.self)
                } catch is CancellationError {
                    return "cancelled"
                }
            }
            try await context.sleep(for: .seconds(1))
            group.cancelAll()
            return try await group.next() ?? "none"
        }
    }
}

/// Sleeps and returns the workflow-clock time that passed.
final class Sleeper: Workflow {
    init() {}
    func run(context: WorkflowContext, input: Double) async throws -> Double {
        let start = context.now
        try await context.sleep(for: .milliseconds(Int(input * 1000)))
        return context.now.timeIntervalSince(start)
    }
}

/// Sleeps `input` seconds twice at once.
final class TwinTimers: Workflow {
    init() {}
    func run(context: WorkflowContext, input: Int) async throws -> String {
        async let first: Void = context.sleep(for: .seconds(input))
        async let second: Void = context.sleep(for: .seconds(input))
        _ = try await (first, second)
        return "done"
    }
}

/// Adds the numbers signalled as `add` until they reach `input`; query `count` says how far.
final class SignalTally: Workflow {
    var count = 0
    init() {}
    func run(context: WorkflowContext, input: Int) async throws -> Int {
        context.setSignalHandler("add", as: Int.self) { self.count += $0 }
        context.setQueryHandler("count") { self.count }
        try await context.condition { self.count >= input }
        return count
    }
}

/// Answers query `count` while a local activity (`waitsForTheQuery`) runs.
final class LocalThenTally: Workflow {
    init() {}
    func run(context: WorkflowContext, input: Int) async throws -> String {
        context.setQueryHandler("count") { input }
        return try await context.executeLocalActivity(
            "waitsForTheQuery", input: "x", options: LocalActivityOptions(startToCloseTimeout: .seconds(60)), as: String.self)
    }
}

/// Continues as new until `input` reaches 0.
final class Countdown: Workflow {
    init() {}
    func run(context: WorkflowContext, input: Int) async throws -> String {
        if input > 0 { try context.continueAsNew(input: input - 1) }
        return "done in run \(context.info.runID.prefix(4)) continued from \(context.info.continuedRunID != nil)"
    }
}

/// Fails deliberately.
final class Refuse: Workflow {
    init() {}
    func run(context: WorkflowContext, input: NoValue) async throws -> String {
        throw ApplicationError("nope", type: "Nope", nonRetryable: true)
    }
}

/// Many activities in parallel batches: a long history.
final class ManyActivities: Workflow {
    init() {}
    func run(context: WorkflowContext, input: [Int]) async throws -> Int {
        let (batches, width) = (input[0], input[1])
        var total = 0
        for batch in 0..<batches {
            total += try await withThrowingTaskGroup(of: Int.self) { group in
                for i in 0..<width {
                    group.addTask {
                        try await context.executeActivity("echo", input: "\(batch)-\(i)", options: tenSeconds, as: String.self).count > 0
                            ? 1 : 0
                    }
                }
                var n = 0
                for try await x in group { n += x }
                return n
            }
        }
        return total
    }
}

/// Three activities in a row.
final class ThreeSteps: Workflow {
    init() {}
    func run(context: WorkflowContext, input: String) async throws -> String {
        var value = input
        for step in ["step1", "step2", "step3"] {
            value = try await context.executeActivity(step, input: value, options: tenSeconds, as: String.self)
        }
        return value
    }
}

/// Behaves differently on every execution in this process: nondeterministic.
final class FlipFlop: Workflow {
    static let executions = Mutex(0)
    init() {}
    func run(context: WorkflowContext, input: NoValue) async throws -> String {
        let n = Self.executions.withLock {
            $0 += 1
            return $0
        }
        let first = try await context.executeActivity(n == 1 ? "greet" : "welcome", input: "x", options: tenSeconds, as: String.self)
        try await context.sleep(for: .milliseconds(100))
        return first
    }
}

/// Takes a JSON object (CLI interop).
struct HelloInput: Codable, Sendable { var name: String }

final class Hello: Workflow {
    init() {}
    func run(context: WorkflowContext, input: HelloInput) async throws -> String {
        try await context.executeActivity("greet", input: input.name, options: tenSeconds, as: String.self)
    }
}

/// Waits for cancellation on a long timer.
final class SleepLong: Workflow {
    init() {}
    func run(context: WorkflowContext, input: NoValue) async throws -> String {
        try await context.sleep(for: .seconds(600))
        return "woke"
    }
}

/// Uses deterministic randomness and the logger; signals through a channel.
final class Channelled: Workflow {
    init() {}
    func run(context: WorkflowContext, input: Int) async throws -> [String] {
        let channel = context.signalChannel("word", as: String.self)
        context.logger.info("waiting for \(input) words")
        var words: [String] = []
        for _ in 0..<input { words.append(try await channel.receive()) }
        _ = context.uuid()
        return words
    }
}

let greet = ActivityDefinition("greet") { (name: String, _: ActivityContext) in "hi \(name)" }
let echo = ActivityDefinition("echo") { (value: String, _: ActivityContext) in value }

/// Signals another workflow ("add" 3), then a workflow that does not exist.
final class Forwarder: Workflow {
    init() {}
    func run(context: WorkflowContext, input: String) async throws -> String {
        try await context.signalExternalWorkflow(workflowID: input, signal: "add", 3)
        do {
            try await context.signalExternalWorkflow(workflowID: "missing-\(input)", signal: "add", 1)
            return "sent; missing: delivered?"
        } catch let error as ApplicationError {
            return "sent; missing: \(error.type)"
        }
    }
}

/// Continues as new on signal "next" (its input counting the runs), returns its input on
/// "finish"; query "round" answers the input.
final class ChainOnSignal: Workflow {
    var next = false
    var finish = false
    init() {}
    func run(context: WorkflowContext, input: Int) async throws -> Int {
        context.setSignalHandler("next") { self.next = true }
        context.setSignalHandler("finish") { self.finish = true }
        context.setQueryHandler("round") { input }
        try await context.condition { self.next || self.finish }
        if finish { return input }
        try context.continueAsNew(input: input + 1)
    }
}
