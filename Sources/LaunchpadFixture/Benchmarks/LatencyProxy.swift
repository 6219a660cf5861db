import Dispatch
import Foundation
import LaunchpadETL
import Synchronization

#if canImport(Glibc)
import Glibc
#endif

/// A TCP proxy on 127.0.0.1 that delays every byte by `oneWayDelay` in each direction: a
/// network round trip of 2 × `oneWayDelay` in user space (kernel netem is not available
/// here). Bytes keep their order and are not slowed otherwise, so handshakes and requests cost
/// round trips as they would over a real link. Counts the connections it accepted.
public final class LatencyProxy: Sendable {
    /// The port it listens on.
    public let port: Int
    private let listener: Int32
    private let upstreamPort: UInt16
    private let delay: Duration
    private let accepted = Mutex(0)
    /// Connections whose bytes are dropped from now on (`silenceOpenConnections`).
    private let open = Mutex<[ConnectionPair]>([])

    /// Listens on a free port, forwarding to `127.0.0.1:upstreamPort`.
    public init(upstreamPort: Int, oneWayDelay: Duration) throws {
        guard let (fd, port) = LoopbackSocket.listen() else { throw POSIXError(.EADDRNOTAVAIL) }
        listener = fd
        self.port = port
        self.upstreamPort = UInt16(upstreamPort)
        delay = oneWayDelay
        let proxy = self
        Thread.detachNewThread { proxy.acceptLoop() }
    }

    /// Connections accepted so far (each a TCP handshake the client paid for).
    public var connectionsAccepted: Int { accepted.withLock { $0 } }

    /// Stops accepting (open connections end when either side closes).
    public func stop() { shutdown(listener, Int32(SHUT_RDWR)) }

    /// Makes every connection open now go silent, as one does whose NAT mapping was dropped or
    /// whose peer vanished without a FIN: bytes sent on it in either direction are dropped, the
    /// sockets stay open. Connections accepted later are served as usual.
    public func silenceOpenConnections() {
        for pair in open.withLock({ $0 }) { pair.silenced.withLock { $0 = true } }
    }

    private func acceptLoop() {
        while true {
            let client = accept(listener, nil, nil)
            if client < 0 { return }
            accepted.withLock { $0 += 1 }
            guard let upstream = LoopbackSocket.connect(port: Int(upstreamPort)) else {
                close(client)
                continue
            }
            var one: Int32 = 1
            setsockopt(client, Int32(IPPROTO_TCP), TCP_NODELAY, &one, socklen_t(MemoryLayout<Int32>.size))
            setsockopt(upstream, Int32(IPPROTO_TCP), TCP_NODELAY, &one, socklen_t(MemoryLayout<Int32>.size))
            let pair = ConnectionPair(client: client, upstream: upstream)
            open.withLock { pairs in
                pairs.removeAll { $0.isClosed }  // a long benchmark opens many
                pairs.append(pair)
            }
            let delay = self.delay
            Thread.detachNewThread { Self.pump(from: client, to: upstream, delay: delay, pair: pair) }
            Thread.detachNewThread { Self.pump(from: upstream, to: client, delay: delay, pair: pair) }
        }
    }

    /// Reads from `source` and writes each chunk to `destination` `delay` after it arrived:
    /// the reader queues chunks with their due time, a writer thread sleeps until each is due
    /// (`clock_nanosleep` on the monotonic clock: dispatch timers may fire late by design).
    private static func pump(from source: Int32, to destination: Int32, delay: Duration, pair: ConnectionPair) {
        let queue = ChunkQueue()
        Thread.detachNewThread {
            while let (due, chunk) = queue.next() {
                var deadline = due
                while clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &deadline, nil) == EINTR {}
                guard let chunk else {
                    shutdown(destination, Int32(SHUT_WR))
                    pair.halfClosed()
                    return
                }
                if pair.silenced.withLock({ $0 }) { continue }
                var offset = 0
                while offset < chunk.count {
                    let written = chunk[offset...].withUnsafeBytes { write(destination, $0.baseAddress, $0.count) }
                    if written <= 0 { break }
                    offset += written
                }
            }
        }
        let nanoseconds = Int(delay.components.seconds) * 1_000_000_000 + Int(delay.components.attoseconds / 1_000_000_000)
        var buffer = [UInt8](repeating: 0, count: 64 * 1024)
        while true {
            let count = read(source, &buffer, buffer.count)
            var now = timespec()
            clock_gettime(CLOCK_MONOTONIC, &now)
            let total = Int(now.tv_nsec) + nanoseconds
            let due = timespec(tv_sec: now.tv_sec + total / 1_000_000_000, tv_nsec: total % 1_000_000_000)
            if count <= 0 {
                queue.push(due, nil)
                return
            }
            queue.push(due, Array(buffer[0..<count]))
        }
    }

    /// Chunks waiting for their due time, in arrival order (nil chunk: end of stream).
    private final class ChunkQueue: Sendable {
        private let items = Mutex<[(timespec, [UInt8]?)]>([])
        private let available = DispatchSemaphore(value: 0)
        func push(_ due: timespec, _ chunk: [UInt8]?) {
            items.withLock { $0.append((due, chunk)) }
            available.signal()
        }
        func next() -> (timespec, [UInt8]?)? {
            available.wait()
            return items.withLock { $0.isEmpty ? nil : $0.removeFirst() }
        }
    }

    /// Closes both sockets once both directions have ended.
    private final class ConnectionPair: Sendable {
        let client: Int32
        let upstream: Int32
        /// Whether its bytes are dropped (`silenceOpenConnections`).
        let silenced = Mutex(false)
        private let ended = Mutex(0)
        init(client: Int32, upstream: Int32) {
            self.client = client
            self.upstream = upstream
        }
        /// Whether both directions ended (its sockets are closed).
        var isClosed: Bool { ended.withLock { $0 == 2 } }
        func halfClosed() {
            guard
                ended.withLock({ count -> Bool in
                    count += 1
                    return count == 2
                })
            else { return }
            close(client)
            close(upstream)
        }
    }
}
