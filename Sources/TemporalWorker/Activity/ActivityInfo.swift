import SwiftProtobuf
public import Temporal
import TemporalProto

#if canImport(FoundationEssentials)
public import FoundationEssentials
#else
public import Foundation
#endif

/// Facts about the activity attempt being executed.
public struct ActivityInfo: Sendable {
    public var namespace: String
    public var workflowID: String
    public var workflowRunID: String
    public var workflowType: String
    public var activityID: String
    public var activityType: String
    public var taskQueue: String
    /// Attempt number, starting at 1.
    public var attempt: Int
    public var scheduledTime: Date?
    public var currentAttemptScheduledTime: Date?
    public var startedTime: Date?
    public var scheduleToCloseTimeout: Duration?
    public var startToCloseTimeout: Duration?
    public var heartbeatTimeout: Duration?
    /// When the server times this attempt out: min(started + start-to-close, scheduled + schedule-to-close).
    public var deadline: Date?
    /// The opaque token of the attempt (empty for a local activity).
    public var taskToken: Data
    /// Whether this is a local activity (run by the workflow's worker inside its workflow task).
    public var isLocal = false
    /// The attempts' retry policy, with the server's defaults filled in (as the in-memory test
    /// service fills them too; a local activity's as its options give it, nil when they give
    /// none, the defaults then applying): with `attempt`, whether this attempt is the last one
    /// allowed (`attempt == maximumAttempts`), to clean up or escalate.
    public var retryPolicy: RetryPolicy?

    /// A local activity's attempt.
    init(local request: LocalActivityRequest, attempt: Int, workflow: WorkflowInfo, started: Date) {
        namespace = workflow.namespace
        workflowID = workflow.workflowID
        workflowRunID = workflow.runID
        workflowType = workflow.workflowType
        activityID = request.activityID
        activityType = request.type
        taskQueue = workflow.taskQueue
        self.attempt = attempt
        scheduledTime = request.scheduledTime
        currentAttemptScheduledTime = started
        startedTime = started
        scheduleToCloseTimeout = request.options.overallTimeout
        startToCloseTimeout = request.options.attemptTimeout
        heartbeatTimeout = nil
        taskToken = Data()
        isLocal = true
        retryPolicy = request.options.retryPolicy
        var candidates: [Date] = []
        if let s = startToCloseTimeout { candidates.append(started.addingTimeInterval(s.seconds)) }
        if let s = scheduleToCloseTimeout { candidates.append(request.scheduledOnWorkerClock.addingTimeInterval(s.seconds)) }
        deadline = candidates.min()
    }

    /// `received`: when the poll returned the task (a worker with `maxActivitiesPerSecond` may
    /// wait for a permit after that, while the server's clocks run).
    init(
        task: Temporal_Api_Workflowservice_V1_PollActivityTaskQueueResponse, namespace: String, taskQueue: String,
        received: Date = Date()
    ) {
        self.namespace = task.workflowNamespace.isEmpty ? namespace : task.workflowNamespace
        workflowID = task.workflowExecution.workflowID
        workflowRunID = task.workflowExecution.runID
        workflowType = task.workflowType.name
        activityID = task.activityID
        activityType = task.activityType.name
        self.taskQueue = taskQueue
        attempt = Int(max(1, task.attempt))
        scheduledTime = task.hasScheduledTime ? task.scheduledTime.date : nil
        currentAttemptScheduledTime = task.hasCurrentAttemptScheduledTime ? task.currentAttemptScheduledTime.date : nil
        startedTime = task.hasStartedTime ? task.startedTime.date : nil
        func positive(_ has: Bool, _ d: Google_Protobuf_Duration) -> Duration? {
            guard has else { return nil }
            let value = swiftDuration(d)
            return value > .zero ? value : nil
        }
        scheduleToCloseTimeout = positive(task.hasScheduleToCloseTimeout, task.scheduleToCloseTimeout)
        startToCloseTimeout = positive(task.hasStartToCloseTimeout, task.startToCloseTimeout)
        heartbeatTimeout = positive(task.hasHeartbeatTimeout, task.heartbeatTimeout)
        taskToken = task.taskToken
        retryPolicy = task.hasRetryPolicy ? RetryPolicy(proto: task.retryPolicy) : nil
        // The time the server gives the attempt, counted from now on this worker's clock: the
        // server's times are on its clock, and a worker clock ahead of it by the timeout (a VM
        // resumed, NTP broken) cancelled every attempt at once, answering nothing. Counted from
        // the task's arrival, the deadline is the server's or a little after (the poll's
        // latency), so a passed deadline still means the server timed the attempt out.
        let started = startedTime ?? received
        var budgets: [TimeInterval] = []
        if let s = startToCloseTimeout { budgets.append(s.seconds) }
        if let s = scheduleToCloseTimeout, let scheduled = scheduledTime {
            budgets.append(scheduled.addingTimeInterval(s.seconds).timeIntervalSince(started))
        }
        deadline = budgets.min().map { received.addingTimeInterval($0) }
    }
}

extension Duration {
    /// The duration in (fractional) seconds.
    var seconds: Double {
        let (s, atto) = components
        return Double(s) + Double(atto) / 1e18
    }
}
