import Synchronization

/// A counting semaphore for task slots: a poll starts only when a slot is free.
///
/// A slot is *used* from the moment a poll reserves it until its task is done (a poll waiting
/// for a task holds one); `observer`, when given, sees every change of (used, available),
/// in order, while the change is made.
final class Slots: Sendable {
    typealias Observer = @Sendable (_ used: Int, _ available: Int) -> Void

    private struct State {
        var free: Int
        /// Slots held by polls still waiting for a task: reserved, but not "used".
        var polling = 0
        var nextID = 0
        var waiters: [(id: Int, preferred: Bool, continuation: CheckedContinuation<Bool, Never>)] = []
        /// Whether a freed slot goes to the first *preferred* waiter rather than the first one.
        var preferring = false
    }

    private let state: Mutex<State>
    let capacity: Int
    private let observer: Observer?

    init(_ count: Int, observer: Observer? = nil) {
        capacity = max(1, count)
        self.observer = observer
        state = Mutex(State(free: capacity))
        observer?(0, capacity)
    }

    /// Reports used = slots holding a task (not those reserved by a waiting poll), as the
    /// official SDKs' `temporal_worker_task_slots_used` does, and available = the rest.
    private func changed(_ s: State) { observer?(capacity - s.free - s.polling, s.free + s.polling) }

    /// Reserves a slot for a poll (see `pollReturned(withTask:)`); false when cancelled.
    /// `preferred`: while `prefer(_:)` is on, this poll gets a freed slot before the others.
    func acquireForPoll(preferred: Bool = false) async -> Bool {
        guard await acquire(preferred: preferred) else { return false }
        state.withLock { s in
            s.polling += 1
            changed(s)
        }
        return true
    }

    /// The poll that reserved a slot returned: with a task the slot is now used (release it
    /// when the task is done); without one it is released now.
    func pollReturned(withTask: Bool) {
        state.withLock { s in
            s.polling -= 1
            if withTask { changed(s) }
        }
        if !withTask { release() }
    }

    /// Polls and other callers waiting for a slot (for tests).
    var waiterCount: Int { state.withLock { $0.waiters.count } }

    /// Turns on or off the precedence of preferred waiters (a sticky queue's polls while the
    /// server says that queue has a backlog, as Go and Core put them first). Off, waiters are
    /// served in arrival order.
    func prefer(_ on: Bool) { state.withLock { $0.preferring = on } }

    /// Waits for a slot. Returns false if the task was cancelled while waiting.
    func acquire(preferred: Bool = false) async -> Bool {
        if tryAcquire() { return true }
        let id = state.withLock { s -> Int in
            s.nextID += 1
            return s.nextID
        }
        return await withTaskCancellationHandler {
            await withCheckedContinuation { (continuation: CheckedContinuation<Bool, Never>) in
                let immediate = state.withLock { s -> Bool? in
                    if s.free > 0 {
                        s.free -= 1
                        changed(s)
                        return true
                    }
                    if Task.isCancelled { return false }
                    s.waiters.append((id, preferred, continuation))
                    return nil
                }
                if let immediate { continuation.resume(returning: immediate) }
            }
        } onCancel: {
            let waiter = state.withLock { s -> CheckedContinuation<Bool, Never>? in
                guard let index = s.waiters.firstIndex(where: { $0.id == id }) else { return nil }
                return s.waiters.remove(at: index).continuation
            }
            waiter?.resume(returning: false)
        }
    }

    /// Takes a slot if one is free.
    func tryAcquire() -> Bool {
        state.withLock { s in
            guard s.free > 0 else { return false }
            s.free -= 1
            changed(s)
            return true
        }
    }

    func release() {
        let waiter = state.withLock { s -> CheckedContinuation<Bool, Never>? in
            if s.preferring, let index = s.waiters.firstIndex(where: \.preferred) {
                return s.waiters.remove(at: index).continuation
            }
            if !s.waiters.isEmpty { return s.waiters.removeFirst().continuation }
            s.free += 1
            changed(s)
            return nil
        }
        waiter?.resume(returning: true)
    }
}
