import Synchronization

/// Executions of one kind (workflow tasks, or activities) run as children of one task group of
/// the worker's tree: `run()` is that group, `submit` hands it an execution, and `close` ends
/// it once the running executions have ended, which `drained` then says. The worker's shutdown
/// closes the queues one after the other and waits for each to drain.
///
/// A lock, a list and one waiting continuation rather than an `AsyncStream`: the stream's
/// unspecialised generic storage cost about 10,000 instructions per task handed over
/// (metadata lookups in `yield` and `next`), more than the hand-over itself. Same behaviour:
/// FIFO; `submit` is refused once closed; cancelling `run()` closes the queue (the executions
/// already accepted still run, as children of a cancelled group: their slots are released and
/// their tasks answered) and waits for the running ones.
final class ExecutionQueue: Sendable {
    typealias Execution = @Sendable () async -> Void

    private struct State {
        /// Taken ones are set to nil at once (they hold poll responses) and dropped in batches.
        var queued: [Execution?] = []
        /// Index of the next execution in `queued`.
        var head = 0
        /// `run()` waiting for an execution (only while none is queued).
        var waiter: UnsafeContinuation<Execution?, Never>?
        var closed = false

        mutating func take() -> Execution? {
            guard head < queued.count else { return nil }
            let execution = queued[head]
            queued[head] = nil
            head += 1
            if head == queued.count {
                queued.removeAll(keepingCapacity: true)
                head = 0
            }
            return execution
        }
    }

    private let state = Mutex(State())
    /// Fired when `run()` returns: closed, and every execution has ended.
    let drained = OneShotEvent()

    init() {}

    /// Hands `execution` to the group. False once the queue is closed (the caller then gives
    /// the task up).
    func submit(_ execution: @escaping Execution) -> Bool {
        let (accepted, waiter) = state.withLock { s -> (Bool, UnsafeContinuation<Execution?, Never>?) in
            guard !s.closed else { return (false, nil) }
            if let waiter = s.waiter {
                s.waiter = nil
                return (true, waiter)
            }
            s.queued.append(execution)
            return (true, nil)
        }
        waiter?.resume(returning: execution)
        return accepted
    }

    /// Runs every submitted execution as a child task, until the queue is closed (or this task
    /// is cancelled) and the last has ended.
    func run() async {
        await withDiscardingTaskGroup { group in
            while let execution = await next() { group.addTask { await execution() } }
        }
        drained.fire()
    }

    /// Takes no more executions (the ones queued still run).
    func close() {
        let waiter = state.withLock { s -> UnsafeContinuation<Execution?, Never>? in
            s.closed = true
            defer { s.waiter = nil }
            return s.waiter
        }
        waiter?.resume(returning: nil)
    }

    /// The next execution; nil once closed and empty, or when the calling task is cancelled.
    private func next() async -> Execution? {
        enum Taken {
            case execution(Execution)
            case end
            case wait
        }
        if Task.isCancelled { close() }
        // Queued work needs no continuation; the wait below sees the rest (closed, cancelled).
        if let execution = state.withLock({ $0.take() }) { return execution }
        return await withTaskCancellationHandler {
            await withUnsafeContinuation { (continuation: UnsafeContinuation<Execution?, Never>) in
                let now = state.withLock { s -> Taken in
                    if let execution = s.take() { return .execution(execution) }
                    // Checked under the lock: a cancellation after this finds the waiter.
                    if s.closed || Task.isCancelled {
                        s.closed = true
                        return .end
                    }
                    precondition(s.waiter == nil, "ExecutionQueue.run() is running twice")
                    s.waiter = continuation
                    return .wait
                }
                switch now {
                case .execution(let execution): continuation.resume(returning: execution)
                case .end: continuation.resume(returning: nil)
                case .wait: break
                }
            }
        } onCancel: {
            close()
        }
    }
}
