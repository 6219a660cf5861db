import Foundation
import Logging
import Synchronization
import Temporal
import TemporalProto
import TemporalTestSupport
import TemporalTesting
import Testing

@testable import TemporalWorker

/// Logs into memory.
struct CapturingLogHandler: LogHandler {
    let box: LogBox
    var metadata: Logger.Metadata = [:]
    var logLevel: Logger.Level = .trace
    subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }
    func log(event: LogEvent) { box.lines.withLock { $0.append("\(event.message)") } }
}

final class LogBox: Sendable {
    let lines = Mutex<[String]>([])
}

/// Logs, draws randomness, and waits for a signal.
final class Chatty: Workflow {
    var go = false
    init() {}
    func run(context: WorkflowContext, input: NoValue) async throws -> String {
        context.setSignalHandler("go") { self.go = true }
        context.logger.info("before")
        let id = context.uuid()
        try await context.condition { self.go }
        context.logger.info("after")
        return id.uuidString
    }
}

@Suite("Workflow runtime")
struct WorkflowRuntimeTests {
    func run(_ logs: LogBox) -> WorkflowRun {
        let info = WorkflowInfo(
            namespace: "default", workflowID: "wf", runID: "run-1", workflowType: "Chatty", taskQueue: "tq",
            attempt: 1, continuedRunID: nil, firstExecutionRunID: "run-1", originalExecutionRunID: "run-1")
        let logger = Logger(label: "test") { _ in CapturingLogHandler(box: logs) }
        return WorkflowRun(definition: WorkflowDefinition(Chatty.self), info: info, converter: .default, logger: logger)
    }

    /// A cancellation cascade appends cancel commands in the runtime's order; they are put in
    /// sequence order (timers, activities, children), leaving sent and other commands alone.
    @Test func newCancelCommandsAreSortedBySequence() {
        let r = run(LogBox())
        func command(_ type: Temporal_Api_Enums_V1_CommandType) -> Command {
            var c = Command()
            c.commandType = type
            return c
        }
        r.commands = [
            .init(key: .cancelActivity(9), command: command(.requestCancelActivityTask), sent: true),
            .init(key: .cancelActivity(8), command: command(.requestCancelActivityTask), sent: true),
            .init(key: .activity(5), command: command(.scheduleActivityTask)),
            .init(key: .cancelChild(4), command: command(.requestCancelExternalWorkflowExecution)),
            .init(key: .cancelActivity(3), command: command(.requestCancelActivityTask)),
            .init(key: .cancelTimer(7), command: command(.cancelTimer)),
            .init(key: .cancelActivity(1), command: command(.requestCancelActivityTask)),
            .init(key: .timer(6), command: command(.startTimer)),
            .init(key: .cancelChild(2), command: command(.requestCancelExternalWorkflowExecution)),
        ]
        r.canonicalizeCancellationOrder()
        #expect(
            r.commands.map(\.key) == [
                .cancelActivity(9), .cancelActivity(8), .activity(5),
                .cancelTimer(7), .cancelActivity(1), .cancelActivity(3), .cancelChild(4),
                .timer(6), .cancelChild(2),
            ])
    }

    @Test func loggerIsSilentDuringReplayAndRandomnessIsStable() throws {
        var b = HistoryBuilder()
        b.started("Chatty")
        let first = b.workflowTaskStarted()
        let logs = LogBox()
        let live = run(logs)
        _ = try live.process(events: b.events, liveStartedEventID: first)
        #expect(logs.lines.withLock { $0 } == ["before"])
        b.workflowTaskCompleted()
        b.signaled("go")
        let second = b.workflowTaskStarted()
        let commands = try live.process(events: Array(b.events[Int(first)...]), liveStartedEventID: second)
        #expect(logs.lines.withLock { $0 } == ["before", "after"])
        let liveID = try DataConverter.default.fromPayloads(commands[0].completeWorkflowExecutionCommandAttributes.result, as: String.self)

        // A full replay up to the second task logs only the live part, and draws the same uuid.
        let replayLogs = LogBox()
        let replay = run(replayLogs)
        let replayed = try replay.process(events: b.events, liveStartedEventID: second)
        #expect(replayLogs.lines.withLock { $0 } == ["after"])
        let replayID = try DataConverter.default.fromPayloads(
            replayed[0].completeWorkflowExecutionCommandAttributes.result, as: String.self)
        #expect(liveID == replayID)
    }

    @Test func staleCacheIsDetected() throws {
        // The task we answered failed: the cached state ran ahead of history.
        var b = HistoryBuilder()
        b.started("Chatty")
        let first = b.workflowTaskStarted()
        let r = run(LogBox())
        _ = try r.process(events: b.events, liveStartedEventID: first)
        b.workflowTaskFailed()
        let next = b.workflowTaskStarted()
        #expect(throws: HistoryError.self) { try r.process(events: Array(b.events[Int(first)...]), liveStartedEventID: next) }
    }

    /// Signals that came before their handler, whose handler another signal's handler
    /// registers, reach it. Before, the registration inside the handler saw an emptied buffer,
    /// and the outer one put "data" back where nothing took it again: the run waited for ever.
    @Test func aHandlerRegisteredByAHandlerGetsItsBufferedSignals() throws {
        var b = HistoryBuilder()
        b.started("ConfigureThenData")
        b.signaled("configure", payloads("cfg:"))
        b.signaled("data", payloads("a"))
        b.signaled("data", payloads("b"))
        let live = b.workflowTaskStarted()
        let r = makeRun(ConfigureThenData.self)
        let commands = try r.process(events: b.events, liveStartedEventID: live)
        let result = try #require(commands.first { $0.commandType == .completeWorkflowExecution }, "\(commands)")
        #expect(
            try DataConverter.default.fromPayloads(result.completeWorkflowExecutionCommandAttributes.result, as: String.self) == "cfg:a,b")
    }

    /// A timeout of zero is no timeout and a negative one is refused, as a server refuses
    /// them (BAD_SCHEDULE_ACTIVITY_ATTRIBUTES on every attempt of the task, the run stuck):
    /// `startToCloseTimeout: .zero` passed the check for nil and went to the server. The code
    /// gets a `WorkflowUsageError` naming the timeout, and no command is sent.
    @Test func activityTimeoutsAServerRefusesAreRefusedBeforeSending() throws {
        for (input, expected) in [
            ("zero", "activity 'echo' needs a positive startToCloseTimeout or scheduleToCloseTimeout (zero is none)"),
            ("negative", "activity 'echo': heartbeatTimeout is negative (-1.0 seconds); a timeout is positive, or nil for none"),
            ("local-zero", "local activity 'echo' needs a positive startToCloseTimeout or scheduleToCloseTimeout (zero is none)"),
            ("zero-with-schedule-to-close", "scheduled"),
            ("child-negative", "child workflow 'SleepLong': runTimeout is negative (-1.0 seconds); a timeout is positive, or nil for none"),
            ("continue-negative", "continue-as-new: taskTimeout is negative (-2.0 seconds); a timeout is positive, or nil for none"),
            // Retry policies a server refuses (BAD_SCHEDULE_*_ATTRIBUTES on every attempt) too.
            (
                "retry-maximum-below-initial",
                "activity 'echo': its retry policy's maximumInterval (0.5 seconds) is less than initialInterval (1.0 seconds, the default)"
            ),
            (
                "child-retry-coefficient",
                "child workflow 'SleepLong': its retry policy's backoffCoefficient is 0.5; it is 1 or more (2 when unset)"
            ),
            ("retry-one-attempt", "scheduled"),
            ("continue-retry", "continue-as-new: its retry policy's maximumAttempts is negative (-1); 0 or nil is unlimited"),
        ] {
            var b = HistoryBuilder()
            b.started("BadActivityTimeouts", input: payloads(input))
            let live = b.workflowTaskStarted()
            let commands = try makeRun(BadActivityTimeouts.self).process(events: b.events, liveStartedEventID: live)
            if expected == "scheduled" {
                #expect(commands.map(\.commandType) == [.scheduleActivityTask], "\(commands)")
                continue
            }
            let result = try #require(commands.first { $0.commandType == .completeWorkflowExecution }, "\(input): \(commands)")
            #expect(commands.count == 1, "\(input): \(commands.map(\.commandType))")
            #expect(
                try DataConverter.default.fromPayloads(result.completeWorkflowExecutionCommandAttributes.result, as: String.self)
                    == "workflow usage error: \(expected)")
        }
    }

    /// A local activity's start-to-close of zero is none, as an activity's is on the server:
    /// with a schedule-to-close, it runs. Each attempt timed out at once, retried until the
    /// schedule-to-close ran out.
    @Test func aLocalActivitysZeroStartToCloseIsNone() async throws {
        let env = try await TestWorkflowEnvironment.start()
        defer { env.shutdown() }
        let echo = ActivityDefinition("echo") { (s: String, _: ActivityContext) -> String in
            try await Task.sleep(for: .milliseconds(50))
            return s + "!"
        }
        let result = try await within(30) {
            try await env.execute(BadActivityTimeouts.self, input: "local-zero-with-schedule-to-close", activities: [echo])
        }
        #expect(result == "x!")
    }

    /// A run that ends with values its signal channels never read is warned about: they are
    /// dropped (a continue-as-new does not carry them), and nothing said so.
    @Test func unreadSignalChannelValuesAreWarnedAboutAtTheEnd() throws {
        let box = LogBox()
        let run = makeRun(ReadsOneNote.self, logger: Logger(label: "w") { _ in CapturingLogHandler(box: box) })
        var b = HistoryBuilder()
        b.started("ReadsOneNote")
        b.signaled("note", payloads("a"))
        b.signaled("note", payloads("b"))
        b.signaled("note", payloads("c"))
        let live = b.workflowTaskStarted()
        let commands = try run.process(events: b.events, liveStartedEventID: live)
        #expect(commands.map(\.commandType) == [.completeWorkflowExecution])
        let warned = box.lines.withLock { $0 }.filter { $0.contains("signal values its channels never read") }
        #expect(warned.count == 1, "\(box.lines.withLock { $0 })")
    }

    @Test func queriesAnswerFromState() throws {
        var b = HistoryBuilder()
        b.started("SumSignals", input: payloads(10))
        b.signaled("add", payloads(4))
        let live = b.workflowTaskStarted()
        let r = makeRun(SumSignals.self)
        _ = try r.process(events: b.events, liveStartedEventID: live)
        #expect(try DataConverter.default.fromPayloads(r.query("sum", args: nil), as: Int.self) == 4)
        #expect(throws: QueryError.self) { try r.query("missing", args: nil) }
    }
}

/// Runs "echo" with the timeouts its input names, returning the error it gets.
final class BadActivityTimeouts: Workflow {
    init() {}
    func run(context: WorkflowContext, input: String) async throws -> String {
        do {
            switch input {
            case "zero":
                _ = try await context.executeActivity("echo", input: "x", options: .init(startToCloseTimeout: .zero), as: String.self)
            case "negative":
                _ = try await context.executeActivity(
                    "echo", input: "x", options: .init(startToCloseTimeout: .seconds(5), heartbeatTimeout: .seconds(-1)), as: String.self)
            case "local-zero":
                _ = try await context.executeLocalActivity(
                    "echo", input: "x", options: LocalActivityOptions(startToCloseTimeout: .zero), as: String.self)
            case "continue-negative":
                try context.continueAsNew(input: "x", options: ContinueAsNewOptions(taskTimeout: .seconds(-2)))
            case "child-negative":
                _ = try await context.startChildWorkflow("SleepLong", options: .init(runTimeout: .seconds(-1)))
            case "retry-maximum-below-initial", "retry-one-attempt":
                // One attempt is not checked further, as a server does not.
                let policy = RetryPolicy(maximumInterval: .milliseconds(500), maximumAttempts: input == "retry-one-attempt" ? 1 : nil)
                _ = try await context.executeActivity(
                    "echo", input: "x", options: .init(startToCloseTimeout: .seconds(5), retryPolicy: policy), as: String.self)
            case "continue-retry":
                try context.continueAsNew(input: "x", options: ContinueAsNewOptions(retryPolicy: RetryPolicy(maximumAttempts: -1)))
            case "child-retry-coefficient":
                _ = try await context.startChildWorkflow("SleepLong", options: .init(retryPolicy: RetryPolicy(backoffCoefficient: 0.5)))
            case "local-zero-with-schedule-to-close":
                return try await context.executeLocalActivity(
                    "echo", input: "x", options: LocalActivityOptions(startToCloseTimeout: .zero, scheduleToCloseTimeout: .seconds(10)),
                    as: String.self)
            default:
                _ = try await context.executeActivity(
                    "echo", input: "x", options: .init(scheduleToCloseTimeout: .seconds(5), startToCloseTimeout: .zero), as: String.self)
            }
            return "ran"
        } catch {
            return "\(error)"
        }
    }
}

/// Reads one value of its "note" channel and returns it.
final class ReadsOneNote: Workflow {
    init() {}
    func run(context: WorkflowContext, input: NoValue) async throws -> String {
        try await context.signalChannel("note", as: String.self).receive()
    }
}
