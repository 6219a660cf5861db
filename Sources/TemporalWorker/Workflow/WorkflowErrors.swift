public import Temporal
public import TemporalProto

/// An activity failed, timed out or was cancelled (by the server). Thrown to workflow code;
/// if it escapes `run`, the workflow fails with this failure chain (as in every SDK).
public struct ActivityError: FailureCarryingError, Sendable, CustomStringConvertible {
    /// The failure with `ActivityFailureInfo` and the attempt's failure as `cause`, as
    /// received: sent on as it is (attributes another SDK encoded stay encoded, as Go keeps the
    /// original).
    public let failure: Failure
    /// `failure` with the attributes another SDK's converter encoded (`encoded_attributes`:
    /// message, stack trace) decoded, for reading: what `cause`, `applicationError` and the
    /// description show ("Encoded failure" otherwise).
    public let readableFailure: Failure
    public var activityID: String { failure.activityFailureInfo.activityID }
    public var activityType: String { failure.activityFailureInfo.activityType.name }
    public var retryState: Temporal_Api_Enums_V1_RetryState { failure.activityFailureInfo.retryState }

    /// An error for `failure`, its encoded attributes decoded with `converter` for reading
    /// (default: `DataConverter.current`).
    public init(failure: Failure, converter: DataConverter = DataConverter.current) {
        self.failure = failure
        readableFailure = converter.decodingEncodedAttributes(failure)
    }

    /// The cause: an `ApplicationError` for application failures, a `TemporalError` (e.g.
    /// kind `.workflowTimedOut` for timeouts) otherwise.
    public var cause: (any Error)? {
        readableFailure.hasCause ? FailureConverter().error(readable: readableFailure.cause, received: failure.cause) : nil
    }

    /// The application error at the root, if the activity raised one (its message decoded
    /// when another SDK encoded it; rethrown unchanged, it goes on still encoded).
    public var applicationError: ApplicationError? {
        readableFailure.firstApplicationError.map { $0.keepingEncoded(failure.firstApplicationFailure) }
    }

    /// The timeout type when the activity timed out.
    public var timeoutType: Temporal_Api_Enums_V1_TimeoutType? {
        var f: Failure? = failure
        while let current = f {
            if case .timeoutFailureInfo(let t)? = current.failureInfo { return t.timeoutType }
            f = current.hasCause ? current.cause : nil
        }
        return nil
    }

    public var description: String {
        "ActivityError(\(activityType) \(activityID), \(retryState)): \(readableFailure.message)"
            + (readableFailure.hasCause ? " — caused by \(readableFailure.cause.message)" : "")
    }
}

/// Thrown by `WorkflowContext.continueAsNew`; let it propagate out of `run`.
public struct ContinueAsNewError: Error, Sendable {
    public var input: Payloads?
    public var workflowType: String?
    public var taskQueue: String?
    /// Nil: the current run's run timeout, carried over.
    public var runTimeout: Duration?
    /// Nil: the current run's task timeout, carried over.
    public var taskTimeout: Duration?
    /// The new run's memo (encoded with the workflow's converter); nil: the current run's.
    public var memo: [String: Payload]?
    /// The new run's search attributes (always the default converter); nil: the current run's.
    public var searchAttributes: [String: Payload]?
    /// The new run's retry policy; nil: the current run's.
    public var retryPolicy: RetryPolicy?
    /// Where the new run's first task goes (Worker Versioning); nil: the current run's version.
    public var initialVersioningBehavior: ContinueAsNewVersioningBehavior? = nil
    /// Headers of the new run's start (from `WorkerInterceptor.continueAsNew`).
    public var headers: [String: Payload] = [:]
}

/// Workflow code misused the context (e.g. an activity without timeouts). Fails the workflow task.
public struct WorkflowUsageError: Error, Sendable, CustomStringConvertible {
    public let message: String
    public init(_ message: String) { self.message = message }
    public var description: String { "workflow usage error: \(message)" }
}

/// A query the workflow has no handler for, or whose handler failed.
public struct QueryError: Error, Sendable, CustomStringConvertible {
    public let message: String
    public init(_ message: String) { self.message = message }
    public var description: String { message }
}

/// The history handed to the runtime is not usable (gap, unexpected event, stale cache).
struct HistoryError: Error, Sendable, CustomStringConvertible {
    let message: String
    /// True when the run's cached state no longer matches history: evict it and replay from event 1.
    let staleCache: Bool
    init(_ message: String, staleCache: Bool = false) {
        self.message = message
        self.staleCache = staleCache
    }
    var description: String { message }
}

/// Workflow code threw something other than a workflow failure: the workflow task fails
/// (cause WORKFLOW_WORKER_UNHANDLED_FAILURE) and the server retries it.
public struct WorkflowTaskFailure: Error, Sendable, CustomStringConvertible {
    public let underlying: any Error
    public init(_ underlying: any Error) { self.underlying = underlying }
    public var description: String { "workflow task failed: \(underlying)" }
}
