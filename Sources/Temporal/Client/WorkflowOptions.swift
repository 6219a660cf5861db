public import TemporalProto

#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// What happens when a workflow id is reused after an earlier run with that id closed.
public typealias WorkflowIDReusePolicy = Temporal_Api_Enums_V1_WorkflowIdReusePolicy
/// What happens when a workflow id is reused while a run with that id is still open.
public typealias WorkflowIDConflictPolicy = Temporal_Api_Enums_V1_WorkflowIdConflictPolicy

/// Options of a workflow start. Every field is optional; unset fields take the server's defaults.
public struct WorkflowOptions: Sendable {
    /// Limit for the whole chain of runs, retries and continue-as-new included (nil = unlimited).
    public var executionTimeout: Duration?
    /// Limit for one run (nil = unlimited).
    public var runTimeout: Duration?
    /// Limit for one workflow task (nil = the server's 10 s).
    public var taskTimeout: Duration?
    /// Default `.allowDuplicate`.
    public var idReusePolicy: WorkflowIDReusePolicy?
    /// Default `.fail` (signal-with-start: `.useExisting`).
    public var idConflictPolicy: WorkflowIDConflictPolicy?
    /// nil = the workflow is not retried.
    public var retryPolicy: RetryPolicy?
    public var cronSchedule: String?
    /// Values shown with the run (encoded with the client's data converter).
    public var memo: [String: any Encodable & Sendable]
    /// Indexed values for visibility queries; names must be registered with the server.
    public var searchAttributes: [String: any Encodable & Sendable]
    /// Idempotency key: the same request id starts the same run exactly once (default: a new UUID per start).
    public var requestID: String?
    /// Delay before the first workflow task.
    public var startDelay: Duration?
    /// Summary shown in the Web UI.
    public var staticSummary: String?
    /// Eager start: when a `Worker` on this client polls the task queue and has a free slot,
    /// ask the server to hand the first workflow task back in the start response, so that it
    /// runs at once in this process (servers with `system.enableEagerWorkflowStart`; otherwise
    /// the task is dispatched as usual). Default false.
    public var eagerStart = false
    /// Beats the versioning behaviour the run's workers report (Worker Versioning), until
    /// removed with `WorkflowHandle.setVersioningOverride(nil)`: e.g. `.pinned` to keep this
    /// run on a version whatever becomes current. Nil (default): none.
    public var versioningOverride: VersioningOverride?

    public init(
        executionTimeout: Duration? = nil, runTimeout: Duration? = nil, taskTimeout: Duration? = nil,
        idReusePolicy: WorkflowIDReusePolicy? = nil, idConflictPolicy: WorkflowIDConflictPolicy? = nil,
        retryPolicy: RetryPolicy? = nil, cronSchedule: String? = nil,
        memo: [String: any Encodable & Sendable] = [:], searchAttributes: [String: any Encodable & Sendable] = [:],
        requestID: String? = nil, startDelay: Duration? = nil, staticSummary: String? = nil, eagerStart: Bool = false,
        versioningOverride: VersioningOverride? = nil
    ) {
        self.executionTimeout = executionTimeout
        self.runTimeout = runTimeout
        self.taskTimeout = taskTimeout
        self.idReusePolicy = idReusePolicy
        self.idConflictPolicy = idConflictPolicy
        self.retryPolicy = retryPolicy
        self.cronSchedule = cronSchedule
        self.memo = memo
        self.searchAttributes = searchAttributes
        self.requestID = requestID
        self.startDelay = startDelay
        self.staticSummary = staticSummary
        self.eagerStart = eagerStart
        self.versioningOverride = versioningOverride
    }
}
