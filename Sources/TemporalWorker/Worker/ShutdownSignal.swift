import Synchronization

/// Shared shutdown state: polling stops (`stopping`), then, when the grace period is over,
/// the hard stop cancels the activities still running (each attempt watches `hardStopped`).
struct ShutdownSignal: Sendable {
    let stopping = OneShotEvent()
    let hardStopped = OneShotEvent()

    var isStopping: Bool { stopping.happened }
    var isHardStopped: Bool { hardStopped.happened }

    func stop() { stopping.fire() }

    func hardStop() {
        stopping.fire()
        hardStopped.fire()
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
                return !Task.isCancelled  // resumed by the drain, not given up
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
