import Temporal
import TemporalProto

/// The life of one durable timer:
/// `created ──TimerStarted──▶ started ──TimerFired──▶ fired`, and
/// `started ──(CancelTimer command) TimerCanceled──▶ canceled`; a timer cancelled before its
/// StartTimer command was sent is `abandoned` and never appears in history.
public struct TimerStateMachine: Sendable {
    public enum State: String, Sendable, Equatable { case created, started, cancelPending, fired, canceled, abandoned }

    public let timerID: String
    public private(set) var state: State = .created
    public private(set) var startedEventID: Int64 = 0

    public init(timerID: String) { self.timerID = timerID }

    public var isResolved: Bool { state == .fired || state == .canceled || state == .abandoned || state == .cancelPending }

    /// `TimerStarted`, the dual of StartTimer.
    public mutating func started(eventID: Int64) throws {
        guard state == .created else { throw error("TimerStarted") }
        startedEventID = eventID
        state = .started
    }

    /// `TimerFired`.
    public mutating func fired() throws {
        guard state == .started else { throw error("TimerFired") }
        state = .fired
    }

    /// The workflow cancelled the timer.
    /// - Returns: whether a CancelTimer command must be sent (false when the start was never sent).
    public mutating func cancel() throws -> Bool {
        switch state {
        case .created: state = .abandoned; return false
        case .started: state = .cancelPending; return true
        default: throw error("cancel")
        }
    }

    /// `TimerCanceled`, the dual of CancelTimer.
    public mutating func canceled() throws {
        guard state == .cancelPending else { throw error("TimerCanceled") }
        state = .canceled
    }

    private func error(_ event: String) -> StateMachineError {
        StateMachineError(machine: "timer \(timerID)", state: state.rawValue, event: event)
    }
}
