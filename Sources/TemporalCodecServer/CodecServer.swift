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
/// - `X-Namespace` names the namespace; when `namespaces` is set, others get 403. That is
///   routing, not access control: the header is the caller's word, and the codecs decode every
///   namespace's payloads alike (a caller refused for one can name another).
/// - With `authorization` set, every encode and decode must carry exactly that `Authorization`
///   header (e.g. `Bearer <token>`, which `temporal … --codec-auth 'Bearer <token>'` sends);
///   others get 401 before anything is read or decoded. Preflights carry no credentials and
///   are answered without it.
/// - CORS, for the UI's browser: a request from an origin in `allowedOrigins` gets it echoed
///   (credentials allowed) and `OPTIONS` preflights are answered; a request from any other
///   origin — any other web page the operator has open — is refused with 403 before anything
///   is decoded. Requests without an `Origin` (the CLI, curl, SDKs) are served.
///
/// Without `authorization`, anyone who can reach it can decrypt payloads: bind it to a private
/// address, or put it behind the same authentication as the UI. (The Web UI sends its user's
/// own access token, if any, so a static token suits the CLI and programs, not the UI.) Refusals
/// say what was wrong, not what would be accepted: no allowed origin, namespace or key is named
/// to a caller that was refused.
public final class CodecServer: Sendable {
    /// Where it listens.
    public let host: String
    /// Whether encodes and decodes must carry the `authorization` given at init.
    public let asksForAuthorization: Bool
    /// The browser origins it answers, normalised (scheme, host and port).
    public let allowedOrigins: [String]
    /// The namespaces it serves; nil: any.
    public let namespaces: Set<String>?
    private let server: HTTPServer
    private let state = Mutex<(task: Task<Void, Never>?, failure: (any Error)?)>((nil, nil))

    /// Where to listen: an IPv4 or IPv6 address (`[::1]` or `::1`), or `localhost` (127.0.0.1).
    private static func server(_ host: String, port: UInt16, handler: ClosureHTTPHandler) throws -> HTTPServer {
        let name = host.hasPrefix("[") && host.hasSuffix("]") ? String(host.dropFirst().dropLast()) : host
        do {
            if name.contains(":") {
                return HTTPServer(address: try .inet6(ip6: name, port: port), timeout: 30, logger: .disabled, handler: handler)
            }
            return HTTPServer(
                address: try .inet(ip4: name == "localhost" ? "127.0.0.1" : name, port: port), timeout: 30, logger: .disabled,
                handler: handler)
        } catch {
            throw EncryptionError("the codec server cannot listen on '\(host)': give an IP address (127.0.0.1, ::1, 0.0.0.0) or localhost")
        }
    }

    /// - Parameters:
    ///   - codecs: applied as a `DataConverter` applies them (encode in order, decode reversed).
    ///   - port: 0 picks a free port (see `start()`).
    ///   - allowedOrigins: browser origins allowed to call it (e.g. `http://localhost:8233`, the
    ///     Web UI's address); empty: no browser may.
    ///   - namespaces: namespaces it serves; nil serves any.
    ///   - authorization: the `Authorization` header value every encode and decode must carry;
    ///     nil: none is asked for.
    ///   - maximumBodyBytes: the largest request body read (default 6 MiB: payloads up to the
    ///     4 MiB gRPC message limit they live under, as the base64 JSON that carries them, 4/3
    ///     their size, and its keys); a larger one gets 413 without being read.
    ///   - onRefusal: told the status and reason of each answer that is not a success (a refusal,
    ///     or a body it could not decode: e.g. to log it: the UI shows only that decoding failed,
    ///     and a refused origin's answer carries no CORS headers for the browser to read it by).
    public init(
        codecs: [any PayloadCodec], host: String = "127.0.0.1", port: UInt16,
        allowedOrigins: [String] = [], namespaces: Set<String>? = nil, authorization: String? = nil,
        maximumBodyBytes: Int = 6 << 20, onRefusal: (@Sendable (_ status: Int, _ reason: String) -> Void)? = nil
    ) throws {
        self.host = host
        self.asksForAuthorization = authorization != nil
        let allowedOrigins = try allowedOrigins.map(Self.origin)
        self.allowedOrigins = allowedOrigins
        self.namespaces = namespaces
        let converter = DataConverter(codecs: codecs)
        server = try Self.server(
            host, port: port,
            handler: ClosureHTTPHandler { request in
                // Who may ask, and what, is settled before a byte of the body is read.
                let admission = Self.admit(
                    // The raw target: `request.path` reads `//decode` (an endpoint configured with a
                    // trailing slash, which the UI and the CLI append to as given) as a URL with
                    // host `decode` and an empty path.
                    method: request.method.rawValue, path: request.target.path(), origin: request.headers[HTTPHeader("Origin")],
                    namespace: request.headers[HTTPHeader("X-Namespace")], allowedOrigins: allowedOrigins,
                    namespaces: namespaces, authorization: request.headers[HTTPHeader("Authorization")],
                    requiredAuthorization: authorization)
                let reply: (status: Int, headers: [(String, String)], body: Data)
                switch admission {
                case .answered(let answer):
                    // Read to its end and dropped: the server would take what is left of it
                    // for the next request on the connection (and buffer it as one line).
                    try await Self.discard(request.bodySequence)
                    reply = answer
                case .admitted(let headers, let encode):
                    if let body = try await Self.readBody(request.bodySequence, limit: maximumBodyBytes) {
                        reply = Self.respond(encode: encode, body: body, converter: converter, headers: headers)
                    } else {
                        reply = Self.text(
                            413, "the body is larger than \(maximumBodyBytes) bytes: send fewer payloads per request",
                            headers: headers)
                    }
                }
                // Refusals and failures alike (a body too large, not JSON, a payload no key
                // opens): the UI shows only that decoding failed.
                if reply.status >= 400 {
                    onRefusal?(reply.status, String(decoding: reply.body, as: UTF8.self).trimmingCharacters(in: .newlines))
                }
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

    /// What `admit` decided: an answer without reading the body, or a request to serve.
    enum Admission {
        case answered((status: Int, headers: [(String, String)], body: Data))
        case admitted(headers: [(String, String)], encode: Bool)
    }

    /// `given` as a browser sends it in `Origin`: `scheme://host[:port]`, lower case, without a
    /// trailing slash or the scheme's default port. An operator's `https://ui.example.com/` never
    /// equalled the header, so every request of the UI was refused though it was allowed; one
    /// with a path is refused here, saying what to give.
    static func origin(_ given: String) throws -> String {
        var text = given.trimmingCharacters(in: .whitespaces).lowercased()
        while text.hasSuffix("/") { text.removeLast() }
        let scheme = ["http://", "https://"].first { text.hasPrefix($0) }
        guard let scheme, text.count > scheme.count, !text.dropFirst(scheme.count).contains("/") else {
            throw EncryptionError(
                "the origin '\(given)' is not a browser origin: give scheme://host[:port], e.g. http://localhost:8233, without a path")
        }
        let defaultPort = scheme == "http://" ? ":80" : ":443"
        if text.hasSuffix(defaultPort) { text.removeLast(defaultPort.count) }
        return text
    }

    /// Decides from the request line and headers alone: refuses other origins (403), answers
    /// preflights, refuses other paths (404), requests without the required authorization
    /// (401) and other namespaces (403), else admits an encode or a decode with the CORS
    /// headers to send.
    static func admit(
        method: String, path: String, origin: String?, namespace: String?, allowedOrigins: [String], namespaces: Set<String>?,
        authorization: String? = nil, requiredAuthorization: String? = nil
    ) -> Admission {
        var headers: [(String, String)] = []
        if let origin {
            guard allowedOrigins.contains(origin) else {
                return .answered(
                    text(
                        403,
                        "origin \(origin) may not use this codec server (its operator can allow it: --origin / CODEC_SERVER_ORIGINS)",
                        headers: []))
            }
            headers += [("Access-Control-Allow-Origin", origin), ("Access-Control-Allow-Credentials", "true"), ("Vary", "Origin")]
        }
        if method == "OPTIONS" {
            headers += [
                ("Access-Control-Allow-Methods", "POST, OPTIONS"),
                // The Web UI sends its user's id token as Authorization-Extras when it passes
                // the access token on.
                ("Access-Control-Allow-Headers", "Content-Type, X-Namespace, Authorization, Authorization-Extras"),
                ("Access-Control-Max-Age", "600"),
            ]
            return .answered((200, headers, Data()))
        }
        let encode = path.hasSuffix("/encode")
        guard method == "POST", encode || path.hasSuffix("/decode") else {
            return .answered(text(404, "not found: POST /encode or /decode with {\"payloads\": [...]}", headers: headers))
        }
        if let requiredAuthorization, !sameCredentials(authorization ?? "", requiredAuthorization) {
            return .answered(
                text(
                    401,
                    "\(authorization == nil ? "no" : "a wrong") Authorization header: this codec server asks for its token (the CLI: --codec-auth 'Bearer <token>')",
                    headers: headers + [("WWW-Authenticate", "Bearer")]))
        }
        if let namespaces, !namespaces.contains(namespace ?? "") {
            return .answered(
                text(403, "namespace '\(namespace ?? "")' is not served here (X-Namespace names it)", headers: headers))
        }
        return .admitted(headers: headers, encode: encode)
    }

    /// Whether an `Authorization` value matches the required one: the scheme (`Bearer`) in any
    /// case, as HTTP has it, the credentials byte for byte (`sameBytes`).
    static func sameCredentials(_ given: String, _ required: String) -> Bool {
        func split(_ value: String) -> (scheme: String, rest: String) {
            guard let space = value.firstIndex(of: " ") else { return ("", value) }
            return (value[..<space].lowercased(), String(value[space...]))
        }
        let (a, b) = (split(given), split(required))
        return sameBytes(a.rest, b.rest) && a.scheme == b.scheme
    }

    /// Whether `a` and `b` are equal, in a time that depends on their lengths only (a token
    /// compared byte by byte until the first difference would tell a caller how much of a guess
    /// was right).
    static func sameBytes(_ a: String, _ b: String) -> Bool {
        let (x, y) = (Array(a.utf8), Array(b.utf8))
        guard x.count == y.count else { return false }
        var difference: UInt8 = 0
        for i in x.indices { difference |= x[i] ^ y[i] }
        return difference == 0
    }

    /// The body, or nil when it is longer than `limit`: then nothing of it is kept, but it is
    /// read to its end (what is left unread on the connection the server would parse as the
    /// next request, buffering it whole as one line). A declared length over the limit is
    /// refused without keeping a byte.
    static func readBody(_ body: HTTPBodySequence, limit: Int) async throws -> Data? {
        if let count = body.count, count > limit {
            try await discard(body)
            return nil
        }
        // One pass only: a second iterator over a streamed body would read past its end.
        var data = Data()
        var tooLong = false
        for try await chunk in body where !tooLong {
            if data.count + chunk.count > limit {
                tooLong = true  // the rest is read and dropped
                data = Data()
            } else {
                data.append(chunk)
            }
        }
        return tooLong ? nil : data
    }

    /// Reads `body` (not yet read) to its end, keeping none of it.
    static func discard(_ body: HTTPBodySequence) async throws {
        for try await _ in body {}
    }

    static func text(_ status: Int, _ message: String, headers: [(String, String)]) -> (
        status: Int, headers: [(String, String)], body: Data
    ) {
        (status, headers + [("Content-Type", "text/plain; charset=utf-8")], Data((message + "\n").utf8))
    }

    /// The answer to an admitted encode or decode of `body` (pure).
    static func respond(encode: Bool, body: Data, converter: DataConverter, headers: [(String, String)]) -> (
        status: Int, headers: [(String, String)], body: Data
    ) {
        var options = JSONDecodingOptions()
        options.ignoreUnknownFields = true
        let payloads: Payloads
        do {
            payloads = try Payloads(jsonUTF8Data: body, options: options)
        } catch {
            return text(400, "the body is not {\"payloads\": [{\"metadata\": {...}, \"data\": \"<base64>\"}]}: \(error)", headers: headers)
        }
        do {
            var out = Payloads()
            out.payloads = encode ? try converter.encode(payloads.payloads) : try converter.decode(payloads.payloads)
            return (200, headers + [("Content-Type", "application/json")], try out.jsonUTF8Data())
        } catch {
            // What a caller may read: not the ids of the keys this server holds.
            let reason = (error as? EncryptionError)?.callerDescription ?? "\(error)"
            return text(422, "cannot \(encode ? "encode" : "decode") the payloads: \(reason)", headers: headers)
        }
    }
}
