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
        /// Of those, the polls that asked to be preferred (a sticky queue's).
        var preferredPolling = 0
        var nextID = 0
        var waiters: [(id: Int, preferred: Bool, continuation: CheckedContinuation<Bool, Never>)] = []
        /// The backlog the server last reported for the preferred polls' queue (`prefer(backlog:)`).
        var backlog: Int64 = 0

        /// Whether a freed slot goes to the first preferred waiter rather than the first one:
        /// as Core decides, while the preferred queue's backlog is more than one task and more
        /// than its polls already out, and only while another poll is out too, so that the
        /// other queue is never left without one.
        var preferring: Bool { backlog > 1 && backlog > Int64(preferredPolling) && polling > preferredPolling }
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

    /// Reserves a slot for a poll (see `pollReturned(withTask:preferred:)`); false when
    /// cancelled. `preferred`: a poll of the queue whose backlog `prefer(backlog:)` reports,
    /// which may get a freed slot before the others.
    func acquireForPoll(preferred: Bool = false) async -> Bool {
        guard await acquire(preferred: preferred) else { return false }
        state.withLock { s in
            s.polling += 1
            if preferred { s.preferredPolling += 1 }
            changed(s)
        }
        return true
    }

    /// The poll that reserved a slot returned: with a task the slot is now used (release it
    /// when the task is done); without one it is released now. `backlog`: what the answer
    /// said of its queue's backlog, for a preferred poll (`prefer(backlog:)`).
    func pollReturned(withTask: Bool, preferred: Bool = false, backlog: Int64? = nil) {
        state.withLock { s in
            s.polling -= 1
            if preferred { s.preferredPolling -= 1 }
            if let backlog { s.backlog = backlog }
            if withTask { changed(s) }
        }
        if !withTask { release() }
    }

    /// Polls and other callers waiting for a slot (for tests).
    var waiterCount: Int { state.withLock { $0.waiters.count } }

    /// The backlog the server reported for the preferred polls' queue (a sticky queue's
    /// `backlog_count_hint`): while it exceeds one task and the preferred polls out, a freed
    /// slot goes to a preferred waiter first, as Core does, provided another poll is out too.
    /// Otherwise waiters are served in arrival order.
    func prefer(backlog: Int64) { state.withLock { $0.backlog = backlog } }

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
