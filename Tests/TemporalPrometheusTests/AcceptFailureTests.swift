import FlyingSocks
import Foundation
import Prometheus
import Synchronization
import Testing

@testable import TemporalPrometheus

#if canImport(FoundationNetworking)
import FoundationNetworking
#endif

/// FlyingFox ends its server at any `accept` failure other than "would block" (EMFILE while the
/// process is out of descriptors for a moment): the endpoint listens again on its port, and
/// `/metrics` answers. It went dark for the rest of the process, without a word.
@Suite struct AcceptFailureTests {
    final class Failures: Sendable {
        let left = Mutex(0)
    }

    /// Fails the first wait for a connection, as an `accept` failure ends the server's loop.
    struct FailsFirstAccept: AsyncSocketPool {
        let base: any AsyncSocketPool
        let failures: Failures
        func prepare() async throws { try await base.prepare() }
        func run() async throws { try await base.run() }
        func suspendSocket(_ socket: Socket, untilReadyFor events: Socket.Events) async throws {
            var value: Int32 = 0
            var length = socklen_t(MemoryLayout<Int32>.size)
            let listening = getsockopt(socket.file.rawValue, SOL_SOCKET, SO_ACCEPTCONN, &value, &length) == 0 && value != 0
            if listening,
                failures.left.withLock({ n in
                    defer { n -= 1 }
                    return n > 0
                })
            {
                throw SocketError.failed(type: "Accept", errno: EMFILE, message: "Too many open files")
            }
            try await base.suspendSocket(socket, untilReadyFor: events)
        }
    }

    @Test func theEndpointListensAgainAfterAnAcceptFailure() async throws {
        let left = Failures()
        let endpoint = try MetricsEndpoint(
            registry: PrometheusCollectorRegistry(), host: "127.0.0.1", port: 0, idleTimeout: .seconds(5), maxIdleConnections: 8,
            wrapPool: { FailsFirstAccept(base: $0, failures: left) })
        let port = try await endpoint.start()
        defer { Task { await endpoint.stop() } }
        #expect(try await freshGET(port) == 200)
        // The next wait for a connection fails: the server ends, and the endpoint listens again.
        left.left.withLock { $0 = 1 }
        _ = try? await freshGET(port)
        var answered = false
        for _ in 0..<50 where !answered {
            try await Task.sleep(for: .milliseconds(100))
            answered = (try? await freshGET(port)) == 200
        }
        #expect(answered && endpoint.restarts == 1, "answered: \(answered), restarts: \(endpoint.restarts)")
        await endpoint.stop()
    }

    /// A GET on a connection of its own (`URLSession.shared` would reuse one: no accept).
    func freshGET(_ port: UInt16) async throws -> Int {
        let session = URLSession(configuration: .ephemeral)
        defer { session.invalidateAndCancel() }
        var request = URLRequest(url: URL(string: "http://127.0.0.1:\(port)/metrics")!)
        request.setValue("close", forHTTPHeaderField: "Connection")
        request.timeoutInterval = 5
        let (_, response) = try await session.data(for: request)
        return (response as? HTTPURLResponse)?.statusCode ?? 0
    }
}
