import Synchronization

/// The task executor every coroutine of one workflow run prefers.
///
/// Jobs are only queued by `enqueue`; nothing runs until the run's driver calls `runUntilIdle()`,
/// which executes the queued jobs one by one, in FIFO order, on the calling thread. When the queue
/// is empty every workflow coroutine is suspended on something the driver resolves (an activity,
/// a timer, a signal, a condition), so the set of commands produced is a pure function of the
/// events applied so far: that is what makes replay deterministic.
///
/// Workflow code runs here because its root task is created with
/// `Task(executorPreference:)`; nonisolated async functions and child tasks (`async let`, task
/// groups) inherit the preference. Code that hops to an actor escapes the executor (and
/// determinism); workflow code must not do that.
final class DeterministicExecutor: TaskExecutor {
    private let jobs = Mutex<[UnownedJob]>([])
    /// When the running job started, for the deadlock monitor (`WorkflowThreads`).
    let clock = JobClock()

    init() {}

    func enqueue(_ job: consuming ExecutorJob) {
        let unowned = UnownedJob(job)
        jobs.withLock { $0.append(unowned) }
    }

    /// Runs queued jobs (and the jobs they enqueue) until none is left, each timed for the
    /// deadlock monitor, and the whole as one pass (`JobClock.passTiming`, a longer limit): timed
    /// job by job only, code that never blocks but keeps making short jobs
    /// (`while !done { await Task.yield() }`) was never reported and spun its thread for good.
    /// Once the monitor gave up on the run (`JobClock.giveUp`), each call runs at most
    /// `jobsAfterGivingUp` more jobs: enough for the teardown that ends the run's code, not a
    /// thread spinning for ever.
    /// - Returns: the number of jobs run.
    @discardableResult
    func runUntilIdle() -> Int {
        clock.passTiming {
            var count = 0
            var afterGivingUp = 0
            while let job = next() {
                if clock.givenUp {
                    afterGivingUp += 1
                    if afterGivingUp > Self.jobsAfterGivingUp {
                        jobs.withLock { $0.insert(job, at: 0) }
                        break
                    }
                }
                count += 1
                clock.jobStarted()
                job.runSynchronously(on: asUnownedTaskExecutor())
                clock.jobEnded()
            }
            return count
        }
    }

    static let jobsAfterGivingUp = 10_000

    /// Whether jobs are waiting.
    var hasJobs: Bool { jobs.withLock { !$0.isEmpty } }

    private func next() -> UnownedJob? {
        jobs.withLock { queue in queue.isEmpty ? nil : queue.removeFirst() }
    }
}
