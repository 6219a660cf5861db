import Foundation

/// Facts about the running workflow, from its start event and the task.
public struct WorkflowInfo: Sendable {
    public var namespace: String
    public var workflowID: String
    public var runID: String
    public var workflowType: String
    public var taskQueue: String
    /// Attempt of the run (workflow retries), starting at 1.
    public var attempt: Int
    /// The run this one continued (continue-as-new, retry, cron), if any.
    public var continuedRunID: String?
    /// The first run of the chain.
    public var firstExecutionRunID: String
    /// The run id that seeds deterministic randomness (stable across resets).
    public var originalExecutionRunID: String
    /// Time the run started (event 1).
    public var startTime: Date?
    /// The run timeout, if set.
    public var runTimeout: Duration?
    /// The workflow task timeout.
    public var taskTimeout: Duration?
}
