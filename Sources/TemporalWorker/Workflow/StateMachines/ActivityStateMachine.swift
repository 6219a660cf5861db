import Temporal
import TemporalProto

/// The life of one activity scheduled by workflow code, driven by history events
/// (sdk-core's activity machine, reduced to what this worker emits):
///
/// ```
/// created ──ActivityTaskScheduled──▶ scheduled ──Started──▶ started
///    │                                  │                      │
///    │ (cancelled before sent)          ├──Completed/Failed/TimedOut──▶ completed | failed | timedOut
///    ▼                                  └──CancelRequested ▶ (cancelRequested flag) ──Canceled──▶ canceled
/// abandoned
/// ```
/// An activity may still complete, fail or time out after a cancel request.
struct ActivityStateMachine: Sendable {
    enum State: String, Sendable, Equatable {
        case created, scheduled, started, completed, failed, timedOut, canceled, abandoned
    }

    /// How an activity ended, as seen by the workflow.
    enum Resolution: Sendable {
        case completed(Payloads?)
        /// The failure wrapped as Temporal SDKs do: `ActivityFailureInfo` with the recorded failure as cause.
        case failed(Failure)
        case canceled(Failure)
    }

    let activityID: String
    let activityType: String
    /// What cancelling the activity does (the command's option, which the machine acts on).
    let cancellationType: ActivityCancellationType
    private(set) var state: State = .created
    private(set) var scheduledEventID: Int64 = 0
    private(set) var startedEventID: Int64 = 0
    private(set) var cancelRequested = false

    init(activityID: String, activityType: String, cancellationType: ActivityCancellationType = .tryCancel) {
        self.activityID = activityID
        self.activityType = activityType
        self.cancellationType = cancellationType
    }

    var isResolved: Bool { [.completed, .failed, .timedOut, .canceled, .abandoned].contains(state) }

    /// The workflow dropped the activity before its command reached the server.
    mutating func abandonBeforeSent() throws {
        guard state == .created else { throw error("abandonBeforeSent") }
        state = .abandoned
    }

    /// `ActivityTaskScheduled`, the dual of our ScheduleActivityTask command.
    mutating func scheduled(eventID: Int64) throws {
        guard state == .created else { throw error("ActivityTaskScheduled") }
        scheduledEventID = eventID
        state = .scheduled
    }

    /// `ActivityTaskCancelRequested`, the dual of our RequestCancelActivityTask command.
    mutating func cancelRecorded() throws {
        guard state == .scheduled || state == .started || isResolved else { throw error("ActivityTaskCancelRequested") }
        cancelRequested = true
    }

    /// Any other activity event (started, completed, failed, timed out, canceled).
    /// - Returns: the resolution when the event closes the activity.
    mutating func handle(_ event: HistoryEvent) throws -> Resolution? {
        switch event.attributes {
        case .activityTaskStartedEventAttributes?:
            guard state == .scheduled else { throw error("ActivityTaskStarted") }
            startedEventID = event.eventID
            state = .started
            return nil
        case .activityTaskCompletedEventAttributes(let a)?:
            try requireOpen("ActivityTaskCompleted")
            state = .completed
            return .completed(a.hasResult ? a.result : nil)
        case .activityTaskFailedEventAttributes(let a)?:
            try requireOpen("ActivityTaskFailed")
            state = .failed
            return .failed(wrap(a.failure, retryState: a.retryState, message: "activity error"))
        case .activityTaskTimedOutEventAttributes(let a)?:
            try requireOpen("ActivityTaskTimedOut")
            state = .timedOut
            return .failed(wrap(a.failure, retryState: a.retryState, message: "activity timeout"))
        case .activityTaskCanceledEventAttributes(let a)?:
            try requireOpen("ActivityTaskCanceled")
            state = .canceled
            var cancel = Failure()
            cancel.message = "activity canceled"
            var info = Temporal_Api_Failure_V1_CanceledFailureInfo()
            if a.hasDetails { info.details = a.details }
            cancel.canceledFailureInfo = info
            return .canceled(wrap(cancel, retryState: .cancelRequested, message: "activity canceled"))
        default:
            throw error("\(event.eventType)")
        }
    }

    /// Marks an activity resolved locally (try-cancel / abandon): later events are ignored.
    mutating func resolveLocally() {
        if !isResolved { state = .abandoned }
    }

    /// Whether events for this activity are still expected (abandoned ones may still get them).
    var acceptsLateEvents: Bool { state == .abandoned }

    private func requireOpen(_ event: String) throws {
        guard state == .scheduled || state == .started else { throw error(event) }
    }

    private func wrap(_ cause: Failure, retryState: Temporal_Api_Enums_V1_RetryState, message: String) -> Failure {
        var f = Failure()
        f.message = message
        f.source = "SwiftSDK"
        var info = Temporal_Api_Failure_V1_ActivityFailureInfo()
        info.scheduledEventID = scheduledEventID
        info.startedEventID = startedEventID
        info.activityType.name = activityType
        info.activityID = activityID
        info.retryState = retryState
        f.activityFailureInfo = info
        f.cause = cause
        return f
    }

    private func error(_ event: String) -> StateMachineError {
        StateMachineError(machine: "activity \(activityID) (\(activityType))", state: state.rawValue, event: event)
    }
}
