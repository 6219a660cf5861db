import Temporal
import TemporalProto

/// The life of one durable timer:
/// `created ──TimerStarted──▶ started ──TimerFired──▶ fired`, and
/// `started ──(CancelTimer command) TimerCanceled──▶ canceled`; a timer cancelled before its
/// StartTimer command was sent is `abandoned` and never appears in history.
struct TimerStateMachine: Sendable {
    enum State: String, Sendable, Equatable { case created, started, cancelPending, fired, canceled, abandoned }

    let timerID: String
    private(set) var state: State = .created
    private(set) var startedEventID: Int64 = 0

    init(timerID: String) { self.timerID = timerID }

    var isResolved: Bool { state == .fired || state == .canceled || state == .abandoned || state == .cancelPending }

    /// `TimerStarted`, the dual of StartTimer.
    mutating func started(eventID: Int64) throws {
        guard state == .created else { throw error("TimerStarted") }
        startedEventID = eventID
        state = .started
    }

    /// `TimerFired`.
    mutating func fired() throws {
        guard state == .started else { throw error("TimerFired") }
        state = .fired
    }

    /// The workflow cancelled the timer.
    /// - Returns: whether a CancelTimer command must be sent (false when the start was never sent).
    mutating func cancel() throws -> Bool {
        switch state {
        case .created:
            state = .abandoned
            return false
        case .started:
            state = .cancelPending
            return true
        default: throw error("cancel")
        }
    }

    /// `TimerFired` after the workflow cancelled the timer in the same task, before its
    /// CancelTimer command was sent: the command is dropped (the server would refuse to cancel
    /// a fired timer) and the timer stays resolved as cancelled for the code (`canceled`, not
    /// `fired`: `condition(timeout:)` must not read it as its timeout).
    mutating func firedBeforeCancelSent() throws {
        guard state == .cancelPending else { throw error("TimerFired") }
        state = .canceled
    }

    /// `TimerCanceled`, the dual of CancelTimer.
    mutating func canceled() throws {
        guard state == .cancelPending else { throw error("TimerCanceled") }
        state = .canceled
    }

    private func error(_ event: String) -> StateMachineError {
        StateMachineError(machine: "timer \(timerID)", state: state.rawValue, event: event)
    }
}
