import Synchronization

/// One workflow task per run at a time, as Go (a lock per run) and Core (a per-run buffer) keep
/// it. The server may hand out a run's next task while this worker still processes the last one
/// (that one timed out: a long local activity whose task heartbeat failed, code slower than the
/// task timeout); processed at once, both would run the run's code — a full replay beside the
/// live run, local activities twice. The newer task waits here for the older to end instead.
///
/// At most one task waits per run: a newer one arriving supersedes it (the server hands out a
/// new task only once the previous one is gone, so the waiting one can no longer be answered).
final class RunTaskGate: Sendable {
    private struct Held {
        /// The task waiting for the run, resumed with true when the holder leaves.
        var waiter: CheckedContinuation<Bool, Never>?
    }

    private let held = Mutex<[String: Held]>([:])

    init() {}

    /// Takes the run for a task: at once when no other task of the run is in progress, else
    /// once that one leaves. False when a newer task of the run arrived meanwhile: this one is
    /// stale and should be dropped unanswered. A true return must be paired with `leave`.
    func enter(_ runID: String) async -> Bool {
        if tryEnter(runID) { return true }
        return await enterWaiting(runID)
    }

    /// Takes the run if no other task of it is in progress (the common case, without a
    /// suspension): true then, to be paired with `leave`.
    func tryEnter(_ runID: String) -> Bool {
        held.withLock { h in
            guard h[runID] == nil else { return false }
            h[runID] = Held()
            return true
        }
    }

    /// `enter` once `tryEnter` said no: waits for the holder to leave (false: superseded).
    func enterWaiting(_ runID: String) async -> Bool {
        await withCheckedContinuation { (waiter: CheckedContinuation<Bool, Never>) in
            let superseded = held.withLock { h -> CheckedContinuation<Bool, Never>?? in
                guard var entry = h[runID] else {
                    h[runID] = Held()  // the holder left meanwhile
                    return .none
                }
                let older = entry.waiter
                entry.waiter = waiter
                h[runID] = entry
                return .some(older)
            }
            switch superseded {
            case .none: waiter.resume(returning: true)
            case .some(let older): older?.resume(returning: false)
            }
        }
    }

    /// Whether a task of `runID` is in progress (tests, logs).
    func isHeld(_ runID: String) -> Bool { held.withLock { $0[runID] != nil } }

    /// Whether a task of `runID` waits for it (tests).
    func hasWaiter(_ runID: String) -> Bool { held.withLock { $0[runID]?.waiter != nil } }

    /// Gives the run up: to the task waiting for it, if any.
    func leave(_ runID: String) {
        let next = held.withLock { h -> CheckedContinuation<Bool, Never>? in
            guard let waiter = h[runID]?.waiter else {
                h[runID] = nil
                return nil
            }
            h[runID] = Held()  // handed over: still held
            return waiter
        }
        next?.resume(returning: true)
    }
}
