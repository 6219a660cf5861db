public import Foundation

#if canImport(Glibc)
public import Glibc
#endif

/// A TCP socket listening on 127.0.0.1 at a port the kernel picks, for the test servers here.
/// - Returns: the socket and its address (the port is `address.sin_port`, big-endian).
public func listenOnLoopback(backlog: Int32) throws -> (fd: Int32, address: sockaddr_in) {
    let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
    var addr = sockaddr_in()
    addr.sin_family = sa_family_t(AF_INET)
    addr.sin_addr.s_addr = inet_addr("127.0.0.1")
    var len = socklen_t(MemoryLayout<sockaddr_in>.size)
    let ok = withUnsafeMutablePointer(to: &addr) { ptr in
        ptr.withMemoryRebound(to: sockaddr.self, capacity: 1) { sa in
            bind(fd, sa, len) == 0 && listen(fd, backlog) == 0 && getsockname(fd, sa, &len) == 0
        }
    }
    guard ok else {
        close(fd)
        throw POSIXError(.EADDRNOTAVAIL)
    }
    return (fd, addr)
}

/// Accepts connections on the listening socket `fd` from a thread of its own until the socket is
/// shut down, and runs `serve` for each (numbered from 0, in accept order) on a thread of its own,
/// closing the connection after it.
func serveConnections(on fd: Int32, _ serve: @escaping @Sendable (_ client: Int32, _ index: Int) -> Void) {
    Thread.detachNewThread {
        var index = 0
        while true {
            let client = accept(fd, nil, nil)
            if client < 0 { return }
            let number = index
            index += 1
            Thread.detachNewThread {
                serve(client, number)
                close(client)
            }
        }
    }
}
