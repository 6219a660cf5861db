public import Temporal
public import TemporalProto

#if canImport(FoundationEssentials)
public import FoundationEssentials
#else
public import Foundation
#endif

/// Facts about the running workflow, from its start event and the task.
public struct WorkflowInfo: Sendable {
    public var namespace: String
    public var workflowID: String
    public var runID: String
    public var workflowType: String
    public var taskQueue: String
    /// The workflow that started this one as its child, if one did: its namespace, id and run.
    public var parent: WorkflowExecutionReference?
    /// The root of this run's tree of children: the workflow no parent started (nil for such a
    /// workflow itself, and on servers before 1.27, which do not say).
    public var root: WorkflowExecutionReference?
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
    /// The execution timeout (the whole chain of runs), if set.
    public var executionTimeout: Duration?
    /// When the whole chain of runs times out (the execution timeout), if it does.
    public var executionExpirationTime: Date?
    /// The run's cron schedule, if it runs on one.
    public var cronSchedule: String?
    /// The failure that ended the run this one retries (a workflow retry, or a cron run after
    /// a failed one), as the server hands it on; nil for a first run.
    public var continuedFailure: Failure?
    /// The run's search attributes: those it started with (e.g. `TemporalScheduledStartTime`
    /// on runs a schedule started), then as the workflow upserts them. Read them typed with
    /// `WorkflowContext.searchAttribute(_:)`.
    public var searchAttributes: [String: Payload] = [:]
    /// The run's memo (from the start, then as the workflow upserts it).
    public var memo: [String: Payload] = [:]
    /// The run's retry policy, if it was started with one.
    public var retryPolicy: RetryPolicy?
    /// The result of the last run that completed before this one, as Temporal hands it to runs a
    /// schedule or a cron schedule starts (a schedule's last successful action; a failed or
    /// timed-out run leaves the one before). Nil when there is none. Read it decoded with
    /// `WorkflowContext.lastCompletionResult(as:)`.
    public var lastCompletionResult: Payloads?
}

/// A workflow run named by its namespace, workflow id and run id (`WorkflowInfo.parent`, `.root`).
public struct WorkflowExecutionReference: Sendable, Hashable {
    /// The namespace (empty where the server does not say: a root is in the run's own).
    public var namespace: String
    public var workflowID: String
    public var runID: String

    public init(namespace: String, workflowID: String, runID: String) {
        self.namespace = namespace
        self.workflowID = workflowID
        self.runID = runID
    }
}

extension WorkflowInfo {
    /// The search attribute Temporal sets on runs a schedule starts: the nominal time of the
    /// action (before jitter, and the missed time when a catch-up runs late).
    public static let scheduledStartTimeAttribute = "TemporalScheduledStartTime"

    /// When a schedule meant this run to start, or nil for runs no schedule started. Use it
    /// rather than `now` for windows: a catch-up run after an outage keeps its own period.
    public var scheduledStartTime: Date? {
        guard let payload = searchAttributes[Self.scheduledStartTimeAttribute],
            let text = try? JSONDecoder().decode(String.self, from: payload.data)
        else { return nil }
        return TemporalDate.parse(text)
    }
}
