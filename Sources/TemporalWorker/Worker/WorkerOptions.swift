public import CoreMetrics
public import Logging
import Temporal

/// How a `Worker` polls and how much it runs at once. Defaults follow the Go SDK where it
/// has one.
public struct WorkerOptions: Sendable {
    /// Long polls on the workflow task queue: a fixed number or autoscaling (see
    /// `PollerBehavior`). The sticky queue gets polls of its own: with `.fixed(n)`, n; with
    /// `.autoscaling`, they scale on their own from `minimum`. Default `.fixed(2)`.
    public var workflowTaskPollerBehavior: PollerBehavior = .fixed(2)
    /// Long polls on the activity task queue: a fixed number or autoscaling (see
    /// `PollerBehavior`). Default `.fixed(2)`.
    public var activityTaskPollerBehavior: PollerBehavior = .fixed(2)
    /// A fixed number of workflow task polls (`workflowTaskPollerBehavior = .fixed(n)`).
    public var workflowPollers: Int {
        get { workflowTaskPollerBehavior.initialCount }
        set { workflowTaskPollerBehavior = .fixed(newValue) }
    }
    /// A fixed number of activity task polls (`activityTaskPollerBehavior = .fixed(n)`).
    public var activityPollers: Int {
        get { activityTaskPollerBehavior.initialCount }
        set { activityTaskPollerBehavior = .fixed(newValue) }
    }
    /// Workflow-task slots: tasks processed at once; a poll starts only when one is free. Default 100.
    public var maxConcurrentWorkflowTasks: Int = 100
    /// Activity slots: attempts executed at once (eager ones included). Default 100.
    public var maxConcurrentActivities: Int = 100
    /// Local activity attempts executed at once, across every run of this worker; more wait
    /// for one to end (their schedule-to-close time runs meanwhile). Default 1000, as Go's.
    public var maxConcurrentLocalActivities: Int = 1000
    /// Runs kept in memory between workflow tasks (the sticky cache). 0 disables caching and the
    /// sticky queue: every task then replays the full history. Default 1000.
    public var maxCachedWorkflows: Int = 1000
    /// How long the server waits for this worker to pick a sticky task before re-dispatching it
    /// to the normal queue with full history. Default 5 s.
    public var stickyScheduleToStartTimeout: Duration = .seconds(5)
    /// Identity recorded in history; default the client's (`pid@host`).
    public var identity: String?
    /// Ask the server to hand activities scheduled on this task queue directly back in the
    /// workflow-task response when an activity slot is free (servers with
    /// `system.enableActivityEagerExecution` only). Default true. Off while an activity rate
    /// limit is set (eager dispatch would bypass it).
    public var eagerActivities: Bool = true
    /// Run the first task of workflows this process's client starts with
    /// `WorkflowOptions.eagerStart` straight from the start response (Go's eager workflow
    /// start). Default true (only starts that ask for it are affected). Such a start names this
    /// worker's `deployment`, as Go's does, so a versioned worker's eager run is on its version.
    public var eagerWorkflowStart = true
    /// Activities this worker starts per second at most (nil: no limit; Go's
    /// `WorkerActivitiesPerSecond`). A permit is taken for each task polled, before it starts,
    /// as Go's dispatcher takes one (burst 1): the poller holding the task waits for it, and
    /// polls again after. Eager activities are off while it is set. A rate under one a day is
    /// one a day.
    public var maxActivitiesPerSecond: Double?
    /// Activities the server dispatches per second from this task queue to all its workers
    /// together (nil: no limit; Go's `TaskQueueActivitiesPerSecond`). Sent with every activity
    /// poll; the last poll's value wins, so give every worker of the queue the same value.
    public var maxTaskQueueActivitiesPerSecond: Double?
    /// On `shutdown()`, how long running activities may keep going (and heartbeating) before
    /// they are cancelled and reported as failed with type `WorkerShutdown`. Default 10 s.
    /// One that ignores its cancellation (a blocking call) gets 5 s more; then `shutdown()`
    /// returns, and `run()` 1 s later, leaving it running (end the process).
    public var gracefulShutdownTimeout: Duration = .seconds(10)
    /// The longest an activity's heartbeat may wait before it is sent: heartbeats are sent at
    /// most once per 0.8 × the activity's heartbeat timeout, and at most this long apart.
    /// Lower it when heartbeat details are checkpoints a crash should not lose (as Go's
    /// `MaxHeartbeatThrottleInterval`). Default 60 s.
    public var maxHeartbeatThrottleInterval: Duration = .seconds(60)
    /// The heartbeat interval for activities without a heartbeat timeout (Go's
    /// `DefaultHeartbeatThrottleInterval`). Default 30 s.
    public var defaultHeartbeatThrottleInterval: Duration = .seconds(30)
    /// The worker's logger (workflow loggers derive from it and are silent during replay).
    public var logger: Logger = Logger(label: "temporal.worker")
    /// Where the worker's metrics go (poll counts, slots, task latencies, activity outcomes,
    /// sticky cache; see the README's "Metrics"). Default nil: the client's
    /// `metricsFactory`, which is `MetricsSystem.factory` unless the client was given another.
    public var metricsFactory: (any MetricsFactory)?
    /// How long one stretch of workflow code (between two suspension points) may run before the
    /// worker reports a potential deadlock (and four times that for code that keeps running
    /// without waiting on anything, a job after a job: a loop of `Task.yield()`): the workflow
    /// task fails with
    /// `PotentialDeadlockError` saying which workflow blocked, and the worker goes on (as Go's
    /// and .NET's detectors, 1–2 s there). Workflow code then runs on threads of its own, off
    /// Swift's cooperative pool, so a blocked workflow cannot stall the worker's other tasks.
    /// nil: no detection, workflow code runs on the polling task's thread. Default 2 s.
    public var deadlockDetectionTimeout: Duration? = .seconds(2)
    /// When the process runs under a CPU limit (a container's or pod's: a cgroup CPU quota)
    /// covering fewer CPUs than it may run on, `run()` confines the process's threads to as many
    /// CPUs as the limit covers (`CPULimit.fitThreadsToLimit()`; 1 CPU for a limit up to 1
    /// core): hand-overs between its threads then stay on one CPU instead of waking threads on
    /// others, which at 0.1 core costs markedly less CPU per workflow task (BENCHMARKS.md).
    /// Process-wide; a no-op without a limit. Default true.
    public var fitThreadsToCPULimit: Bool = true
    /// What wraps the activities and workflows this worker runs (first outermost; see
    /// `WorkerInterceptor`).
    public var interceptors: [any WorkerInterceptor] = []

    /// The Worker Deployment and build this worker belongs to, and whether it takes part in
    /// Worker Versioning (default nil: an unversioned worker that names no build).
    public var deployment: WorkerDeploymentOptions?

    public init() {}

    /// Whether activities are requested eagerly: `eagerActivities`, unless a rate limit is set.
    var requestsEagerActivities: Bool {
        eagerActivities && maxActivitiesPerSecond == nil && maxTaskQueueActivitiesPerSecond == nil
    }
}
