import FlyingFox
import FlyingSocks
import Synchronization

#if canImport(Glibc)
import Glibc
#endif

/// A socket pool that bounds what idle connections may hold: a connection that waits longer
/// than `idleTimeout` for the next bytes of a request is closed, and at most `maxWaiting`
/// connections wait at once (one more is closed at once; a client that sends its request as it
/// connects never waits and is always served).
///
/// FlyingFox bounds only a handler's run, not the reading of a request: a port scanner, a
/// leaking health checker or a slow client that connects and sends nothing kept a descriptor and
/// a task for ever, and enough of them would use up the process's descriptors, which it shares
/// with its Temporal connection, its HTTP clients and its database.
struct IdleBoundedSocketPool<Base: AsyncSocketPool>: AsyncSocketPool {
    let base: Base
    let idleTimeout: Duration
    let maxWaiting: Int
    private let waiting = Waiting()

    /// The descriptors of the connections waiting now.
    private final class Waiting: Sendable {
        let fds = Mutex(Set<Int32>())
    }

    init(base: Base, idleTimeout: Duration, maxWaiting: Int) {
        self.base = base
        self.idleTimeout = idleTimeout
        self.maxWaiting = maxWaiting
    }

    func prepare() async throws { try await base.prepare() }

    func run() async throws { try await base.run() }

    func suspendSocket(_ socket: Socket, untilReadyFor events: Socket.Events) async throws {
        let fd = socket.file.rawValue
        // The listening socket waits for connections, not requests: never bounded.
        guard events.contains(.read), !Self.isListening(fd) else {
            return try await base.suspendSocket(socket, untilReadyFor: events)
        }
        let admitted = waiting.fds.withLock { set in
            guard set.count < maxWaiting || set.contains(fd) else { return false }
            set.insert(fd)
            return true
        }
        guard admitted else { throw SocketError.disconnected }
        defer { _ = waiting.fds.withLock { $0.remove(fd) } }
        let (base, idleTimeout) = (base, idleTimeout)
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { try await base.suspendSocket(socket, untilReadyFor: events) }
            group.addTask {
                try await Task.sleep(for: idleTimeout)
                throw SocketError.disconnected
            }
            defer { group.cancelAll() }
            try await group.next()
        }
    }

    private static func isListening(_ fd: Int32) -> Bool {
        var value: Int32 = 0
        var length = socklen_t(MemoryLayout<Int32>.size)
        return getsockopt(fd, SOL_SOCKET, SO_ACCEPTCONN, &value, &length) == 0 && value != 0
    }
}
