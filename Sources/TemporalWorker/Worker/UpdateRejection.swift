import SwiftProtobuf
import Temporal
import TemporalProto

/// Workflow Update, for now: every update request that arrives with a workflow task is rejected
/// at once with a failure that says why, so `temporal workflow update execute` and clients of
/// other SDKs get an error within a workflow task instead of waiting for a timeout. (Handlers,
/// validators and accepted/completed responses are not implemented yet.) A rejected update
/// leaves nothing in history, so this changes no replay.
enum UpdateRejection {
    /// The error type of the rejection failure.
    static let failureType = "UpdateNotSupported"

    /// A rejection message for each update request among `messages`.
    static func rejections(for messages: [Temporal_Api_Protocol_V1_Message], workflowType: String,
                           failureConverter: FailureConverter) -> [Temporal_Api_Protocol_V1_Message] {
        messages.compactMap { message in
            guard message.body.typeURL.hasSuffix("temporal.api.update.v1.Request"),
                  let request = try? Temporal_Api_Update_V1_Request(unpackingAny: message.body) else { return nil }
            let error = ApplicationError(
                "workflow \(workflowType) has no handler for update '\(request.input.name)': this worker (TemporalETL for Swift) does not handle Workflow Updates yet; use a signal, or a worker that implements the update",
                type: failureType, nonRetryable: true)
            var rejection = Temporal_Api_Update_V1_Rejection()
            rejection.rejectedRequestMessageID = message.id
            if case .eventID(let id)? = message.sequencingID { rejection.rejectedRequestSequencingEventID = id }
            rejection.rejectedRequest = request
            rejection.failure = failureConverter.failure(from: error)
            guard let body = try? Google_Protobuf_Any(message: rejection) else { return nil }
            var reply = Temporal_Api_Protocol_V1_Message()
            reply.id = message.id + "/reject"
            reply.protocolInstanceID = message.protocolInstanceID
            reply.body = body
            return reply
        }
    }
}
