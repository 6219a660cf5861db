import Dispatch
import Synchronization

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// Workflow code that did not give control back (a job of the run's executor, a signal or
/// query handler, an update validator, a condition's predicate) within the worker's
/// `deadlockDetectionTimeout`. A workflow task fails with it; a query fails with it alone.
public struct PotentialDeadlockError: Error, CustomStringConvertible {
    /// Which workflow, and where in its history.
    public let workflow: String
    public let timeout: Duration
    public var description: String {
        "potential deadlock: the code of \(workflow) ran for more than \(timeout) without suspending (or for more than "
            + "\(timeout * JobClock.passFactor) without waiting on anything, e.g. a loop of Task.yield()). Workflow code must "
            + "only wait through WorkflowContext (sleep, condition, activities, signals); a blocking call (Thread.sleep, a lock "
            + "or semaphore, synchronous I/O, a long computation, an endless loop) stops the whole run. Move blocking work into "
            + "an activity (or a local activity). The worker abandoned this run (its thread stays blocked until the code returns) "
            + "and the server retries the workflow task."
    }
}

/// Workflow code was refused because too many workflow threads are still blocked by earlier
/// potential deadlocks: each holds an OS thread, so their number is capped.
public struct TooManyBlockedWorkflowThreadsError: Error, CustomStringConvertible {
    /// Threads left blocked when the code was refused.
    public let blocked: Int
    public var description: String {
        "\(blocked) workflow threads are still blocked by workflow code that never gave control back (see the earlier "
            + "potential deadlock errors): the worker runs no more workflow code until some of them return. Fix the blocking "
            + "workflow code and restart the worker; the server retries this workflow task."
    }
}

/// The threads workflow code runs on, off Swift's cooperative pool, so that workflow code that
/// blocks cannot hang the worker: the caller waits for the work asynchronously, and a monitor
/// thread reports a job of workflow code that runs longer than its timeout (as Go's and .NET's
/// deadlock detectors do) by failing the wait with `PotentialDeadlockError`. The blocked thread is
/// then left to finish on its own (Swift cannot stop it); new work gets another thread, up to
/// `maxBlockedThreads` threads left blocked: beyond that, workflow code is refused
/// (`TooManyBlockedWorkflowThreadsError`, the task fails and is retried) until some return.
final class WorkflowThreads: Sendable {
    static let shared = WorkflowThreads()

    /// How many threads may stay blocked by workflow code before no more code is run.
    let maxBlockedThreads: Int
    private let idle = Mutex<[PoolThread]>([])
    private let watch = Mutex(Watch())
    private let monitorStarted = Atomic<Bool>(false)
    /// Threads whose work the monitor gave up on and which have not returned yet.
    private let blocked = Atomic<Int>(0)
    /// A parked monitor sleeps here until the next submit.
    private let monitorWakeup = DispatchSemaphore(value: 0)
    /// Checks (100 ms apart) with nothing watched and nothing submitted before the monitor parks.
    private let quietTicksBeforeParking: Int

    init(maxBlockedThreads: Int = 64, quietTicksBeforeParking: Int = 10) {
        self.maxBlockedThreads = max(1, maxBlockedThreads)
        self.quietTicksBeforeParking = max(1, quietTicksBeforeParking)
    }

    /// Whether the monitor is parked until the next submit.
    var monitorIsParked: Bool { watch.withLock { $0.monitorParked } }

    /// What the monitor watches, and whether it sleeps (an idle worker's monitor does not wake
    /// ten times a second for nothing). One lock: a submit that finds it parked wakes it.
    private struct Watch {
        var table: [ObjectIdentifier: WatchedWork] = [:]
        /// A job came in since the monitor's last check: it parks only after quiet checks.
        var submittedSinceCheck = false
        var monitorParked = false
    }

    /// Threads currently left blocked by workflow code.
    var blockedThreads: Int { blocked.load(ordering: .relaxed) }

    /// Runs `body` on a workflow thread without waiting for it (a run's teardown); when a job of
    /// `clock` runs for more than `timeout`, `onDeadlock` hears of it. When no thread can be
    /// had or too many are blocked, `body` does not run and `refused` is called instead (here:
    /// running it on the caller's thread is what this is meant to avoid).
    func runDetached(
        timeout: Duration, clock: JobClock, describe: @escaping @Sendable () -> String,
        onDeadlock: @escaping @Sendable (PotentialDeadlockError) -> Void, refused: () -> Void,
        _ body: @escaping @Sendable () -> Void
    ) {
        startMonitor()
        let submitted =
            blocked.load(ordering: .relaxed) < maxBlockedThreads
            && submitWatched(timeout: timeout, clock: clock, describe: describe, overdue: onDeadlock) {
                body()
                return { _ in }
            }
        if !submitted { refused() }
    }

    /// Runs `body` on a workflow thread and returns its result; fails with
    /// `PotentialDeadlockError` when one job of `clock` (the run's executor) runs for more than
    /// `timeout`, without waiting for `body` to end. When `body` ends after that, `lateReturn`
    /// runs on its thread (the caller gave the work up: what it leaves is for no one else).
    func run<T: Sendable>(
        timeout: Duration, clock: JobClock, describe: @escaping @Sendable () -> String,
        lateReturn: (@Sendable () -> Void)? = nil, _ body: @escaping @Sendable () throws -> T
    ) async throws -> T {
        startMonitor()
        let stuck = blocked.load(ordering: .relaxed)
        guard stuck < maxBlockedThreads else { throw TooManyBlockedWorkflowThreadsError(blocked: stuck) }
        return try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<T, any Error>) in
            let submitted = submitWatched(
                timeout: timeout, clock: clock, describe: describe, overdue: { continuation.resume(throwing: $0) }
            ) {
                let result = Result { try body() }
                return { answeredFirst in
                    if answeredFirst { continuation.resume(with: result) } else { lateReturn?() }
                }
            }
            if !submitted { continuation.resume(with: Result { try body() }) }  // no thread to be had: here, unwatched
        }
    }

    /// Hands `body` to a pool thread, watched by the monitor, which calls `overdue` (once) when
    /// a job of `clock` runs longer than `timeout`. `body` returns what to do once it ended,
    /// told whether it ended first (false: the monitor had given up on it, and counted its
    /// thread as blocked until now). False, and nothing runs, when no thread can be had.
    private func submitWatched(
        timeout: Duration, clock: JobClock, describe: @escaping @Sendable () -> String,
        overdue: @escaping @Sendable (PotentialDeadlockError) -> Void,
        _ body: @escaping @Sendable () -> @Sendable (_ answeredFirst: Bool) -> Void
    ) -> Bool {
        guard let thread = idle.withLock({ $0.popLast() }) ?? PoolThread(pool: self) else { return false }
        let answer = Answer()
        let key = ObjectIdentifier(answer)
        let wakeMonitor = watch.withLock { watch in
            watch.table[key] = WatchedWork(clock: clock, timeout: timeout, describe: describe, answer: answer, fail: overdue)
            watch.submittedSinceCheck = true
            defer { watch.monitorParked = false }
            return watch.monitorParked
        }
        if wakeMonitor { monitorWakeup.signal() }
        thread.submit { [self] in
            let finish = body()
            watch.withLock { _ = $0.table.removeValue(forKey: key) }
            let first = answer.claim()
            if !first { blocked.subtract(1, ordering: .relaxed) }
            finish(first)
        }
        return true
    }

    fileprivate func returnToPool(_ thread: PoolThread) {
        idle.withLock { $0.append(thread) }
    }

    private func startMonitor() {
        guard !monitorStarted.load(ordering: .acquiring),
            monitorStarted.compareExchange(expected: false, desired: true, ordering: .acquiringAndReleasing).exchanged
        else { return }
        _ = spawnThread(named: "temporal-watch") { [self] in
            var quietTicks = 0
            while true {
                usleep(100_000)
                let now = JobClock.nanoseconds()
                let (overdue, parks) = watch.withLock { watch -> ([WatchedWork], Bool) in
                    let late = watch.table.filter { $0.value.isOverdue(now: now) }
                    for key in late.keys { watch.table.removeValue(forKey: key) }
                    let quiet = watch.table.isEmpty && !watch.submittedSinceCheck
                    quietTicks = quiet ? quietTicks + 1 : 0
                    watch.submittedSinceCheck = false
                    // Nothing watched, nothing submitted for a while: sleep until the next submit.
                    watch.monitorParked = quietTicks >= quietTicksBeforeParking
                    return (Array(late.values), watch.monitorParked)
                }
                for work in overdue where work.answer.claim() {
                    work.clock.giveUp()
                    blocked.add(1, ordering: .relaxed)
                    work.fail(PotentialDeadlockError(workflow: work.describe(), timeout: work.timeout))
                }
                if parks {
                    monitorWakeup.wait()  // the submit that clears `monitorParked` signals (perhaps already)
                    quietTicks = 0
                }
            }
        }
    }
}

/// When the current job of a run's executor started (0: none is running), for the monitor.
final class JobClock: Sendable {
    private let startedAt = Atomic<UInt64>(0)
    private let passStartedAt = Atomic<UInt64>(0)
    private let given = Atomic<Bool>(false)

    /// How many times a job's timeout a pass of the run's code (`passTiming`: jobs after jobs
    /// until every coroutine waits, as Core times an activation) may take: a loop that never
    /// waits but keeps making short jobs (`while !done { await Task.yield() }`) is a deadlock
    /// too, while a legitimate activation of many short jobs (a wide fan-out, many results in
    /// one task) gets room. Four: at the default 2 s, 8 s, inside the server's default 10 s
    /// workflow task timeout (past it, the report would come after the server timed the task out).
    static let passFactor = 4

    /// When the current pass started (0: none is running).
    var currentPassStart: UInt64 { passStartedAt.load(ordering: .relaxed) }

    /// Runs `body` timed as one pass, unless a pass is running already (then it is part of it).
    func passTiming<T>(_ body: () throws -> T) rethrows -> T {
        guard currentPassStart == 0 else { return try body() }
        passStartedAt.store(Self.nanoseconds(), ordering: .relaxed)
        defer { passStartedAt.store(0, ordering: .relaxed) }
        return try body()
    }

    /// The monitor gave up on the run (a potential deadlock): its executor runs a bounded
    /// number of jobs per call from then on, so code that keeps making work without ever
    /// blocking (`while !done { await Task.yield() }`) stops spinning a thread for good.
    func giveUp() { given.store(true, ordering: .releasing) }
    var givenUp: Bool { given.load(ordering: .acquiring) }

    func jobStarted() { startedAt.store(Self.nanoseconds(), ordering: .relaxed) }
    func jobEnded() { startedAt.store(0, ordering: .relaxed) }
    var currentJobStart: UInt64 { startedAt.load(ordering: .relaxed) }

    /// Runs `body` timed as a job, unless a job is running already (then it is part of it).
    /// For workflow code the run calls outside its executor's jobs.
    func timing<T>(_ body: () throws -> T) rethrows -> T {
        guard currentJobStart == 0 else { return try body() }
        jobStarted()
        defer { jobEnded() }
        return try body()
    }

    static func nanoseconds() -> UInt64 {
        var ts = timespec()
        clock_gettime(CLOCK_MONOTONIC, &ts)
        return UInt64(ts.tv_sec) * 1_000_000_000 + UInt64(ts.tv_nsec)
    }
}

/// Answers a wait once: the body's end or the monitor, whichever comes first.
private final class Answer: Sendable {
    private let done = Atomic<Bool>(false)
    func claim() -> Bool { done.compareExchange(expected: false, desired: true, ordering: .acquiringAndReleasing).exchanged }
}

private struct WatchedWork: Sendable {
    let clock: JobClock
    let timeout: Duration
    let describe: @Sendable () -> String
    let answer: Answer
    let fail: @Sendable (PotentialDeadlockError) -> Void

    func isOverdue(now: UInt64) -> Bool {
        let (seconds, attoseconds) = timeout.components
        let limit = UInt64(max(0, seconds)) * 1_000_000_000 + UInt64(max(0, attoseconds) / 1_000_000_000)
        let job = clock.currentJobStart
        let pass = clock.currentPassStart
        return (job != 0 && now > job && now - job > limit)
            || (pass != 0 && now > pass && now - pass > limit * UInt64(JobClock.passFactor))
    }
}

/// One thread that runs submitted work, one item at a time, then offers itself back to the pool.
private final class PoolThread: Sendable {
    private let wakeup = DispatchSemaphore(value: 0)
    private let work = Mutex<(@Sendable () -> Void)?>(nil)
    private unowned let pool: WorkflowThreads

    /// nil when the system refuses a new thread.
    init?(pool: WorkflowThreads) {
        self.pool = pool
        let started = spawnThread(named: "temporal-wf") { [self] in
            while true {
                wakeup.wait()
                guard
                    let item = work.withLock({ item in
                        defer { item = nil }
                        return item
                    })
                else { continue }
                item()
                pool.returnToPool(self)
            }
        }
        if !started { return nil }
    }

    func submit(_ item: @escaping @Sendable () -> Void) {
        work.withLock { $0 = item }
        wakeup.signal()
    }
}

/// Starts a detached OS thread named `name` (what `top -H`, `perf` and debuggers show; at most
/// 15 bytes on Linux) running `body`; false when the system refused.
private func spawnThread(named name: String, _ body: @escaping @Sendable () -> Void) -> Bool {
    final class Box {
        let name: String
        let body: @Sendable () -> Void
        init(_ name: String, _ body: @escaping @Sendable () -> Void) { (self.name, self.body) = (name, body) }
    }
    let context = Unmanaged.passRetained(Box(name, body)).toOpaque()
    #if canImport(Darwin)
    var thread: pthread_t?
    #else
    var thread = pthread_t()
    #endif
    let created = pthread_create(
        &thread, nil,
        { raw in
            #if canImport(Darwin)
            let box = Unmanaged<Box>.fromOpaque(raw).takeRetainedValue()
            #else
            let box = Unmanaged<Box>.fromOpaque(raw!).takeRetainedValue()
            #endif
            box.name.withCString { name in
                #if canImport(Darwin)
                _ = pthread_setname_np(name)
                #else
                _ = linuxSetThreadName(pthread_self(), name)
                #endif
            }
            box.body()
            return nil
        }, context)
    guard created == 0 else {
        Unmanaged<Box>.fromOpaque(context).release()
        return false
    }
    #if canImport(Darwin)
    if let thread { pthread_detach(thread) }
    #else
    pthread_detach(thread)
    #endif
    return true
}

#if !canImport(Darwin)
/// glibc's `pthread_setname_np`, which its Swift module hides (it needs `_GNU_SOURCE`).
@_silgen_name("pthread_setname_np")
private func linuxSetThreadName(_ thread: pthread_t, _ name: UnsafePointer<CChar>) -> Int32
#endif
