public import Temporal
public import TemporalProto

/// What happens to a child workflow when its parent closes (completes, fails, times out…).
public typealias ParentClosePolicy = Temporal_Api_Enums_V1_ParentClosePolicy

/// What a workflow does with a child workflow it cancels (by cancelling the task that awaits
/// it, or with `ChildWorkflowHandle.cancel()`). Cases may be added (as `waitCancellationRequested`
/// was): give a `switch` over it a `default`.
public enum ChildWorkflowCancellationType: Sendable {
    /// Ask the server to cancel the child (RequestCancelExternalWorkflowExecution) and report
    /// the cancellation to the workflow at once (default). A workflow that then closes sends
    /// its close once the request is delivered when the child is abandoned at the close (a
    /// request still undelivered when its sender closed is dropped by the server); the close
    /// terminates (or cancels) other children anyway, per their `parentClosePolicy`.
    case tryCancel
    /// Ask the server to cancel the child and wait until the child closes (canceled, or
    /// completed/failed anyway); the awaiting code then sees the child's outcome.
    case waitCancellationCompleted
    /// Ask the server to cancel the child and wait until the request is delivered (the child's
    /// history has it); the awaiting code then sees the cancellation, while the child's own
    /// cleanup may go on. If the child closes first, or the request cannot be delivered (the
    /// child closed meanwhile), the code sees the child's outcome.
    case waitCancellationRequested
    /// Report cancellation at once and send nothing: the child keeps running.
    case abandon
}

/// How a child workflow is started. Every field has a default; unset timeouts take the
/// server's defaults (unlimited execution and run, 10 s workflow task).
public struct ChildWorkflowOptions: Sendable {
    /// The child's workflow id. Default: deterministic, derived from the parent's workflow id,
    /// the child's sequence number in the run and a suffix derived from the run's original run
    /// id (`"<parent id>-child-<n>-<8 hex>"`), so it is the same on replay and unique across
    /// continue-as-new runs of the parent. It does not draw from `WorkflowContext.random()`.
    /// An empty id is taken as none.
    public var workflowID: String?
    /// The queue of the workers that run the child; default the parent's task queue.
    public var taskQueue: String?
    /// Limit for the child's whole chain of runs (nil = unlimited).
    public var executionTimeout: Duration?
    /// Limit for one run of the child (nil = unlimited).
    public var runTimeout: Duration?
    /// Limit for one workflow task of the child (nil = the server's 10 s).
    public var taskTimeout: Duration?
    /// Retries of the child as a whole (nil = not retried).
    public var retryPolicy: RetryPolicy?
    /// What happens to the child when the parent closes. Default (nil): the server's default,
    /// `.terminate`.
    public var parentClosePolicy: ParentClosePolicy?
    /// Whether the id may be reused after an earlier run with it closed. Default (nil): the
    /// server's default, `.allowDuplicate`. A run with the id that is still open always
    /// makes the start fail (`ChildWorkflowStartError`).
    public var workflowIDReusePolicy: WorkflowIDReusePolicy?
    /// What cancelling the child does: when the code awaiting it is cancelled, when its handle's
    /// `cancel()` is called, and when the workflow is asked to cancel (the child is then
    /// cancelled even if nothing awaits it, unless it was started inside `nonCancellable`).
    /// Default: `.tryCancel`.
    public var cancellationType: ChildWorkflowCancellationType
    public var cronSchedule: String?
    /// Values shown with the child (encoded with the parent's data converter).
    public var memo: [String: any Encodable & Sendable]
    /// Indexed values for visibility queries; names must be registered with the server.
    public var searchAttributes: [String: any Encodable & Sendable]

    public init(
        workflowID: String? = nil, taskQueue: String? = nil, executionTimeout: Duration? = nil,
        runTimeout: Duration? = nil, taskTimeout: Duration? = nil, retryPolicy: RetryPolicy? = nil,
        parentClosePolicy: ParentClosePolicy? = nil, workflowIDReusePolicy: WorkflowIDReusePolicy? = nil,
        cancellationType: ChildWorkflowCancellationType = .tryCancel, cronSchedule: String? = nil,
        memo: [String: any Encodable & Sendable] = [:], searchAttributes: [String: any Encodable & Sendable] = [:]
    ) {
        self.workflowID = workflowID
        self.taskQueue = taskQueue
        self.executionTimeout = executionTimeout
        self.runTimeout = runTimeout
        self.taskTimeout = taskTimeout
        self.retryPolicy = retryPolicy
        self.parentClosePolicy = parentClosePolicy
        self.workflowIDReusePolicy = workflowIDReusePolicy
        self.cancellationType = cancellationType
        self.cronSchedule = cronSchedule
        self.memo = memo
        self.searchAttributes = searchAttributes
    }
}
