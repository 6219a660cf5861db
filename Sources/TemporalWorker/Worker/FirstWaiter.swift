import Dispatch
import Synchronization

#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// One waiter of `OneShotEvent.first(of:deadline:)`: resumed once, by whichever comes first —
/// an event, its timer, or the waiting task's cancellation.
final class FirstWaiter: Sendable {
    private struct State {
        var continuation: CheckedContinuation<Void, Never>?
        var resolved = false
        var timer: TimerBox?
    }

    /// A dispatch timer is thread-safe (schedule, resume and cancel from any thread).
    private struct TimerBox: @unchecked Sendable {
        let timer: any DispatchSourceTimer
    }

    private let state = Mutex(State())

    /// Stores the continuation, or resumes it at once when something already came first.
    func arm(_ continuation: CheckedContinuation<Void, Never>) {
        let now = state.withLock { s -> Bool in
            if s.resolved { return true }
            s.continuation = continuation
            return false
        }
        if now { continuation.resume() }
    }

    /// Resumes the waiter (once; later calls do nothing).
    func resume() {
        let continuation = state.withLock { s -> CheckedContinuation<Void, Never>? in
            guard !s.resolved else { return nil }
            s.resolved = true
            defer { s.continuation = nil }
            return s.continuation
        }
        continuation?.resume()
    }

    /// Resumes the waiter at `deadline` (wall clock, as activity deadlines are).
    func wake(at deadline: Date) {
        let wait = deadline.timeIntervalSinceNow
        guard wait > 0 else { return resume() }
        let timer = DispatchSource.makeTimerSource(queue: .global())
        timer.schedule(deadline: .now() + wait)
        timer.setEventHandler { [self] in resume() }
        let started = state.withLock { s -> Bool in
            guard !s.resolved else { return false }
            s.timer = TimerBox(timer: timer)
            return true
        }
        if !started { timer.cancel() }  // something came first: cancelled, then activated (never released inactive)
        timer.resume()
    }

    /// Cancels the timer, if any (after the wait ended).
    func cancelTimer() {
        let box = state.withLock { s -> TimerBox? in
            defer { s.timer = nil }
            return s.timer
        }
        box?.timer.cancel()
    }
}
