import Foundation
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
        throw try ApplicationError("first attempt", type: "TryAgain", details: "detail of \(value)", converter: ctx.dataConverter)
    }
    return "step(\(value))"
}
