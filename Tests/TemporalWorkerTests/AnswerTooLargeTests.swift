import Foundation
import Logging
import Synchronization
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

/// Runs activity `input` with the default retry policy (attempts without end) and a start-to-close
/// timeout of 5 minutes; returns how it ended: "completed", or the failure's type and message.
final class AwaitsOneActivity: Workflow {
    init() {}
    func run(context: WorkflowContext, input: String) async throws -> String {
        do {
            _ = try await context.executeActivity(
                input, input: "x", options: ActivityOptions(startToCloseTimeout: .seconds(300)), as: String.self)
            return "completed"
        } catch let error as ActivityError {
            return "\(error.applicationError?.type ?? "none"): \(error.applicationError?.message ?? "\(error)")"
        }
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

    /// An activity's result over the server's 4 MiB message limit fails the activity at once,
    /// not retryably, saying what to do; the worker used to log the refusal and leave the attempt
    /// to time out, again on every attempt, until the schedule-to-close timeout (if any).
    @Test(.timeLimit(.minutes(2))) func aResultOverTheServersLimitFailsTheActivityAtOnce() async throws {
        let huge = ActivityDefinition("huge") { (_: String, _: ActivityContext) -> String in String(repeating: "x", count: 5 << 20) }
        let running = try await startWorker(workflows: [AwaitsOneActivity.self], activities: [huge])
        let handle = try await running.client.startWorkflow(
            type: "AwaitsOneActivity", id: "huge-result-\(UUID())", taskQueue: running.taskQueue, args: "huge")
        let outcome = try await withTimeout(60) { try await handle.result(as: String.self) }
        await running.stop()
        #expect(outcome.hasPrefix("ActivityResultTooLarge: "), "\(outcome)")
        #expect(outcome.contains("larger than the server accepts"), "\(outcome)")
    }

    /// Heartbeat details over the server's 2 MB blob limit (but under the 4 MiB message limit)
    /// are taken, and the server fails the activity itself, not retryably, answering "cancel
    /// requested": the worker says why, where it said nothing and the attempt looked cancelled
    /// by nobody.
    @Test(.timeLimit(.minutes(2))) func heartbeatDetailsOverTheBlobLimitAreSaidToBeWhyTheActivityEnded() async throws {
        let bulky = ActivityDefinition("bulky") { (_: String, context: ActivityContext) -> String in
            context.heartbeat(String(repeating: "x", count: 2_500_000))
            try await Task.sleep(for: .seconds(30))  // cancelled by the server's answer
            return "not cancelled"
        }
        let box = LogBox()
        let running = try await startWorker(
            workflows: [AwaitsOneActivity.self], activities: [bulky],
            configure: { $0.logger = Logger(label: "bulky") { _ in CapturingLogHandler(box: box) } })
        let handle = try await running.client.startWorkflow(
            type: "AwaitsOneActivity", id: "bulky-heartbeat-\(UUID())", taskQueue: running.taskQueue, args: "bulky")
        let outcome = try await withTimeout(60) { try await handle.result(as: String.self) }
        await running.stop()
        #expect(!outcome.contains("not cancelled"), "\(outcome)")
        let said = box.lines.withLock { $0 }.filter { $0.contains("blob size limit") }
        #expect(said.count == 1, "\(box.lines.withLock { $0 })")
    }

    /// A failure too large to send (5 MiB of details) goes without its details: its type,
    /// retryability and the start of its message reach the workflow at once.
    @Test(.timeLimit(.minutes(2))) func aFailureOverTheServersLimitGoesWithoutItsDetails() async throws {
        let refusing = ActivityDefinition("refusing") { (_: String, _: ActivityContext) -> String in
            throw try ApplicationError(
                "no: see the details", type: "Refused", nonRetryable: true, details: String(repeating: "x", count: 5 << 20))
        }
        let running = try await startWorker(workflows: [AwaitsOneActivity.self], activities: [refusing])
        let handle = try await running.client.startWorkflow(
            type: "AwaitsOneActivity", id: "huge-failure-\(UUID())", taskQueue: running.taskQueue, args: "refusing")
        let outcome = try await withTimeout(60) { try await handle.result(as: String.self) }
        await running.stop()
        #expect(outcome.hasPrefix("Refused: no: see the details (the failure"), "\(outcome)")
        #expect(outcome.contains("larger than the server accepts"), "\(outcome)")
    }
}
