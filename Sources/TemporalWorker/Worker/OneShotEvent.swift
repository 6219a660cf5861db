import Synchronization

#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

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
        /// `first(of:deadline:)` waiters, woken by `fire()` like the continuations.
        var observers: [ObjectIdentifier: FirstWaiter] = [:]
    }

    private let state = Mutex(State())

    init() {}

    var happened: Bool { state.withLock { $0.happened } }

    /// Marks the event as happened and wakes every waiter. Later calls do nothing.
    /// - Returns: whether this call was the first.
    @discardableResult
    func fire() -> Bool {
        let (first, waiters, observers) = state.withLock { s -> (Bool, [CheckedContinuation<Void, Never>], [FirstWaiter]) in
            guard !s.happened else { return (false, [], []) }
            s.happened = true
            defer {
                s.waiters = [:]
                s.observers = [:]
            }
            return (true, Array(s.waiters.values), Array(s.observers.values))
        }
        for waiter in waiters { waiter.resume() }
        for observer in observers { observer.resume() }
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
    /// Registers `waiter` to be woken by `fire()` (at once if the event already happened).
    fileprivate func observe(_ waiter: FirstWaiter) {
        let now = state.withLock { s -> Bool in
            if s.happened { return true }
            s.observers[ObjectIdentifier(waiter)] = waiter
            return false
        }
        if now { waiter.resume() }
    }

    fileprivate func stopObserving(_ waiter: FirstWaiter) {
        _ = state.withLock { $0.observers.removeValue(forKey: ObjectIdentifier(waiter)) }
    }

    /// Returns when the first of `events` happened, when `deadline` passed, or as soon as the
    /// calling task is cancelled — with one continuation and at most one timer, no child tasks
    /// (an activity attempt watches three things at once; a task for each cost more than a
    /// short activity).
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
