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
        if let operation = Self.failedOperation(status.trailer("grpc-status-details-bin")) {
            self.init(
                kind: .rpc, code: GRPCStatusCode(rawValue: Int(operation.code)),
                message: "\(rpc) failed: \(operation.message)\(retried)",
                details: Self.decodeDetails(try? operation.serializedData()))
            cause = status
            return
        }
        let details = Self.decodeDetails(status.trailer("grpc-status-details-bin"))
        switch status.code {
        case .unavailable where overTLS:
            // gRPC reports a refused handshake and an unreachable server alike (UNAVAILABLE).
            self.init(
                kind: .connection, code: status.code,
                message: "cannot reach the Temporal server at \(target) over TLS for \(rpc)\(retried): \(status.message). "
                    + "Is the server running and is the address right (TEMPORAL_HOST)? If it is, the TLS handshake failed: check "
                    + "the CA certificate (TEMPORAL_TLS_CA), the client certificate and key for mTLS, and that the server's "
                    + "certificate names this host (or set a server name override).",
                details: details)
        case .unavailable:
            self.init(
                kind: .connection, code: status.code,
                message: "cannot reach the Temporal server at \(target) for \(rpc)\(retried): \(status.message). "
                    + "Is the server running and is the address right? Start one with `temporal server start-dev`, or set TEMPORAL_HOST.",
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
    }

    /// The operation that failed, from a status carrying `MultiOperationExecutionFailure`
    /// (field 1: one `OperationStatus` per operation, wire-compatible with `google.rpc.Status`),
    /// or nil. An operation that did not fail itself is marked by a
    /// `MultiOperationExecutionAborted` detail, as Go tells them apart (its code alone is
    /// ABORTED, which the failing one's can be too: an update whose workflow closed under it).
    static func failedOperation(_ bytes: Data?) -> Google_Rpc_Status? {
        guard let bytes, let status = try? Google_Rpc_Status(serializedBytes: bytes),
            let multi = status.details.first(where: { $0.typeURL.hasSuffix("/temporal.api.errordetails.v1.MultiOperationExecutionFailure") }
            )
        else { return nil }
        let operations = lengthDelimitedFields(1, of: multi.value).compactMap { try? Google_Rpc_Status(serializedBytes: $0) }
        func abortedForTheOther(_ operation: Google_Rpc_Status) -> Bool {
            operation.details.contains { $0.typeURL.hasSuffix("/temporal.api.errordetails.v1.MultiOperationExecutionAborted") }
        }
        return operations.first { $0.code != 0 && !abortedForTheOther($0) } ?? operations.first { $0.code != 0 }
    }

    /// The values of length-delimited field `number` in protobuf `bytes` (others skipped);
    /// stops at anything malformed.
    static func lengthDelimitedFields(_ number: UInt64, of bytes: Data) -> [Data] {
        let data = [UInt8](bytes)
        var index = 0
        func varint() -> UInt64? {
            var value: UInt64 = 0
            var shift: UInt64 = 0
            while index < data.count, shift < 64 {
                let byte = data[index]
                index += 1
                value |= UInt64(byte & 0x7F) << shift
                if byte & 0x80 == 0 { return value }
                shift += 7
            }
            return nil
        }
        var fields: [Data] = []
        while index < data.count, let key = varint() {
            switch key & 7 {
            case 0: guard varint() != nil else { return fields }
            case 1: index += 8
            case 5: index += 4
            case 2:
                guard let length = varint(), length <= UInt64(data.count - index) else { return fields }
                if key >> 3 == number { fields.append(Data(data[index..<index + Int(length)])) }
                index += Int(length)
            default: return fields
            }
        }
        return fields
    }

    /// Decodes the first known `temporal.api.errordetails.v1` message of a `google.rpc.Status`.
    static func decodeDetails(_ bytes: Data?) -> ErrorDetails? {
        guard let bytes, let status = try? Google_Rpc_Status(serializedBytes: bytes) else { return nil }
        for any in status.details {
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
            return .other(typeURL: any.typeURL)
        }
        return nil
    }
}
