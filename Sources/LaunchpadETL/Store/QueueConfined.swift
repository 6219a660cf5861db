import Dispatch
import Synchronization

/// A blocking connection (SQLite, libpq) confined to its own serial dispatch queue: async
/// callers hand it work with `perform` and never block a thread of Swift's cooperative pool.
final class QueueConfined<Connection>: Sendable {
    private let connection: Mutex<Connection>
    private let queue: DispatchQueue

    init(_ connection: consuming sending Connection, queue: DispatchQueue) {
        self.connection = Mutex(connection)
        self.queue = queue
    }

    /// Runs `body` with the connection on the queue, one call at a time. A call whose task is
    /// cancelled before its turn comes (or was cancelled already when it was made) does not run
    /// (it fails, retryably): one already running finishes its transaction. An activity attempt
    /// that timed out while the queue was busy (a team's members finishing together) left its
    /// queued scans to run anyway, and each retry queued another copy behind them.
    func perform<T: Sendable>(_ body: @escaping @Sendable (Connection) throws(ETLError) -> T) async throws(ETLError) -> T {
        let cancelled = Atomic(false)
        let result: Result<T, ETLError> = await withTaskCancellationHandler {
            await withCheckedContinuation { continuation in
                queue.async {
                    guard !cancelled.load(ordering: .acquiring) else {
                        continuation.resume(returning: .failure(Self.cancelledBeforeItsTurn))
                        return
                    }
                    let outcome = self.connection.withLock { connection -> Result<T, ETLError> in
                        do throws(ETLError) {
                            return .success(try body(connection))
                        } catch {
                            return .failure(error)
                        }
                    }
                    continuation.resume(returning: outcome)
                }
            }
        } onCancel: {
            cancelled.store(true, ordering: .releasing)
        }
        return try result.get()
    }

    static var cancelledBeforeItsTurn: ETLError {
        ETLError(
            .database, "the database call was cancelled before its turn came (its caller gave up: a cancelled or timed-out activity)",
            nonRetryable: false)
    }

    /// Queues `body` to run with the connection on the queue, without waiting for it.
    func async(_ body: @escaping @Sendable (Connection) -> Void) {
        queue.async { self.connection.withLock { connection in body(connection) } }
    }
}
