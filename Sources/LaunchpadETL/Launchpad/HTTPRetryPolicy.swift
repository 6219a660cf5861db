import Temporal

/// How the Launchpad HTTP client retries transient failures (not `Temporal.RetryPolicy`, which
/// the server applies to activities and workflows): exponential backoff with jitter, honouring a
/// server's `Retry-After` up to a cap.
public struct HTTPRetryPolicy: Sendable, Hashable {
    /// Attempts in total, the first included (default 6, like lazr.restfulclient).
    public var maxAttempts: Int = 6
    /// Delay before the first retry (default 0.5 s).
    public var initialDelay: Duration = .milliseconds(500)
    /// Upper bound of the exponential delay (default 30 s).
    public var maxDelay: Duration = .seconds(30)
    /// Longest `Retry-After` honoured (default 60 s; Launchpad may ask for 900).
    public var maxRetryAfter: Duration = .seconds(60)
    /// Random spread applied to backoff delays, as a fraction (default 0.2 = ±20 %).
    public var jitter: Double = 0.2
    /// The smallest `ws.size` asked for when Launchpad times out on a page (default 25).
    public var minimumPageSize: Int = 25

    /// The default policy.
    public init() {}

    /// Creates a policy.
    public init(maxAttempts: Int, initialDelay: Duration, maxDelay: Duration, maxRetryAfter: Duration, jitter: Double = 0.2) {
        self.maxAttempts = max(1, maxAttempts)
        self.initialDelay = initialDelay
        self.maxDelay = maxDelay
        self.maxRetryAfter = maxRetryAfter
        self.jitter = jitter
    }

    /// The delay before retry number `retry` (1-based); `retryAfterSeconds` is the server's
    /// request, if any, which wins over backoff (capped by `maxRetryAfter`).
    public func delay(beforeRetry retry: Int, retryAfterSeconds: Int?) -> Duration {
        if let retryAfterSeconds {
            return min(.seconds(max(0, retryAfterSeconds)), maxRetryAfter)
        }
        return ExponentialBackoff(initial: initialDelay, maximum: maxDelay, jitter: jitter).delay(beforeRetry: retry)
    }
}
