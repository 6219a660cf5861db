import Temporal

/// The handlers a run's code registered (signals, queries, updates), the signals that arrived
/// before their handler, and the update handlers running now. Only ever touched under the
/// run's confinement; cleared when the run is torn down (handlers capture the run).
struct RunHandlers {
    var signals: [String: (Payloads?) -> Void] = [:]
    /// Signals without a handler yet, delivered when one is registered.
    var bufferedSignals: [HandleSignalInput] = []
    var queries: [String: (Payloads?) throws -> Payloads] = [:]
    var updates: [String: UpdateHandler] = [:]
    /// Running update handlers: update id → handler name.
    var runningUpdates: [String: String] = [:]
    /// The tasks of the running update handlers, by update id.
    var updateTasks: [String: Task<Void, Never>] = [:]
    /// Update requests of the current activation whose handler is not registered yet: handed
    /// over when code registers it, rejected when the activation ends without it.
    var heldUpdates: [(delivery: UpdateDelivery, replaying: Bool)] = []
}

/// The run's `condition` waits: each a predicate evaluated after every step of workflow code.
struct RunConditions {
    typealias Waiter = (id: Int, predicate: () -> Bool, continuation: CheckedContinuation<Void, any Error>)
    private(set) var lastID = 0
    var waiting: [Waiter] = []

    /// Registers a wait; returns its id.
    mutating func add(_ predicate: @escaping () -> Bool, _ continuation: CheckedContinuation<Void, any Error>) -> Int {
        lastID += 1
        waiting.append((lastID, predicate, continuation))
        return lastID
    }
}
