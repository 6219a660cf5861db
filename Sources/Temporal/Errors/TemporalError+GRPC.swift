import SwiftProtobuf
import TemporalProto

#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

extension TemporalError {
    /// Builds the error for a failed RPC, decoding `grpc-status-details-bin` and phrasing
    /// connection problems so that the reader knows what to do. Classified by code, details and
    /// the channel's configuration (`overTLS`), never by the wording of the status message.
    init(status: GRPCStatusError, rpc: String, target: String, attempts: Int, overTLS: Bool = false) {
        let retried = attempts > 1 ? " (after \(attempts) attempts)" : ""
        // ExecuteMultiOperation (update-with-start) answers with one status per operation: the
        // error is the failing one's, with its own details (an already-started workflow's run id,
        // say), as Go reports it.
        let statusDetails = Self.statusDetails(status.trailer("grpc-status-details-bin"))  // decoded once
        if let operation = Self.failedOperation(statusDetails) {
            self.init(
                kind: .rpc, code: GRPCStatusCode(rawValue: Int(operation.code)),
                message: "\(rpc) failed: \(operation.message)\(retried)",
                details: Self.decodeDetails(operation.details))
            cause = status
            self.attempts = attempts
            return
        }
        let details = Self.decodeDetails(statusDetails)
        switch status.code {
        case .unavailable where overTLS && statusDetails.isEmpty:
            // gRPC reports a refused handshake and an unreachable server alike (UNAVAILABLE).
            // Not an answer carrying the server's details (an overloaded server, a namespace not
            // ready: a connection and a handshake that worked), which the case below words.
            self.init(
                kind: .connection, code: status.code,
                message: "cannot reach the Temporal server at \(target) over TLS for \(rpc)\(retried): \(status.message). "
                    + "If those are the server's own words (an update aborted, a busy server), it was reached: try again later. Otherwise: "
                    + "is the server running and is the address right (TEMPORAL_HOST)? If it is, the TLS handshake failed: check "
                    + "the CA certificate (TEMPORAL_TLS_CA), the client certificate and key for mTLS, and that the server's "
                    + "certificate names this host (or set a server name override).",
                details: details)
        case .unavailable:
            self.init(
                kind: .connection, code: status.code,
                // UNAVAILABLE also comes from a server that is up (overloaded, a namespace not
                // ready, an update aborted): its message is shown as it came.
                message: "the Temporal server at \(target) was unavailable for \(rpc)\(retried): \(status.message). "
                    + "If nothing answers there: is the server running and is the address right? Start one with `temporal server start-dev`, or set TEMPORAL_HOST.",
                details: details)
        case .deadlineExceeded:
            self.init(
                kind: .rpc, code: status.code,
                message: "\(rpc) to \(target) did not complete before its deadline: \(status.message)", details: details)
        default:
            var message = "\(rpc) failed: \(status.message)\(retried)"
            if case .namespaceNotFound(let ns)? = details {
                message +=
                    ". Namespace '\(ns)' does not exist: create it with `temporal operator namespace create \(ns)` or set TEMPORAL_NAMESPACE."
            }
            self.init(kind: .rpc, code: status.code, message: message, details: details)
        }
        if case .queryFailed(let failure)? = details {
            self.kind = .queryFailed
            self.failure = failure
        }
        cause = status
        self.attempts = attempts
    }

    /// The operation that failed, from a status carrying `MultiOperationExecutionFailure` (one
    /// status per operation), or nil. An operation that did not fail itself carries a
    /// `temporal.api.failure.v1.MultiOperationExecutionAborted` detail, as Go tells them apart (its code alone is
    /// ABORTED, which the failing one's can be too: an update whose workflow closed under it).
    static func failedOperation(_ bytes: Data?) -> Temporal_Api_Errordetails_V1_MultiOperationExecutionFailure.OperationStatus? {
        failedOperation(statusDetails(bytes))
    }

    /// The details of a `grpc-status-details-bin` trailer (a `google.rpc.Status`); none when
    /// absent or unreadable.
    static func statusDetails(_ bytes: Data?) -> [Google_Protobuf_Any] {
        guard let bytes, let status = try? Google_Rpc_Status(serializedBytes: bytes) else { return [] }
        return status.details
    }

    /// The same, from a status's details.
    static func failedOperation(_ details: [Google_Protobuf_Any])
        -> Temporal_Api_Errordetails_V1_MultiOperationExecutionFailure.OperationStatus?
    {
        guard let any = details.first(where: { $0.typeURL.hasSuffix("/temporal.api.errordetails.v1.MultiOperationExecutionFailure") }),
            let multi = try? Temporal_Api_Errordetails_V1_MultiOperationExecutionFailure(serializedBytes: any.value)
        else { return nil }
        func abortedForTheOther(_ operation: Temporal_Api_Errordetails_V1_MultiOperationExecutionFailure.OperationStatus) -> Bool {
            operation.details.contains { $0.typeURL.hasSuffix("/temporal.api.failure.v1.MultiOperationExecutionAborted") }
        }
        return multi.statuses.first { $0.code != 0 && !abortedForTheOther($0) } ?? multi.statuses.first { $0.code != 0 }
    }

    /// Decodes the first known `temporal.api.errordetails.v1` message of a `google.rpc.Status`.
    static func decodeDetails(_ bytes: Data?) -> ErrorDetails? { decodeDetails(statusDetails(bytes)) }

    /// Decodes the first known `temporal.api.errordetails.v1` message among `details`.
    static func decodeDetails(_ details: [Google_Protobuf_Any]) -> ErrorDetails? {
        // A known one anywhere wins over one this release does not know (or cannot read) before it.
        var unknown: ErrorDetails?
        for any in details {
            let name = any.typeURL.split(separator: "/").last.map(String.init) ?? any.typeURL
            let prefix = "temporal.api.errordetails.v1."
            guard name.hasPrefix(prefix) else { continue }
            let value = any.value
            switch String(name.dropFirst(prefix.count)) {
            case "WorkflowExecutionAlreadyStartedFailure":
                if let d = try? Temporal_Api_Errordetails_V1_WorkflowExecutionAlreadyStartedFailure(serializedBytes: value) {
                    return .workflowAlreadyStarted(runID: d.runID, startRequestID: d.startRequestID)
                }
            case "NotFoundFailure":
                if let d = try? Temporal_Api_Errordetails_V1_NotFoundFailure(serializedBytes: value) {
                    return .notFound(currentCluster: d.currentCluster, activeCluster: d.activeCluster)
                }
            case "NamespaceNotFoundFailure":
                if let d = try? Temporal_Api_Errordetails_V1_NamespaceNotFoundFailure(serializedBytes: value) {
                    return .namespaceNotFound(namespace: d.namespace)
                }
            case "NamespaceAlreadyExistsFailure":
                return .namespaceAlreadyExists
            case "QueryFailedFailure":
                if let d = try? Temporal_Api_Errordetails_V1_QueryFailedFailure(serializedBytes: value) {
                    return .queryFailed(d.failure)
                }
            case "ResourceExhaustedFailure":
                if let d = try? Temporal_Api_Errordetails_V1_ResourceExhaustedFailure(serializedBytes: value) {
                    return .resourceExhausted(cause: d.cause.rawValue, scope: d.scope.rawValue)
                }
            case "ClientVersionNotSupportedFailure":
                if let d = try? Temporal_Api_Errordetails_V1_ClientVersionNotSupportedFailure(serializedBytes: value) {
                    return .clientVersionNotSupported(
                        clientVersion: d.clientVersion, clientName: d.clientName, supportedVersions: d.supportedVersions)
                }
            case "ServerVersionNotSupportedFailure":
                if let d = try? Temporal_Api_Errordetails_V1_ServerVersionNotSupportedFailure(serializedBytes: value) {
                    return .serverVersionNotSupported(
                        serverVersion: d.serverVersion, clientSupportedServerVersions: d.clientSupportedServerVersions)
                }
            case "CancellationAlreadyRequestedFailure":
                return .cancellationAlreadyRequested
            default:
                break
            }
            if unknown == nil { unknown = .other(typeURL: any.typeURL) }
        }
        return unknown
    }
}
