import Synchronization

#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// Something that happens once (a cancel request, the worker's hard stop, the end of polling),
/// which tasks can wait for: `wait()` returns when it happened, or as soon as the waiting task
/// is cancelled, so a waiter never outlives the task group it runs in.
///
/// Every wait — for one event, with a timeout, or for the first of several — is one
/// `FirstWaiter`: one continuation, at most one timer, no child tasks.
final class OneShotEvent: Sendable {
    private struct State {
        var happened = false
        var waiters: [ObjectIdentifier: FirstWaiter] = [:]
    }

    private let state = Mutex(State())

    init() {}

    var happened: Bool { state.withLock { $0.happened } }

    /// Marks the event as happened and wakes every waiter. Later calls do nothing.
    /// - Returns: whether this call was the first.
    @discardableResult
    func fire() -> Bool {
        let (first, waiters) = state.withLock { s -> (Bool, [FirstWaiter]) in
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
        await Self.first(of: [self], deadline: nil)
    }

    /// Waits until the event happened or `timeout` passed; true when it happened.
    func wait(timeout: Duration) async -> Bool {
        if happened { return true }
        let seconds = Double(timeout.components.seconds) + Double(timeout.components.attoseconds) * 1e-18
        await Self.first(of: [self], deadline: Date().addingTimeInterval(seconds))
        return happened
    }

    /// Returns when the first of `events` happened, when `deadline` passed, or as soon as the
    /// calling task is cancelled (an activity attempt watches its cancel request, the worker's
    /// hard stop and its deadline this way, with one task).
    static func first(of events: [OneShotEvent], deadline: Date?) async {
        let waiter = FirstWaiter()
        await withTaskCancellationHandler {
            await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
                waiter.arm(continuation)
                for event in events { event.observe(waiter) }
                if let deadline { waiter.wake(at: deadline) }
            }
        } onCancel: {
            waiter.resume()
        }
        for event in events { event.stopObserving(waiter) }
        waiter.cancelTimer()
    }

    /// Registers `waiter` to be woken by `fire()` (at once if the event already happened).
    private func observe(_ waiter: FirstWaiter) {
        let now = state.withLock { s -> Bool in
            if s.happened { return true }
            s.waiters[ObjectIdentifier(waiter)] = waiter
            return false
        }
        if now { waiter.resume() }
    }

    private func stopObserving(_ waiter: FirstWaiter) {
        _ = state.withLock { $0.waiters.removeValue(forKey: ObjectIdentifier(waiter)) }
    }
}
