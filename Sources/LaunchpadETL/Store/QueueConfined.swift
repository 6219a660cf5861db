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

    /// Runs `body` with the connection on the queue, one call at a time.
    func perform<T: Sendable>(_ body: @escaping @Sendable (Connection) throws(ETLError) -> T) async throws(ETLError) -> T {
        let result: Result<T, ETLError> = await withCheckedContinuation { continuation in
            queue.async {
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
        return try result.get()
    }

    /// Queues `body` to run with the connection on the queue, without waiting for it.
    func async(_ body: @escaping @Sendable (Connection) -> Void) {
        queue.async { self.connection.withLock { connection in body(connection) } }
    }
}
