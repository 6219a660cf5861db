public import TemporalProto

#if canImport(FoundationEssentials)
public import FoundationEssentials
#else
public import Foundation
#endif

/// What a schedule does when due: start a workflow. The workflow id gets the scheduled time
/// appended by the server (`<workflowID>-<timestamp>`), so runs do not collide.
public struct ScheduleAction: Sendable {
    /// The workflow type name.
    public var workflowType: String
    /// The workflow id prefix (the server appends each run's time); empty: a UUID is made up
    /// when the schedule is created or updated, as Go's client does.
    public var workflowID: String
    /// The task queue its workers poll.
    public var taskQueue: String
    /// The workflow's arguments (encoded with the client's data converter).
    public var arguments: [any Encodable & Sendable]
    /// Timeouts, retry policy, memo, search attributes, summary and versioning override of each
    /// run. Id policies (but `.allowDuplicate`), cron, request id, start delay and eager start do
    /// not apply to scheduled runs: creating or updating a schedule with them is refused.
    public var options: WorkflowOptions

    /// The options set that do not apply to scheduled runs, by name (empty: none).
    var inapplicableOptions: [String] {
        var out: [String] = []
        if let policy = options.idReusePolicy, policy != .allowDuplicate, policy != .unspecified { out.append("idReusePolicy \(policy)") }
        if options.idConflictPolicy != nil { out.append("idConflictPolicy") }
        if let cron = options.cronSchedule, !cron.isEmpty { out.append("cronSchedule '\(cron)' (put it in the schedule's spec)") }
        if options.requestID != nil { out.append("requestID") }
        if let delay = options.startDelay, delay != .zero { out.append("startDelay (use the spec's jitter or an interval's offset)") }
        if options.eagerStart { out.append("eagerStart") }
        return out
    }

    /// Starts workflow `type` with `args` on `taskQueue`.
    public static func startWorkflow(
        type: String, workflowID: String, taskQueue: String,
        args: [any Encodable & Sendable] = [], options: WorkflowOptions = WorkflowOptions()
    ) -> ScheduleAction {
        ScheduleAction(workflowType: type, workflowID: workflowID, taskQueue: taskQueue, arguments: args, options: options)
    }
}

/// How a schedule handles overlaps, missed times and failures.
public struct SchedulePolicies: Sendable, Hashable {
    /// Default `.skip` (the server's default).
    public var overlap: ScheduleOverlapPolicy
    /// How late a missed action may still run (nil or zero: the server's default, one year, as
    /// Go's SDK sends zero; the server raises a window under 10 s to 10 s).
    public var catchupWindow: Duration?
    /// Pause the schedule when a run fails or times out.
    public var pauseOnFailure: Bool
    /// The API's `keep_original_workflow_id`: start runs with the action's workflow id as it
    /// is, without the nominal time appended. Sent as set, but the Temporal server (its source
    /// read through this release) does not act on it and always appends the time: do not rely
    /// on it to keep two runs from being open at once — `overlap` does that.
    public var keepOriginalWorkflowID: Bool

    /// Creates policies.
    public init(
        overlap: ScheduleOverlapPolicy = .skip, catchupWindow: Duration? = nil, pauseOnFailure: Bool = false,
        keepOriginalWorkflowID: Bool = false
    ) {
        self.overlap = overlap
        self.catchupWindow = catchupWindow
        self.pauseOnFailure = pauseOnFailure
        self.keepOriginalWorkflowID = keepOriginalWorkflowID
    }

    /// Reads policies back (as `describe` returns them).
    public init(proto p: Temporal_Api_Schedule_V1_SchedulePolicies) {
        self.init(
            overlap: p.overlapPolicy,
            catchupWindow: p.hasCatchupWindow ? .seconds(p.catchupWindow.seconds) + .nanoseconds(Int64(p.catchupWindow.nanos)) : nil,
            pauseOnFailure: p.pauseOnFailure, keepOriginalWorkflowID: p.keepOriginalWorkflowID)
    }

    /// The wire form.
    public var proto: Temporal_Api_Schedule_V1_SchedulePolicies {
        var p = Temporal_Api_Schedule_V1_SchedulePolicies()
        p.overlapPolicy = overlap
        // Zero sent would be raised to the server's 10 s minimum, not read as its default.
        if let catchupWindow, catchupWindow != .zero { p.catchupWindow = .init(duration: catchupWindow) }
        p.pauseOnFailure = pauseOnFailure
        p.keepOriginalWorkflowID = keepOriginalWorkflowID
        return p
    }
}

/// A schedule as `ScheduleHandle.describe()` reports it.
public struct ScheduleDescription: Sendable {
    /// The schedule id.
    public var id: String
    /// The full response.
    public var raw: Temporal_Api_Workflowservice_V1_DescribeScheduleResponse

    /// When the action runs.
    public var spec: ScheduleSpec { ScheduleSpec(proto: raw.schedule.spec) }
    /// What happens to overlapping, missed and failed runs.
    public var policies: SchedulePolicies { SchedulePolicies(proto: raw.schedule.policies) }
    /// The started workflow's type name (empty if the action is not a workflow start).
    public var workflowType: String { startWorkflow?.workflowType.name ?? "" }
    /// The started workflow's task queue.
    public var taskQueue: String { startWorkflow?.taskQueue.name ?? "" }
    /// The started workflow's id prefix.
    public var workflowID: String { startWorkflow?.workflowID ?? "" }
    /// The workflow-start action, if that is what the schedule does.
    public var startWorkflow: Temporal_Api_Workflow_V1_NewWorkflowExecutionInfo? {
        if case .startWorkflow(let info)? = raw.schedule.action.action { return info }
        return nil
    }
    /// Whether the schedule is paused.
    public var isPaused: Bool { raw.schedule.state.paused }
    /// The state's notes (set by pause/unpause).
    public var note: String { raw.schedule.state.notes }
    /// Number of actions taken so far.
    public var actionCount: Int { Int(raw.info.actionCount) }
    /// How many more actions the schedule may take; nil for no limit.
    public var remainingActions: Int? { raw.schedule.state.limitedActions ? Int(raw.schedule.state.remainingActions) : nil }
    /// The most recent actions (with the workflows they started).
    public var recentActions: [Temporal_Api_Schedule_V1_ScheduleActionResult] { raw.info.recentActions }
    /// Workflows started by the schedule and still running.
    public var runningWorkflows: [Temporal_Api_Common_V1_WorkflowExecution] { raw.info.runningWorkflows }
    /// The next action times.
    public var futureActionTimes: [Date] { raw.info.futureActionTimes.map(\.date) }
    /// Token that guards `update` against concurrent changes.
    public var conflictToken: Data { raw.conflictToken }
    /// The schedule's own search attributes (`createSchedule(searchAttributes:)`), as indexed.
    public var searchAttributes: [String: Payload] { raw.searchAttributes.indexedFields }

    /// One of the schedule's own search attributes (nil when unset).
    public func searchAttribute<Value>(_ key: SearchAttributeKey<Value>) -> Value? { key.read(from: searchAttributes) }
}
