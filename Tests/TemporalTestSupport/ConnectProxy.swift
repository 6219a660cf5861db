import Foundation
import Synchronization

#if canImport(Glibc)
import Glibc
#endif

/// An HTTP proxy of one verb, written by hand: it answers `CONNECT host:port` with a tunnel to
/// that address on 127.0.0.1 (or with `refusal`, e.g. "403 Forbidden"), and relays bytes both
/// ways. It records each tunnel's target and Proxy-Authorization header.
///
/// With a `stall`, a tunnel stops reading from its client once, for `stall.duration`, after
/// relaying `stall.after` bytes upstream, and its receive buffer is small: the client's socket
/// fills, as on a slow link, and the client's writes must wait and go on where they stopped.
public final class ConnectProxy: Sendable {
    public let port: Int
    private let fd: Int32
    private let refusal: String?
    private let stall: (after: Int, duration: Duration)?
    private let seen = Mutex<[(target: String, authorization: String?)]>([])
    private let stallsDone = Mutex(0)

    public init(refusal: String? = nil, stall: (after: Int, duration: Duration)? = nil) throws {
        let (fd, addr) = try listenOnLoopback(backlog: 16)
        self.fd = fd
        self.refusal = refusal
        self.stall = stall
        if stall != nil {
            // Set on the listening socket, so tunnels start with it (shrinking an open
            // connection's buffer can leave its window stuck shut).
            var size: Int32 = 8192
            guard setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &size, socklen_t(MemoryLayout<Int32>.size)) == 0 else {
                close(fd)
                throw POSIXError(.init(rawValue: errno) ?? .EINVAL)
            }
        }
        port = Int(UInt16(bigEndian: addr.sin_port))
        serveConnections(on: fd) { [self] client, _ in serve(client) }
    }

    /// `http://127.0.0.1:port`, with `user:password@` when given.
    public func url(credentials: String? = nil) -> String { "http://\(credentials.map { $0 + "@" } ?? "")127.0.0.1:\(port)" }
    /// The tunnels asked for so far: target and Proxy-Authorization header.
    public var requests: [(target: String, authorization: String?)] { seen.withLock { $0 } }
    /// How many tunnels have stalled so far (see `stall`).
    public var stalls: Int { stallsDone.withLock { $0 } }

    public func stop() { shutdown(fd, Int32(SHUT_RDWR)) }

    deinit {
        shutdown(fd, Int32(SHUT_RDWR))
        close(fd)
    }

    private func serve(_ client: Int32) {
        // The request head, byte by byte: what follows it belongs to the tunnel.
        var head: [UInt8] = []
        var byte: UInt8 = 0
        while !(head.count >= 4 && head.suffix(4) == [13, 10, 13, 10]) {
            guard recv(client, &byte, 1, 0) == 1, head.count < 8192 else { return }
            head.append(byte)
        }
        let lines = String(decoding: head, as: UTF8.self).components(separatedBy: "\r\n")
        let words = lines[0].split(separator: " ")
        guard words.count == 3, words[0] == "CONNECT" else { return }
        let target = String(words[1])
        let authorization = lines.first { $0.lowercased().hasPrefix("proxy-authorization:") }
            .map { String($0.dropFirst("proxy-authorization:".count)).trimmingCharacters(in: .whitespaces) }
        seen.withLock { $0.append((target, authorization)) }
        if let refusal {
            write(client, "HTTP/1.1 \(refusal)\r\nContent-Length: 0\r\n\r\n")
            return
        }
        guard let colon = target.lastIndex(of: ":"), let port = UInt16(target[target.index(after: colon)...]) else { return }
        let upstream = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        defer { close(upstream) }
        var addr = sockaddr_in()
        addr.sin_family = sa_family_t(AF_INET)
        addr.sin_addr.s_addr = inet_addr("127.0.0.1")
        addr.sin_port = port.bigEndian
        let connected = withUnsafePointer(to: &addr) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(upstream, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) == 0 }
        }
        guard connected else {
            write(client, "HTTP/1.1 502 Bad Gateway\r\nContent-Length: 0\r\n\r\n")
            return
        }
        write(client, "HTTP/1.1 200 Connection established\r\n\r\n")
        relay(client, upstream)
    }

    /// Copies bytes both ways until either side closes (stalling once, if asked to).
    private func relay(_ a: Int32, _ b: Int32) {
        var fds = [pollfd(fd: a, events: Int16(POLLIN), revents: 0), pollfd(fd: b, events: Int16(POLLIN), revents: 0)]
        var buffer = [UInt8](repeating: 0, count: 65536)
        var relayedUpstream = 0
        var stallPending = stall
        while poll(&fds, 2, -1) > 0 {
            for (i, (from, to)) in [(a, b), (b, a)].enumerated() where fds[i].revents != 0 {
                if i == 0, let pending = stallPending, relayedUpstream >= pending.after {
                    stallPending = nil
                    Thread.sleep(forTimeInterval: pending.duration / .seconds(1))
                    stallsDone.withLock { $0 += 1 }
                }
                let n = buffer.withUnsafeMutableBytes { recv(from, $0.baseAddress!, i == 0 && stallPending != nil ? 1024 : $0.count, 0) }
                if n <= 0 { return }
                if i == 0 { relayedUpstream += n }
                var sent = 0
                while sent < n {
                    let w = buffer.withUnsafeBytes { send(to, $0.baseAddress! + sent, n - sent, Int32(MSG_NOSIGNAL)) }
                    if w <= 0 { return }
                    sent += w
                }
            }
        }
    }

    private func write(_ client: Int32, _ text: String) {
        let bytes = Array(text.utf8)
        _ = bytes.withUnsafeBytes { send(client, $0.baseAddress!, $0.count, Int32(MSG_NOSIGNAL)) }
    }
}
