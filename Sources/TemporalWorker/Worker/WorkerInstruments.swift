import CoreMetrics
import Synchronization
import Temporal

/// The worker's swift-metrics instruments, named as the official SDKs name them. Every metric
/// has the dimensions `namespace` and `task_queue` (the worker's normal queue, also for polls
/// of its sticky queue); some add one or two more:
///
/// | metric | kind | extra dimensions |
/// |---|---|---|
/// | `temporal_worker_start` | counter | |
/// | `temporal_workflow_task_queue_poll_succeed`, `…_poll_empty` | counter | |
/// | `temporal_activity_task_queue_poll_succeed`, `temporal_activity_poll_no_task` | counter | |
/// | `temporal_worker_task_slots_available`, `…_used` | gauge | `worker_type` (`WorkflowWorker`, `ActivityWorker`) |
/// | `temporal_workflow_task_schedule_to_start_latency` | timer | `workflow_type` |
/// | `temporal_workflow_task_execution_latency` | timer | `workflow_type` |
/// | `temporal_workflow_task_replay_latency` | timer | `workflow_type` (a run rebuilt from its history: until its live activation) |
/// | `temporal_workflow_task_execution_failed` | counter | `workflow_type`, `failure_reason` |
/// | `temporal_sticky_cache_hit`, `…_miss` | counter | |
/// | `temporal_sticky_cache_size` | gauge | |
/// | `temporal_sticky_cache_total_forced_eviction` | counter | |
/// | `temporal_num_pollers` | gauge | `poller_type` (`workflow_task`, `workflow_sticky_task`, `activity_task`) |
/// | `temporal_activity_schedule_to_start_latency` | timer | `activity_type`, `workflow_type` |
/// | `temporal_activity_execution_latency` | timer | `activity_type`, `workflow_type` |
/// | `temporal_activity_succeed_endtoend_latency` | timer | `activity_type`, `workflow_type` |
/// | `temporal_activity_execution_failed`, `…_cancelled` | counter | `activity_type`, `workflow_type` |
/// | `temporal_local_activity_total`, `…_execution_failed`, `…_execution_cancelled` | counter | `activity_type`, `workflow_type` |
/// | `temporal_local_activity_execution_latency`, `…_succeed_endtoend_latency` | timer | `activity_type`, `workflow_type` |
/// | `temporal_unregistered_activity_invocation` | counter | (the type named in no label: it comes from the wire) |
///
/// An activity's `workflow_type` is its scheduling workflow's, as in Go (from the task: any
/// type of the namespace that schedules on this queue, registered here or not).
///
/// A metric name always comes with the same dimension names (Prometheus requires it).
final class WorkerInstruments: Sendable {
    /// The `workflow_type` or `activity_type` of a task whose type the worker does not run: one
    /// label for all of them, since the names come from the wire and each would add series.
    static let unregisteredType = "__unregistered__"

    /// `worker_type` of slot metrics.
    enum WorkerType: String, Sendable {
        case workflow = "WorkflowWorker"
        case activity = "ActivityWorker"
        case localActivity = "LocalActivityWorker"
    }

    let factory: any MetricsFactory
    /// The in-process counters behind `Worker.metrics` (the same events, for tests and benchmarks).
    let snapshot: WorkerMetrics
    private let base: [(String, String)]
    private let counters = Mutex<[HandlerKey: any CounterHandler]>([:])
    private let timers = Mutex<[HandlerKey: any TimerHandler]>([:])
    private let gauges = Mutex<[HandlerKey: any RecorderHandler]>([:])

    init(factory: any MetricsFactory, namespace: String, taskQueue: String, snapshot: WorkerMetrics = WorkerMetrics()) {
        self.factory = factory
        self.snapshot = snapshot
        base = [("namespace", namespace), ("task_queue", taskQueue)]
    }

    // MARK: Polls

    func workerStarted() { counter("temporal_worker_start").increment(by: 1) }

    func workflowPoll(empty: Bool) {
        counter(empty ? "temporal_workflow_task_queue_poll_empty" : "temporal_workflow_task_queue_poll_succeed").increment(by: 1)
    }

    func activityPoll(empty: Bool) {
        counter(empty ? "temporal_activity_poll_no_task" : "temporal_activity_task_queue_poll_succeed").increment(by: 1)
    }

    // MARK: Slots and cache

    /// An observer for `Slots`: it records both gauges on every acquire and release, so their
    /// handlers are looked up here, once per slot kind.
    func slotObserver(_ type: WorkerType) -> Slots.Observer {
        let used = gauge("temporal_worker_task_slots_used", ("worker_type", type.rawValue))
        let available = gauge("temporal_worker_task_slots_available", ("worker_type", type.rawValue))
        return { usedCount, availableCount in
            used.record(Int64(usedCount))
            available.record(Int64(availableCount))
        }
    }

    func stickyCache(hit: Bool) {
        counter(hit ? "temporal_sticky_cache_hit" : "temporal_sticky_cache_miss").increment(by: 1)
    }

    /// An activity task of a type this worker does not register (Go's counter).
    func unregisteredActivity() { counter("temporal_unregistered_activity_invocation").increment(by: 1) }
    func stickyCacheSize(_ size: Int) { gauge("temporal_sticky_cache_size").record(Int64(size)) }
    /// A cached run evicted to make room for another (Go's forced eviction).
    func stickyCacheEvictedForRoom() { counter("temporal_sticky_cache_total_forced_eviction").increment(by: 1) }
    /// Long polls waiting for a task of `pollerType`.
    func numPollers(_ count: Int, pollerType: String) { gauge("temporal_num_pollers", ("poller_type", pollerType)).record(Int64(count)) }

    // MARK: Workflow tasks

    func workflowTaskScheduleToStart(_ latency: Duration, workflowType: String) {
        timer("temporal_workflow_task_schedule_to_start_latency", ("workflow_type", workflowType))
            .recordNanoseconds(max(0, latency.nanoseconds))
    }

    /// A run rebuilt from its history replayed for `latency` before its live activation.
    func workflowTaskReplay(_ latency: Duration, workflowType: String) {
        timer("temporal_workflow_task_replay_latency", ("workflow_type", workflowType))
            .recordNanoseconds(max(0, latency.nanoseconds))
    }

    func workflowTaskExecution(_ latency: Duration, workflowType: String) {
        timer("temporal_workflow_task_execution_latency", ("workflow_type", workflowType))
            .recordNanoseconds(max(0, latency.nanoseconds))
    }

    /// `reason`: `NonDeterminismError`, `WorkflowError`, `PayloadsTooLarge` or `AnswerRefused`
    /// (the server refused the answer or a heartbeat: INVALID_ARGUMENT, FAILED_PRECONDITION).
    func workflowTaskFailed(workflowType: String, reason: String) {
        counter("temporal_workflow_task_execution_failed", ("workflow_type", workflowType), ("failure_reason", reason))
            .increment(by: 1)
    }

    /// A run closed by a command this worker's task sent and the server accepted, as Go counts
    /// it: `temporal_workflow_completed` / `_failed` / `_canceled` / `_continue_as_new`, and
    /// `temporal_workflow_endtoend_latency` from the run's start.
    /// A run closed: `temporal_workflow_<outcome>` (not for a failure its code called benign,
    /// as Go counts), and its end-to-end latency.
    func workflowClosed(_ outcome: String, workflowType: String, endToEnd: Duration?, counted: Bool = true) {
        if counted { counter("temporal_workflow_\(outcome)", ("workflow_type", workflowType)).increment(by: 1) }
        if let endToEnd {
            timer("temporal_workflow_endtoend_latency", ("workflow_type", workflowType))
                .recordNanoseconds(max(0, endToEnd.nanoseconds))
        }
    }

    // MARK: Activities

    func activityScheduleToStart(_ latency: Duration, activityType: String, workflowType: String) {
        timer("temporal_activity_schedule_to_start_latency", ("activity_type", activityType), ("workflow_type", workflowType))
            .recordNanoseconds(max(0, latency.nanoseconds))
    }

    func activityExecution(_ latency: Duration, activityType: String, workflowType: String) {
        timer("temporal_activity_execution_latency", ("activity_type", activityType), ("workflow_type", workflowType))
            .recordNanoseconds(max(0, latency.nanoseconds))
        snapshot.activityFinished()
    }

    /// An activity task that came back in a workflow task's response.
    func eagerActivity() { snapshot.eagerActivity() }

    /// A workflow task taken from a start response.
    func eagerWorkflowTask() { snapshot.eagerWorkflowTask() }

    /// A workflow task the server returned in the response to the run's previous answer.
    func returnedWorkflowTask() { snapshot.returnedWorkflowTask() }

    /// A workflow task handled (its worker CPU and wall time), for `Worker.metrics`.
    func workflowTaskHandled(cpu: Duration, wall: Duration, cacheHit: Bool, failed: Bool) {
        snapshot.workflowTask(cpu: cpu, wall: wall, cacheHit: cacheHit, failed: failed)
    }

    /// A legacy query task answered.
    func queryTask() { snapshot.queryTask() }

    /// A legacy query task answered by a replay.
    func queryReplay() { snapshot.queryReplay() }

    func activitySucceeded(endToEnd latency: Duration, activityType: String, workflowType: String) {
        timer("temporal_activity_succeed_endtoend_latency", ("activity_type", activityType), ("workflow_type", workflowType))
            .recordNanoseconds(max(0, latency.nanoseconds))
    }

    func activityFailed(activityType: String, workflowType: String) {
        counter("temporal_activity_execution_failed", ("activity_type", activityType), ("workflow_type", workflowType)).increment(by: 1)
    }

    // MARK: Local activities (as Go and Core name them)

    /// A local activity attempt starts: `temporal_local_activity_total`.
    func localActivityStarted(activityType: String, workflowType: String) {
        counter("temporal_local_activity_total", ("activity_type", activityType), ("workflow_type", workflowType)).increment(by: 1)
    }

    /// A local activity attempt ended after `latency`: `temporal_local_activity_execution_latency`,
    /// and, by how it ended, `temporal_local_activity_succeed_endtoend_latency` (from its first
    /// schedule), `temporal_local_activity_execution_failed` or `…_cancelled`.
    func localActivityEnded(
        _ latency: Duration, activityType: String, workflowType: String, succeeded endToEnd: Duration?, failed: Bool, cancelled: Bool
    ) {
        timer("temporal_local_activity_execution_latency", ("activity_type", activityType), ("workflow_type", workflowType))
            .recordNanoseconds(max(0, latency.nanoseconds))
        if let endToEnd {
            timer("temporal_local_activity_succeed_endtoend_latency", ("activity_type", activityType), ("workflow_type", workflowType))
                .recordNanoseconds(max(0, endToEnd.nanoseconds))
        } else if cancelled {
            counter("temporal_local_activity_execution_cancelled", ("activity_type", activityType), ("workflow_type", workflowType))
                .increment(by: 1)
        } else if failed {
            counter("temporal_local_activity_execution_failed", ("activity_type", activityType), ("workflow_type", workflowType)).increment(
                by: 1)
        }
    }

    func activityCancelled(activityType: String, workflowType: String) {
        counter("temporal_activity_execution_cancelled", ("activity_type", activityType), ("workflow_type", workflowType)).increment(by: 1)
    }

    // MARK: Handler cache (one handler per label and dimension values)

    /// A metric name and the values of its extra dimensions (at most two; their names are fixed
    /// per metric). Built without allocating: this runs several times per task.
    private struct HandlerKey: Hashable {
        let label: String
        let first: String?
        let second: String?

        /// The labels are a fixed set of long names: their lengths tell most apart, and `==`
        /// settles the rest. Hashing all their bytes cost more than the rest of the lookup.
        func hash(into hasher: inout Hasher) {
            hasher.combine(label.utf8.count)
            hasher.combine(first)
            hasher.combine(second)
        }
    }

    private typealias Dimension = (name: String, value: String)

    private func counter(_ label: String, _ first: Dimension? = nil, _ second: Dimension? = nil) -> any CounterHandler {
        cached(counters, label, first, second) { factory.makeCounter(label: label, dimensions: $0) }
    }

    private func timer(_ label: String, _ first: Dimension? = nil, _ second: Dimension? = nil) -> any TimerHandler {
        cached(timers, label, first, second) { factory.makeTimer(label: label, dimensions: $0) }
    }

    private func gauge(_ label: String, _ first: Dimension? = nil, _ second: Dimension? = nil) -> any RecorderHandler {
        cached(gauges, label, first, second) { factory.makeRecorder(label: label, dimensions: $0, aggregate: false) }
    }

    /// The handler for `label` and these dimension values, made (with the base dimensions) on first use.
    private func cached<H>(
        _ cache: borrowing Mutex<[HandlerKey: H]>, _ label: String, _ first: Dimension?, _ second: Dimension?,
        make: ([(String, String)]) -> H
    ) -> H {
        let key = HandlerKey(label: label, first: first?.value, second: second?.value)
        return cache.withLock { handlers in
            if let handler = handlers[key] { return handler }
            let made = make(base + [first, second].compactMap { $0.map { ($0.name, $0.value) } })
            handlers[key] = made
            return made
        }
    }
}
