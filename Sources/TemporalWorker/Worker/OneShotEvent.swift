import Synchronization

/// Something that happens once (a cancel request, the worker's hard stop, the end of polling),
/// which tasks can wait for: `wait()` returns when it happened, or as soon as the waiting task
/// is cancelled, so a waiter never outlives the task group it runs in.
final class OneShotEvent: Sendable {
    private struct State {
        var happened = false
        var nextID = 0
        var waiters: [Int: CheckedContinuation<Void, Never>] = [:]
        /// Waits cancelled before their continuation was registered.
        var cancelled: Set<Int> = []
    }

    private let state = Mutex(State())

    init() {}

    var happened: Bool { state.withLock { $0.happened } }

    /// Marks the event as happened and wakes every waiter. Later calls do nothing.
    /// - Returns: whether this call was the first.
    @discardableResult
    func fire() -> Bool {
        let (first, waiters) = state.withLock { s -> (Bool, [CheckedContinuation<Void, Never>]) in
            guard !s.happened else { return (false, []) }
            s.happened = true
            defer { s.waiters = [:] }
            return (true, Array(s.waiters.values))
        }
        for waiter in waiters { waiter.resume() }
        return first
    }

    /// Returns once the event happened, or when the calling task is cancelled.
    func wait() async {
        let id = state.withLock { s -> Int in
            s.nextID += 1
            return s.nextID
        }
        await withTaskCancellationHandler {
            await withCheckedContinuation { (c: CheckedContinuation<Void, Never>) in
                let now = state.withLock { s -> Bool in
                    if s.cancelled.remove(id) != nil || s.happened { return true }
                    s.waiters[id] = c
                    return false
                }
                if now { c.resume() }
            }
        } onCancel: {
            let waiter = state.withLock { s -> CheckedContinuation<Void, Never>? in
                if let c = s.waiters.removeValue(forKey: id) { return c }
                if !s.happened { s.cancelled.insert(id) }
                return nil
            }
            waiter?.resume()
        }
    }
}

extension OneShotEvent {
    /// Waits until the event happened or `timeout` passed; true when it happened.
    func wait(timeout: Duration) async -> Bool {
        if happened { return true }
        await withTaskGroup(of: Void.self) { group in
            group.addTask { await self.wait() }
            group.addTask { try? await Task.sleep(for: timeout) }
            await group.next()
            group.cancelAll()
        }
        return happened
    }
}
