/// An event that the state machine of a command cannot accept in its current state: the
/// history and the workflow code disagree (a nondeterminism) or the history is malformed.
public struct StateMachineError: Error, Sendable, CustomStringConvertible {
    public let machine: String
    public let state: String
    public let event: String

    public init(machine: String, state: String, event: String) {
        self.machine = machine
        self.state = state
        self.event = event
    }

    public var description: String { "\(machine) in state \(state) cannot handle \(event)" }
}
