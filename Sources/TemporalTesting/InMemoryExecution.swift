import Foundation
import Temporal
import TemporalProto

/// One workflow run as the in-memory service keeps it: its history and what is outstanding.
struct InMemoryExecution {
    enum Status {
        case running, completed, failed, canceled, terminated, timedOut

        /// The API's name for it.
        var apiStatus: Temporal_Api_Enums_V1_WorkflowExecutionStatus {
            switch self {
            case .running: .running
            case .completed: .completed
            case .failed: .failed
            case .canceled: .canceled
            case .terminated: .terminated
            case .timedOut: .timedOut
            }
        }
    }

    struct Activity {
        var scheduledEventID: Int64
        var attributes: Temporal_Api_Command_V1_ScheduleActivityTaskCommandAttributes
        var attempt: Int32 = 1
        var scheduledTime: Date
        var attemptScheduledTime: Date
        var dispatched = false
        /// When the attempt went to a worker, and when it last heartbeat (its deadlines).
        var startedTime: Date?
        var lastHeartbeat: Date?
        var heartbeatDetails: Payloads?
        var cancelRequested = false
        /// How the previous attempt ended (the cause of a timeout, and the next attempt's
        /// `ActivityTaskStarted.lastFailure`), nil on the first.
        var lastFailure: Failure?
        /// The previous attempt timed out here: until then its worker may still be stopping
        /// it, so its backoff is not skipped before (a skip would start the next attempt beside
        /// it); after, it is, as other backoffs are (waited in real time, a hanging activity's
        /// 20 attempts took about 24 minutes).
        var timedOutAttemptStopsBy: Date?

        /// How long a worker is given to stop an attempt that timed out before its backoff may
        /// be skipped (ours cancels the body at the attempt's deadline).
        static let timedOutAttemptGrace: TimeInterval = 2

        /// Waiting out its retry backoff: the next attempt is not handed out before
        /// `attemptScheduledTime`.
        func inBackoff(at time: Date) -> Bool { !dispatched && attemptScheduledTime > time }

        /// Waiting out a backoff that time skipping may jump over.
        func inSkippableBackoff(at time: Date) -> Bool {
            inBackoff(at: time) && (timedOutAttemptStopsBy.map { time >= $0 } ?? true)
        }
    }

    struct Timer {
        var startedEventID: Int64
        var fireAt: Date
    }

    let workflowID: String
    let runID: String
    let workflowType: String
    let taskQueue: String
    /// The namespace the run was started in (what its activities' `workflow_namespace` says).
    var namespace = "default"
    /// The request id of the start that made the run: a start with the same id is answered
    /// with this run, open or closed, as a server dedupes a retried start.
    var startRequestID = ""
    var history: [HistoryEvent] = []
    /// The run was asked to cancel (a repeated request changes nothing).
    var cancelRequested = false
    var status = Status.running
    /// A workflow task scheduled (waiting for a poller) or started (waiting for its answer).
    var workflowTaskScheduledID: Int64?
    var workflowTaskStartedID: Int64?
    var workflowTaskAttempt: Int32 = 1
    /// How long a worker has to answer a started workflow task (the start's
    /// `workflow_task_timeout`, 10 s by default).
    var workflowTaskTimeout: TimeInterval = 10
    /// When the started workflow task times out, and which one it is (a deadline whose task was
    /// answered meanwhile is stale: its started id is no longer `workflowTaskStartedID`).
    var workflowTaskDeadline: (startedID: Int64, at: Date)?
    /// Failures that may pass on their own (`InMemoryState.mayPass`) retried so far when failed
    /// tasks end runs (at most `InMemoryState.passingFailureRetries`).
    var passingFailuresRetried = 0
    /// Workflow tasks failed in a row for commands the service refused (`failWorkflowTask`).
    var serviceRefusalsInARow = 0
    /// Events arrived while a workflow task was in flight: another one follows it.
    var newEventsDuringTask = false
    /// Events from outside the code (signals, activity outcomes, cancel requests) that came
    /// while a workflow task was in flight, written once it is answered (see `appendFromOutside`).
    var buffered: [@Sendable (inout InMemoryExecution) -> Void] = []
    /// The activity outcomes among them (completed, failed, timed out, canceled), written after
    /// the others, as a server reorders its buffer (`reorderBuffer`): a timer that fired while
    /// the task ran comes before an activity that ended meanwhile. They came first, and a
    /// timeout raced against an activity lost in memory where it won on a server.
    var bufferedOutcomes: [@Sendable (inout InMemoryExecution) -> Void] = []
    /// The scheduled event ids of the activities `bufferedOutcomes` end, or that the answer
    /// being recorded cancelled: a cancel request for one is still taken (the server's
    /// `HasActivityFinishEvent`, which sees its buffer and the batch being written).
    var bufferedOutcomeIDs: Set<Int64> = []
    var lastCompletedStartedID: Int64 = 0
    /// The sticky queue of the worker that answered the last workflow task with sticky
    /// attributes: the next tasks go there, with the events since that task only.
    var stickyQueue: String?
    /// The sticky attributes' schedule-to-start timeout: a task left on the sticky queue that
    /// long (its worker gone without a word) moves to the normal queue.
    var stickyScheduleToStartTimeout: TimeInterval = 5
    /// When the scheduled task on the sticky queue times out (its scheduled event id, the time).
    var stickyDeadline: (scheduledID: Int64, at: Date)?

    /// When the task waiting on the sticky queue, not started yet, times out; nil when none does.
    var pendingStickyDeadline: Date? {
        guard isRunning, stickyQueue != nil, workflowTaskStartedID == nil, let d = stickyDeadline,
            d.scheduledID == workflowTaskScheduledID
        else { return nil }
        return d.at
    }
    var activities: [Int64: Activity] = [:]
    var timers: [String: Timer] = [:]

    var isRunning: Bool { status == .running }

    /// Ends the started workflow task without a completion (failed, timed out, or cut short by
    /// a termination): no task is in flight any more, and what arrived meanwhile is written.
    /// - Returns: whether anything arrived meanwhile.
    @discardableResult
    mutating func dropStartedTask() -> Bool {
        let arrived = !buffered.isEmpty || !bufferedOutcomes.isEmpty || newEventsDuringTask
        workflowTaskScheduledID = nil
        workflowTaskStartedID = nil
        workflowTaskDeadline = nil
        flushBuffered()
        newEventsDuringTask = false
        return arrived
    }
    var nextEventID: Int64 { Int64(history.count + 1) }
    var closeEvent: HistoryEvent? { status == .running ? nil : history.last }

    /// Writes events that come from outside the workflow's code: at once, or, while a workflow
    /// task is in flight, once it is answered, as a server buffers them: they follow its
    /// WorkflowTaskCompleted and its commands' events, never sit between its Started and
    /// Completed (a history the worker rightly takes for a nondeterministic one).
    /// `activityOutcome`: the scheduled event id of the activity the write ends (see
    /// `bufferedOutcomes`).
    mutating func appendFromOutside(activityOutcome: Int64? = nil, _ write: @escaping @Sendable (inout InMemoryExecution) -> Void) {
        if workflowTaskStartedID == nil {
            write(&self)
        } else if let activityOutcome {
            bufferedOutcomes.append(write)
            bufferedOutcomeIDs.insert(activityOutcome)
        } else {
            buffered.append(write)
        }
    }

    /// Writes the buffered events (the task in flight was answered), activity outcomes last.
    mutating func flushBuffered() {
        let writes = buffered + bufferedOutcomes
        (buffered, bufferedOutcomes, bufferedOutcomeIDs) = ([], [], [])
        for write in writes { write(&self) }
    }

    /// Appends an event at `time` and returns its id.
    @discardableResult
    mutating func append(
        _ type: Temporal_Api_Enums_V1_EventType, at time: Date,
        _ fill: (inout HistoryEvent) -> Void = { _ in }
    ) -> Int64 {
        var event = HistoryEvent()
        event.eventID = nextEventID
        event.eventTime = .init(date: time)
        event.eventType = type
        fill(&event)
        history.append(event)
        return event.eventID
    }
}
