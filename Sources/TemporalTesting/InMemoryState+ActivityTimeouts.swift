import Foundation
import Temporal
import TemporalProto

/// Activity timeouts, as a server enforces them: the worker gives up on an attempt at its
/// deadline but leaves the outcome to the service, which retries the activity (start-to-close,
/// heartbeat) while its retry policy and schedule-to-close allow, and otherwise writes
/// ActivityTaskTimedOut.
extension InMemoryState {
    /// The first timeout `activity` reaches, and when; nil when it has none.
    static func deadline(of activity: InMemoryExecution.Activity) -> (type: Temporal_Api_Enums_V1_TimeoutType, at: Date)? {
        let a = activity.attributes
        var candidates: [(Temporal_Api_Enums_V1_TimeoutType, Date)] = []
        if let limit = seconds(a.scheduleToCloseTimeout) { candidates.append((.scheduleToClose, activity.scheduledTime + limit)) }
        if let started = activity.startedTime {
            if let limit = seconds(a.hasStartToCloseTimeout ? a.startToCloseTimeout : a.scheduleToCloseTimeout) {
                candidates.append((.startToClose, started + limit))
            }
            if let limit = seconds(a.heartbeatTimeout) { candidates.append((.heartbeat, (activity.lastHeartbeat ?? started) + limit)) }
        } else if let limit = seconds(a.scheduleToStartTimeout) ?? seconds(a.scheduleToCloseTimeout) {
            // As a server: an unset schedule-to-start is the schedule-to-close.
            candidates.append((.scheduleToStart, activity.attemptScheduledTime + limit))
        }
        // At the same instant, in the server's order of timeout types (its timer sequence sorts
        // by time, then type): schedule-to-start before schedule-to-close.
        return candidates.min { ($0.1, $0.0.rawValue) < ($1.1, $1.0.rawValue) }.map { (type: $0.0, at: $0.1) }
    }

    static func seconds(_ duration: Google_Protobuf_Duration) -> TimeInterval? {
        duration.timeInterval > 0 ? duration.timeInterval : nil
    }

    /// When the next activity of a running workflow times out, nil for none.
    var nextActivityDeadline: Date? {
        executions.values.filter(\.isRunning).flatMap { $0.activities.values.compactMap { Self.deadline(of: $0)?.at } }.min()
    }

    /// Times out the activities whose deadline the clock has reached: a start-to-close or
    /// heartbeat timeout is retried like a failure (a new attempt, unless the retry policy or
    /// the schedule-to-close timeout says no); the others, and the last attempt, end the
    /// activity with ActivityTaskTimedOut. A late answer of the attempt then finds no task.
    mutating func timeOutActivities() {
        let current = now
        for runID in executions.keys {
            guard let e = executions[runID], e.isRunning else { continue }
            for (id, activity) in e.activities.sorted(by: { $0.key < $1.key }) {
                guard let (type, at) = Self.deadline(of: activity), at <= current else { continue }
                timeOut(activity, id, of: runID, type, at: current)
            }
        }
    }

    private mutating func timeOut(
        _ activity: InMemoryExecution.Activity, _ id: Int64, of runID: String, _ type: Temporal_Api_Enums_V1_TimeoutType, at time: Date
    ) {
        guard var e = executions[runID], e.isRunning else { return }
        let retryState = retryState(after: activity, timedOut: type, at: time)
        // As a server: a timeout that leaves no time for another attempt before the
        // schedule-to-close deadline is reported as a schedule-to-close timeout.
        let reported: Temporal_Api_Enums_V1_TimeoutType = retryState == .timeout && type != .scheduleToStart ? .scheduleToClose : type
        // As a server: the message of one that leaves no time for another attempt says so, even
        // when the timeout was schedule-to-close already.
        let attemptFailure = {
            var failure = Failure()
            failure.message =
                reported == type && retryState != .timeout
                ? "activity \(Self.timeoutName(type)) timeout"
                : "Not enough time to schedule next retry before activity ScheduleToClose timeout, giving up retrying"
            var info = Temporal_Api_Failure_V1_TimeoutFailureInfo()
            info.timeoutType = reported
            if let details = activity.heartbeatDetails { info.lastHeartbeatDetails = details }
            failure.timeoutFailureInfo = info
            return failure
        }()
        if retryState == .inProgress, let reason = Self.endlessRetries(activity, in: e, after: attemptFailure) {
            try? terminate(runID, reason: reason, identity: Self.identity)
            return
        }
        if retryState == .inProgress {
            // As a server: the failure an attempt is retried after has no cause. It had how the
            // attempt before ended, so every timed-out attempt nested one level deeper (past the
            // decoder's 100 levels, the worker could not read its task).
            scheduleNextAttempt(
                of: activity, id, in: &e, after: attemptFailure, timedOut: true, delay: Self.backoff(after: activity, attemptFailure))
            return
        }
        // The final timeout's cause is how the attempt before ended, if it failed.
        let failure = {
            var failure = attemptFailure
            if let last = activity.lastFailure { failure.cause = last }
            return failure
        }()
        e.activities[id] = nil
        let (attempt, dispatched) = (activity.attempt, activity.dispatched)
        e.appendFromOutside(activityOutcome: id) { e in
            var started: Int64 = 0
            if dispatched {
                // Dated when the attempt started, as the server dates it.
                started = e.append(.activityTaskStarted, at: activity.startedTime ?? time) { event in
                    var s = Temporal_Api_History_V1_ActivityTaskStartedEventAttributes()
                    s.scheduledEventID = id
                    s.attempt = attempt
                    if let last = activity.lastFailure { s.lastFailure = last }
                    event.activityTaskStartedEventAttributes = s
                }
            }
            e.append(.activityTaskTimedOut, at: time) { event in
                var t = Temporal_Api_History_V1_ActivityTaskTimedOutEventAttributes()
                t.failure = failure
                t.scheduledEventID = id
                t.startedEventID = started
                t.retryState = retryState
                event.activityTaskTimedOutEventAttributes = t
            }
        }
        executions[runID] = e
        scheduleWorkflowTask(runID)
    }

    /// `.inProgress` when the activity gets another attempt after timing out as `type`, else why not.
    private func retryState(
        after activity: InMemoryExecution.Activity, timedOut type: Temporal_Api_Enums_V1_TimeoutType, at time: Date
    ) -> Temporal_Api_Enums_V1_RetryState {
        // As a server's retry decision: a cancel request first, whatever timed out.
        if activity.cancelRequested { return .cancelRequested }
        guard type == .startToClose || type == .heartbeat else { return .timeout }
        let policy = activity.attributes.retryPolicy
        // As a server: a timeout type named among the non-retryable error types is not retried.
        if policy.nonRetryableErrorTypes.contains("TemporalTimeout:\(Self.timeoutName(type))") { return .nonRetryableFailure }
        if policy.maximumAttempts > 0, activity.attempt >= policy.maximumAttempts { return .maximumAttemptsReached }
        return Self.retryFitsSchedule(activity, at: time, delay: Self.backoff(after: activity, nil)) ? .inProgress : .timeout
    }

    /// Whether the next attempt, after `delay`, starts before the activity's schedule-to-close
    /// deadline: a server does not retry one that would start after it (TIMEOUT).
    static func retryFitsSchedule(_ activity: InMemoryExecution.Activity, at time: Date, delay: TimeInterval) -> Bool {
        guard let limit = seconds(activity.attributes.scheduleToCloseTimeout) else { return true }
        return time + delay < activity.scheduledTime + limit
    }

    /// The wait before the next attempt of `activity` after its current one failed with
    /// `failure`, as a server computes it: the failure's own `nextRetryDelay` when it gives one,
    /// else the retry policy's (`RetryPolicy.delay(afterAttempt:)`).
    static func backoff(after activity: InMemoryExecution.Activity, _ failure: Failure?) -> TimeInterval {
        if let failure, let app = application(failure), app.hasNextRetryDelay, app.nextRetryDelay.timeInterval > 0 {
            return app.nextRetryDelay.timeInterval
        }
        let delay = RetryPolicy(proto: activity.attributes.retryPolicy).delay(afterAttempt: Int(activity.attempt))
        return Google_Protobuf_Duration(duration: delay).timeInterval
    }

    /// When the next retry backoff of a running workflow's activity ends, or may be skipped
    /// (`timedOutAttemptStopsBy`), nil for none.
    var nextBackoffEnd: Date? {
        let current = now
        return executions.values.filter(\.isRunning).flatMap { $0.activities.values.filter { $0.inBackoff(at: current) } }
            .flatMap { a in [a.attemptScheduledTime] + [a.timedOutAttemptStopsBy].compactMap { $0 }.filter { $0 > current } }.min()
    }

    static func timeoutName(_ type: Temporal_Api_Enums_V1_TimeoutType) -> String {
        switch type {
        case .startToClose: "StartToClose"
        case .scheduleToStart: "ScheduleToStart"
        case .scheduleToClose: "ScheduleToClose"
        case .heartbeat: "Heartbeat"
        default: "\(type)"
        }
    }
}
