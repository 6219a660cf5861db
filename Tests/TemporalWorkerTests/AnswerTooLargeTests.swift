import Foundation
import Temporal
import TemporalProto
import TemporalTestSupport
import Testing

@testable import TemporalWorker

/// Schedules five activities with 1 MiB inputs in one workflow task: an answer of about 5 MiB,
/// over the server's 4 MiB gRPC limit.
final class ScheduleLargeInputs: Workflow {
    init() {}
    func run(context: WorkflowContext, input: NoValue) async throws -> String {
        let big = String(repeating: "x", count: 1 << 20)
        try await withThrowingTaskGroup(of: String.self) { group in
            for _ in 0..<5 {
                group.addTask {
                    try await context.executeActivity(
                        "echo", input: big, options: ActivityOptions(startToCloseTimeout: .seconds(10)), as: String.self)
                }
            }
            try await group.waitForAll()
        }
        return "done"
    }
}

/// The same five 1 MiB inputs, then a local activity (20 s) that outlasts the workflow task's
/// heartbeat: the heartbeat's answer carries the commands and is refused.
final class ScheduleLargeInputsThenALocalActivity: Workflow {
    init() {}
    func run(context: WorkflowContext, input: NoValue) async throws -> String {
        let big = String(repeating: "x", count: 1 << 20)
        async let scheduled: Void = withThrowingTaskGroup(of: String.self) { group in
            for _ in 0..<5 {
                group.addTask {
                    try await context.executeActivity(
                        "echo", input: big, options: ActivityOptions(startToCloseTimeout: .seconds(10)), as: String.self)
                }
            }
            try await group.waitForAll()
        }
        _ = try await context.executeLocalActivity(
            "slowEcho", input: "x", options: LocalActivityOptions(startToCloseTimeout: .seconds(30)), as: String.self)
        try await scheduled
        return "done"
    }
}

@Suite struct AnswerTooLargeTests {
    /// The run's first WorkflowTaskFailed, once history has one (60 s at most).
    static func firstTaskFailure(_ handle: WorkflowHandle) async throws -> Temporal_Api_History_V1_WorkflowTaskFailedEventAttributes {
        try await withTimeout(60) {
            while true {
                if let failed = try await handle.fetchHistory().first(where: { $0.eventType == .workflowTaskFailed }) {
                    return failed.workflowTaskFailedEventAttributes
                }
                try await Task.sleep(for: .milliseconds(200))
            }
        }
    }

    /// A workflow-task heartbeat (local activities still running) refused as too large fails
    /// the task the same way: it used to be logged at debug, and the task timed out again and
    /// again.
    @Test(.timeLimit(.minutes(2))) func aHeartbeatOverTheServersLimitFailsTheTaskVisibly() async throws {
        let echo = ActivityDefinition("echo") { (input: String, _: ActivityContext) -> String in input }
        let slowEcho = ActivityDefinition("slowEcho") { (input: String, _: ActivityContext) -> String in
            try await Task.sleep(for: .seconds(20))
            return input
        }
        let running = try await startWorker(workflows: [ScheduleLargeInputsThenALocalActivity.self], activities: [echo, slowEcho])
        // The default 10 s task timeout: a heartbeat after 8 s, 2 s before the server would
        // time the task out (a loaded box once delayed a heartbeat due at 1.6 s of a 2 s timeout
        // past it, and only a first attempt's failure is recorded).
        let options = WorkflowOptions()
        let handle = try await running.client.startWorkflow(
            type: "ScheduleLargeInputsThenALocalActivity", id: "too-large-hb-\(UUID())", taskQueue: running.taskQueue,
            args: NoValue(), options: options)
        let failure = try await Self.firstTaskFailure(handle)
        await running.stop(grace: .zero)
        try? await handle.terminate(reason: "test over")
        #expect(failure.cause == .payloadsTooLarge)
    }

    /// The server refuses the answer (RESOURCE_EXHAUSTED, over its message limit): the worker
    /// fails the task with cause PAYLOADS_TOO_LARGE and a message saying what to do, so the
    /// history and the Web UI show it; it used to leave the task to time out, over and over,
    /// logging only at debug.
    @Test(.timeLimit(.minutes(2))) func anAnswerOverTheServersLimitFailsTheTaskVisibly() async throws {
        let echo = ActivityDefinition("echo") { (input: String, _: ActivityContext) -> String in input }
        let running = try await startWorker(workflows: [ScheduleLargeInputs.self], activities: [echo])
        let handle = try await running.client.startWorkflow(
            type: "ScheduleLargeInputs", id: "too-large-\(UUID())", taskQueue: running.taskQueue, args: NoValue())
        let failure = try await Self.firstTaskFailure(handle)
        await running.stop()
        try? await handle.terminate(reason: "test over")
        #expect(failure.cause == .payloadsTooLarge)
        #expect(failure.failure.message.contains("larger than the server accepts"), "\(failure.failure.message)")
    }
}
