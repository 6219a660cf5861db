import Foundation
import Logging
import Temporal

@testable import TemporalWorker

/// Books (an activity that runs until cancelled), and when the workflow is cancelled runs the
/// compensation activity "unbook" inside `nonCancellable`, then ends as cancelled.
final class Booking: Workflow {
    init() {}
    func run(context: WorkflowContext, input: NoValue) async throws -> String {
        var options = ActivityOptions(startToCloseTimeout: .seconds(60), heartbeatTimeout: .seconds(5))
        options.cancellationType = .tryCancel
        do {
            return try await context.executeActivity("book", options: options, as: String.self)
        } catch is CancellationError {
            // Outside the shield the workflow may not start anything any more.
            let refused = (try? await context.executeActivity("unbook", options: options, as: String.self)) == nil
            let undone = try await context.nonCancellable {
                try await context.executeActivity("unbook", options: .init(startToCloseTimeout: .seconds(10)), as: String.self)
            }
            context.logger.info("compensated: \(undone), refused outside the shield: \(refused)")
            throw CancellationError()
        }
    }
}

/// Runs `input` activities "tick" at once and returns when all finished.
final class Fanout: Workflow {
    init() {}
    func run(context: WorkflowContext, input: Int) async throws -> Int {
        try await withThrowingTaskGroup(of: String.self) { group in
            for i in 0..<input {
                group.addTask {
                    try await context.executeActivity("tick", input: i, options: .init(startToCloseTimeout: .seconds(30)), as: String.self)
                }
            }
            var count = 0
            for try await _ in group { count += 1 }
            return count
        }
    }
}

/// As `Fanout`, each activity with a schedule-to-close timeout only (30 s).
final class ClosingFanout: Workflow {
    init() {}
    func run(context: WorkflowContext, input: Int) async throws -> Int {
        try await withThrowingTaskGroup(of: String.self) { group in
            for i in 0..<input {
                group.addTask {
                    try await context.executeActivity(
                        "tick", input: i, options: .init(scheduleToCloseTimeout: .seconds(30)), as: String.self)
                }
            }
            var count = 0
            for try await _ in group { count += 1 }
            return count
        }
    }
}

/// Upserts typed search attributes and memo, and reads its own writes.
final class Progressing: Workflow {
    static let stage = SearchAttributeKey.keyword("SwiftTestStage")
    static let rows = SearchAttributeKey.int("SwiftTestRows")
    init() {}
    func run(context: WorkflowContext, input: NoValue) async throws -> String {
        context.upsertSearchAttributes(Self.stage.value("extracting"))
        try await context.sleep(for: .milliseconds(10))
        context.upsertSearchAttributes(Self.stage.value("loaded"), Self.rows.value(42))
        try context.upsertMemo(["note": "halfway there", "scratch": nil])
        return "\(context.searchAttribute(Self.stage) ?? "-")/\(context.searchAttribute(Self.rows) ?? -1)"
    }
}

/// Moves a secret through every kind of payload: input, a signal, an activity's input,
/// heartbeat details, failure details (first attempt) and result, and the workflow result.
final class Sealed: Workflow {
    var note = ""
    init() {}
    func run(context: WorkflowContext, input: String) async throws -> String {
        context.setSignalHandler("note", as: String.self) { self.note = $0 }
        try await context.condition { !self.note.isEmpty }
        var options = ActivityOptions(startToCloseTimeout: .seconds(10), heartbeatTimeout: .seconds(10))
        options.retryPolicy = RetryPolicy(initialInterval: .milliseconds(100), backoffCoefficient: 1, maximumAttempts: 3)
        let step = try await context.executeActivity("sealedStep", input: input + "|" + note, options: options, as: String.self)
        return "sealed:" + step
    }
}

/// `Sealed`'s activity: heartbeats a secret; its first attempt fails with a secret detail.
let sealedStep = ActivityDefinition("sealedStep") { (value: String, ctx: ActivityContext) -> String in
    ctx.heartbeat("progress of \(value)")
    if ctx.info.attempt == 1 {
        // Details go through the worker's converter (codecs) by default.
        throw try ApplicationError("first attempt", type: "TryAgain", details: "detail of \(value)")
    }
    return "step(\(value))"
}

/// Local activities: one, two at once (one flaky, retried in the worker), a normal activity,
/// and one that fails for good.
final class LocalSteps: Workflow {
    init() {}
    func run(context: WorkflowContext, input: String) async throws -> [String] {
        let quick = LocalActivityOptions(startToCloseTimeout: .seconds(5))
        let retried = LocalActivityOptions(
            startToCloseTimeout: .seconds(5),
            retryPolicy: RetryPolicy(initialInterval: .milliseconds(20), maximumAttempts: 5))
        let a = try await context.executeLocalActivity("upper", input: input, options: quick, as: String.self)
        async let b = context.executeLocalActivity("upper", input: a + "-b", options: quick, as: String.self)
        async let c = context.executeLocalActivity("flaky", input: "c", options: retried, as: String.self)
        let (bv, cv) = try await (b, c)
        let d = try await context.executeActivity("echo", input: "d", options: .init(startToCloseTimeout: .seconds(5)), as: String.self)
        var fatal = "-"
        do {
            _ = try await context.executeLocalActivity("fatal", input: "e", options: retried, as: String.self)
        } catch let error as ActivityError {
            fatal = "\(error.applicationError?.type ?? "?")/\(error.retryState)"
        }
        return [a, bv, cv, d, fatal]
    }
}

/// `LocalSteps` after a change that calls another local activity first: replaying a
/// `LocalSteps` history with it must report nondeterminism.
final class LocalStepsChanged: Workflow {
    static var name: String { "LocalSteps" }
    init() {}
    func run(context: WorkflowContext, input: String) async throws -> [String] {
        [try await context.executeLocalActivity("flaky", input: input, options: .init(startToCloseTimeout: .seconds(5)), as: String.self)]
    }
}

/// A local activity whose backoff is longer than its local retry threshold: retried after
/// durable timers.
final class LocalWithTimers: Workflow {
    init() {}
    func run(context: WorkflowContext, input: NoValue) async throws -> String {
        let options = LocalActivityOptions(
            startToCloseTimeout: .seconds(5),
            retryPolicy: RetryPolicy(initialInterval: .milliseconds(200), backoffCoefficient: 1, maximumAttempts: 4),
            localRetryThreshold: .milliseconds(100))
        return try await context.executeLocalActivity("thirdTime", options: options, as: String.self)
    }
}

/// One local activity longer than the workflow task timeout it runs under.
final class LongLocal: Workflow {
    init() {}
    func run(context: WorkflowContext, input: Double) async throws -> String {
        try await context.executeLocalActivity(
            "slowLocal", input: input, options: .init(startToCloseTimeout: .seconds(30)), as: String.self)
    }
}

/// An update whose handler runs a local activity.
final class LocalUpdater: Workflow {
    var done = false
    init() {}
    func run(context: WorkflowContext, input: NoValue) async throws -> String {
        context.setUpdateHandler("shout", argument: String.self) { text in
            try await context.executeLocalActivity("upper", input: text, options: .init(startToCloseTimeout: .seconds(5)), as: String.self)
        }
        context.setSignalHandler("done") { self.done = true }
        try await context.condition { self.done && context.allHandlersFinished }
        return "ok"
    }
}

/// Races a slow local activity against a quick one and cancels the loser.
final class AbandonsLocal: Workflow {
    init() {}
    func run(context: WorkflowContext, input: NoValue) async throws -> String {
        let options = LocalActivityOptions(startToCloseTimeout: .seconds(60))
        return try await withThrowingTaskGroup(of: String.self) { group in
            group.addTask { try await context.executeLocalActivity("slowLocal", input: 30.0, options: options, as: String.self) }
            group.addTask { try await context.executeLocalActivity("slowLocal", input: 0.05, options: options, as: String.self) }
            let first = try await group.next() ?? "none"
            group.cancelAll()
            return "first: \(first)"
        }
    }
}

/// Races a quick local activity against a one-minute durable timer, cancels the timer, then
/// sleeps briefly: the cancelled timer was created in the same workflow task as the local
/// activity, so its StartTimer must never reach the server.
final class LocalBeatsTimer: Workflow {
    init() {}
    func run(context: WorkflowContext, input: NoValue) async throws -> String {
        let options = LocalActivityOptions(startToCloseTimeout: .seconds(10))
        let first = try await withThrowingTaskGroup(of: String.self) { group in
            group.addTask { try await context.executeLocalActivity("slowLocal", input: 0.05, options: options, as: String.self) }
            group.addTask {
                try await context.sleep(for: .seconds(60))
                return "timer"
            }
            let first = try await group.next() ?? "none"
            group.cancelAll()
            return first
        }
        try await context.sleep(for: .milliseconds(100))
        return "first: \(first)"
    }
}

/// Runs activity "beatsUntilStopped" (heartbeat timeout 30 s, retried after 200 ms).
final class RunsBeatsUntilStopped: Workflow {
    init() {}
    func run(context: WorkflowContext, input: NoValue) async throws -> String {
        let options = ActivityOptions(
            startToCloseTimeout: .seconds(120), heartbeatTimeout: .seconds(30),
            retryPolicy: RetryPolicy(initialInterval: .milliseconds(200), backoffCoefficient: 1))
        return try await context.executeActivity("beatsUntilStopped", options: options, as: String.self)
    }
}

/// Sleeps six seconds.
final class SleepsSixSeconds: Workflow {
    init() {}
    func run(context: WorkflowContext, input: NoValue) async throws -> String {
        try await context.sleep(for: .seconds(6))  // room for a loaded box to stop a worker before it fires
        return "woke"
    }
}

/// A local activity retried once in the worker, then after a timer (attempt 3 succeeds).
final class LocalRetriesThenTimer: Workflow {
    init() {}
    func run(context: WorkflowContext, input: NoValue) async throws -> String {
        let options = LocalActivityOptions(
            startToCloseTimeout: .seconds(5),
            retryPolicy: RetryPolicy(initialInterval: .milliseconds(50), backoffCoefficient: 4, maximumAttempts: 5),
            localRetryThreshold: .milliseconds(100))
        return try await context.executeLocalActivity("thirdTime", options: options, as: String.self)
    }
}

/// Finishes in its first workflow task.
final class Instant: Workflow {
    init() {}
    func run(context: WorkflowContext, input: String) async throws -> String { "at once: \(input)" }
}
