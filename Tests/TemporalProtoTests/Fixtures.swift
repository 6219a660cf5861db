import Foundation
import SwiftProtobuf
import TemporalProto

/// Small builders shared by the proto tests.
enum Fixtures {
    static func jsonPayload(_ json: String) -> Temporal_Api_Common_V1_Payload {
        var payload = Temporal_Api_Common_V1_Payload()
        payload.metadata["encoding"] = Data("json/plain".utf8)
        payload.data = Data(json.utf8)
        return payload
    }

    static func payloads(_ json: String...) -> Temporal_Api_Common_V1_Payloads {
        var payloads = Temporal_Api_Common_V1_Payloads()
        payloads.payloads = json.map(jsonPayload)
        return payloads
    }

    static func duration(_ seconds: Int64, nanos: Int32 = 0) -> Google_Protobuf_Duration {
        var duration = Google_Protobuf_Duration()
        duration.seconds = seconds
        duration.nanos = nanos
        return duration
    }

    static func timestamp(_ seconds: Int64, nanos: Int32 = 0) -> Google_Protobuf_Timestamp {
        var timestamp = Google_Protobuf_Timestamp()
        timestamp.seconds = seconds
        timestamp.nanos = nanos
        return timestamp
    }

    static func taskQueue(_ name: String) -> Temporal_Api_Taskqueue_V1_TaskQueue {
        var queue = Temporal_Api_Taskqueue_V1_TaskQueue()
        queue.name = name
        queue.kind = .normal
        return queue
    }

    static func execution(_ workflowID: String, _ runID: String) -> Temporal_Api_Common_V1_WorkflowExecution {
        var execution = Temporal_Api_Common_V1_WorkflowExecution()
        execution.workflowID = workflowID
        execution.runID = runID
        return execution
    }

    static func event(
        _ id: Int64,
        _ type: Temporal_Api_Enums_V1_EventType,
        _ attributes: Temporal_Api_History_V1_HistoryEvent.OneOf_Attributes
    ) -> Temporal_Api_History_V1_HistoryEvent {
        var event = Temporal_Api_History_V1_HistoryEvent()
        event.eventID = id
        event.eventTime = timestamp(1_700_000_000 + id)
        event.eventType = type
        event.attributes = attributes
        return event
    }

    /// Encodes and decodes `message`, returning the decoded copy.
    static func roundTrip<M: SwiftProtobuf.Message>(_ message: M) throws -> M {
        let bytes: [UInt8] = try message.serializedBytes()
        return try M(serializedBytes: bytes)
    }
}
