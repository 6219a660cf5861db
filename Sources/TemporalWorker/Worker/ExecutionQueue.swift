/// Executions of one kind (workflow tasks, or activities) run as children of one task group of
/// the worker's tree: `run()` is that group, `submit` hands it an execution, and `close` ends
/// it once the running executions have ended, which `drained` then says. The worker's shutdown
/// closes the queues one after the other and waits for each to drain.
final class ExecutionQueue: Sendable {
    typealias Execution = @Sendable () async -> Void

    private let executions: AsyncStream<Execution>
    private let sink: AsyncStream<Execution>.Continuation
    /// Fired when `run()` returns: closed, and every execution has ended.
    let drained = OneShotEvent()

    init() { (executions, sink) = AsyncStream.makeStream(of: Execution.self) }

    /// Hands `execution` to the group. False once the queue is closed (the caller then gives
    /// the task up).
    func submit(_ execution: @escaping Execution) -> Bool {
        if case .terminated = sink.yield(execution) { return false }
        return true
    }

    /// Runs every submitted execution as a child task, until the queue is closed and the last
    /// has ended.
    func run() async {
        await withDiscardingTaskGroup { group in
            for await execution in executions { group.addTask { await execution() } }
        }
        drained.fire()
    }

    /// Takes no more executions (the ones queued still run).
    func close() { sink.finish() }
}
