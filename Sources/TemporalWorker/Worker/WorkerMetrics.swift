import Synchronization

#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
#if canImport(Glibc)
import Glibc
#endif

/// Counters a benchmark reads to compute the worker's cost per workflow task.
public final class WorkerMetrics: Sendable {
    /// A snapshot of the counters.
    public struct Snapshot: Sendable, Equatable {
        /// Workflow tasks answered (completed or failed).
        public var workflowTasks = 0
        /// Thread CPU time spent handling workflow tasks, excluding RPC waits (decode, replay, encode).
        public var workflowTaskCPU: Duration = .zero
        /// Wall time from receiving a workflow task to its response being acknowledged.
        public var workflowTaskWall: Duration = .zero
        /// Workflow tasks answered from a cached run (no replay from event 1).
        public var cacheHits = 0
        /// Workflow tasks that replayed from event 1.
        public var fullReplays = 0
        /// Workflow tasks failed with NON_DETERMINISTIC_ERROR or WORKFLOW_WORKER_UNHANDLED_FAILURE.
        public var workflowTaskFailures = 0
        /// Legacy query tasks answered.
        public var queryTasks = 0
        /// Legacy query tasks answered by replaying the history, not from a cached run.
        public var queryReplays = 0
        /// Activity attempts finished (any outcome).
        public var activities = 0
        /// Activity tasks received eagerly in a workflow-task response.
        public var eagerActivities = 0
        /// First workflow tasks received in a start response (eager workflow start).
        public var eagerWorkflowTasks = 0
        /// Workflow tasks the server returned in the response to the run's previous answer
        /// (`return_new_workflow_task`), run without a poll.
        public var returnedWorkflowTasks = 0
    }

    private let state = Mutex(Snapshot())

    public init() {}

    /// The current counters.
    public var snapshot: Snapshot { state.withLock { $0 } }

    func workflowTask(cpu: Duration, wall: Duration, cacheHit: Bool, failed: Bool) {
        state.withLock {
            $0.workflowTasks += 1
            $0.workflowTaskCPU += cpu
            $0.workflowTaskWall += wall
            if cacheHit { $0.cacheHits += 1 } else { $0.fullReplays += 1 }
            if failed { $0.workflowTaskFailures += 1 }
        }
    }

    func queryTask() { state.withLock { $0.queryTasks += 1 } }
    func queryReplay() { state.withLock { $0.queryReplays += 1 } }
    func activityFinished() { state.withLock { $0.activities += 1 } }
    func eagerActivity() { state.withLock { $0.eagerActivities += 1 } }
    func eagerWorkflowTask() { state.withLock { $0.eagerWorkflowTasks += 1 } }
    func returnedWorkflowTask() { state.withLock { $0.returnedWorkflowTasks += 1 } }

    /// CPU time of the calling thread.
    static func threadCPU() -> Duration {
        var ts = timespec()
        clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts)
        return .seconds(Int64(ts.tv_sec)) + .nanoseconds(Int64(ts.tv_nsec))
    }
}
