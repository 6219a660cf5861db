import Foundation
import Temporal

@testable import TemporalWorker

/// Keeps a total that updates add to (each after a durable timer), refuses negative amounts in
/// its validator, has an update that always fails, and finishes on signal "done" once every
/// update handler has finished.
final class Tally: Workflow {
    var total = 0
    var done = false
    init() {}
    func run(context: WorkflowContext, input: NoValue) async throws -> Int {
        context.setUpdateHandler(
            "add", argument: Int.self,
            validator: { amount in
                if amount < 0 { throw ApplicationError("negative amounts are refused (got \(amount))", type: "NegativeAmount") }
            }
        ) { amount in
            try await context.sleep(for: .milliseconds(50))
            self.total += amount
            return self.total
        }
        context.setUpdateHandler("fail") { () async throws -> Int in
            throw ApplicationError("this update always fails", type: "AskedToFail")
        }
        context.setQueryHandler("total") { self.total }
        context.setSignalHandler("done") { self.done = true }
        try await context.condition { self.done && context.allHandlersFinished }
        return total
    }
}

/// `Tally` as a later deploy might change it: the "add" handler also schedules an activity.
/// Replaying a `Tally` history that ran "add" with it must report nondeterminism.
final class TallyChanged: Workflow {
    static var name: String { "Tally" }
    var total = 0
    var done = false
    init() {}
    func run(context: WorkflowContext, input: NoValue) async throws -> Int {
        context.setUpdateHandler("add", argument: Int.self) { amount in
            _ = try await context.executeActivity("audit", input: amount, options: .init(startToCloseTimeout: .seconds(5)), as: String.self)
            self.total += amount
            return self.total
        }
        context.setSignalHandler("done") { self.done = true }
        try await context.condition { self.done }
        return total
    }
}

/// Collects what update "add" sends (the handler finishes without waiting) until its 3-second
/// timer fires, then returns the collection.
final class CollectsUntilTimer: Workflow {
    var items: [Int] = []
    init() {}
    func run(context: WorkflowContext, input: NoValue) async throws -> [Int] {
        context.setUpdateHandler("add", argument: Int.self) { item in
            self.items.append(item)
            return self.items.count
        }
        try await context.sleep(for: .seconds(3))
        return items
    }
}

/// Registers update "add" only after its 3-second timer fired; returns what the update added.
final class RegistersAfterTimer: Workflow {
    var items: [Int] = []
    init() {}
    func run(context: WorkflowContext, input: NoValue) async throws -> [Int] {
        try await context.sleep(for: .seconds(3))
        context.setUpdateHandler("add", argument: Int.self) { item in
            self.items.append(item)
            return self.items.count
        }
        try await context.condition { !self.items.isEmpty }
        return items
    }
}

/// Update "add" is accepted only after signal "open" (its validator says so).
final class OpensOnSignal: Workflow {
    var open = false
    var items: [Int] = []
    init() {}
    func run(context: WorkflowContext, input: NoValue) async throws -> [Int] {
        context.setSignalHandler("open") { self.open = true }
        context.setUpdateHandler(
            "add", argument: Int.self,
            validator: { _ in
                if !self.open { throw ApplicationError("closed: send signal 'open' first", type: "Closed") }
            }
        ) { item in
            self.items.append(item)
            return self.items.count
        }
        try await context.condition { !self.items.isEmpty }
        return items
    }
}

/// Returns in the task where an update handler, woken by the same signal, starts a timer: the
/// main code's wait was registered first, so it resumes first and closes the run, and the
/// handler's command comes after the close.
final class ClosesBeforeItsUpdate: Workflow {
    var approved = false
    init() {}
    func run(context: WorkflowContext, input: NoValue) async throws -> String {
        context.setSignalHandler("approve") { self.approved = true }
        context.setUpdateHandler("wait") { () async throws -> String in
            try await context.condition { self.approved }
            try await context.sleep(for: .seconds(1))
            return "ok"
        }
        try await context.condition { self.approved }
        return "done"
    }
}

/// Counts "bump" updates (each after a short durable timer), starting from its input; once a
/// bump finished, continues as new with the count. A run that never sees a bump waits.
final class BumpsThenContinues: Workflow {
    var count = 0
    init() {}
    func run(context: WorkflowContext, input: Int) async throws -> Int {
        count = input
        context.setUpdateHandler("bump") { () async throws -> Int in
            try await context.sleep(for: .milliseconds(200))
            self.count += 1
            return self.count
        }
        context.setQueryHandler("count") { self.count }
        try await context.condition { self.count > input && context.allHandlersFinished }
        try context.continueAsNew(input: count)
    }
}

/// Versions its update validation with a patch and answers a query with a random number:
/// both would change the run, which a validator (never run on replay) and a query (its
/// commands never sent) must not do; the worker refuses them.
final class ReadOnlyBreaker: Workflow {
    var total = 0
    var done = false
    init() {}
    func run(context: WorkflowContext, input: NoValue) async throws -> Int {
        context.setUpdateHandler(
            "add", argument: Int.self,
            validator: { amount in
                if context.patched("strict-validation"), amount > 100 { throw ApplicationError("too much", type: "TooMuch") }
            }
        ) { amount in
            self.total += amount
            return self.total
        }
        context.setQueryHandler("lucky") { context.random(in: 0..<100) }
        context.setQueryHandler("register") { () -> Int in
            context.setSignalHandler("later") {}
            return 0
        }
        context.setQueryHandler("registerUpdate") { () -> Int in
            context.setUpdateHandler("later", argument: Int.self) { $0 }
            return 0
        }
        context.setSignalHandler("done") { self.done = true }
        try await context.condition { self.done && context.allHandlersFinished }
        return total
    }
}
