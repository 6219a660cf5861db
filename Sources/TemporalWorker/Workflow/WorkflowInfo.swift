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
