import Foundation
import Logging
import Synchronization
import Temporal
import TemporalTestSupport
import Testing

@testable import TemporalWorker

/// Keeps every log line with the metadata it carried (handler metadata merged with the call's).
struct MetadataCapturingLogHandler: LogHandler {
    let box: CapturedLines
    var metadata: Logger.Metadata = [:]
    var logLevel: Logger.Level = .trace
    subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }
    func log(event: LogEvent) {
        let all = metadata.merging(event.metadata ?? [:]) { $1 }
        box.lines.withLock { $0.append(CapturedLine(message: "\(event.message)", metadata: all)) }
    }
}

struct CapturedLine: Sendable {
    var message: String
    var metadata: Logger.Metadata
    func value(_ key: String) -> String? { metadata[key].map { "\($0)" } }
}

final class CapturedLines: Sendable {
    let lines = Mutex<[CapturedLine]>([])
    func with(_ message: String) -> [CapturedLine] { lines.withLock { $0.filter { $0.message == message } } }
}

/// Logs, then calls `chatty` (which fails its first attempt).
final class LoggingFlow: Workflow {
    init() {}
    func run(context: WorkflowContext, input: String) async throws -> String {
        context.logger.info("workflow says hello")
        var options = ActivityOptions(startToCloseTimeout: .seconds(10))
        options.retryPolicy = RetryPolicy(initialInterval: .milliseconds(100), backoffCoefficient: 1, maximumAttempts: 3)
        let reply = try await context.executeActivity("chatty", input: input, options: options, as: String.self)
        context.logger.info("workflow says goodbye")
        return reply
    }
}

@Suite("Structured log metadata")
struct LogMetadataTests {
    @Test func workflowAndActivityLinesNameTheirRunAndAttempt() async throws {
        let box = CapturedLines()
        let chatty = ActivityDefinition("chatty") { (text: String, ctx: ActivityContext) -> String in
            ctx.logger.info("activity says hello", metadata: ["extra": "kept"])
            if ctx.info.attempt == 1 { throw ApplicationError("first attempt fails", type: "Flaky") }
            return text
        }
        let (workflowID, runID, queue) = try await withWorker(
            workflows: [LoggingFlow.self], activities: [chatty],
            configure: {
                $0.logger = Logger(label: "log-metadata-test") { _ in MetadataCapturingLogHandler(box: box) }
            }
        ) { w in
            let handle = try await w.start(LoggingFlow.self, "hi")
            #expect(try await handle.result(as: String.self) == "hi")
            return (handle.id, handle.resultRunID ?? "", w.taskQueue)
        }

        let workflowLines = box.with("workflow says hello") + box.with("workflow says goodbye")
        // Each message once: replayed code does not log again.
        #expect(workflowLines.count == 2)
        for line in workflowLines {
            #expect(line.value("workflow_id") == workflowID, "\(line)")
            #expect(line.value("run_id") == runID, "\(line)")
            #expect(line.value("workflow_type") == "LoggingFlow", "\(line)")
            #expect(line.value("task_queue") == queue, "\(line)")
            #expect(line.value("namespace") == "default", "\(line)")
        }

        let activityLines = box.with("activity says hello")
        #expect(activityLines.map { $0.value("attempt") }.sorted { ($0 ?? "") < ($1 ?? "") } == ["1", "2"])
        for line in activityLines {
            #expect(line.value("workflow_id") == workflowID, "\(line)")
            #expect(line.value("run_id") == runID, "\(line)")
            #expect(line.value("workflow_type") == "LoggingFlow", "\(line)")
            #expect(line.value("activity_type") == "chatty", "\(line)")
            #expect(line.value("activity_id")?.isEmpty == false, "\(line)")
            #expect(line.value("task_queue") == queue, "\(line)")
            #expect(line.value("extra") == "kept", "\(line)")
        }
        #expect(Set(activityLines.compactMap { $0.value("activity_id") }).count == 1)
    }
}

/// A task logger's context: cheap to set, merged when a line is emitted, in a fixed precedence.
@Suite struct ContextLogHandlerTests {
    @Test func contextSitsBetweenTheHandlersMetadataAndTheLinesAndKeysCanBeRemoved() {
        let box = CapturedLines()
        var base = Logger(label: "test") { _ in MetadataCapturingLogHandler(box: box) }
        base[metadataKey: "worker"] = "w1"
        base[metadataKey: "shadowed"] = "from-base"
        var task = base.adding(["workflow_id": "wf-1", "shadowed": "from-context"])
        task.info("first")
        task.info("second", metadata: ["workflow_id": "from-line"])
        task[metadataKey: "attempt"] = "2"
        task[metadataKey: "shadowed"] = nil  // gone from the context and from the base
        task.info("third")

        let first = box.with("first")[0]
        #expect(first.value("worker") == "w1" && first.value("workflow_id") == "wf-1")
        #expect(first.value("shadowed") == "from-context")
        #expect(box.with("second")[0].value("workflow_id") == "from-line")
        let third = box.with("third")[0]
        #expect(third.value("attempt") == "2" && third.value("shadowed") == nil && third.value("worker") == "w1")
        #expect(task[metadataKey: "workflow_id"] == "wf-1" && task[metadataKey: "worker"] == "w1")
        // The worker's own logger is untouched by the task's keys.
        base.info("base")
        #expect(box.with("base")[0].value("workflow_id") == nil && box.with("base")[0].value("shadowed") == "from-base")
    }
}
