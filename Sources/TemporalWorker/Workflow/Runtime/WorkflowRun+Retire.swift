import Logging
import Synchronization

extension WorkflowRun {
    /// Whether workflow code is suspended in the run (waiting on a command, a condition, an
    /// update handler, or not finished): its teardown resumes that code, which may block.
    var hasSuspendedCode: Bool {
        !isClosed || !handlers.updateTasks.isEmpty || hasSuspendedWaiters
    }

    /// Whether workflow code waits on a command's result or a condition.
    var hasSuspendedWaiters: Bool {
        !conditions.waiting.isEmpty || activities.hasWaiters || timers.hasWaiters || outgoingSignals.hasWaiters
            || outgoingCancels.hasWaiters
            || children.hasWaiters || childStarts.hasWaiters || localActivities.hasWaiters
    }

    /// Tears `runs` down (see `tearDown()`) without waiting: one after the other on one workflow
    /// thread, each watched like workflow code, when `deadlockTimeout` is set (cleanup that
    /// blocks — a `defer` or a cancellation handler of workflow code — then stays off the
    /// worker's threads and is logged); here otherwise. While too many workflow threads are
    /// blocked, the runs are dropped without teardown (logged).
    static func retire(_ runs: [WorkflowRun], deadlockTimeout: Duration?, logger: Logger) {
        // Most runs end with their code finished and nothing waiting: their teardown runs no
        // workflow code, so it needs no thread hop (this is once per workflow, on the hot path).
        var suspended: [WorkflowRun] = []
        for run in runs {
            if run.hasSuspendedCode { suspended.append(run) } else { run.tearDown() }
        }
        let runs = suspended
        guard !runs.isEmpty else { return }
        guard let deadlockTimeout else {
            for run in runs { run.tearDown() }
            return
        }
        let clock = JobClock()
        let current = Mutex<String>("")
        WorkflowThreads.shared.runDetached(
            timeout: deadlockTimeout, clock: clock,
            describe: { "\(current.withLock { $0 }) while its run was torn down (evicted or stopped)" },
            // The runs' executors run bounded passes from then on: cleanup code that spins
            // (a loop of Task.yield()) does not hold the thread for good.
            onDeadlock: {
                for run in runs { run.executor.clock.giveUp() }
                logger.warning("\($0)")
            },
            refused: {
                logger.warning(
                    "\(runs.count) workflow run(s) dropped without teardown: \(WorkflowThreads.shared.blockedThreads) workflow threads are blocked"
                )
            }
        ) {
            for run in runs {
                current.withLock { $0 = "workflow \(run.info.workflowType) (id \(run.info.workflowID), run \(run.info.runID))" }
                clock.jobStarted()
                run.tearDown()
                clock.jobEnded()
            }
        }
    }
}
