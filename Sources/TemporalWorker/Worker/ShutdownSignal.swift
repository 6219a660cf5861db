import Synchronization

/// Shared shutdown state: whether polling stopped, and the "hard stop" that cancels running
/// activities when the grace period is over.
final class ShutdownSignal: Sendable {
    private struct State {
        var stopping = false
        var hardStopped = false
        var nextID = 0
        var onHardStop: [Int: @Sendable () -> Void] = [:]
    }

    private let state = Mutex(State())

    var isStopping: Bool { state.withLock { $0.stopping } }
    var isHardStopped: Bool { state.withLock { $0.hardStopped } }

    func stop() { state.withLock { $0.stopping = true } }

    /// Registers an action for the hard stop (runs at once if it already happened).
    func onHardStop(_ action: @escaping @Sendable () -> Void) -> Int {
        let (id, now) = state.withLock { s -> (Int, Bool) in
            s.nextID += 1
            if !s.hardStopped { s.onHardStop[s.nextID] = action }
            return (s.nextID, s.hardStopped)
        }
        if now { action() }
        return id
    }

    func remove(_ id: Int) { state.withLock { _ = $0.onHardStop.removeValue(forKey: id) } }

    func hardStop() {
        let actions = state.withLock { s -> [@Sendable () -> Void] in
            s.stopping = true
            s.hardStopped = true
            defer { s.onHardStop = [:] }
            return Array(s.onHardStop.values)
        }
        for action in actions { action() }
    }
}

/// Counts tasks in flight and lets shutdown wait for them to drain.
final class InFlight: Sendable {
    private struct State {
        var count = 0
        var nextID = 0
        var waiters: [Int: CheckedContinuation<Void, Never>] = [:]
        /// Waits given up (timeout) before their continuation was registered.
        var abandoned: Set<Int> = []
    }

    private let state = Mutex(State())

    var count: Int { state.withLock { $0.count } }

    func enter() { state.withLock { $0.count += 1 } }

    func leave() {
        let waiters = state.withLock { s -> [CheckedContinuation<Void, Never>] in
            s.count -= 1
            guard s.count == 0 else { return [] }
            defer { s.waiters = [:] }
            return Array(s.waiters.values)
        }
        for w in waiters { w.resume() }
    }

    /// Waits until nothing is in flight or `timeout` passes. Returns whether it drained.
    func waitUntilEmpty(timeout: Duration) async -> Bool {
        let id = state.withLock { s -> Int in
            s.nextID += 1
            return s.nextID
        }
        return await withTaskGroup(of: Bool.self) { group in
            group.addTask {
                // Cancelled by the timeout: the wait ends whether or not it was registered yet.
                await withTaskCancellationHandler {
                    await withCheckedContinuation { (c: CheckedContinuation<Void, Never>) in
                        let now = self.state.withLock { s -> Bool in
                            if s.count == 0 || s.abandoned.remove(id) != nil { return true }
                            s.waiters[id] = c
                            return false
                        }
                        if now { c.resume() }
                    }
                } onCancel: {
                    let waiter = self.state.withLock { s -> CheckedContinuation<Void, Never>? in
                        if let c = s.waiters.removeValue(forKey: id) { return c }
                        s.abandoned.insert(id)
                        return nil
                    }
                    waiter?.resume()
                }
                return !Task.isCancelled // resumed by the drain, not given up
            }
            group.addTask {
                try? await Task.sleep(for: timeout)
                return false
            }
            let first = await group.next() ?? false
            group.cancelAll()
            return first
        }
    }
}
