public import Temporal
public import TemporalWorker

/// The names and scheduling options of an ETL flow's three activities.
///
/// The original project gave extract 5 min start-to-close, transform 30 s and load 1 min, with
/// few attempts. Here extract gets 30 min per attempt (plus a heartbeat timeout, since it
/// heartbeats its checkpoint: a dead worker is still noticed in seconds), so that a unit of
/// work without a checkpoint inside it (one review target's proposal listing, a big team's
/// roster) fits in an attempt; transform 2 min (a SQLite writer may hold the lock for its 30 s
/// busy timeout) and load 1 min, both retried for up to 30 min: a database restart or failover
/// must not throw away the hours of extraction before them (both are safe to repeat: transform
/// only reads, and a batch loads once). Every retry policy lists `ETLError.nonRetryableTypes`,
/// so bad input never causes a retry storm.
public struct ETLActivityOptions: Sendable {
    /// The extract activity's name (default `extract_data`).
    public var extractName: String
    /// The transform activity's name (default `transform_data`).
    public var transformName: String
    /// The load activity's name (default `load_data`).
    public var loadName: String
    /// Extract: 30 min start-to-close per attempt, 30 s heartbeat timeout, retried without an
    /// attempt limit for up to 6 h in all (each attempt resumes where the last one stopped, so
    /// attempts are cheap; errors that cannot change are non-retryable and fail at once, and
    /// `ExtractionStall` ends attempts that stop getting further).
    public var extract: ActivityOptions
    /// Transform: 2 min start-to-close, retried for up to 30 min (not on a staging mismatch:
    /// the flow extracts again at once).
    public var transform: ActivityOptions
    /// Load: 1 min start-to-close, retried for up to 30 min.
    public var load: ActivityOptions

    /// Creates the options; `prefix` is prepended to the three default names.
    public init(prefix: String = "", heartbeatTimeout: Duration = .seconds(30)) {
        extractName = prefix + "extract_data"
        transformName = prefix + "transform_data"
        loadName = prefix + "load_data"
        extract = ActivityOptions(
            scheduleToCloseTimeout: .seconds(6 * 3600), startToCloseTimeout: .seconds(1800), heartbeatTimeout: heartbeatTimeout,
            retryPolicy: Self.retryPolicy(maximumAttempts: 0, maximumInterval: .seconds(60)))
        // A staging mismatch does not change with retries: the flow extracts again at once (or
        // says to re-run it). A batch in another store does, on a fleet that shares a queue
        // across stores: a retry may reach a worker of the right one.
        var staging = Self.retryPolicy(maximumAttempts: 0)
        staging.nonRetryableErrorTypes.append(ETLError.Code.stagingMismatch.rawValue)
        transform = ActivityOptions(scheduleToCloseTimeout: .seconds(1800), startToCloseTimeout: .seconds(120), retryPolicy: staging)
        load = ActivityOptions(scheduleToCloseTimeout: .seconds(1800), startToCloseTimeout: .seconds(60), retryPolicy: staging)
    }

    /// 1 s initial interval, ×2, at most `maximumInterval` (default 30 s) apart, never retrying
    /// `ETLError.nonRetryableTypes`; `maximumAttempts` 0 means no limit.
    public static func retryPolicy(maximumAttempts: Int, maximumInterval: Duration = .seconds(30)) -> Temporal.RetryPolicy {
        Temporal.RetryPolicy(
            initialInterval: .seconds(1), backoffCoefficient: 2, maximumInterval: maximumInterval,
            maximumAttempts: maximumAttempts, nonRetryableErrorTypes: ETLError.nonRetryableTypes)
    }
}
