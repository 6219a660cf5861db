import FlyingFox
import FlyingSocks
import Foundation
import Synchronization
public import Temporal
import TemporalProto

/// Temporal's codec-server protocol over HTTP, so that the Web UI (`temporal server start-dev
/// --ui-codec-endpoint http://host:port`, or the UI's "Codec Server" setting) and the CLI
/// (`temporal workflow show --codec-endpoint http://host:port`) show encrypted payloads as
/// plain JSON:
///
/// - `POST /decode` and `POST /encode` take `{"payloads": [{"metadata": {"encoding": "<base64>"},
///   "data": "<base64>"}]}` (the protobuf JSON form of `Payloads`) and answer the same shape,
///   run through the codecs' `decode` / `encode`. A path prefix is allowed (`/codec/decode`).
/// - `X-Namespace` names the namespace; when `namespaces` is set, others get 403.
/// - CORS, for the UI's browser: a request from an origin in `allowedOrigins` gets it echoed
///   (credentials allowed) and `OPTIONS` preflights are answered; a request from any other
///   origin — any other web page the operator has open — is refused with 403 before anything
///   is decoded. Requests without an `Origin` (the CLI, curl, SDKs) are served.
///
/// Anyone who can reach it can decrypt payloads: bind it to a private address, or put it
/// behind the same authentication as the UI.
public final class CodecServer: Sendable {
    public let host: String
    private let server: HTTPServer
    private let state = Mutex<(task: Task<Void, Never>?, failure: (any Error)?)>((nil, nil))

    /// - Parameters:
    ///   - codecs: applied as a `DataConverter` applies them (encode in order, decode reversed).
    ///   - port: 0 picks a free port (see `start()`).
    ///   - allowedOrigins: browser origins allowed to call it (e.g. `http://localhost:8233`, the
    ///     Web UI's address); empty: no browser may.
    ///   - namespaces: namespaces it serves; nil serves any.
    public init(
        codecs: [any PayloadCodec], host: String = "127.0.0.1", port: UInt16,
        allowedOrigins: [String] = [], namespaces: Set<String>? = nil
    ) throws {
        self.host = host
        let converter = DataConverter(codecs: codecs)
        server = HTTPServer(
            address: try .inet(ip4: host, port: port), timeout: 30, logger: .disabled,
            handler: ClosureHTTPHandler { request in
                let body = try await request.bodyData
                let reply = Self.respond(
                    method: request.method.rawValue, path: request.path,
                    origin: request.headers[HTTPHeader("Origin")],
                    namespace: request.headers[HTTPHeader("X-Namespace")],
                    body: body, converter: converter,
                    allowedOrigins: allowedOrigins, namespaces: namespaces)
                var headers = HTTPHeaders()
                for (name, value) in reply.headers { headers[HTTPHeader(name)] = value }
                return HTTPResponse(
                    statusCode: HTTPStatusCode(reply.status, phrase: reply.status == 200 ? "OK" : "Error"),
                    headers: headers, body: reply.body)
            }
        )
    }

    /// Starts serving in the background; returns the port once it accepts connections.
    @discardableResult
    public func start() async throws -> UInt16 {
        let server = self.server
        let task = Task {
            do { try await server.run() } catch { self.state.withLock { $0.failure = error } }
        }
        state.withLock { $0.task = task }
        for _ in 0..<500 {
            if await server.isListening { break }
            if let failure = state.withLock({ $0.failure }) { throw failure }
            try await Task.sleep(for: .milliseconds(20))
        }
        switch await server.listeningAddress {
        case .ip4(_, let port)?: return port
        case .ip6(_, let port)?: return port
        default:
            await stop()
            throw EncryptionError("the codec server did not start listening on \(host)")
        }
    }

    /// Stops listening.
    public func stop() async {
        await server.stop(timeout: 1)
        let task = state.withLock { $0.task }
        task?.cancel()
        await task?.value
    }

    /// The answer to one request (pure; the HTTP server only carries it).
    static func respond(
        method: String, path: String, origin: String?, namespace: String?, body: Data,
        converter: DataConverter, allowedOrigins: [String], namespaces: Set<String>?
    )
        -> (status: Int, headers: [(String, String)], body: Data)
    {
        var headers: [(String, String)] = []
        func text(_ status: Int, _ message: String) -> (Int, [(String, String)], Data) {
            (status, headers + [("Content-Type", "text/plain; charset=utf-8")], Data((message + "\n").utf8))
        }
        if let origin {
            guard allowedOrigins.contains(origin) else {
                return text(
                    403,
                    "origin \(origin) may not use this codec server (allowed: \(allowedOrigins.isEmpty ? "none" : allowedOrigins.joined(separator: ", ")); --origin / CODEC_SERVER_ORIGINS)"
                )
            }
            headers += [("Access-Control-Allow-Origin", origin), ("Access-Control-Allow-Credentials", "true"), ("Vary", "Origin")]
        }
        if method == "OPTIONS" {
            headers += [
                ("Access-Control-Allow-Methods", "POST, OPTIONS"),
                ("Access-Control-Allow-Headers", "Content-Type, X-Namespace, Authorization"),
                ("Access-Control-Max-Age", "600"),
            ]
            return (200, headers, Data())
        }
        let encode = path.hasSuffix("/encode")
        guard method == "POST", encode || path.hasSuffix("/decode") else {
            return text(404, "not found: POST /encode or /decode with {\"payloads\": [...]}")
        }
        if let namespaces, !namespaces.contains(namespace ?? "") {
            return text(
                403,
                "namespace '\(namespace ?? "")' is not served here (X-Namespace; served: \(namespaces.sorted().joined(separator: ", ")))")
        }
        var options = JSONDecodingOptions()
        options.ignoreUnknownFields = true
        let payloads: Payloads
        do {
            payloads = try Payloads(jsonUTF8Data: body, options: options)
        } catch {
            return text(400, "the body is not {\"payloads\": [{\"metadata\": {...}, \"data\": \"<base64>\"}]}: \(error)")
        }
        do {
            var out = Payloads()
            out.payloads = encode ? try converter.encode(payloads.payloads) : try converter.decode(payloads.payloads)
            return (200, headers + [("Content-Type", "application/json")], try out.jsonUTF8Data())
        } catch {
            return text(422, "cannot \(encode ? "encode" : "decode") the payloads: \(error)")
        }
    }
}
