import CHTTP2
import Synchronization

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

#if canImport(FoundationEssentials)
public import FoundationEssentials
#else
public import Foundation
#endif

/// Unary gRPC calls over one HTTP/2 connection framed by libnghttp2, without the gRPC core: a
/// call's frames are written on the caller's thread, one reader thread per connection completes
/// the calls (and enforces deadlines, sends keepalive pings, follows a GOAWAY to a new
/// connection). Plaintext (h2c), or TLS through the system's OpenSSL with HTTP/2 agreed by
/// ALPN; reconnects on the first call after a loss. Unlike the gRPC core transport (16 MiB), it
/// accepts 64 KiB of response metadata (nghttp2 takes no single header longer): a server resets
/// a call whose failure message does not fit, and the call fails INTERNAL saying so. A message
/// is carried about three times over (`grpc-message`, and in the base64 of
/// `grpc-status-details-bin` the status's message and its failure's), so the limit is reached at
/// about 18 KB of ASCII text, less for text that is percent-encoded.
public final class HTTP2Transport: ServiceTransport {
    public let target: String
    /// Whether the connection uses TLS (errors then advise on certificates, not on starting a
    /// dev server).
    public let usesTLS: Bool
    /// The C connection, kept alive while calls are being started (see `StartGate`).
    private let gate: StartGate

    /// Prepares a connection to `host:port` (opened by the first call). Uses the TLS, keepalive,
    /// message-size and user-agent settings of `configuration`. With TLS and no root CA, the
    /// server's certificate must chain to the system's roots (OpenSSL's default paths). Goes
    /// through the HTTP proxy the environment names, as the gRPC core does (`grpc_proxy`,
    /// `https_proxy`, `http_proxy`, `no_grpc_proxy`, `no_proxy`).
    public convenience init(target: String, configuration: ChannelConfiguration = ChannelConfiguration()) throws {
        try self.init(target: target, configuration: configuration, environment: ProcessInfo.processInfo.environment)
    }

    /// As the public initializer, with the proxy settings read from `environment`.
    init(target: String, configuration: ChannelConfiguration, environment: [String: String]) throws {
        self.target = target
        usesTLS = configuration.tls != nil
        let (host, port) = try Self.hostAndPort(of: target, usesTLS: configuration.tls != nil)
        try configuration.requireSendableSettings()
        var error: UnsafeMutablePointer<CChar>?
        var options = Self.options(configuration)
        let proxy = try HTTPProxySetting.forHost(host, environment: environment)
        let pointer = Self.create(
            host: host, port: port, tls: configuration.tls, proxy: proxy, userAgent: configuration.userAgent, options: &options,
            error: &error)
        guard let pointer else {
            let reason = error.map { String(cString: $0) } ?? "unknown reason"
            free(error)
            throw TemporalError(code: .invalidArgument, message: "cannot open an HTTP/2 connection to '\(target)': \(reason)")
        }
        gate = StartGate(pointer)
    }

    /// The connection settings of `configuration`, read as the gRPC core transport reads them:
    /// zero or less is the default (30 s keepalive, 128 MiB messages). Passed as they were,
    /// `maxReceiveMessageBytes = -1` (gRPC's "unlimited") meant 4 MiB here and 128 MiB there, and
    /// a negative keepalive no pings at all.
    static func options(_ configuration: ChannelConfiguration) -> ch2_options {
        let defaults = ChannelConfiguration()
        func positive(_ value: Duration, or fallback: Duration) -> Int32 {
            Int32(clamping: (value > .zero ? value : fallback).milliseconds)
        }
        var options = ch2_options()
        options.keepalive_time_ms = positive(configuration.keepaliveTime, or: defaults.keepaliveTime)
        options.keepalive_timeout_ms = positive(configuration.keepaliveTimeout, or: defaults.keepaliveTimeout)
        options.max_receive_message_bytes = Int64(
            configuration.maxReceiveMessageBytes > 0 ? configuration.maxReceiveMessageBytes : defaults.maxReceiveMessageBytes)
        options.max_send_message_bytes = Int64(
            configuration.maxSendMessageBytes > 0 ? configuration.maxSendMessageBytes : defaults.maxSendMessageBytes)
        return options
    }

    /// The host and port of `target`: `host:port`, `[IPv6]:port`, or either after the gRPC
    /// Refuses a URL given as a target (`http://host:7233`): its name never resolves, and every
    /// call failed as if the server were down.
    static func refuseURL(_ target: String) throws {
        let lower = target.lowercased()
        guard let scheme = ["http://", "https://", "grpc://", "grpcs://"].first(where: lower.hasPrefix) else { return }
        throw TemporalError(
            code: .invalidArgument,
            message:
                "the target '\(target)' is a URL: give host:port, e.g. localhost:7233, without '\(scheme)' (TLS is set on its own: TEMPORAL_TLS, --tls)"
        )
    }

    /// `dns:///` scheme (as `GRPCChannel` takes them). Throws `.invalidArgument`, saying what is
    /// wrong, for anything else (before, it failed at the first call as "cannot resolve").
    /// - Parameter usesTLS: a host name alone is port 443 then, as the gRPC core dials it (an
    ///   ingress on its standard port); without TLS it is refused (`localhost` meant 7233).
    static func hostAndPort(of target: String, usesTLS: Bool = false) throws -> (host: String, port: String) {
        try refuseURL(target)
        var rest = Substring(target)
        for scheme in ["dns:///", "dns:"] where target.lowercased().hasPrefix(scheme) {
            rest = rest.dropFirst(scheme.count)
            break
        }
        func refuse(_ why: String) -> TemporalError {
            TemporalError(
                code: .invalidArgument, message: "the target '\(target)' \(why); give host:port, e.g. localhost:7233 or [::1]:7233")
        }
        if usesTLS, !rest.isEmpty, !rest.contains(":"), !rest.contains("/") { return (String(rest), "443") }
        // A bracketed IPv6 address alone: port 443 with TLS (as a name alone), else no port.
        if rest.hasPrefix("["), rest.hasSuffix("]"), rest.count > 2 {
            guard usesTLS else { throw refuse("has no port") }
            return (String(rest.dropFirst().dropLast()), "443")
        }
        guard let colon = rest.lastIndex(of: ":") else { throw refuse("has no port") }
        var host = rest[..<colon]
        let port = rest[rest.index(after: colon)...]
        if host.hasPrefix("[") {
            guard host.hasSuffix("]"), host.count > 2 else { throw refuse("has an unclosed or empty [IPv6] address") }
            host = host.dropFirst().dropLast()
        } else if host.contains(":") {
            throw refuse("has an IPv6 address without brackets")
        }
        guard !host.isEmpty else { throw refuse("has no host") }
        guard let number = Int(port), (1...65_535).contains(number) else { throw refuse("has no port number from 1 to 65535") }
        return (String(host), String(port))
    }

    /// `ch2_conn_create` with the C strings of the TLS, proxy and user-agent settings alive.
    private static func create(
        host: String, port: String, tls: TLSConfiguration?, proxy: HTTPProxySetting?, userAgent: String,
        options: inout ch2_options, error: inout UnsafeMutablePointer<CChar>?
    ) -> OpaquePointer? {
        withOptionalCString(proxy?.host) { proxyHost in
            withOptionalCString(proxy?.port) { proxyPort in
                withOptionalCString(proxy?.authorization) { proxyAuthorization in
                    withTLSCStrings(tls) { pem in
                        userAgent.withCString { agent in
                            options.proxy_host = proxyHost
                            options.proxy_port = proxyPort
                            options.proxy_authorization = proxyAuthorization
                            options.use_tls = tls == nil ? 0 : 1
                            options.pem_root_certs = pem.rootCertificates
                            options.pem_cert_chain = pem.certificateChain
                            options.pem_private_key = pem.privateKey
                            options.server_name_override = pem.serverNameOverride
                            options.user_agent = agent
                            return ch2_conn_create(host, port, &options, &error)
                        }
                    }
                }
            }
        }
    }

    deinit { close() }

    /// TCP connections opened so far: the first call opens one, and so does the first call
    /// after a lost connection or a server's GOAWAY (0 once closed).
    public var connectionsOpened: Int {
        gate.withOpen { Int(ch2_connections_opened($0)) } ?? 0
    }

    /// Cancels outstanding calls and closes the connection. Idempotent.
    public func close() {
        gate.close { ch2_conn_destroy($0) }
    }

    public func unary(method: String, request: Data, metadata: [(String, String)], timeout: Duration?) async throws -> Data {
        try refuseIfCancelled(method)
        let call = H2CallState()
        return try await withTaskCancellationHandler {
            try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<Data, Error>) in
                let box = Unmanaged.passRetained(CompletionBox(continuation: continuation, method: method))
                var error: UnsafeMutablePointer<CChar>?
                var status: Int32 = 1
                let id: Int64 =
                    gate.withOpen { conn in
                        Self.start(
                            conn: conn, method: method, request: request, metadata: metadata, timeout: timeout,
                            box: box, status: &status, error: &error)
                    } ?? 0
                guard id != 0 else {
                    box.release()
                    let reason = error.map { String(cString: $0) } ?? "the connection is closed"
                    free(error)
                    continuation.resume(
                        throwing: GRPCStatusError(
                            code: GRPCStatusCode(rawValue: Int(status)), message: "could not start the call: \(reason)",
                            method: method))
                    return
                }
                if call.attach(id) { _ = gate.withOpen { ch2_cancel($0, id) } }
            }
        } onCancel: {
            if let id = call.cancel() { _ = gate.withOpen { ch2_cancel($0, id) } }
        }
    }

    private static func start(
        conn: OpaquePointer, method: String, request: Data, metadata: [(String, String)],
        timeout: Duration?, box: Unmanaged<CompletionBox>, status: inout Int32, error: inout UnsafeMutablePointer<CChar>?
    ) -> Int64 {
        let timeoutMs = timeout.map { max(1, $0.milliseconds) } ?? 0
        return withMarshalledMetadata(metadata) { base, spans in
            let entries = spans.map { span in
                ch2_header(
                    key: base.map { $0 + span.key.lowerBound }, key_len: span.key.count,
                    value: base.map { $0 + span.value.lowerBound }, value_len: span.value.count)
            }
            return request.withUnsafeBytes { body in
                entries.withUnsafeBufferPointer { headers in
                    ch2_unary_start(
                        conn, method, headers.baseAddress, headers.count,
                        body.bindMemory(to: UInt8.self).baseAddress, body.count, timeoutMs,
                        h2Completion, box.toOpaque(), &status, &error)
                }
            }
        }
    }
}

/// The C completion callback: copies the result and resumes the continuation.
private func h2Completion(_ userData: UnsafeMutableRawPointer?, _ result: UnsafePointer<ch2_result>?) {
    guard let userData, let result else { return }
    let box = Unmanaged<CompletionBox>.fromOpaque(userData).takeRetainedValue()
    let r = result.pointee
    let trailers =
        r.status == 0
        ? []
        : (0..<r.trailer_count).map { i in
            trailer(
                key: r.trailers[i].key, keyLength: r.trailers[i].key_len, value: r.trailers[i].value, valueLength: r.trailers[i].value_len)
        }
    box.complete(
        status: r.status, hasMessage: r.has_message != 0, message: r.message, messageLength: r.message_len, details: r.details,
        detailsLength: r.details_len, trailers: trailers)
}

/// The call's id once started, so that task cancellation, which may race the start, reaches it.
private final class H2CallState: Sendable {
    private struct State {
        var id: Int64 = 0
        var cancelled = false
    }
    private let state = Mutex(State())

    /// Records the id; true when the task was cancelled before (the caller cancels the call).
    func attach(_ id: Int64) -> Bool {
        state.withLock { s in
            s.id = id
            return s.cancelled
        }
    }

    /// Marks the call cancelled; the id to cancel when it has started.
    func cancel() -> Int64? {
        state.withLock { s in
            s.cancelled = true
            return s.id == 0 ? nil : s.id
        }
    }
}
