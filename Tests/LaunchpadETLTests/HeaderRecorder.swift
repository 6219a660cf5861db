import Foundation
import LaunchpadETL
import Synchronization

@testable import LaunchpadFixture

#if canImport(Glibc)
import Glibc
#endif

/// A plain-HTTP listener on 127.0.0.1 that records each request's head (request line and
/// headers) and answers 404 with a small JSON-free body: a stand-in for any host a workflow
/// input could name.
final class HeaderRecorder: Sendable {
    let port: Int
    private let fd: Int32
    private let heads = Mutex<[String]>([])
    /// The response to a request head (status line, headers and body); nil: the 404.
    private let respond: @Sendable (String, Int) -> String?
    /// Bytes per second the responses are written at (nil: at once), each connection on a
    /// thread of its own: a slow link, or a server slow to send a heavy page.
    private let bytesPerSecond: Int?

    /// `respond` answers a request head (given the listener's port) with a whole response; the
    /// default answers 404.
    init(bytesPerSecond: Int? = nil, respond: @escaping @Sendable (String, Int) -> String? = { _, _ in nil }) throws {
        self.respond = respond
        self.bytesPerSecond = bytesPerSecond
        guard let (fd, port) = LoopbackSocket.listen(backlog: 16) else { throw POSIXError(.EADDRNOTAVAIL) }
        self.fd = fd
        self.port = port
        let thread = Thread { [self] in self.serve() }
        thread.start()
    }

    /// `http://127.0.0.1:PORT/`.
    var root: String { "http://127.0.0.1:\(port)/" }

    /// Every request head received so far.
    var requests: [String] { heads.withLock { $0 } }

    private func serve() {
        while true {
            let client = accept(fd, nil, nil)
            if client < 0 { return }
            if bytesPerSecond != nil {
                Thread { [self] in self.answer(client) }.start()
            } else {
                answer(client)
            }
        }
    }

    private func answer(_ client: Int32) {
        do {
            var data = [UInt8]()
            var buffer = [UInt8](repeating: 0, count: 4096)
            while !String(decoding: data, as: UTF8.self).contains("\r\n\r\n") {
                let n = read(client, &buffer, buffer.count)
                if n <= 0 { break }
                data += buffer[0..<n]
            }
            let head = String(decoding: data, as: UTF8.self)
            heads.withLock { $0.append(head) }
            let response = Array(
                (respond(head, port)
                    ?? "HTTP/1.1 404 Not Found\r\nContent-Type: text/plain\r\nContent-Length: 9\r\nConnection: close\r\n\r\nnot here\n")
                    .utf8)
            if let rate = bytesPerSecond {
                // In tenths of a second's worth, until the client gives up (a closed socket).
                let chunk = max(1, rate / 10)
                var offset = 0
                while offset < response.count {
                    let end = min(response.count, offset + chunk)
                    let written = response[offset..<end].withUnsafeBytes { send(client, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
                    if written <= 0 { break }
                    offset = end
                    usleep(100_000)
                }
            } else {
                _ = response.withUnsafeBytes { write(client, $0.baseAddress, $0.count) }
            }
            close(client)
        }
    }

    deinit {
        shutdown(fd, Int32(SHUT_RDWR))
        close(fd)
    }
}
