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
    /// request, if any, which wins over backoff when it is longer (capped by `maxRetryAfter`):
    /// a `Retry-After` of 0 does not make retries go out back to back. A `Retry-After` wait is
    /// lengthened by up to `jitter` of it, never shortened: every request that got the same
    /// answer would otherwise retry in the same instant.
    public func delay(beforeRetry retry: Int, retryAfterSeconds: Int?) -> Duration {
        let backoff = ExponentialBackoff(initial: initialDelay, maximum: maxDelay, jitter: jitter).delay(beforeRetry: retry)
        guard let retryAfterSeconds else { return backoff }
        let asked = min(.seconds(retryAfterSeconds), maxRetryAfter)
        return max(jitter > 0 ? asked * (1 + Double.random(in: 0...jitter)) : asked, backoff)
    }

    /// The seconds a `Retry-After` value asks for: delta-seconds, or an HTTP-date counted from
    /// `now`, in any of the three forms RFC 9110 §5.6.7 has recipients accept (IMF-fixdate
    /// `Sun, 06 Nov 1994 08:49:37 GMT`, the obsolete RFC 850 `Sunday, 06-Nov-94 08:49:37 GMT`
    /// and asctime `Sun Nov  6 08:49:37 1994`); nil when it is none of them.
    public static func retryAfterSeconds(_ value: String, now: Double) -> Int? {
        let text = value.trimmingSpaces
        if let seconds = Int(text) { return max(0, seconds) }
        // More seconds than an Int holds: still a long wait (it was read as none, a retry at once).
        if !text.isEmpty, text.utf8.allSatisfy({ (UInt8(ascii: "0")...UInt8(ascii: "9")).contains($0) }) { return Int.max }
        let parts = text.split(separator: " ")
        let months = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"]
        let fields: (day: Substring, month: Substring, year: Substring, time: Substring)
        var twoDigitYear = false
        if parts.count == 6, parts[5] == "GMT" {
            fields = (parts[1], parts[2], parts[3], parts[4])  // IMF-fixdate
        } else if parts.count == 4, parts[3] == "GMT" {
            // RFC 850: "Sunday, 06-Nov-94 08:49:37 GMT".
            let date = parts[1].split(separator: "-")
            guard date.count == 3 else { return nil }
            fields = (date[0], date[1], date[2], parts[2])
            twoDigitYear = true
        } else if parts.count == 5 {
            fields = (parts[2], parts[1], parts[4], parts[3])  // asctime: "Sun Nov  6 08:49:37 1994"
        } else {
            return nil
        }
        guard var year = Int(fields.year), let day = Int(fields.day), let monthIndex = months.firstIndex(of: String(fields.month)) else {
            return nil
        }
        if twoDigitYear, fields.year.count == 2 {
            // A two-digit year more than 50 years ahead is of the past century (RFC 9110).
            let thisYear = 1970 + Int(now / 86_400 / 365.2425)
            year += 2000
            if year > thisYear + 50 { year -= 100 }
        }
        guard let date = CivilDate(year: year, month: monthIndex + 1, day: day) else { return nil }
        let clock = fields.time.split(separator: ":").compactMap { Int($0) }
        guard clock.count == 3, (0..<24).contains(clock[0]), (0..<60).contains(clock[1]), (0..<61).contains(clock[2]) else { return nil }
        let at = Double(date.daysSinceEpoch) * 86_400 + Double(clock[0] * 3_600 + clock[1] * 60 + clock[2])
        return max(0, Int((at - now).rounded(.up)))
    }
}
