public import Temporal
public import TemporalProto

/// A child workflow failed, was cancelled, timed out or was terminated. Thrown to the parent's
/// code; if it escapes `run`, the parent fails with this failure chain (as in every SDK).
public struct ChildWorkflowError: FailureCarryingError, Sendable, CustomStringConvertible {
    /// The failure with `ChildWorkflowExecutionFailureInfo` and the child's failure as `cause`,
    /// as received: sent on as it is (attributes another SDK encoded stay encoded, as Go keeps
    /// the original).
    public let failure: Failure
    /// `failure` with the attributes another SDK's converter encoded (`encoded_attributes`:
    /// message, stack trace) decoded, for reading: what `cause`, `applicationError` and the
    /// description show ("Encoded failure" otherwise).
    public let readableFailure: Failure
    public var workflowID: String { failure.childWorkflowExecutionFailureInfo.workflowExecution.workflowID }
    /// The id of the child's run that ended (after retries or continue-as-new, not its first
    /// run); empty if it never started.
    public var runID: String { failure.childWorkflowExecutionFailureInfo.workflowExecution.runID }
    public var workflowType: String { failure.childWorkflowExecutionFailureInfo.workflowType.name }
    public var retryState: Temporal_Api_Enums_V1_RetryState { failure.childWorkflowExecutionFailureInfo.retryState }

    /// An error for `failure`, its encoded attributes decoded with `converter` for reading
    /// (default: `DataConverter.current`).
    public init(failure: Failure, converter: DataConverter = DataConverter.current) {
        self.failure = failure
        readableFailure = converter.decodingEncodedAttributes(failure)
    }

    /// The cause: an `ApplicationError` when the child failed with one; a `TemporalError` of
    /// kind `.workflowCanceled`, `.workflowTimedOut` or `.workflowTerminated` otherwise.
    public var cause: (any Error)? {
        readableFailure.hasCause ? FailureConverter().error(readable: readableFailure.cause, received: failure.cause) : nil
    }

    /// The application error at the root of the chain, if the child (or one of its
    /// activities or children) raised one.
    public var applicationError: ApplicationError? {
        readableFailure.firstApplicationError.map { $0.keepingEncoded(failure.firstApplicationFailure) }
    }

    /// True when the child was cancelled (its failure's cause is a cancellation).
    public var isCancellation: Bool {
        if case .canceledFailureInfo? = failure.cause.failureInfo { return true }
        return false
    }

    public var description: String {
        "ChildWorkflowError(\(workflowType) \(workflowID) run \(runID), \(retryState)): \(readableFailure.message)"
            + (readableFailure.hasCause ? " — caused by \(readableFailure.cause.message)" : "")
    }
}

/// The server refused to start a child workflow, typically because a workflow with the same
/// id is already running (`cause == .workflowAlreadyExists`). If it escapes `run`, the parent
/// fails with an application failure of type `ChildWorkflowStartError`.
public struct ChildWorkflowStartError: FailureCarryingError, Sendable, CustomStringConvertible {
    public let workflowID: String
    public let workflowType: String
    public let cause: Temporal_Api_Enums_V1_StartChildWorkflowExecutionFailedCause

    public init(workflowID: String, workflowType: String, cause: Temporal_Api_Enums_V1_StartChildWorkflowExecutionFailedCause) {
        self.workflowID = workflowID
        self.workflowType = workflowType
        self.cause = cause
    }

    public var description: String {
        let reason: String
        switch cause {
        case .workflowAlreadyExists: reason = "a workflow with this id is already running"
        case .namespaceNotFound: reason = "its namespace does not exist"
        default: reason = "\(cause)"
        }
        return "child workflow '\(workflowID)' (type \(workflowType)) could not start: \(reason)"
    }

    /// The failure a parent fails with when this error escapes its `run`: retryable (a parent
    /// with a retry policy tries again; the id may be free by then, as Go's), except when the
    /// child's namespace does not exist.
    public var failure: Failure {
        var f = Failure()
        f.message = description
        f.source = "SwiftSDK"
        var info = Temporal_Api_Failure_V1_ApplicationFailureInfo()
        info.type = "ChildWorkflowStartError"
        info.nonRetryable = cause == .namespaceNotFound
        f.applicationFailureInfo = info
        return f
    }
}
