public import Temporal

/// How a local activity runs. A local activity runs in the worker that runs the workflow,
/// inside the workflow task: no activity task, no round trip through the server, one
/// `MarkerRecorded` event for its outcome instead of three activity events. Use it for short
/// steps (milliseconds to seconds) whose loss on a crash is cheap: it runs again if the workflow
/// task fails before its marker is recorded. At least one of the two timeouts is required.
public struct LocalActivityOptions: Sendable {
    /// Time one attempt may run.
    public var startToCloseTimeout: Duration?
    /// Time all attempts together may take, backoffs included.
    public var scheduleToCloseTimeout: Duration?
    /// Retries, by the worker; nil = 1 s initial interval, ×2, at most 100 s, unlimited attempts
    /// (bounded by `scheduleToCloseTimeout`).
    public var retryPolicy: RetryPolicy?
    /// Backoffs up to this long are waited in the worker; longer ones become a durable timer in
    /// the workflow (the marker records the failed attempt), as Go does. Default 1 minute.
    public var localRetryThreshold: Duration
    /// A fixed activity id; default `local-<n>` (n: the request's sequence number in the run).
    public var activityID: String?

    public init(
        startToCloseTimeout: Duration? = nil, scheduleToCloseTimeout: Duration? = nil,
        retryPolicy: RetryPolicy? = nil, localRetryThreshold: Duration = .seconds(60), activityID: String? = nil
    ) {
        self.startToCloseTimeout = startToCloseTimeout
        self.scheduleToCloseTimeout = scheduleToCloseTimeout
        self.retryPolicy = retryPolicy
        self.localRetryThreshold = localRetryThreshold
        self.activityID = activityID
    }

    /// `startToCloseTimeout` when positive (zero is none, as for an activity on the server).
    var attemptTimeout: Duration? { startToCloseTimeout.flatMap { $0 > .zero ? $0 : nil } }
    /// `scheduleToCloseTimeout` when positive.
    var overallTimeout: Duration? { scheduleToCloseTimeout.flatMap { $0 > .zero ? $0 : nil } }
}
