public import TemporalProto

#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// The one error family of the Temporal client: RPC failures with the server's details,
/// connection problems, and the ways a workflow can end other than by completing.
public struct TemporalError: Error, Sendable, CustomStringConvertible {
    /// What kind of problem this is.
    public enum Kind: String, Sendable {
        /// The server answered an RPC with a non-OK status (see `code` and `details`).
        case rpc
        /// The server could not be reached (after retries).
        case connection
        /// A value could not be converted to or from a payload.
        case payloadConversion
        /// The workflow failed; `failure` holds the Temporal failure chain.
        case workflowFailed
        /// The workflow was cancelled.
        case workflowCanceled
        /// The workflow was terminated.
        case workflowTerminated
        /// The workflow timed out.
        case workflowTimedOut
        /// The run continued as new (`WorkflowHandle.result(followRuns: false)` only; `message`
        /// names the new run).
        case workflowContinuedAsNew
        /// A query was rejected or its handler failed.
        case queryFailed
        /// An update was rejected (no handler, or its validator refused it) or its handler failed;
        /// `failure` holds the workflow's failure.
        case updateFailed
        /// The caller passed something invalid.
        case invalidArgument
    }

    public var kind: Kind
    /// The gRPC status code (for `.rpc` and `.connection`; `.unknown` otherwise unless meaningful).
    public var code: GRPCStatusCode
    /// Human-readable message: what went wrong and, where possible, what to do.
    public var message: String
    /// Structured error details decoded from `grpc-status-details-bin`.
    public var details: ErrorDetails?
    /// The Temporal failure chain, for workflow, activity and query failures (for reading: the
    /// attributes another SDK's converter encoded, message and stack trace, are decoded).
    public var failure: Temporal_Api_Failure_V1_Failure?
    /// `failure` as the server sent it, when it held encoded attributes: what goes on when this
    /// error is rethrown (from an activity, say) with `failure` unchanged, so that they stay
    /// encoded, as Go sends the original. Without it a message another SDK encrypted went on in
    /// clear. A `failure` code changed (redacted, say) goes on as changed.
    public var receivedFailure: Temporal_Api_Failure_V1_Failure? {
        didSet { failureWhenReceived = failure }
    }
    /// `failure` when `receivedFailure` was set (its decoded copy).
    private var failureWhenReceived: Temporal_Api_Failure_V1_Failure?

    /// `receivedFailure`, when `failure` is still what it was then (code did not change it).
    package var unchangedReceivedFailure: Temporal_Api_Failure_V1_Failure? {
        guard let received = receivedFailure, failure == failureWhenReceived else { return nil }
        return received
    }
    /// The error this one reports, when there is one: the `GRPCStatusError` of an RPC (with its
    /// trailers), the `EncodingError`/`DecodingError` of a payload, … (its text is in `message`).
    public var cause: (any Error & Sendable)?
    /// The converter of the client that received `failure` (with its codecs): the
    /// `applicationError`'s details decode with it.
    public var dataConverter: DataConverter?
    /// How many times the failed RPC was sent (more than 1 after transient failures).
    public internal(set) var attempts: Int = 1

    /// NOT_FOUND from a retry: for a call without an idempotency key that removes something
    /// (terminate, delete), an earlier attempt may have done it before its answer was lost.
    var isNotFoundOnRetry: Bool { code == .notFound && attempts > 1 }

    public init(
        kind: Kind = .rpc, code: GRPCStatusCode = .unknown, message: String,
        details: ErrorDetails? = nil, failure: Temporal_Api_Failure_V1_Failure? = nil,
        cause: (any Error & Sendable)? = nil
    ) {
        self.cause = cause
        self.kind = code == .invalidArgument && kind == .rpc ? .invalidArgument : kind
        self.code = code
        self.message = message
        self.details = details
        self.failure = failure
    }

    public var description: String {
        var text = "TemporalError.\(kind)"
        if kind == .rpc || kind == .connection || kind == .invalidArgument { text += "(\(code))" }
        text += ": \(message)"
        if let failure, !failure.message.isEmpty, !message.contains(failure.message) {
            text += " — \(failure.message)"
        }
        return text
    }

    /// The run id of the already-running workflow, when a start was rejected because of it.
    public var alreadyStartedRunID: String? {
        if case .workflowAlreadyStarted(let runID, _)? = details { return runID }
        return nil
    }
}

/// Decoded `temporal.api.errordetails.v1` messages that matter to callers.
public enum ErrorDetails: Sendable, Equatable {
    case workflowAlreadyStarted(runID: String, startRequestID: String)
    case notFound(currentCluster: String, activeCluster: String)
    case namespaceNotFound(namespace: String)
    case namespaceAlreadyExists
    case queryFailed(Temporal_Api_Failure_V1_Failure)
    case resourceExhausted(cause: Int, scope: Int)
    case clientVersionNotSupported(clientVersion: String, clientName: String, supportedVersions: String)
    case serverVersionNotSupported(serverVersion: String, clientSupportedServerVersions: String)
    case cancellationAlreadyRequested
    /// A detail type this client does not decode; the type URL is kept.
    case other(typeURL: String)
}
