import CGRPCShim
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

/// A gRPC channel to one target, running unary calls through the C shim.
///
/// Each call's completion arrives on the channel's completion-queue thread and resumes the
/// awaiting task. Cancelling the task cancels the call. The channel is closed when the object
/// is released or when `close()` is called; outstanding calls then fail with CANCELLED.
public final class GRPCChannel: Sendable {
    /// The target as given (`host:port`, or any gRPC target URI).
    public let target: String
    /// Whether the channel speaks TLS.
    public let usesTLS: Bool
    /// The C channel, kept alive while calls are being started: starting holds no lock (a lock
    /// held across the start, which writes to the socket, made concurrent callers and the
    /// completion thread queue up in the kernel); `close()` waits for the starts instead.
    private let gate: StartGate

    /// Opens a channel. Connection happens lazily on the first call.
    public init(target: String, configuration: ChannelConfiguration = ChannelConfiguration()) throws {
        try configuration.requireSendableSettings()
        try Self.requireTarget(target, usesTLS: configuration.tls != nil)
        self.target = target
        let tls = configuration.tls
        usesTLS = tls != nil
        var error: UnsafeMutablePointer<CChar>?
        // The gRPC core takes PEMs it cannot load and fails every call as if the server could not
        // be reached ("cannot reach the Temporal server over TLS", after the retries): checked
        // here as HTTP2Transport checks them.
        if tls != nil {
            let checked = withTLSCStrings(tls) { pem in ch2_tls_check(pem.rootCertificates, pem.certificateChain, pem.privateKey, &error) }
            if checked != 0 {
                let reason = error.map { String(cString: $0) } ?? "unknown reason"
                free(error)
                throw TemporalError(code: .invalidArgument, message: "cannot open a gRPC channel to '\(target)': \(reason)")
            }
        }
        let pointer: OpaquePointer? = withTLSCStrings(tls) { pem in
            configuration.userAgent.withCString { agent in
                var options = cgrpc_channel_options()
                options.use_tls = tls == nil ? 0 : 1
                options.pem_root_certs = pem.rootCertificates
                options.pem_cert_chain = pem.certificateChain
                options.pem_private_key = pem.privateKey
                options.server_name_override = pem.serverNameOverride
                options.keepalive_time_ms = Int32(clamping: configuration.keepaliveTime.milliseconds)
                options.keepalive_timeout_ms = Int32(clamping: configuration.keepaliveTimeout.milliseconds)
                options.max_receive_message_bytes = Int32(clamping: configuration.maxReceiveMessageBytes)
                options.max_send_message_bytes = Int32(clamping: configuration.maxSendMessageBytes)
                options.max_reconnect_backoff_ms = Int32(clamping: configuration.maxReconnectBackoff.milliseconds)
                options.user_agent = agent
                return cgrpc_channel_create(target, &options, &error)
            }
        }
        guard let pointer else {
            let reason = error.map { String(cString: $0) } ?? "unknown reason"
            cgrpc_free(error)
            throw TemporalError(code: .invalidArgument, message: "cannot open a gRPC channel to '\(target)': \(reason)")
        }
        gate = StartGate(pointer)
    }

    deinit { close() }

    /// Refuses what is not a gRPC target: a URL (`http://host:7233`, whose name fails to
    /// resolve), or a name without its port (gRPC dials 443 then: `localhost` meant 7233). Both
    /// were taken, and every call then failed as if the server were down: a worker waited for
    /// it for ever. Other gRPC target forms (`unix:`, `ipv4:`, `dns://authority/…`) go to gRPC.
    static func requireTarget(_ target: String, usesTLS: Bool = false) throws {
        try HTTP2Transport.refuseURL(target)
        let lower = target.lowercased()
        // The other resolvers' forms go to gRPC as they are. Another `scheme:/…` is refused: gRPC
        // reads an unknown scheme as part of a DNS name, and every call failed as unreachable.
        let resolvers = ["unix:", "unix-abstract:", "ipv4:", "ipv6:", "passthrough:", "xds:", "google-c2p:"]
        if resolvers.contains(where: lower.hasPrefix) || (lower.hasPrefix("dns://") && !lower.hasPrefix("dns:///")) { return }
        // The gRPC core this links (1.51) has no vsock resolver: it read the target as a DNS name,
        // and every call failed as unreachable.
        if lower.hasPrefix("vsock:") {
            throw TemporalError(
                code: .invalidArgument,
                message:
                    "the target '\(target)' is a vsock address, which this gRPC library (1.51) cannot reach: give host:port, e.g. localhost:7233, or a gRPC target (dns:///, unix:, ipv4:, passthrough:///, xds:///)"
            )
        }
        if let colon = lower.firstIndex(of: ":"), lower[lower.index(after: colon)...].hasPrefix("/"), !lower.hasPrefix("dns:///") {
            throw TemporalError(
                code: .invalidArgument,
                message:
                    "the target '\(target)' has a scheme gRPC does not resolve (\(lower[...colon])): give host:port, e.g. localhost:7233, or a gRPC target (dns:///, unix:, ipv4:, passthrough:///, xds:///)"
            )
        }
        // Without a port gRPC dials 443: meant with TLS (an ingress on its standard port), a
        // mistake without (`localhost` meant 7233).
        _ = try HTTP2Transport.hostAndPort(of: target, usesTLS: usesTLS)
    }

    /// Cancels outstanding calls and releases the channel. Idempotent.
    public func close() {
        gate.close { cgrpc_channel_destroy($0) }
    }

    /// Runs one unary call.
    /// - Parameters:
    ///   - method: full method path, e.g. `/temporal.api.workflowservice.v1.WorkflowService/GetSystemInfo`.
    ///   - request: the serialized request message.
    ///   - metadata: request headers (lowercase keys).
    ///   - timeout: deadline relative to now; nil = none.
    /// - Returns: the serialized response message.
    /// - Throws: `GRPCStatusError` for every non-OK status, including CANCELLED when the task is cancelled.
    public func unary(method: String, request: Data, metadata: [(String, String)], timeout: Duration?) async throws -> Data {
        try refuseIfCancelled(method)
        let call = CallState()
        return try await withTaskCancellationHandler {
            try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<Data, Error>) in
                let box = Unmanaged.passRetained(CompletionBox(continuation: continuation, method: method))
                var errorCode: Int32 = 0
                // close() waits for this start before it destroys the channel.
                let started: OpaquePointer? =
                    gate.withOpen { channel in
                        Self.start(
                            channel: channel, method: method, request: request, metadata: metadata,
                            timeout: timeout, box: box, errorCode: &errorCode)
                    } ?? nil
                guard let started else {
                    box.release()
                    continuation.resume(throwing: Self.startFailure(errorCode, method: method, metadata: metadata))
                    return
                }
                call.attach(started)
            }
        } onCancel: {
            call.cancel()
        }
    }

    /// The error of a call the core would not start (`errorCode`: its `grpc_call_error`, 0 when
    /// the channel is closed).
    static func startFailure(_ errorCode: Int32, method: String, metadata: [(String, String)]) -> GRPCStatusError {
        switch errorCode {
        case 0:
            return GRPCStatusError(code: .cancelled, message: "could not start the call: the channel is closed", method: method)
        case 10:  // GRPC_CALL_ERROR_INVALID_METADATA
            return GRPCStatusError(
                code: .invalidArgument,
                message:
                    "could not start the call: a request header gRPC cannot send (keys are lowercase letters, digits, '-', '_' and '.'; values printable ASCII unless the key ends in -bin); headers: \(metadata.map(\.0).joined(separator: ", "))",
                method: method)
        default:
            return GRPCStatusError(code: .internal, message: "could not start the call: grpc_call_error \(errorCode)", method: method)
        }
    }

    private static func start(
        channel: OpaquePointer, method: String, request: Data, metadata: [(String, String)],
        timeout: Duration?, box: Unmanaged<CompletionBox>, errorCode: inout Int32
    ) -> OpaquePointer? {
        let timeoutMs = timeout.map { max(1, $0.milliseconds) } ?? 0
        return withMarshalledMetadata(metadata) { base, spans in
            let entries = spans.map { span in
                cgrpc_metadata(
                    key: base.map { $0 + span.key.lowerBound }, key_len: span.key.count,
                    value: base.map { $0 + span.value.lowerBound }, value_len: span.value.count)
            }
            return request.withUnsafeBytes { body in
                entries.withUnsafeBufferPointer { md in
                    cgrpc_unary_start(
                        channel, method, md.baseAddress, md.count,
                        body.bindMemory(to: UInt8.self).baseAddress, body.count, timeoutMs,
                        grpcCompletion, box.toOpaque(), &errorCode)
                }
            }
        }
    }
}

/// The C completion callback: copies the result and resumes the continuation.
private func grpcCompletion(_ userData: UnsafeMutableRawPointer?, _ result: UnsafePointer<cgrpc_result>?) {
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

/// Holds the C call handle so that task cancellation, which may race the start, can reach it.
private final class CallState: Sendable {
    private struct State {
        /// The C call's address; 0 until attached.
        var call = 0
        var cancelled = false
    }
    private let state = Mutex(State())

    func attach(_ call: OpaquePointer) {
        let cancelNow = state.withLock { s -> Bool in
            s.call = Int(bitPattern: call)
            return s.cancelled
        }
        if cancelNow { cgrpc_call_cancel(call) }
    }

    func cancel() {
        state.withLock { s in
            s.cancelled = true
            if let call = OpaquePointer(bitPattern: s.call) { cgrpc_call_cancel(call) }
        }
    }

    deinit {
        // The awaiting task has resumed, so nobody can cancel any more: drop our reference.
        let address = state.withLock { s -> Int in
            defer { s.call = 0 }
            return s.call
        }
        if let call = OpaquePointer(bitPattern: address) { cgrpc_call_release(call) }
    }
}
