import Synchronization

/// Hands out at most `perSecond` permits a second, evenly spaced (no bursts): each caller gets
/// the next free instant and sleeps until it.
final class RateLimiter: Sendable {
    private let interval: Duration
    private let next = Mutex<ContinuousClock.Instant?>(nil)

    /// nil when `perSecond` is nil or not positive (no limit).
    init?(perSecond: Double?) {
        guard let perSecond, perSecond > 0, perSecond.isFinite else { return nil }
        // At most a day between permits: a rate so small (1e-12, "effectively off") made more
        // nanoseconds than an Int64 holds, and the conversion trapped.
        interval = .nanoseconds(Int64(min(1e9 / perSecond, 86_400e9)))
    }

    /// Waits for the next permit.
    /// - Throws: `CancellationError` when the waiting task is cancelled.
    func acquire() async throws {
        let clock = ContinuousClock()
        let interval = self.interval
        let at = next.withLock { slot -> ContinuousClock.Instant in
            let now = clock.now
            let at = max(now, slot ?? now)
            slot = at + interval
            return at
        }
        if at > clock.now { try await clock.sleep(until: at) }
    }
}
