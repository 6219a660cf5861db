import Foundation
import Prometheus
import Testing

@testable import TemporalPrometheus

#if canImport(Glibc)
import Glibc
#endif

/// Connections that send no request. FlyingFox bounded only a handler's run: a connection that
/// sent nothing was held open for ever, and any number of them.
@Suite struct IdleConnectionTests {
    @Test func aConnectionThatSendsNothingIsClosedAndIdleOnesAreBounded() async throws {
        let endpoint = try MetricsEndpoint(
            registry: PrometheusCollectorRegistry(), host: "127.0.0.1", port: 0, idleTimeout: .seconds(1), maxIdleConnections: 3)
        let port = try await endpoint.start()
        defer { Task { await endpoint.stop() } }

        // Three wait (their descriptors held); when a fourth has to wait, one is closed at once.
        let idle = try (0..<4).map { _ in try connectToLoopback(port: port) }
        defer { for fd in idle { close(fd) } }
        try await Task.sleep(for: .milliseconds(300))
        #expect(idle.filter { closedByPeer($0, within: 0) }.count == 1, "four idle connections were kept")
        // A scrape meanwhile is served (were it to wait, another idle one would go).
        #expect(try await httpRequest("http://127.0.0.1:\(port)/metrics").status == 200)
        // The others are closed once idle for a second.
        for fd in idle { #expect(closedByPeer(fd, within: 5), "an idle connection was kept") }

        // A connection that sent half a request is closed too (a slow client).
        let slow = try connectToLoopback(port: port)
        defer { close(slow) }
        _ = "GET /metrics HTTP/1.1\r\nHost: x\r\n".withCString { send(slow, $0, strlen($0), 0) }
        #expect(closedByPeer(slow, within: 5), "a half-sent request was waited on for ever")
        await endpoint.stop()
        #expect(throws: MetricsEndpointError.self) {
            try MetricsEndpoint(registry: PrometheusCollectorRegistry(), host: "127.0.0.1", port: 0, maxIdleConnections: 0)
        }
    }
}

/// A TCP connection to 127.0.0.1:`port`.
private func connectToLoopback(port: UInt16) throws -> Int32 {
    let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
    var addr = sockaddr_in()
    addr.sin_family = sa_family_t(AF_INET)
    addr.sin_port = port.bigEndian
    addr.sin_addr.s_addr = inet_addr("127.0.0.1")
    let ok = withUnsafePointer(to: &addr) { ptr in
        ptr.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) == 0 }
    }
    guard ok else {
        close(fd)
        throw POSIXError(.ECONNREFUSED)
    }
    return fd
}

/// Whether the peer closed `fd` (a read gives end of file or a reset) within `seconds`.
private func closedByPeer(_ fd: Int32, within seconds: Double) -> Bool {
    var pfd = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
    guard poll(&pfd, 1, Int32(seconds * 1000)) == 1 else { return false }
    var byte: UInt8 = 0
    return recv(fd, &byte, 1, 0) <= 0
}
