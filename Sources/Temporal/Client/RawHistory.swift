import TemporalProto

#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

extension Temporal_Api_Workflowservice_V1_GetWorkflowExecutionHistoryResponse {
    /// Decodes `raw_history` (each blob a serialized `History`: one batch of events, as the
    /// server stores them) into `history.events`, after the events already there, and clears
    /// it. With `closeEventOnly` (a request filtered to the close event) only the last event is
    /// kept: the server sends the whole batch that holds it.
    /// - Throws: `TemporalError` when a blob is not protobuf or does not decode.
    mutating func moveRawHistoryToHistory(closeEventOnly: Bool = false) throws {
        var events = history.events
        for (index, blob) in rawHistory.enumerated() {
            switch blob.encodingType {
            case .proto3, .unspecified:
                do {
                    events += try Temporal_Api_History_V1_History(serializedBytes: blob.data).events
                } catch {
                    throw TemporalError(
                        code: .internal,
                        message:
                            "cannot decode batch \(index + 1) of the raw history the server sent (\(blob.data.count) bytes): \(error)",
                        cause: error)
                }
            default:
                throw TemporalError(
                    code: .unimplemented,
                    message:
                        "the server sent history batch \(index + 1) encoded as \(blob.encodingType), which this client cannot read; only protobuf batches are supported (or turn off frontend.sendRawWorkflowHistory)"
                )
            }
        }
        if closeEventOnly, let last = events.last { events = [last] }
        history.events = events
        rawHistory = []
    }
}
