public import Temporal

/// What a workflow does with an activity it cancels.
public enum ActivityCancellationType: Sendable {
    /// Ask the server to cancel it and report the cancellation to the workflow at once (default).
    case tryCancel
    /// Ask the server to cancel it and wait until the activity confirms (or completes anyway).
    case waitCancellationCompleted
    /// Report cancellation at once and send nothing: the activity keeps running.
    case abandon
}

/// How an activity is scheduled. At least one of `startToCloseTimeout` and
/// `scheduleToCloseTimeout` is required (the server rejects the command otherwise).
public struct ActivityOptions: Sendable {
    /// The queue of the worker that runs it; default the workflow's task queue.
    public var taskQueue: String?
    /// Total time allowed, including retries. Default: unlimited (bounded by the run timeout).
    public var scheduleToCloseTimeout: Duration?
    /// Time an attempt may wait in the queue. Default: unlimited (never retried when it fires).
    public var scheduleToStartTimeout: Duration?
    /// Time one attempt may run.
    public var startToCloseTimeout: Duration?
    /// Maximum time between heartbeats before the attempt times out (nil: no heartbeat timeout).
    public var heartbeatTimeout: Duration?
    /// Server-side retries; nil = the server default (1 s, ×2, unlimited attempts).
    public var retryPolicy: RetryPolicy?
    public var cancellationType: ActivityCancellationType
    /// A fixed activity id; default: the sequence number of the activity in the run ("1", "2", …).
    public var activityID: String?
    /// Never ask for eager execution of this activity.
    public var disableEagerExecution: Bool

    public init(
        taskQueue: String? = nil, scheduleToCloseTimeout: Duration? = nil, scheduleToStartTimeout: Duration? = nil,
        startToCloseTimeout: Duration? = nil, heartbeatTimeout: Duration? = nil, retryPolicy: RetryPolicy? = nil,
        cancellationType: ActivityCancellationType = .tryCancel, activityID: String? = nil,
        disableEagerExecution: Bool = false
    ) {
        self.taskQueue = taskQueue
        self.scheduleToCloseTimeout = scheduleToCloseTimeout
        self.scheduleToStartTimeout = scheduleToStartTimeout
        self.startToCloseTimeout = startToCloseTimeout
        self.heartbeatTimeout = heartbeatTimeout
        self.retryPolicy = retryPolicy
        self.cancellationType = cancellationType
        self.activityID = activityID
        self.disableEagerExecution = disableEagerExecution
    }
}

/// A typed name of an activity, for calling it from workflows (it may be implemented by a
/// worker in any language).
public struct ActivityReference<Input: Encodable, Output: Decodable>: Sendable {
    public let name: String
    public init(_ name: String) { self.name = name }
}

/// The checks of a command's timeouts a server makes (`validateAndNormalizeTimeouts`,
/// `ValidateAndCapProtoDuration`), made before the command is sent: a server fails the workflow
/// task for them on every attempt, the run stuck.
enum TimeoutChecks {
    /// Why an activity's timeouts (`what`: "activity 'x'") are refused, nil when they pass: one
    /// of start-to-close and schedule-to-close must be positive (zero is unset), and none may
    /// be negative.
    static func activity(
        _ what: @autoclosure () -> String, startToClose: Duration?, scheduleToClose: Duration?,
        scheduleToStart: Duration? = nil, heartbeat: Duration? = nil
    ) -> String? {
        // The common case without building anything (it runs for every activity scheduled).
        let positive = (startToClose ?? .zero) > .zero || (scheduleToClose ?? .zero) > .zero
        if positive, (startToClose ?? .zero) >= .zero, (scheduleToClose ?? .zero) >= .zero, (scheduleToStart ?? .zero) >= .zero,
            (heartbeat ?? .zero) >= .zero
        {
            return nil
        }
        let what = what()
        let all = [
            ("startToCloseTimeout", startToClose), ("scheduleToCloseTimeout", scheduleToClose),
            ("scheduleToStartTimeout", scheduleToStart), ("heartbeatTimeout", heartbeat),
        ]
        if let negative = negative(what, all) { return negative }
        return positive ? nil : "\(what) needs a positive startToCloseTimeout or scheduleToCloseTimeout (zero is none)"
    }

    /// Why `what`'s retry policy is refused (`RetryPolicy.refusal`), nil when it passes or there
    /// is none: a server fails the workflow task for it on every attempt, as for timeouts.
    static func retryPolicy(_ what: @autoclosure () -> String, _ policy: RetryPolicy?) -> String? {
        guard let refusal = policy?.refusal else { return nil }
        return "\(what()): its retry policy's \(refusal)"
    }

    /// Why `what`'s timeouts (by name) are refused: one is negative. Nil when none is.
    static func negative(_ what: @autoclosure () -> String, _ timeouts: [(name: String, value: Duration?)]) -> String? {
        guard let negative = timeouts.first(where: { ($0.value ?? .zero) < .zero }) else { return nil }
        return "\(what()): \(negative.name) is negative (\(negative.value ?? .zero)); a timeout is positive, or nil for none"
    }
}
