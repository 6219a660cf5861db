import Temporal
import TemporalProto

/// A signal sent by this workflow to another one:
/// `created ──SignalExternalWorkflowExecutionInitiated──▶ initiated ──ExternalWorkflowExecutionSignaled──▶ signaled`
/// or `initiated ──SignalExternalWorkflowExecutionFailed──▶ failed`; a signal cancelled before
/// its command was sent is `abandoned`.
struct SignalExternalStateMachine: Sendable {
    enum State: String, Sendable { case created, initiated, signaled, failed, abandoned }

    enum Resolution: Sendable, Equatable {
        case signaled
        case failed(Temporal_Api_Enums_V1_SignalExternalWorkflowExecutionFailedCause)
    }

    let workflowID: String
    let signalName: String
    private(set) var state: State = .created
    private(set) var initiatedEventID: Int64 = 0

    init(workflowID: String, signalName: String) {
        self.workflowID = workflowID
        self.signalName = signalName
    }

    /// `SignalExternalWorkflowExecutionInitiated`, the dual of the command.
    mutating func initiated(eventID: Int64) throws {
        guard state == .created else { throw error("SignalExternalWorkflowExecutionInitiated") }
        initiatedEventID = eventID
        state = .initiated
    }

    /// The outcome events.
    mutating func handle(_ event: HistoryEvent) throws -> Resolution {
        guard state == .initiated else { throw error("\(event.eventType)") }
        switch event.attributes {
        case .externalWorkflowExecutionSignaledEventAttributes?:
            state = .signaled
            return .signaled
        case .signalExternalWorkflowExecutionFailedEventAttributes(let a)?:
            state = .failed
            return .failed(a.cause)
        default:
            throw error("\(event.eventType)")
        }
    }

    /// Cancelled before the command was sent.
    /// - Returns: false when it is too late (the signal is on its way).
    mutating func cancelBeforeSent() -> Bool {
        guard state == .created else { return false }
        state = .abandoned
        return true
    }

    private func error(_ event: String) -> StateMachineError {
        StateMachineError(machine: "signal '\(signalName)' to \(workflowID)", state: state.rawValue, event: event)
    }
}
