public import Temporal
import TemporalProto

/// How `WorkflowContext.continueAsNew(input:options:)` starts the next run. Defaults, as in Go
/// and Core: the same workflow type and task queue, and the current run's run and task
/// timeouts, memo, search attributes (as upserted so far) and retry policy.
public struct ContinueAsNewOptions: Sendable {
    /// Nil: the current workflow type.
    public var workflowType: String?
    /// Nil: the current task queue.
    public var taskQueue: String?
    /// Nil: the current run's run timeout.
    public var runTimeout: Duration?
    /// Nil: the current run's workflow task timeout.
    public var taskTimeout: Duration?
    /// Memo of the new run (the workflow's payload converter); empty: the current run's.
    public var memo: [String: any Encodable & Sendable]
    /// Search attributes of the new run (always the default JSON converter: the server indexes
    /// them); empty: the current run's.
    public var searchAttributes: [String: any Encodable & Sendable]
    /// Retry policy of the new run; nil: the current run's.
    public var retryPolicy: RetryPolicy?
    /// How the new run of a pinned run picks its Deployment Version (Worker Versioning;
    /// experimental on the server). Nil (default): it stays on the current run's version (a
    /// pinned run's chain never moves to a new build). `.autoUpgrade`: it starts on the
    /// deployment's current version, then follows its type's behaviour. A pinned override of
    /// the run (`VersioningOverride`) still wins.
    public var initialVersioningBehavior: ContinueAsNewVersioningBehavior?

    /// Creates options.
    public init(
        workflowType: String? = nil, taskQueue: String? = nil, runTimeout: Duration? = nil, taskTimeout: Duration? = nil,
        memo: [String: any Encodable & Sendable] = [:], searchAttributes: [String: any Encodable & Sendable] = [:],
        retryPolicy: RetryPolicy? = nil, initialVersioningBehavior: ContinueAsNewVersioningBehavior? = nil
    ) {
        self.workflowType = workflowType
        self.taskQueue = taskQueue
        self.runTimeout = runTimeout
        self.taskTimeout = taskTimeout
        self.memo = memo
        self.searchAttributes = searchAttributes
        self.retryPolicy = retryPolicy
        self.initialVersioningBehavior = initialVersioningBehavior
    }
}

/// Which Deployment Version the first workflow task of a continue-as-new run goes to
/// (`ContinueAsNewOptions.initialVersioningBehavior`).
public enum ContinueAsNewVersioningBehavior: Sendable, Equatable {
    /// The deployment's current version (its target), as for an auto-upgrade run.
    case autoUpgrade
    /// The deployment's ramping version, else its current one.
    case useRampingVersion

    var proto: Temporal_Api_Enums_V1_ContinueAsNewVersioningBehavior {
        switch self {
        case .autoUpgrade: .autoUpgrade
        case .useRampingVersion: .useRampingVersion
        }
    }
}
