import Foundation
import Logging
import Temporal
import TemporalProto
import Testing

@testable import LaunchpadETL
@testable import TemporalWorker

/// Plans a scheduled run's catch-up over 2024-04-09 and returns what it names unread.
final class CatchUpProbe: Workflow {
    init() {}
    func run(context: WorkflowContext, input: NoValue) async throws -> String {
        ScheduleCatchUp.plan(context, window: ("2024-04-09", "2024-04-09"), lookbackDays: 2, subject: ["member": "alice"]).unread
            ?? "none"
    }
}

/// A schedule's last completed result that does not decode (a key the payload codec no longer
/// has, another tool's result) leaves the days since it unknown: the run says so and is
/// partial. It planned no catch-up and said nothing, and every run was green.
@Suite struct ScheduleCatchUpUnreadableTests {
    /// The first workflow task of a CatchUpProbe run whose last completed result is `last`:
    /// its commands.
    static func firstTask(last: Payloads?) throws -> [Command] {
        var started = Temporal_Api_History_V1_WorkflowExecutionStartedEventAttributes()
        started.workflowType.name = CatchUpProbe.name
        started.taskQueue.name = "tq"
        started.originalExecutionRunID = "run-1"
        started.attempt = 1
        if let last { started.lastCompletionResult = last }
        var events: [HistoryEvent] = []
        for (index, type) in [Temporal_Api_Enums_V1_EventType.workflowExecutionStarted, .workflowTaskScheduled, .workflowTaskStarted]
            .enumerated()
        {
            var event = HistoryEvent()
            event.eventID = Int64(index + 1)
            event.eventType = type
            event.eventTime = .init(date: Date(timeIntervalSince1970: 1_712_620_800))
            switch type {
            case .workflowExecutionStarted: event.workflowExecutionStartedEventAttributes = started
            case .workflowTaskScheduled: event.workflowTaskScheduledEventAttributes = .init()
            default:
                var a = Temporal_Api_History_V1_WorkflowTaskStartedEventAttributes()
                a.scheduledEventID = 2
                event.workflowTaskStartedEventAttributes = a
            }
            events.append(event)
        }
        let info = WorkflowInfo(
            namespace: "default", workflowID: "wf", runID: "run-1", workflowType: CatchUpProbe.name, taskQueue: "tq", attempt: 1,
            continuedRunID: nil, firstExecutionRunID: "run-1", originalExecutionRunID: "run-1")
        let run = WorkflowRun(
            definition: WorkflowDefinition(CatchUpProbe.self), info: info, converter: .default, logger: Logger(label: "test"))
        defer { run.tearDown() }
        return try run.process(events: events, liveStartedEventID: 3)
    }

    static func outcome(_ commands: [Command]) throws -> (result: String, patches: [String]) {
        let complete = try #require(commands.last { $0.commandType == .completeWorkflowExecution })
        let result = try DataConverter.default.fromPayloads(complete.completeWorkflowExecutionCommandAttributes.result, as: String.self)
        // The marker's details hold the patch id (as JSON, in `patch_data`).
        let patches = [ScheduleCatchUp.patch, ScheduleCatchUp.unreadablePatch].filter { id in
            commands.contains { command in
                command.commandType == .recordMarker
                    && command.recordMarkerCommandAttributes.details.values.contains { details in
                        details.payloads.contains { String(decoding: $0.data, as: UTF8.self).contains("\"\(id)\"") }
                    }
            }
        }
        return (result, patches)
    }

    @Test func anUndecodableLastResultMakesTheRunSaySo() throws {
        let garbage = try DataConverter.default.toPayloads("not a flow result")
        let (result, patches) = try Self.outcome(try Self.firstTask(last: garbage))
        #expect(result.hasPrefix("schedule: the last completed run's result could not be read ("), "\(result)")
        #expect(result.contains("backfill their periods"), "\(result)")
        #expect(patches.contains(ScheduleCatchUp.unreadablePatch), "\(patches)")
        // No last result (a schedule's first run): nothing to say, no patch recorded.
        let (first, firstPatches) = try Self.outcome(try Self.firstTask(last: nil))
        #expect(first == "none" && firstPatches == [ScheduleCatchUp.patch], "\(first) \(firstPatches)")
    }
}
