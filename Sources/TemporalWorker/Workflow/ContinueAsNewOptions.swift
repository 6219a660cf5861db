public import Temporal

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

    /// Creates options.
    public init(
        workflowType: String? = nil, taskQueue: String? = nil, runTimeout: Duration? = nil, taskTimeout: Duration? = nil,
        memo: [String: any Encodable & Sendable] = [:], searchAttributes: [String: any Encodable & Sendable] = [:],
        retryPolicy: RetryPolicy? = nil
    ) {
        self.workflowType = workflowType
        self.taskQueue = taskQueue
        self.runTimeout = runTimeout
        self.taskTimeout = taskTimeout
        self.memo = memo
        self.searchAttributes = searchAttributes
        self.retryPolicy = retryPolicy
    }
}
