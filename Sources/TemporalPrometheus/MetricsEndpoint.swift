import FlyingFox
import FlyingSocks
import Foundation
import Logging
public import Prometheus
import Synchronization

/// Serves a Prometheus registry over HTTP: `GET /metrics` answers the text exposition format
/// (`text/plain; version=0.0.4`). With a health check (`setHealthCheck`), `GET /healthz`
/// (liveness) and `GET /readyz` (readiness) answer 200 or 503 with its text, for probes of
/// Kubernetes, compose or systemd. Every other request gets 404.
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

    /// Makes the server for a port (again, on the port first bound, when one stopped accepting).
    private let makeServer: @Sendable (UInt16) throws -> HTTPServer
    private let requestedPort: UInt16
    private let logger: Logger
    private let state: Mutex<State>

    private struct State {
        var server: HTTPServer
        var task: Task<Void, Never>?
        var failure: (any Error)?
        /// The port listened on, once the first server listened.
        var port: UInt16?
        var stopping = false
        /// Times the endpoint tried to listen again after its server stopped.
        var restarts = 0
    }

    /// How long the endpoint waits before it listens again after its server stopped accepting
    /// connections (an `accept` failure, e.g. the process out of descriptors for a moment): 1 s,
    /// doubled after each server that did not last a minute, up to a minute. (Each server leaks
    /// FlyingFox's epoll and event descriptors when it ends: retries are kept few.)
    static let restartDelay: Duration = .seconds(1)
    static let longestRestartDelay: Duration = .seconds(60)

    /// The check `/healthz` and `/readyz` ask, shared with the request handler.
    private final class HealthCheck: Sendable {
        let check = Mutex<(@Sendable () -> HealthReport)?>(nil)
        func report() -> HealthReport? { check.withLock { $0 }?() }
    }
    private let healthCheck = HealthCheck()

    /// What `/healthz` and `/readyz` answer from now on (checked at each request).
    public func setHealthCheck(_ check: @escaping @Sendable () -> HealthReport) {
        healthCheck.check.withLock { $0 = check }
    }

    /// - Parameters:
    ///   - host: IPv4 address to listen on (default all interfaces).
    ///   - port: 0 picks a free port (see `start()`'s result).
    ///   - idleTimeout: a connection that sends no request (or stops halfway) for this long is
    ///     closed (75 s by default: longer than a minute's scrape interval, so a scraper's kept
    ///     connection is not closed just as it is used again).
    ///   - maxIdleConnections: connections that may wait for a request at once; when one more
    ///     has to wait, the one waiting longest is closed.
    public convenience init(
        registry: PrometheusCollectorRegistry, host: String = "0.0.0.0", port: UInt16, idleTimeout: Duration = .seconds(75),
        maxIdleConnections: Int = 64
    ) throws {
        try self.init(
            registry: registry, host: host, port: port, idleTimeout: idleTimeout, maxIdleConnections: maxIdleConnections, wrapPool: nil)
    }

    /// `wrapPool` (tests): wraps the socket pool of every server made.
    init(
        registry: PrometheusCollectorRegistry, host: String, port: UInt16, idleTimeout: Duration, maxIdleConnections: Int,
        wrapPool: (@Sendable (any AsyncSocketPool) -> any AsyncSocketPool)?
    ) throws {
        guard idleTimeout > .zero, maxIdleConnections > 0 else {
            throw MetricsEndpointError(
                message:
                    "the metrics endpoint needs a positive idle timeout and at least one idle connection (given \(idleTimeout) and \(maxIdleConnections))"
            )
        }
        self.registry = registry
        self.host = host
        self.requestedPort = port
        self.logger = Logger(label: "temporal.metrics-endpoint")
        let healthCheck = self.healthCheck
        let handler = ClosureHTTPHandler { request in
            let reply = Self.respond(method: request.method.rawValue, path: request.path, registry: registry, health: healthCheck.report)
            var headers = HTTPHeaders()
            headers[.contentType] = reply.contentType
            if reply.status == 405 { headers[HTTPHeader("Allow")] = "GET, HEAD" }
            return HTTPResponse(statusCode: Self.statusCode(reply.status), headers: headers, body: Data(reply.body))
        }
        makeServer = { port in
            let pool = IdleBoundedSocketPool(base: HTTPServer.defaultPool(), idleTimeout: idleTimeout, maxWaiting: maxIdleConnections)
            let address = try sockaddr_in.inet(ip4: host, port: port)
            if let wrapPool { return Self.server(address, pool: wrapPool(pool), handler: handler) }
            return Self.server(address, pool: pool, handler: handler)
        }
        state = Mutex(State(server: try makeServer(port)))
    }

    private static func server(_ address: sockaddr_in, pool: some AsyncSocketPool, handler: some HTTPHandler) -> HTTPServer {
        HTTPServer(address: address, timeout: 30, pool: pool, logger: .disabled, handler: handler)
    }

    /// Times the endpoint tried to listen again after its server stopped.
    var restarts: Int { state.withLock { $0.restarts } }

    /// Starts serving in the background and returns the port listened on once the socket
    /// accepts connections. Throws when the address cannot be bound (e.g. the port is taken).
    @discardableResult
    public func start() async throws -> UInt16 {
        let server = state.withLock { $0.server }
        let task = Task { await self.serve(server) }
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
        let port: UInt16
        switch await server.listeningAddress {
        case .ip4(_, let bound)?: port = bound
        case .ip6(_, let bound)?: port = bound
        default: throw MetricsEndpointError(message: "the metrics endpoint listens on an unexpected address")
        }
        state.withLock { $0.port = port }
        return port
    }

    /// Runs `first`, and once it has listened, listens again on its port whenever a server
    /// stops short of `stop()`: FlyingFox ends its server at any `accept` failure other than
    /// "would block" (the process out of descriptors for a moment, EMFILE), and `/metrics`,
    /// `/healthz` and `/readyz` went dark for the rest of the process without a word.
    private func serve(_ first: HTTPServer) async {
        var server = first
        var delay = Self.restartDelay
        let clock = ContinuousClock()
        while true {
            var failure: any Error = MetricsEndpointError(message: "the server stopped")
            let began = clock.now
            do { try await server.run() } catch { failure = error }
            // A server that served a while starts the waits over; one that failed at once (its
            // port taken meanwhile, descriptors still short) doubles the next.
            delay = clock.now - began > Self.longestRestartDelay ? Self.restartDelay : delay
            let (port, stopping) = state.withLock { s -> (UInt16?, Bool) in
                if s.port == nil { s.failure = failure }  // start() reports it
                return (s.port, s.stopping)
            }
            guard let port, !stopping, !Task.isCancelled else { return }
            logger.error(
                "the metrics endpoint stopped accepting connections; listening again",
                metadata: ["error": "\(failure)", "port": "\(port)", "in": "\(delay)"])
            while true {
                do { try await Task.sleep(for: delay) } catch { return }
                delay = min(delay * 2, Self.longestRestartDelay)
                if state.withLock({ $0.stopping }) { return }
                do {
                    server = try makeServer(port)
                    break
                } catch {
                    logger.error("the metrics endpoint cannot listen again yet", metadata: ["error": "\(error)", "port": "\(port)"])
                }
            }
            let next = server
            state.withLock {
                $0.server = next
                $0.restarts += 1
            }
        }
    }

    /// Stops listening and closes open connections.
    public func stop() async {
        let server = state.withLock { s -> HTTPServer in
            s.stopping = true
            return s.server
        }
        await server.stop(timeout: 1)
        let task = state.withLock { $0.task }
        task?.cancel()
        await task?.value
    }

    static func statusCode(_ status: Int) -> HTTPStatusCode {
        switch status {
        case 200: .ok
        case 503: .serviceUnavailable
        case 405: .methodNotAllowed
        default: .notFound
        }
    }

    /// The answer to a request: 200 with the registry's exposition for `GET /metrics`; for
    /// `GET /healthz` and `/readyz` with a `health` report, 200 or 503 with its text; `HEAD` as
    /// `GET` without the body; 405 for another method on those paths (`Allow: GET, HEAD`); 404
    /// (plain text) otherwise.
    /// `health` is asked only for the health paths (not on every scrape).
    static func respond(
        method: String, path: String, registry: PrometheusCollectorRegistry, health: () -> HealthReport? = { nil }
    ) -> (status: Int, contentType: String, body: [UInt8]) {
        // HEAD is GET without the body (probes and load balancers send it).
        if method == "HEAD" {
            let answer = respond(method: "GET", path: path, registry: registry, health: health)
            return (answer.status, answer.contentType, [])
        }
        let text = "text/plain; charset=utf-8"
        if method == "GET", path == "/healthz" || path == "/readyz", let health = health() {
            let ok = path == "/healthz" ? health.live : health.ready
            return (ok ? 200 : 503, text, Array("\(ok ? "ok" : "not \(path == "/healthz" ? "live" : "ready")")\n\(health.text)\n".utf8))
        }
        let served = path == "/metrics" || ((path == "/healthz" || path == "/readyz") && health() != nil)
        if method != "GET", served {
            return (405, text, Array("method not allowed: \(path) answers GET and HEAD\n".utf8))
        }
        guard method == "GET", path == "/metrics" else {
            return (
                404, text,
                Array("not found: metrics are at GET /metrics\(health() == nil ? "" : ", health at GET /healthz and /readyz")\n".utf8)
            )
        }
        var buffer: [UInt8] = []
        buffer.reserveCapacity(16 * 1024)
        registry.emit(into: &buffer)
        return (200, contentType, buffer)
    }
}

/// What a health check says: whether the process is alive (`/healthz`: restart it when not)
/// and ready (`/readyz`: doing its work), and a text saying why.
public struct HealthReport: Sendable, Equatable {
    public var live: Bool
    public var ready: Bool
    public var text: String

    public init(live: Bool, ready: Bool, text: String) {
        self.live = live
        self.ready = ready
        self.text = text
    }
}

/// The metrics endpoint could not be started.
public struct MetricsEndpointError: Error, Sendable, CustomStringConvertible {
    public var message: String
    public var description: String { message }
}
