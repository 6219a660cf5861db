import Temporal
import TemporalProto

/// A cancel request sent by this workflow to another one (not its child: a child's is part of
/// `ChildWorkflowStateMachine`):
/// `created ──RequestCancelExternalWorkflowExecutionInitiated──▶ initiated ──ExternalWorkflowExecutionCancelRequested──▶ requested`
/// or `initiated ──RequestCancelExternalWorkflowExecutionFailed──▶ failed`; a request cancelled
/// before its command was sent is `abandoned`.
struct CancelExternalStateMachine: Sendable {
    enum State: String, Sendable { case created, initiated, requested, failed, abandoned }

    enum Resolution: Sendable, Equatable {
        case requested
        case failed(Temporal_Api_Enums_V1_CancelExternalWorkflowExecutionFailedCause)
    }

    let workflowID: String
    private(set) var state: State = .created

    init(workflowID: String) { self.workflowID = workflowID }

    /// `RequestCancelExternalWorkflowExecutionInitiated`, the dual of the command.
    mutating func initiated() throws {
        guard state == .created else { throw error("RequestCancelExternalWorkflowExecutionInitiated") }
        state = .initiated
    }

    /// The outcome events.
    mutating func handle(_ event: HistoryEvent) throws -> Resolution {
        guard state == .initiated else { throw error("\(event.eventType)") }
        switch event.attributes {
        case .externalWorkflowExecutionCancelRequestedEventAttributes?:
            state = .requested
            return .requested
        case .requestCancelExternalWorkflowExecutionFailedEventAttributes(let a)?:
            state = .failed
            return .failed(a.cause)
        default:
            throw error("\(event.eventType)")
        }
    }

    /// Cancelled before the command was sent.
    /// - Returns: false when it is too late (the request is on its way).
    mutating func cancelBeforeSent() -> Bool {
        guard state == .created else { return false }
        state = .abandoned
        return true
    }

    private func error(_ event: String) -> StateMachineError {
        StateMachineError(machine: "cancel request to \(workflowID)", state: state.rawValue, event: event)
    }
}
