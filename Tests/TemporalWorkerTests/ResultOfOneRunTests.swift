import Foundation
import Temporal
import TemporalProto
import Testing

@testable import TemporalWorker

/// The result of one run of a chain — a retried attempt, as a cron run — is that run's own:
/// the client says it follows `new_execution_run_id` (`supported-features`), so the server
/// sends the close event as it is. Before, the server rewrote it into a continue-as-new, and
/// `result(followRuns: false)` threw `.workflowContinuedAsNew` instead of the attempt's failure.
@Suite struct ResultOfOneRunTests {
    final class FailsFirst: Workflow {
        init() {}
        func run(context: WorkflowContext, input: NoValue) async throws -> String {
            if context.info.attempt == 1 { throw ApplicationError("attempt 1 broke", type: "FirstAttempt") }
            return "attempt \(context.info.attempt)"
        }
    }

    @Test func aRetriedAttemptsResultIsItsFailure() async throws {
        try await withWorker(workflows: [FailsFirst.self]) { w in
            let options = WorkflowOptions(retryPolicy: RetryPolicy(initialInterval: .seconds(1), maximumAttempts: 2))
            let handle = try await w.client.startWorkflow(
                type: FailsFirst.name, id: "fails-first-\(UUID())", taskQueue: w.taskQueue, args: NoValue(), options: options)
            let failed = await #expect(throws: TemporalError.self) { _ = try await handle.result(as: String.self, followRuns: false) }
            #expect(failed?.kind == .workflowFailed, "\(String(describing: failed))")
            #expect(failed?.applicationError?.message == "attempt 1 broke", "\(String(describing: failed))")
            #expect(try await handle.result(as: String.self) == "attempt 2")
        }
    }
}

/// A history replays with the run id its started event records: code naming a child after its
/// run id replayed with "replay-run" and failed as nondeterministic (a child id mismatch).
@Suite struct ReplayRunIDTests {
    final class NamesItsChildAfterItsRun: Workflow {
        init() {}
        func run(context: WorkflowContext, input: String) async throws -> String {
            let options = ChildWorkflowOptions(workflowID: "\(context.info.runID)-child")
            return try await context.executeChildWorkflow(Instant.self, input: input, options: options)
        }
    }

    @Test func aHistoryReplaysWithItsOwnRunID() async throws {
        try await withWorker(workflows: [NamesItsChildAfterItsRun.self, Instant.self]) { w in
            let handle = try await w.start(NamesItsChildAfterItsRun.self, "x")
            #expect(try await handle.result(as: String.self) == "at once: x")
            let events = try await handle.fetchHistory()
            #expect(try WorkflowReplayer(workflows: [NamesItsChildAfterItsRun.self]).replay(events: events).closed)
        }
    }
}

/// A query whose answer is larger than the server accepts fails at once, saying so: the worker
/// answers that the query failed, as Go and Core do. It was refused silently, and the caller
/// waited for its own deadline.
@Suite struct OversizedQueryAnswerTests {
    final class AnswersBig: Workflow {
        init() {}
        func run(context: WorkflowContext, input: NoValue) async throws -> String {
            context.setQueryHandler("small") { "ok" }
            context.setQueryHandler("big") { String(repeating: "x", count: 5 << 20) }
            try await context.sleep(for: .seconds(600))
            return "woke"
        }
    }

    @Test func aQueryAnswerTooLargeFailsTheQuerySayingSo() async throws {
        try await withWorker(workflows: [AnswersBig.self]) { w in
            let handle = try await w.start(AnswersBig.self, NoValue())
            #expect(try await withTimeout(20) { try await handle.query("small", as: String.self) } == "ok")
            let error = await #expect(throws: TemporalError.self) {
                _ = try await withTimeout(15) { try await handle.query("big", as: String.self) }
            }
            #expect(
                error?.kind == .queryFailed && error?.message.contains("larger than the server accepts") == true,
                "\(String(describing: error))")
            try await handle.terminate(reason: "test done")
        }
    }

    /// A query that comes with a workflow task (sent while the task was pending) whose answer
    /// makes the task's answer too large fails, saying so, and the task's commands go in: the
    /// whole task failed (PAYLOADS_TOO_LARGE) and was retried with the query attached, each
    /// retry refused too, until the query's deadline dropped it.
    @Test func aQueryAnswerTooLargeForItsTaskFailsAloneTheTaskGoesIn() async throws {
        let queue = uniqueQueue("bigq")
        let first = try await startWorker(taskQueue: queue, workflows: [AnswersBig.self])
        let handle = try await first.client.startWorkflow(
            type: AnswersBig.name, id: "bigq-\(UUID())", taskQueue: queue, args: NoValue())
        #expect(try await withTimeout(20) { try await handle.query("small", as: String.self) } == "ok")
        await first.stop()
        try await handle.signal("poke")  // a workflow task waits for a worker
        let query = Task { try await handle.query("big", as: String.self) }
        try await Task.sleep(for: .seconds(1))
        let second = try await startWorker(taskQueue: queue, workflows: [AnswersBig.self])
        let error = await #expect(throws: TemporalError.self) { _ = try await withTimeout(20) { try await query.value } }
        #expect(
            error?.kind == .queryFailed && error?.message.contains("larger than the server accepts") == true,
            "\(String(describing: error))")
        let events = try await handle.fetchHistory()
        #expect(!events.contains { $0.eventType == .workflowTaskFailed }, "\(events.map(\.eventType))")
        try await handle.terminate(reason: "test done")
        await second.stop()
    }
}

/// A run knows who started it and what it runs under: its parent and root (a child of a child
/// names both), its cron schedule and execution timeout, as Go's `WorkflowInfo` says. They were
/// not in `WorkflowInfo`, so a child could not signal its parent without being told its id.
@Suite struct WorkflowInfoLineageTests {
    final class Says: Workflow {
        init() {}
        func run(context: WorkflowContext, input: String) async throws -> String {
            let info = context.info
            let parent = info.parent.map { "\($0.namespace)/\($0.workflowID)/\($0.runID == "" ? "-" : "run")" } ?? "none"
            return "\(parent)|\(info.root?.workflowID ?? "none")|\(info.executionTimeout.map { "\($0)" } ?? "none")"
        }
    }

    final class Middle: Workflow {
        init() {}
        func run(context: WorkflowContext, input: String) async throws -> String {
            try await context.executeChildWorkflow(Says.self, input: input, options: .init(workflowID: "\(input)-leaf"))
        }
    }

    final class Top: Workflow {
        init() {}
        func run(context: WorkflowContext, input: String) async throws -> [String] {
            let direct = try await context.executeChildWorkflow(Says.self, input: input, options: .init(workflowID: "\(input)-direct"))
            let nested = try await context.executeChildWorkflow(Middle.self, input: input, options: .init(workflowID: "\(input)-middle"))
            return [direct, nested]
        }
    }

    @Test func aChildKnowsItsParentAndRoot() async throws {
        try await withWorker(workflows: [Top.self, Middle.self, Says.self]) { w in
            let id = "lineage-\(UUID().uuidString.prefix(8))"
            let handle = try await w.client.startWorkflow(type: Top.name, id: id, taskQueue: w.taskQueue, args: id)
            let outcomes = try await handle.result(as: [String].self)
            #expect(outcomes == ["default/\(id)/run|\(id)|none", "default/\(id)-middle/run|\(id)|none"], "\(outcomes)")
            let alone = try await w.client.startWorkflow(
                type: Says.name, id: "\(id)-alone", taskQueue: w.taskQueue, args: "x",
                options: WorkflowOptions(executionTimeout: .seconds(600)))
            #expect(try await alone.result(as: String.self) == "none|none|600.0 seconds")
        }
    }
}

/// A workflow asks another one, not its child, to cancel (Go's `RequestCancelExternalWorkflow`):
/// the request is delivered, or fails into the code when the target does not exist; its history
/// replays. There was no way to do it.
@Suite struct CancelExternalWorkflowTests {
    final class Canceller: Workflow {
        init() {}
        func run(context: WorkflowContext, input: String) async throws -> [String] {
            try await context.cancelExternalWorkflow(workflowID: input, reason: "not needed any more")
            var outcomes = ["requested"]
            do {
                try await context.cancelExternalWorkflow(workflowID: "\(input)-missing")
                outcomes.append("requested")
            } catch let error as ApplicationError {
                outcomes.append(error.type ?? "-")
            }
            do {
                try await context.cancelExternalWorkflow(workflowID: "")
            } catch is WorkflowUsageError {
                outcomes.append("no id")
            }
            do {
                try await context.cancelExternalWorkflow(workflowID: input, runID: "run-1")
            } catch let error as WorkflowUsageError where error.message.contains("not a run id") {
                outcomes.append("bad run id")
            }
            return outcomes
        }
    }

    @Test func aWorkflowCancelsAnother() async throws {
        try await withWorker(workflows: [Canceller.self, SleepLong.self]) { w in
            let id = "target-\(UUID().uuidString.prefix(8))"
            let target = try await w.client.startWorkflow(type: SleepLong.name, id: id, taskQueue: w.taskQueue)
            let canceller = try await w.client.startWorkflow(type: Canceller.name, id: "\(id)-canceller", taskQueue: w.taskQueue, args: id)
            let outcomes = try await canceller.result(as: [String].self)
            #expect(outcomes == ["requested", "CancelExternalWorkflowFailed", "no id", "bad run id"], "\(outcomes)")
            let error = await #expect(throws: TemporalError.self) { _ = try await target.result(as: String.self) }
            #expect(error?.kind == .workflowCanceled, "\(String(describing: error))")
            let requested = try await target.fetchHistory().first { $0.eventType == .workflowExecutionCancelRequested }
            #expect(requested?.workflowExecutionCancelRequestedEventAttributes.cause == "not needed any more")
            let events = try await canceller.fetchHistory()
            #expect(try WorkflowReplayer(workflows: [Canceller.self]).replay(events: events).closed)
        }
    }
}
