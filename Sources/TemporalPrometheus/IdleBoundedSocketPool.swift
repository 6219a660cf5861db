import FlyingFox
import FlyingSocks
import Synchronization

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// A socket pool that bounds what idle connections may hold: a connection that waits longer
/// than `idleTimeout` for the next bytes of a request is closed, and at most `maxWaiting`
/// connections wait at once (when one more has to wait, the one waiting longest is closed).
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

    init(base: Base, idleTimeout: Duration, maxWaiting: Int) {
        self.base = base
        self.idleTimeout = idleTimeout
        self.maxWaiting = max(1, maxWaiting)
    }

    func prepare() async throws { try await base.prepare() }

    func run() async throws { try await base.run() }

    func suspendSocket(_ socket: Socket, untilReadyFor events: Socket.Events) async throws {
        let fd = socket.file.rawValue
        // The listening socket waits for connections, not requests: never bounded.
        guard events.contains(.read), !Self.isListening(fd) else {
            return try await base.suspendSocket(socket, untilReadyFor: events)
        }
        let (base, idleTimeout) = (base, idleTimeout)
        let wait = Task {
            try await withThrowingTaskGroup(of: Bool.self) { group in
                group.addTask {
                    try await base.suspendSocket(socket, untilReadyFor: events)
                    return true
                }
                group.addTask {
                    try await Task.sleep(for: idleTimeout)
                    return false
                }
                defer { group.cancelAll() }
                let ready = try await group.next() ?? false
                // Timed out, unless the bytes came just as it did.
                if !ready, !Self.isReadable(fd) { throw SocketError.disconnected }
            }
        }
        let id = waiting.admit(cancel: { wait.cancel() }, maxWaiting: maxWaiting)
        defer { waiting.remove(id) }
        try await withTaskCancellationHandler {
            try await wait.value
        } onCancel: {
            wait.cancel()
        }
    }

    private static func isListening(_ fd: Int32) -> Bool {
        var value: Int32 = 0
        var length = socklen_t(MemoryLayout<Int32>.size)
        return getsockopt(fd, SOL_SOCKET, SO_ACCEPTCONN, &value, &length) == 0 && value != 0
    }

    private static func isReadable(_ fd: Int32) -> Bool {
        var descriptor = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
        #if canImport(Glibc)
        return Glibc.poll(&descriptor, 1, 0) == 1
        #else
        return Darwin.poll(&descriptor, 1, 0) == 1
        #endif
    }

    /// The waits under way, oldest first (by admission number).
    private final class Waiting: Sendable {
        private let state = Mutex((next: UInt64(0), waits: [UInt64: @Sendable () -> Void]()))

        /// Registers a wait, and ends the oldest one when `maxWaiting` are waiting already.
        func admit(cancel: @escaping @Sendable () -> Void, maxWaiting: Int) -> UInt64 {
            let (id, evicted) = state.withLock { s -> (UInt64, (@Sendable () -> Void)?) in
                let id = s.next
                s.next += 1
                var evicted: (@Sendable () -> Void)?
                if s.waits.count >= maxWaiting, let oldest = s.waits.keys.min() { evicted = s.waits.removeValue(forKey: oldest) }
                s.waits[id] = cancel
                return (id, evicted)
            }
            evicted?()
            return id
        }

        func remove(_ id: UInt64) { _ = state.withLock { $0.waits.removeValue(forKey: id) } }
    }
}
