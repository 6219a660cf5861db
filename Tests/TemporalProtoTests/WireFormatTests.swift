import Foundation
import SwiftProtobuf
import TemporalProto
import Testing

/// Bytes written out field by field (tag = number << 3 | wire type), decoded with the
/// generated types: proves specific field numbers independently of our own encoder.
@Suite("Wire format")
struct WireFormatTests {
    /// WorkflowType { name #1 = "Flow" }
    static let workflowType: [UInt8] = [0x0A, 0x04] + Array("Flow".utf8)

    /// WorkflowExecutionStartedEventAttributes { workflow_type #1, attempt #18 = 1 }
    static let startedAttributes: [UInt8] =
        [0x0A, UInt8(workflowType.count)] + workflowType
        + [0x90, 0x01, 0x01]  // #18 varint: tag 144 needs two bytes

    /// HistoryEvent { event_id #1 = 5, event_type #3 = 1, attributes #6, worker_may_ignore #300 }
    static let historyEvent: [UInt8] =
        [0x08, 0x05]  // #1 varint 5
        + [0x18, 0x01]  // #3 varint EVENT_TYPE_WORKFLOW_EXECUTION_STARTED
        + [0x32, UInt8(startedAttributes.count)] + startedAttributes  // #6 length-delimited
        + [0xE0, 0x12, 0x01]  // #300 varint true (tag 2400)

    @Test("HistoryEvent: event_id = 1, event_type = 3, workflow_execution_started_event_attributes = 6")
    func historyEventFieldNumbers() throws {
        let event = try Temporal_Api_History_V1_HistoryEvent(serializedBytes: Self.historyEvent)
        #expect(event.eventID == 5)
        #expect(event.eventType == .workflowExecutionStarted)
        #expect(event.workerMayIgnore)
        guard case .workflowExecutionStartedEventAttributes(let attributes)? = event.attributes else {
            Issue.record("field 6 did not decode as workflow_execution_started_event_attributes")
            return
        }
        #expect(attributes.workflowType.name == "Flow")
        #expect(attributes.attempt == 1)
        #expect(event.unknownFields.data.isEmpty)
    }

    @Test("Our encoder writes the same bytes for the same HistoryEvent")
    func historyEventEncodesIdentically() throws {
        var attributes = Temporal_Api_History_V1_WorkflowExecutionStartedEventAttributes()
        attributes.workflowType.name = "Flow"
        attributes.attempt = 1
        var event = Temporal_Api_History_V1_HistoryEvent()
        event.eventID = 5
        event.eventType = .workflowExecutionStarted
        event.workflowExecutionStartedEventAttributes = attributes
        event.workerMayIgnore = true
        let bytes: [UInt8] = try event.serializedBytes()
        #expect(bytes == Self.historyEvent)
    }

    @Test("PollWorkflowTaskQueueResponse: task_token = 1, history = 8, next_page_token = 9")
    func pollResponseFieldNumbers() throws {
        let history: [UInt8] = [0x0A, UInt8(Self.historyEvent.count)] + Self.historyEvent  // History.events #1
        let bytes: [UInt8] =
            [0x0A, 0x02, 0xAB, 0xCD]  // #1 task_token
            + [0x30, 0x01]  // #6 attempt = 1
            + [0x42, UInt8(history.count)] + history  // #8 history
            + [0x4A, 0x02] + Array("np".utf8)  // #9 next_page_token
        let response = try Temporal_Api_Workflowservice_V1_PollWorkflowTaskQueueResponse(serializedBytes: bytes)
        #expect(response.taskToken == Data([0xAB, 0xCD]))
        #expect(response.attempt == 1)
        #expect(response.history.events.count == 1)
        #expect(response.history.events[0].eventID == 5)
        #expect(response.history.events[0].workflowExecutionStartedEventAttributes.workflowType.name == "Flow")
        #expect(response.nextPageToken == Data("np".utf8))
        #expect(response.unknownFields.data.isEmpty)
    }

    @Test("Command: command_type = 1, start_timer_command_attributes = 3")
    func commandFieldNumbers() throws {
        let bytes: [UInt8] =
            [0x08, 0x03]  // #1 COMMAND_TYPE_START_TIMER
            + [
                0x1A, 0x07,  // #3 StartTimerCommandAttributes
                0x0A, 0x01, 0x37,  //   timer_id #1 = "7"
                0x12, 0x02, 0x08, 0x05,
            ]  //   start_to_fire_timeout #2 = { seconds #1 = 5 }
        let command = try Temporal_Api_Command_V1_Command(serializedBytes: bytes)
        #expect(command.commandType == .startTimer)
        #expect(command.startTimerCommandAttributes.timerID == "7")
        #expect(command.startTimerCommandAttributes.startToFireTimeout.seconds == 5)
    }

    @Test("Tag 12 is retry_policy in Start but signal_name in SignalWithStart")
    func signalWithStartNumbering() throws {
        let retryPolicy: [UInt8] = [0x20, 0x03]  // RetryPolicy { maximum_attempts #4 = 3 }
        let start = try Temporal_Api_Workflowservice_V1_StartWorkflowExecutionRequest(
            serializedBytes: [0x62, UInt8(retryPolicy.count)] + retryPolicy)
        #expect(start.retryPolicy.maximumAttempts == 3)

        let signalWithStart = try Temporal_Api_Workflowservice_V1_SignalWithStartWorkflowExecutionRequest(
            serializedBytes: [0x62, 0x04] + Array("stop".utf8)  // #12 signal_name
                + [0x7A, UInt8(retryPolicy.count)] + retryPolicy  // #15 retry_policy
                + [0xB0, 0x01, 0x02])  // #22 workflow_id_conflict_policy = USE_EXISTING
        #expect(signalWithStart.signalName == "stop")
        #expect(signalWithStart.retryPolicy.maximumAttempts == 3)
        #expect(signalWithStart.workflowIDConflictPolicy == .useExisting)
    }

    @Test("Fields and enum values we do not declare survive a round trip")
    func unknownFieldsAndEnumValues() throws {
        // HistoryEvent.links #302 (not in our subset) as an empty message, and an event type
        // number from the future.
        let bytes: [UInt8] = [0x08, 0x01, 0x18, 0x63, 0xF2, 0x12, 0x00]
        let event = try Temporal_Api_History_V1_HistoryEvent(serializedBytes: bytes)
        #expect(event.eventType == .UNRECOGNIZED(99))
        #expect(!event.unknownFields.data.isEmpty)
        let reencoded: [UInt8] = try event.serializedBytes()
        #expect(reencoded == bytes)
    }
}
