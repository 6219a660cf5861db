import Temporal
import TemporalProto

/// The life of one child workflow started by workflow code, driven by history events
/// (sdk-core's child workflow machine, reduced to what this worker emits):
///
/// ```
/// created ──StartChildWorkflowExecutionInitiated──▶ initiated ──ChildWorkflowExecutionStarted──▶ started
///    │                                                 │                                           │
///    │ (cancelled before sent)                         └──StartChildWorkflowExecutionFailed──▶ startFailed
///    ▼                                                                                             │
/// abandoned          completed | failed | canceled | timedOut | terminated ◀──ChildWorkflowExecution*──┘
/// ```
///
/// Cancelling a child is a separate command (RequestCancelExternalWorkflowExecution) whose
/// events (`…Initiated`, then `ExternalWorkflowExecutionCancelRequested` or
/// `RequestCancelExternalWorkflowExecutionFailed`) are tracked in `cancelState`; the child
/// itself may still complete, fail or time out after the request.
struct ChildWorkflowStateMachine: Sendable {
    enum State: String, Sendable, Equatable {
        case created, initiated, started, startFailed, completed, failed, canceled, timedOut, terminated, abandoned
    }

    /// Progress of the request to cancel the child.
    enum CancelState: String, Sendable, Equatable {
        case none, commandCreated, initiated, delivered, failed
    }

    /// What an event means to the workflow.
    enum Resolution: Sendable {
        /// The child's first run started (`ChildWorkflowExecutionStarted`).
        case started(runID: String)
        /// The server could not start the child (e.g. its id is in use).
        case startFailed(Temporal_Api_Enums_V1_StartChildWorkflowExecutionFailedCause)
        /// The child completed with this result.
        case completed(Payloads?)
        /// The child failed, was cancelled, timed out or was terminated: the failure is wrapped as
        /// Temporal SDKs do (`ChildWorkflowExecutionFailureInfo` with the child's failure as cause).
        case failed(Failure)

        /// Whether the child has closed (completed, failed, cancelled, timed out, terminated).
        var closesChild: Bool {
            switch self {
            case .completed, .failed: true
            case .started, .startFailed: false
            }
        }
    }

    let workflowID: String
    let workflowType: String
    let namespace: String
    /// What cancelling the child does (the command's option, which the machine acts on).
    let cancellationType: ChildWorkflowCancellationType
    /// Its parent close policy is `.abandon`: it runs on when the parent closes.
    let abandonedAtClose: Bool
    /// A cancel request of the workflow asks it to cancel (false: started inside `nonCancellable`).
    let cancelledWithWorkflow: Bool
    private(set) var state: State = .created
    private(set) var initiatedEventID: Int64 = 0
    private(set) var startedEventID: Int64 = 0
    /// The child's first run id, known once it started.
    private(set) var runID: String = ""
    private(set) var cancelState: CancelState = .none
    /// The workflow asked to cancel the child before it started: send the request once it starts.
    private(set) var cancelAfterStart = false

    init(
        workflowID: String, workflowType: String, namespace: String = "",
        cancellationType: ChildWorkflowCancellationType = .tryCancel, abandonedAtClose: Bool = false,
        cancelledWithWorkflow: Bool = true
    ) {
        self.workflowID = workflowID
        self.workflowType = workflowType
        self.namespace = namespace
        self.cancellationType = cancellationType
        self.abandonedAtClose = abandonedAtClose
        self.cancelledWithWorkflow = cancelledWithWorkflow
    }

    /// The workflow asked to cancel the child (its request sent, due, or recorded).
    var askedToCancel: Bool { cancelState != .none || cancelAfterStart }

    /// The child reached a final state (or was dropped).
    var isResolved: Bool {
        [.startFailed, .completed, .failed, .canceled, .timedOut, .terminated, .abandoned].contains(state)
    }

    /// The workflow dropped the child before its command reached the server.
    mutating func abandonBeforeSent() throws {
        guard state == .created else { throw error("abandonBeforeSent") }
        state = .abandoned
    }

    /// `StartChildWorkflowExecutionInitiated`, the dual of our StartChildWorkflowExecution command.
    mutating func initiated(eventID: Int64) throws {
        guard state == .created else { throw error("StartChildWorkflowExecutionInitiated") }
        initiatedEventID = eventID
        state = .initiated
    }

    /// The workflow wants the child cancelled.
    /// - Returns: true when a RequestCancelExternalWorkflowExecution command must be sent now;
    ///   false when there is nothing to send yet (not started: it is sent once the child starts)
    ///   or any more (already requested, or the child is closed).
    mutating func requestCancel() -> Bool {
        guard cancelState == .none else { return false }
        switch state {
        case .initiated:
            cancelAfterStart = true
            return false
        case .started:
            cancelState = .commandCreated
            return true
        default:
            return false
        }
    }

    /// `RequestCancelExternalWorkflowExecutionInitiated`, the dual of our cancel command.
    mutating func cancelInitiated() throws {
        guard cancelState == .commandCreated else { throw error("RequestCancelExternalWorkflowExecutionInitiated") }
        cancelState = .initiated
    }

    /// `ExternalWorkflowExecutionCancelRequested` or `RequestCancelExternalWorkflowExecutionFailed`.
    mutating func cancelOutcome(_ event: HistoryEvent) throws {
        guard cancelState == .initiated else { throw error("\(event.eventType)") }
        switch event.attributes {
        case .externalWorkflowExecutionCancelRequestedEventAttributes?: cancelState = .delivered
        case .requestCancelExternalWorkflowExecutionFailedEventAttributes?: cancelState = .failed
        default: throw error("\(event.eventType)")
        }
    }

    /// Any other child event (start failed, started, completed, failed, canceled, timed out, terminated).
    /// - Returns: what the event resolves. A `started` resolution with `cancelAfterStart` set
    ///   means the deferred cancel request is due (`requestCancel()` now returns true).
    mutating func handle(_ event: HistoryEvent) throws -> Resolution {
        switch event.attributes {
        case .startChildWorkflowExecutionFailedEventAttributes(let a)?:
            guard state == .initiated else { throw error("StartChildWorkflowExecutionFailed") }
            state = .startFailed
            return .startFailed(a.cause)
        case .childWorkflowExecutionStartedEventAttributes(let a)?:
            guard state == .initiated else { throw error("ChildWorkflowExecutionStarted") }
            state = .started
            startedEventID = event.eventID
            runID = a.workflowExecution.runID
            return .started(runID: runID)
        case .childWorkflowExecutionCompletedEventAttributes(let a)?:
            try requireStarted("ChildWorkflowExecutionCompleted")
            state = .completed
            return .completed(a.hasResult ? a.result : nil)
        case .childWorkflowExecutionFailedEventAttributes(let a)?:
            try requireStarted("ChildWorkflowExecutionFailed")
            state = .failed
            return .failed(
                wrap(a.failure, retryState: a.retryState, message: "child workflow execution error", closed: a.workflowExecution))
        case .childWorkflowExecutionCanceledEventAttributes(let a)?:
            try requireStarted("ChildWorkflowExecutionCanceled")
            state = .canceled
            var cause = Failure()
            cause.message = "canceled"
            var info = Temporal_Api_Failure_V1_CanceledFailureInfo()
            if a.hasDetails { info.details = a.details }
            cause.canceledFailureInfo = info
            // Not retried, as Go and Core say (not CANCEL_REQUESTED, which is a workflow's own retry state).
            return .failed(
                wrap(cause, retryState: .nonRetryableFailure, message: "child workflow execution canceled", closed: a.workflowExecution))
        case .childWorkflowExecutionTimedOutEventAttributes(let a)?:
            try requireStarted("ChildWorkflowExecutionTimedOut")
            state = .timedOut
            var cause = Failure()
            cause.message = "timed out"
            var info = Temporal_Api_Failure_V1_TimeoutFailureInfo()
            info.timeoutType = .startToClose
            cause.timeoutFailureInfo = info
            return .failed(
                wrap(cause, retryState: a.retryState, message: "child workflow execution timed out", closed: a.workflowExecution))
        case .childWorkflowExecutionTerminatedEventAttributes(let a)?:
            try requireStarted("ChildWorkflowExecutionTerminated")
            state = .terminated
            var cause = Failure()
            cause.message = "terminated"
            cause.terminatedFailureInfo = Temporal_Api_Failure_V1_TerminatedFailureInfo()
            return .failed(
                wrap(cause, retryState: .nonRetryableFailure, message: "child workflow execution terminated", closed: a.workflowExecution))
        default:
            throw error("\(event.eventType)")
        }
    }

    /// The deferred cancel (requested before the child started) is now due: marks it created.
    /// - Returns: true when the caller must send the cancel command.
    /// Whether a cancel requested before the start was recorded is still to be sent while the
    /// start is still unrecorded (the parent closing now would never send it).
    var cancelDueBeforeStart: Bool { cancelAfterStart && state == .initiated && cancelState == .none }

    /// Takes that cancel now (`cancelDueBeforeStart`): its command is sent before the parent's close.
    mutating func takeCancelBeforeStart() -> Bool {
        guard cancelDueBeforeStart else { return false }
        cancelAfterStart = false
        cancelState = .commandCreated
        return true
    }

    mutating func takeDeferredCancel() -> Bool {
        guard cancelAfterStart, state == .started, cancelState == .none else { return false }
        cancelAfterStart = false
        cancelState = .commandCreated
        return true
    }

    private func requireStarted(_ event: String) throws {
        guard state == .started else { throw error(event) }
    }

    /// The child's failure as the parent sees it; `closed` is the execution the close event
    /// names: the run that ended (after retries or continue-as-new, not the first one).
    private func wrap(
        _ cause: Failure, retryState: Temporal_Api_Enums_V1_RetryState, message: String, closed: Temporal_Api_Common_V1_WorkflowExecution
    ) -> Failure {
        var f = Failure()
        f.message = message
        f.source = "SwiftSDK"
        var info = Temporal_Api_Failure_V1_ChildWorkflowExecutionFailureInfo()
        info.namespace = namespace
        info.workflowExecution.workflowID = workflowID
        info.workflowExecution.runID = closed.runID.isEmpty ? runID : closed.runID
        info.workflowType.name = workflowType
        info.initiatedEventID = initiatedEventID
        info.startedEventID = startedEventID
        info.retryState = retryState
        f.childWorkflowExecutionFailureInfo = info
        f.cause = cause
        return f
    }

    private func error(_ event: String) -> StateMachineError {
        StateMachineError(machine: "child workflow \(workflowID) (\(workflowType))", state: state.rawValue, event: event)
    }
}
