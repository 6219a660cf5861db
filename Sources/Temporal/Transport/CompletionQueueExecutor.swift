import CGRPCShim
import Synchronization

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// A task executor that runs jobs on a `GRPCChannel`'s completion-queue thread, between the
/// completions it delivers.
///
/// Tasks that prefer it (`Task(executorPreference:)`, `withTaskExecutorPreference`) resume on the
/// thread that received their call's response: no hand-over to another thread after each call,
/// which is most of a worker's scheduling cost per task on a small CPU quota. The worker runs its
/// pollers and workflow-task handling here; activities, local activities and workflow code
/// never do (they may block).
///
/// Only short, non-blocking work belongs here: while a job runs, no response of the channel is
/// delivered. A job that never gives the thread back stops every call of the channel.
///
/// Once the channel is closed, jobs go to the global concurrent executor, so tasks that still
/// prefer this executor keep running.
public final class CompletionQueueExecutor: TaskExecutor, Sendable {
    private struct State {
        var jobs: [UnownedJob] = []
        /// The completion thread is waiting (or about to) for a completion: an enqueue from
        /// another thread must wake it.
        var parked = false
        /// The C channel's address, for wakes (0 until attached, and once closed).
        var channel = 0
        var closed = false
    }

    private let state = Mutex(State())
    /// The completion thread (a `pthread_t`), known from its first run; 0 before.
    private let thread = Atomic<UInt>(0)
    /// Counts for tests: jobs run on the completion thread, and wakes sent from other threads.
    private let counters = Counters()

    init() {}

    /// Jobs this executor ran on the completion thread.
    public var jobsRun: Int { counters.jobsRun.load(ordering: .relaxed) }
    /// Times another thread woke the completion thread to run a job.
    public var wakes: Int { counters.wakes.load(ordering: .relaxed) }

    /// Whether the caller runs on this executor's thread.
    public var isCurrent: Bool {
        let current = thread.load(ordering: .acquiring)
        return current != 0 && pthread_equal(pthread_t(current), pthread_self()) != 0
    }

    public func enqueue(_ job: consuming ExecutorJob) {
        let job = UnownedJob(job)
        let onThread = isCurrent
        let forward = state.withLock { s -> Bool in
            guard !s.closed else { return true }
            s.jobs.append(job)
            // A wake under the lock: `close()` takes it before the channel goes away.
            if s.parked, !onThread, let channel = OpaquePointer(bitPattern: s.channel) {
                s.parked = false
                if cgrpc_channel_wake(channel) != 0 { counters.wakes.add(1, ordering: .relaxed) }
            }
            return false
        }
        if forward { globalConcurrentExecutor.enqueue(ExecutorJob(job)) }
    }

    /// After the C channel exists: wakes may be sent to it.
    func attach(_ channel: OpaquePointer) {
        state.withLock { s in s.channel = Int(bitPattern: channel) }
    }

    /// Before the C channel is destroyed: no more wakes; later jobs go to the global executor
    /// (those queued still run on the completion thread before it ends).
    func close() {
        state.withLock { s in
            s.closed = true
            s.channel = 0
        }
    }

    /// On the completion thread: runs what is queued (what the jobs queue meanwhile too, a few
    /// rounds at most, so that completions are never starved). True when jobs are still queued.
    fileprivate func runQueued() -> Bool {
        if thread.load(ordering: .relaxed) == 0 { thread.store(UInt(pthread_self()), ordering: .releasing) }
        let executor = asUnownedTaskExecutor()
        var batch: [UnownedJob] = []
        for _ in 0..<8 {
            let empty = state.withLock { s -> Bool in
                guard !s.jobs.isEmpty else {
                    s.parked = true
                    return true
                }
                swap(&batch, &s.jobs)
                s.parked = false
                return false
            }
            if empty { return false }
            counters.jobsRun.add(batch.count, ordering: .relaxed)
            for job in batch { job.runSynchronously(on: executor) }
            batch.removeAll(keepingCapacity: true)
        }
        return true
    }

    /// The C side's view: callbacks for `cgrpc_channel_options`, holding the executor until the
    /// completion thread ends.
    func install(in options: inout cgrpc_channel_options) {
        options.run_work = { context in
            Unmanaged<CompletionQueueExecutor>.fromOpaque(context!).takeUnretainedValue().runQueued() ? 1 : 0
        }
        options.release_work = { context in Unmanaged<CompletionQueueExecutor>.fromOpaque(context!).release() }
        options.work_context = Unmanaged.passRetained(self).toOpaque()
    }

    /// Undoes `install` when the channel could not be created (no thread will release it).
    func uninstall(_ options: cgrpc_channel_options) {
        if let context = options.work_context { Unmanaged<CompletionQueueExecutor>.fromOpaque(context).release() }
    }

    private final class Counters: Sendable {
        let jobsRun = Atomic<Int>(0)
        let wakes = Atomic<Int>(0)
    }
}
