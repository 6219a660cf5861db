import Synchronization

/// A counting semaphore for task slots: a poll starts only when a slot is free.
final class Slots: Sendable {
    private struct State {
        var free: Int
        var nextID = 0
        var waiters: [(id: Int, continuation: CheckedContinuation<Bool, Never>)] = []
    }

    private let state: Mutex<State>

    init(_ count: Int) { state = Mutex(State(free: max(1, count))) }

    /// Waits for a slot. Returns false if the task was cancelled while waiting.
    func acquire() async -> Bool {
        if tryAcquire() { return true }
        let id = state.withLock { s -> Int in s.nextID += 1; return s.nextID }
        return await withTaskCancellationHandler {
            await withCheckedContinuation { (continuation: CheckedContinuation<Bool, Never>) in
                let immediate = state.withLock { s -> Bool? in
                    if s.free > 0 { s.free -= 1; return true }
                    if Task.isCancelled { return false }
                    s.waiters.append((id, continuation))
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
            return true
        }
    }

    func release() {
        let waiter = state.withLock { s -> CheckedContinuation<Bool, Never>? in
            if !s.waiters.isEmpty { return s.waiters.removeFirst().continuation }
            s.free += 1
            return nil
        }
        waiter?.resume(returning: true)
    }
}
