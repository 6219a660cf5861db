import Foundation
import Temporal

@testable import TemporalWorker

let tenSeconds = ActivityOptions(startToCloseTimeout: .seconds(10))

/// activity "greet" → timer 1 s → result.
final class GreetThenSleep: Workflow {
    init() {}
    func run(context: WorkflowContext, input: String) async throws -> String {
        let greeting = try await context.executeActivity("greet", input: input, options: tenSeconds, as: String.self)
        try await context.sleep(for: .seconds(1))
        return greeting
    }
}

/// Same name as GreetThenSleep, but calls a different activity: a nondeterministic change.
final class GreetThenSleepChanged: Workflow {
    static var name: String { "GreetThenSleep" }
    init() {}
    func run(context: WorkflowContext, input: String) async throws -> String {
        let greeting = try await context.executeActivity("welcome", input: input, options: tenSeconds, as: String.self)
        try await context.sleep(for: .seconds(1))
        return greeting
    }
}

/// Calls activity `greet-<namespace>`: what it asks for depends on the namespace it runs in.
final class GreetByNamespace: Workflow {
    init() {}
    func run(context: WorkflowContext, input: String) async throws -> String {
        try await context.executeActivity("greet-\(context.info.namespace)", input: input, options: tenSeconds, as: String.self)
    }
}

/// Waits for signal "add" values until their sum reaches `input`; query "sum".
final class SumSignals: Workflow {
    var sum = 0
    init() {}
    func run(context: WorkflowContext, input: Int) async throws -> Int {
        context.setSignalHandler("add", as: Int.self) { self.sum += $0 }
        context.setQueryHandler("sum") { self.sum }
        try await context.condition { self.sum >= input }
        return sum
    }
}

/// Registers "data"'s handler only inside "configure"'s; returns the data once it has both.
final class ConfigureThenData: Workflow {
    var configured: String?
    var data: [String] = []
    init() {}
    func run(context: WorkflowContext, input: NoValue) async throws -> String {
        context.setSignalHandler("configure", as: String.self) { prefix in
            self.configured = prefix
            context.setSignalHandler("data", as: String.self) { self.data.append($0) }
        }
        try await context.condition { self.configured != nil && !self.data.isEmpty }
        return (configured ?? "") + data.joined(separator: ",")
    }
}

/// Starts a 60 s timer and an activity in a task group, cancels both after the first WFT.
final class CancelScope: Workflow {
    init() {}
    func run(context: WorkflowContext, input: NoValue) async throws -> String {
        let outcome = await withThrowingTaskGroup(of: String.self) { group in
            group.addTask {
                try await context.sleep(for: .seconds(60))
                return "timer"
            }
            group.addTask {
                try await context.executeActivity("slow", options: tenSeconds, as: String.self)
            }
            group.addTask {
                try await context.sleep(for: .seconds(1))
                throw CancellationError()
            }
            do {
                return try await group.next() ?? "none"
            } catch {
                group.cancelAll()
                return "cancelled"
            }
        }
        return outcome
    }
}

/// Uses a patch.
final class Patched: Workflow {
    init() {}
    func run(context: WorkflowContext, input: NoValue) async throws -> String {
        if context.patched("v2") {
            return try await context.executeActivity("new", options: tenSeconds, as: String.self)
        }
        return try await context.executeActivity("old", options: tenSeconds, as: String.self)
    }
}

/// A later build of a workflow that asked `patched("v2")` only after its timer: it asks first
/// at the start too (a new use of the same patch id, earlier in the code).
final class PatchedEarlierToo: Workflow {
    static let name = "Patched"
    init() {}
    func run(context: WorkflowContext, input: NoValue) async throws -> String {
        _ = context.patched("v2")
        try await context.sleep(for: .seconds(1))
        if context.patched("v2") {
            return try await context.executeActivity("new", options: tenSeconds, as: String.self)
        }
        return try await context.executeActivity("old", options: tenSeconds, as: String.self)
    }
}

/// Step two of retiring patch "v2": only the new path, the patch deprecated.
final class PatchDeprecated: Workflow {
    static let name = "Patched"
    init() {}
    func run(context: WorkflowContext, input: NoValue) async throws -> String {
        context.deprecatePatch("v2")
        return try await context.executeActivity("new", options: tenSeconds, as: String.self)
    }
}

/// Step three: the patch call removed.
final class PatchRemoved: Workflow {
    static let name = "Patched"
    init() {}
    func run(context: WorkflowContext, input: NoValue) async throws -> String {
        try await context.executeActivity("new", options: tenSeconds, as: String.self)
    }
}

/// Throws a non-application error: a workflow task failure.
final class Buggy: Workflow {
    struct Bug: Error {}
    init() {}
    func run(context: WorkflowContext, input: NoValue) async throws -> String {
        throw Bug()
    }
}

/// In workflow code: `body`'s value, or `cancelled` once `delay` of workflow time has passed
/// first (the body is then cancelled, and waited for as its cancellation type says), or when the
/// body fails.
func valueUnlessCancelled(
    after delay: Duration, context: WorkflowContext, cancelled: String, _ body: @escaping @Sendable () async throws -> String
) async -> String {
    await withThrowingTaskGroup(of: String.self) { group in
        group.addTask { try await body() }
        group.addTask {
            try await context.sleep(for: delay)
            throw CancellationError()
        }
        do {
            while let value = try await group.next() { return value }
        } catch {
            group.cancelAll()
        }
        return cancelled
    }
}

/// Waits for signal `go`, then returns the first `orders` value; query `pending` counts the
/// orders waiting.
final class OrdersAfterGo: Workflow {
    init() {}
    func run(context: WorkflowContext, input: NoValue) async throws -> String {
        var go = false
        context.setSignalHandler("go") { go = true }
        context.setQueryHandler("pending") { context.signalChannel("orders", as: String.self).pending }
        try await context.condition { go }
        return try await context.signalChannel("orders", as: String.self).receive()
    }
}
