import Foundation
import Logging
import Synchronization
import Temporal
import TemporalProto
import TemporalTestSupport
import Testing

@testable import TemporalWorker

/// A cancel request of the workflow cancels its running update handlers, as Go runs them under
/// the workflow's root context: the handler's activity is asked to stop, and the update's
/// caller gets the cancellation. Before, the handler ran on (its activity to its end), and the
/// workflow, waiting for its handlers, was cancelled only after.
@Suite struct UpdateCancellationTests {
    @Test func aWorkflowsCancelRequestCancelsItsRunningUpdates() async throws {
        let started = Flag()
        let beating = ActivityDefinition("beating") { (ctx: ActivityContext) -> String in
            started.set()
            for _ in 0..<600 {  // a minute, unless cancelled
                ctx.heartbeat()
                try await Task.sleep(for: .milliseconds(100))
            }
            return "finished"
        }
        try await withWorker(
            workflows: [CancelsItsUpdates.self], activities: [beating], timeout: 90,
            configure: { $0.maxHeartbeatThrottleInterval = .milliseconds(500) }
        ) { w in
            let handle = try await w.start(CancelsItsUpdates.self)
            let update = try await handle.startUpdate("work", waitFor: .accepted)
            #expect(try await eventually(20) { started.isSet })
            try await handle.cancel()
            let failed = await #expect(throws: TemporalError.self) {
                _ = try await within(30) { try await update.result(as: String.self) }
            }
            #expect(failed?.kind == .updateFailed, "\(String(describing: failed))")
            let ended = await #expect(throws: TemporalError.self) {
                _ = try await within(30) { try await handle.result(as: String.self) }
            }
            #expect(ended?.kind == .workflowCanceled, "\(String(describing: ended))")
            let events = try await handle.fetchHistory()
            #expect(events.contains { $0.eventType == .activityTaskCancelRequested }, "\(events.map(\.eventType))")
            #expect(try WorkflowReplayer(workflows: [CancelsItsUpdates.self]).replay(events: events).closed)
        }
    }

    /// Several handlers cancelled at once complete in the order their updates were accepted, on
    /// the run and on every replay of it: they were cancelled in a dictionary's order, which
    /// differs from one instance to the next, and a replay then met their completions in another
    /// order (nondeterminism).
    @Test func cancelledUpdatesCompleteInTheOrderTheyWereAccepted() async throws {
        try await withWorker(workflows: [CancelsItsUpdates.self], activities: [], timeout: 90) { w in
            let handle = try await w.start(CancelsItsUpdates.self)
            var updates: [WorkflowUpdateHandle] = []
            for _ in 0..<6 { updates.append(try await handle.startUpdate("wait", waitFor: .accepted)) }
            try await handle.cancel()
            for update in updates {
                await #expect(throws: TemporalError.self) { _ = try await within(30) { try await update.result(as: String.self) } }
            }
            await #expect(throws: TemporalError.self) { _ = try await within(30) { try await handle.result(as: String.self) } }
            let events = try await handle.fetchHistory()
            let completed = events.filter { $0.eventType == .workflowExecutionUpdateCompleted }
                .map(\.workflowExecutionUpdateCompletedEventAttributes.meta.updateID)
            #expect(completed == updates.map(\.id))
            for _ in 0..<20 {
                #expect(try WorkflowReplayer(workflows: [CancelsItsUpdates.self]).replay(events: events).closed)
            }
        }
    }

    /// A workflow cancelled without waiting for its handlers, whose update handlers the cancel
    /// request ends in the same activation, is not warned about as finishing while they ran:
    /// the warning was given when the root's code returned, before the handlers it cancelled
    /// had completed (after it, in that activation).
    @Test func handlersEndedInTheClosingActivationAreNotWarnedAbout() async throws {
        let box = LogBox()
        try await withWorker(
            workflows: [CancelledWithoutWaiting.self], configure: { $0.logger = Logger(label: "w") { _ in CapturingLogHandler(box: box) } }
        ) { w in
            let handle = try await w.start(CancelledWithoutWaiting.self)
            let update = try await handle.startUpdate("wait", waitFor: .accepted)
            try await handle.cancel()
            await #expect(throws: TemporalError.self) { _ = try await within(30) { try await update.result(as: String.self) } }
            await #expect(throws: TemporalError.self) { _ = try await within(30) { try await handle.result(as: String.self) } }
            let events = try await handle.fetchHistory()
            #expect(events.contains { $0.eventType == .workflowExecutionUpdateCompleted })
            let warned = box.lines.withLock { $0 }.filter { $0.contains("update handlers still ran") }
            #expect(warned.isEmpty, "\(warned)")
        }
    }
}

extension UpdateCancellationTests {
    /// A workflow that returns right after a local activity completes, while an update handler
    /// still runs, is warned about as any other: the warnings were given at the end of an
    /// activation only, not after a local activity's completion resumed the code.
    @Test func aRunClosingAfterALocalActivityIsWarnedAboutItsRunningHandlers() async throws {
        let box = LogBox()
        let upper = ActivityDefinition("upper") { (s: String, _: ActivityContext) -> String in s.uppercased() }
        try await withWorker(
            workflows: [ReturnsAfterALocalActivity.self], activities: [upper],
            configure: { $0.logger = Logger(label: "w") { _ in CapturingLogHandler(box: box) } }
        ) { w in
            let handle = try await w.start(ReturnsAfterALocalActivity.self)
            _ = try await handle.startUpdate("wait", waitFor: .accepted)
            try await handle.signal("go")
            #expect(try await within(30) { try await handle.result(as: String.self) } == "GO")
            let warned = box.lines.withLock { $0 }.filter { $0.contains("update handlers still ran") }
            #expect(warned.count == 1, "\(box.lines.withLock { $0 })")
        }
    }
}

/// Its "wait" update waits for ever; on signal "go" it runs a local activity and returns.
final class ReturnsAfterALocalActivity: Workflow {
    init() {}
    func run(context: WorkflowContext, input: NoValue) async throws -> String {
        context.setUpdateHandler("wait") { () async throws -> String in
            try await context.condition { false }
            return "never"
        }
        _ = try await context.signalChannel("go", as: NoValue.self).receive()
        return try await context.executeLocalActivity(
            "upper", input: "go", options: LocalActivityOptions(startToCloseTimeout: .seconds(5)), as: String.self)
    }
}

/// Waits for ever; cancelled, it ends at once. Its "wait" update waits for ever.
final class CancelledWithoutWaiting: Workflow {
    init() {}
    func run(context: WorkflowContext, input: NoValue) async throws -> String {
        context.setUpdateHandler("wait") { () async throws -> String in
            try await context.condition { false }
            return "never"
        }
        try await context.condition { false }
        return "never"
    }
}

/// Waits for ever; its "work" update runs an activity until it is cancelled, its "wait" update
/// waits for ever. Cancelled, it lets
/// its handlers finish before it ends.
final class CancelsItsUpdates: Workflow {
    init() {}
    func run(context: WorkflowContext, input: NoValue) async throws -> String {
        context.setUpdateHandler("work") { () async throws -> String in
            var options = ActivityOptions(startToCloseTimeout: .seconds(90), heartbeatTimeout: .seconds(5))
            options.cancellationType = .waitCancellationCompleted
            return try await context.executeActivity("beating", options: options, as: String.self)
        }
        context.setUpdateHandler("wait") { () async throws -> String in
            try await context.condition { false }
            return "never"
        }
        do {
            try await context.condition { false }
        } catch is CancellationError {
            try await context.nonCancellable { try await context.condition { context.allHandlersFinished } }
            throw CancellationError()
        }
        return "never"
    }
}
