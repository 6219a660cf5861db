public import Temporal
public import TemporalWorker

/// The names and scheduling options of an ETL flow's three activities.
///
/// Defaults follow the original project: extract 5 min start-to-close (plus a heartbeat
/// timeout, since it heartbeats its checkpoint), transform 30 s, load 1 min. Every retry
/// policy lists `ETLError.nonRetryableTypes`, so bad input never causes a retry storm.
public struct ETLActivityOptions: Sendable {
    /// The extract activity's name (default `extract_data`).
    public var extractName: String
    /// The transform activity's name (default `transform_data`).
    public var transformName: String
    /// The load activity's name (default `load_data`).
    public var loadName: String
    /// Extract: 5 min start-to-close per attempt, 30 s heartbeat timeout, retried without an
    /// attempt limit for up to 6 h in all (each attempt resumes where the last one stopped, so
    /// attempts are cheap; errors that cannot change are non-retryable and fail at once).
    public var extract: ActivityOptions
    /// Transform: 30 s start-to-close, at most 3 attempts.
    public var transform: ActivityOptions
    /// Load: 1 min start-to-close, at most 5 attempts.
    public var load: ActivityOptions

    /// Creates the options; `prefix` is prepended to the three default names.
    public init(prefix: String = "", heartbeatTimeout: Duration = .seconds(30)) {
        extractName = prefix + "extract_data"
        transformName = prefix + "transform_data"
        loadName = prefix + "load_data"
        extract = ActivityOptions(
            scheduleToCloseTimeout: .seconds(6 * 3600), startToCloseTimeout: .seconds(300), heartbeatTimeout: heartbeatTimeout,
            retryPolicy: Self.retryPolicy(maximumAttempts: 0, maximumInterval: .seconds(60)))
        transform = ActivityOptions(startToCloseTimeout: .seconds(30), retryPolicy: Self.retryPolicy(maximumAttempts: 3))
        load = ActivityOptions(startToCloseTimeout: .seconds(60), retryPolicy: Self.retryPolicy(maximumAttempts: 5))
    }

    /// 1 s initial interval, ×2, at most `maximumInterval` (default 30 s) apart, never retrying
    /// `ETLError.nonRetryableTypes`; `maximumAttempts` 0 means no limit.
    public static func retryPolicy(maximumAttempts: Int, maximumInterval: Duration = .seconds(30)) -> Temporal.RetryPolicy {
        Temporal.RetryPolicy(
            initialInterval: .seconds(1), backoffCoefficient: 2, maximumInterval: maximumInterval,
            maximumAttempts: maximumAttempts, nonRetryableErrorTypes: ETLError.nonRetryableTypes)
    }
}
