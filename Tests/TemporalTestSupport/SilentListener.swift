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
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        var addr = sockaddr_in()
        addr.sin_family = sa_family_t(AF_INET)
        addr.sin_addr.s_addr = inet_addr("127.0.0.1")
        var len = socklen_t(MemoryLayout<sockaddr_in>.size)
        let ok = withUnsafeMutablePointer(to: &addr) { ptr in
            ptr.withMemoryRebound(to: sockaddr.self, capacity: 1) { sa in
                bind(fd, sa, len) == 0 && listen(fd, fullBacklog ? 0 : 16) == 0 && getsockname(fd, sa, &len) == 0
            }
        }
        guard ok else {
            close(fd)
            throw POSIXError(.EADDRNOTAVAIL)
        }
        self.fd = fd
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
