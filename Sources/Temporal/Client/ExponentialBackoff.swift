/// Exponential backoff: `initial × coefficient^(retry − 1)`, at most `maximum`, spread by
/// ±`jitter` (a fraction). The one backoff of the package: RPC retries, poll failures, local
/// activity retries and the Launchpad HTTP client all use it.
public struct ExponentialBackoff: Sendable, Hashable {
    /// The delay before the first retry.
    public var initial: Duration
    /// The growth factor from one retry to the next (≥ 1).
    public var coefficient: Double
    /// The longest delay (before jitter).
    public var maximum: Duration
    /// Random spread applied to each delay, as a fraction (0.2 = ±20 %; 0 = none).
    public var jitter: Double

    public init(initial: Duration, coefficient: Double = 2, maximum: Duration, jitter: Double = 0) {
        self.initial = initial
        self.coefficient = max(1, coefficient)
        self.maximum = maximum
        self.jitter = max(0, jitter)
    }

    /// The delay before retry number `retry` (1-based).
    public func delay(beforeRetry retry: Int) -> Duration {
        var delay = initial
        for _ in 1..<max(1, retry) where delay < maximum { delay = delay * coefficient }
        delay = min(delay, maximum)
        guard jitter > 0 else { return delay }
        return delay * (1 + Double.random(in: -jitter...jitter))
    }
}
