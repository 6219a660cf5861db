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
        var alarm: DeadlineAlarms.Ticket?
    }

    private let state = Mutex(State())
    private var alarms: DeadlineAlarms { .shared }

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
        let ticket = alarms.schedule(at: .now() + wait) { [self] in resume() }
        let kept = state.withLock { s -> Bool in
            guard !s.resolved else { return false }
            s.alarm = ticket
            return true
        }
        if !kept { alarms.cancel(ticket) }  // something came first
    }

    /// Cancels the alarm, if any (after the wait ended).
    func cancelTimer() {
        let ticket = state.withLock { s -> DeadlineAlarms.Ticket? in
            defer { s.alarm = nil }
            return s.alarm
        }
        if let ticket { alarms.cancel(ticket) }
    }
}
