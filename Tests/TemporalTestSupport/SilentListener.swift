import Foundation

#if canImport(Glibc)
import Glibc
#endif

/// A TCP port that accepts connections (through the kernel's backlog) but never speaks:
/// calls to it can only end by their deadline or by cancellation.
public final class SilentListener: Sendable {
    public let port: Int
    private let fd: Int32
    /// Client sockets that fill the backlog (see `init(fullBacklog:)`).
    private let fillers: [Int32]

    /// - Parameter fullBacklog: fill the accept queue first, so that the kernel drops later SYNs
    ///   and a connect to this port hangs (as to a host that does not answer) instead of succeeding.
    public init(fullBacklog: Bool = false) throws {
        let listener = try listenOnLoopback(backlog: fullBacklog ? 0 : 16)
        var addr = listener.address
        let len = socklen_t(MemoryLayout<sockaddr_in>.size)
        self.fd = listener.fd
        port = Int(UInt16(bigEndian: addr.sin_port))
        var fillers: [Int32] = []
        if fullBacklog {
            for _ in 0..<4 {
                let c = socket(AF_INET, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_NONBLOCK.rawValue), 0)
                _ = withUnsafePointer(to: &addr) { ptr in
                    ptr.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(c, $0, len) }
                }
                fillers.append(c)
            }
            usleep(100_000)
        }
        self.fillers = fillers
    }

    public var address: String { "127.0.0.1:\(port)" }

    deinit {
        for c in fillers { close(c) }
        close(fd)
    }
}
