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
    /// The tasks of the running update handlers, in the order they were accepted: cancelled in
    /// that order, as a cancellation resumes each handler at once and the order they resume in
    /// is the order of their commands (a dictionary's order differs between a run and its replay).
    var updateTasks = UpdateTasks()
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

/// The running update handlers' tasks, kept in the order their updates were accepted.
struct UpdateTasks {
    private var entries: [(updateID: String, task: Task<Void, Never>)] = []

    var isEmpty: Bool { entries.isEmpty }

    /// The task of `updateID`'s handler; setting nil removes it, setting a task appends it.
    subscript(updateID: String) -> Task<Void, Never>? {
        get { entries.first { $0.updateID == updateID }?.task }
        set {
            entries.removeAll { $0.updateID == updateID }
            if let newValue { entries.append((updateID, newValue)) }
        }
    }

    /// Cancels every handler, the first accepted first.
    func cancelAll() { for entry in entries { entry.task.cancel() } }
}
