/// An event that the state machine of a command cannot accept in its current state: the
/// history and the workflow code disagree (a nondeterminism) or the history is malformed.
struct StateMachineError: Error, Sendable, CustomStringConvertible {
    let machine: String
    let state: String
    let event: String

    init(machine: String, state: String, event: String) {
        self.machine = machine
        self.state = state
        self.event = event
    }

    var description: String { "\(machine) in state \(state) cannot handle \(event)" }
}
