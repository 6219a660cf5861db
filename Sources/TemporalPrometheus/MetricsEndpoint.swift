import FlyingFox
import FlyingSocks
import Foundation
public import Prometheus
import Synchronization

/// Serves a Prometheus registry over HTTP: `GET /metrics` answers the text exposition format
/// (`text/plain; version=0.0.4`); every other request gets 404.
///
/// ```swift
/// let registry = PrometheusBootstrap.bootstrapGlobal()   // MetricsSystem → registry
/// let endpoint = try MetricsEndpoint(registry: registry, port: 9464)
/// let port = try await endpoint.start()                   // http://0.0.0.0:9464/metrics
/// ```
public final class MetricsEndpoint: Sendable {
    /// What is served.
    public let registry: PrometheusCollectorRegistry
    /// The address listened on, as given.
    public let host: String
    /// The content type of `/metrics`.
    public static let contentType = "text/plain; version=0.0.4; charset=utf-8"

    private let server: HTTPServer
    private let state = Mutex(State())

    private struct State {
        var task: Task<Void, Never>?
        var failure: (any Error)?
    }

    /// - Parameters:
    ///   - host: IPv4 address to listen on (default all interfaces).
    ///   - port: 0 picks a free port (see `start()`'s result).
    public init(registry: PrometheusCollectorRegistry, host: String = "0.0.0.0", port: UInt16) throws {
        self.registry = registry
        self.host = host
        server = HTTPServer(
            address: try .inet(ip4: host, port: port), timeout: 30, logger: .disabled,
            handler: ClosureHTTPHandler { request in
                let reply = Self.respond(method: request.method.rawValue, path: request.path, registry: registry)
                var headers = HTTPHeaders()
                headers[.contentType] = reply.contentType
                return HTTPResponse(statusCode: reply.status == 200 ? .ok : .notFound, headers: headers, body: Data(reply.body))
            }
        )
    }

    /// Starts serving in the background and returns the port listened on once the socket
    /// accepts connections. Throws when the address cannot be bound (e.g. the port is taken).
    @discardableResult
    public func start() async throws -> UInt16 {
        let server = self.server
        let task = Task {
            do {
                try await server.run()
            } catch {
                self.state.withLock { $0.failure = error }
            }
        }
        state.withLock { $0.task = task }
        // `waitUntilListening` would wait out its timeout when binding fails: watch both.
        for _ in 0..<500 {
            if await server.isListening { break }
            if let failure = state.withLock({ $0.failure }) { throw failure }
            try await Task.sleep(for: .milliseconds(20))
        }
        guard await server.isListening else {
            await stop()
            throw MetricsEndpointError(message: "the metrics endpoint did not start listening on \(host) within 10 s")
        }
        switch await server.listeningAddress {
        case .ip4(_, let port)?: return port
        case .ip6(_, let port)?: return port
        default: throw MetricsEndpointError(message: "the metrics endpoint listens on an unexpected address")
        }
    }

    /// Stops listening and closes open connections.
    public func stop() async {
        await server.stop(timeout: 1)
        let task = state.withLock { $0.task }
        task?.cancel()
        await task?.value
    }

    /// The answer to a request: 200 with the registry's exposition for `GET /metrics`, 404
    /// (plain text) otherwise.
    static func respond(method: String, path: String, registry: PrometheusCollectorRegistry)
        -> (status: Int, contentType: String, body: [UInt8])
    {
        guard method == "GET", path == "/metrics" else {
            return (404, "text/plain; charset=utf-8", Array("not found: metrics are at GET /metrics\n".utf8))
        }
        var buffer: [UInt8] = []
        buffer.reserveCapacity(16 * 1024)
        registry.emit(into: &buffer)
        return (200, contentType, buffer)
    }
}

/// The metrics endpoint could not be started.
public struct MetricsEndpointError: Error, Sendable, CustomStringConvertible {
    public var message: String
    public var description: String { message }
}
