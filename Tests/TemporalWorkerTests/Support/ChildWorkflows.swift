import Foundation
import Temporal
import TemporalProto

@testable import TemporalWorker

/// A child: doubles its input.
final class Doubler: Workflow {
    init() {}
    func run(context: WorkflowContext, input: Int) async throws -> Int { input * 2 }
}

/// A child that fails with `ApplicationError` type "ChildBoom".
final class FailingChild: Workflow {
    init() {}
    func run(context: WorkflowContext, input: String) async throws -> String {
        throw ApplicationError("child says \(input)", type: "ChildBoom", nonRetryable: true)
    }
}

/// Doubles every input in a child workflow, at most two children running at a time.
final class BoundedParent: Workflow {
    init() {}
    func run(context: WorkflowContext, input: [Int]) async throws -> [Int] {
        try await withThrowingTaskGroup(of: (Int, Int).self) { group in
            var results = [Int](repeating: 0, count: input.count)
            for (index, value) in input.enumerated() {
                if index >= 2, case (let done, let result)? = try await group.next() { results[done] = result }
                group.addTask { (index, try await context.executeChildWorkflow(Doubler.self, input: value)) }
            }
            for try await (done, result) in group { results[done] = result }
            return results
        }
    }
}

/// Same name as BoundedParent, but its children are of another type: a nondeterministic change.
final class BoundedParentChanged: Workflow {
    static var name: String { "BoundedParent" }
    init() {}
    func run(context: WorkflowContext, input: [Int]) async throws -> [Int] {
        [try await context.executeChildWorkflow("Tripler", input: input[0], as: Int.self)]
    }
}

/// Runs FailingChild; reports what it caught.
final class ParentOfFailure: Workflow {
    init() {}
    func run(context: WorkflowContext, input: String) async throws -> String {
        do {
            _ = try await context.executeChildWorkflow(FailingChild.self, input: input)
            return "no error"
        } catch let error as ChildWorkflowError {
            let cause = error.applicationError
            return
                "\(cause?.type ?? "-")|\(cause?.message ?? "-")|\(error.workflowID)|\(error.runID.isEmpty ? "no run" : "run")|\(error.workflowType)"
        }
    }
}

/// Runs FailingChild and lets its error escape: the parent fails.
final class ParentLetsFailureEscape: Workflow {
    init() {}
    func run(context: WorkflowContext, input: String) async throws -> String {
        try await context.executeChildWorkflow(FailingChild.self, input: input, options: .init(workflowID: "escape-\(input)"))
    }
}

/// Starts a child with a fixed id (input); reports the start error.
final class ParentWithFixedChildID: Workflow {
    init() {}
    func run(context: WorkflowContext, input: String) async throws -> String {
        do {
            let handle = try await context.startChildWorkflow(SleepLong.self, input: NoValue(), options: .init(workflowID: input))
            return "started \(handle.firstExecutionRunID)"
        } catch let error as ChildWorkflowStartError {
            return "\(error.cause)|\(error)"
        }
    }
}

/// Starts a child through a handle, reads its ids and result; then cancels a long child
/// (try-cancel) and waits for it with waitCancellationCompleted semantics off.
final class HandleParent: Workflow {
    init() {}
    func run(context: WorkflowContext, input: Int) async throws -> String {
        let handle = try await context.startChildWorkflow(Doubler.self, input: input)
        let doubled = try await handle.result(as: Int.self)
        let long = try await context.startChildWorkflow(SleepLong.self, input: NoValue())
        long.cancel()
        do {
            _ = try await long.result(as: String.self)
            return "long finished?"
        } catch is CancellationError {
            return
                "\(doubled)|\(handle.workflowID == long.workflowID ? "same" : "distinct")|\(handle.firstExecutionRunID.isEmpty ? "no run" : "run")"
        }
    }
}

/// Starts a long child and waits for it to be cancelled (waitCancellationCompleted).
final class ParentWaitsForCancel: Workflow {
    init() {}
    func run(context: WorkflowContext, input: NoValue) async throws -> String {
        let long = try await context.startChildWorkflow(
            SleepLong.self, input: NoValue(),
            options: .init(cancellationType: .waitCancellationCompleted))
        long.cancel()
        do {
            _ = try await long.result(as: String.self)
            return "long finished?"
        } catch let error as ChildWorkflowError {
            return "child error: \(error.cause.map { "\($0)" } ?? "-")"
        }
    }
}

/// Passes its run id to a child that evicts the parent from the worker's cache while the
/// parent waits, so the parent's next task is a cache miss (full replay).
final class EvictingParent: Workflow {
    init() {}
    func run(context: WorkflowContext, input: Int) async throws -> Int {
        let first = try await context.executeChildWorkflow(Doubler.self, input: input)
        let evicted = try await context.executeChildWorkflow(EvictParentChild.self, input: context.info.runID)
        let second = try await context.executeChildWorkflow(Doubler.self, input: first)
        return second + evicted
    }
}

/// Child of EvictingParent: runs activity "evictParent" with the parent's run id.
final class EvictParentChild: Workflow {
    init() {}
    func run(context: WorkflowContext, input: String) async throws -> Int {
        try await context.executeActivity("evictParent", input: input, options: tenSeconds, as: Int.self)
    }
}

/// Runs a child of another SDK (the Python peer) on `taskQueue`; reports its outcome.
struct PeerChildCall: Codable, Sendable {
    var type: String
    var text: String = ""
    var count: Int = 0
    var taskQueue: String
}

final class CallPeerChild: Workflow {
    init() {}
    func run(context: WorkflowContext, input: PeerChildCall) async throws -> String {
        let options = ChildWorkflowOptions(taskQueue: input.taskQueue)
        do {
            switch input.type {
            case "PyEcho":
                let echoed = try await context.executeChildWorkflow(
                    "PyEcho", input: input.text, options: options, as: [String: String].self)
                return "\(echoed["echo"] ?? "-")|\(echoed["by"] ?? "-")"
            case "PyContinueAsNew":
                return try await context.executeChildWorkflow("PyContinueAsNew", input: input.count, options: options, as: String.self)
            default:
                _ = try await context.executeChildWorkflow(input.type, input: input.text, options: options, as: NoValue.self)
                return "no error"
            }
        } catch let error as ChildWorkflowError {
            return "error:\(error.applicationError?.type ?? "-")|\(error.applicationError?.message ?? "-")|\(error.workflowType)"
        }
    }
}

/// Waits for a never-ending child; cancelling the parent cancels the child, and the parent
/// waits until the child is cancelled (so the child is not terminated by the parent's close).
final class ParentOfLongChild: Workflow {
    init() {}
    func run(context: WorkflowContext, input: NoValue) async throws -> String {
        try await context.executeChildWorkflow(
            SleepLong.self, input: NoValue(), options: .init(cancellationType: .waitCancellationCompleted))
    }
}

/// Starts a long child it abandons at its close, cancels it (try-cancel) and returns at once,
/// with the child's id.
final class CancelsAbandonedChildAndReturns: Workflow {
    init() {}
    func run(context: WorkflowContext, input: NoValue) async throws -> String {
        let long = try await context.startChildWorkflow(SleepLong.self, input: NoValue(), options: .init(parentClosePolicy: .abandon))
        long.cancel()
        return long.workflowID
    }
}

/// Starts two long children it abandons at its close ("kept" and "cancelled"), cancels the
/// second (try-cancel) and returns.
final class CancelsOneAbandonedChildOfTwo: Workflow {
    init() {}
    func run(context: WorkflowContext, input: NoValue) async throws -> String {
        let abandoned = { (id: String) in ChildWorkflowOptions(workflowID: id, parentClosePolicy: .abandon) }
        _ = try await context.startChildWorkflow(SleepLong.self, input: NoValue(), options: abandoned("kept"))
        let cancelled = try await context.startChildWorkflow(SleepLong.self, input: NoValue(), options: abandoned("cancelled"))
        cancelled.cancel()
        return "returned"
    }
}

/// Starts a child with a fixed id (input) and lets a start error escape.
final class ParentLetsStartErrorEscape: Workflow {
    init() {}
    func run(context: WorkflowContext, input: String) async throws -> String {
        _ = try await context.startChildWorkflow(
            SleepLong.self, input: NoValue(), options: .init(workflowID: input, parentClosePolicy: .abandon))
        return "started at attempt \(context.info.attempt)"
    }
}

/// Starts two long children it abandons at its close and never awaits — the first as usual,
/// the second inside `nonCancellable` — then waits on a long timer, so a cancel request of the
/// parent finds neither child awaited. Input: the children's workflow ids.
final class KeepsChildrenAndSleeps: Workflow {
    init() {}
    func run(context: WorkflowContext, input: [String]) async throws -> String {
        let abandoned = ChildWorkflowOptions(workflowID: input[0], parentClosePolicy: .abandon)
        let first = try await context.startChildWorkflow(SleepLong.self, input: NoValue(), options: abandoned)
        let shieldedOptions = ChildWorkflowOptions(workflowID: input[1], parentClosePolicy: .abandon)
        let second = try await context.nonCancellable {
            try await context.startChildWorkflow(SleepLong.self, input: NoValue(), options: shieldedOptions).workflowID
        }
        try await context.sleep(for: .seconds(600))
        return "\(first.workflowID) \(second)"
    }
}
