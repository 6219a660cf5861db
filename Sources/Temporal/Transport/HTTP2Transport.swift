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

/// Unary gRPC calls over one plaintext HTTP/2 connection framed by libnghttp2, without the
/// gRPC core: a call's frames are written on the caller's thread, one reader thread per
/// connection completes the calls (and enforces deadlines, sends keepalive pings, follows a
/// GOAWAY to a new connection). Plaintext only; reconnects on the first call after a loss.
public final class HTTP2Transport: ServiceTransport {
    public let target: String
    private let address: Int
    private let starting = Atomic<Int>(0)
    private let closed = Atomic<Bool>(false)

    /// Prepares a connection to `host:port` (opened by the first call). Uses the keepalive,
    /// message-size and user-agent settings of `configuration`; TLS is not supported.
    public init(target: String, configuration: ChannelConfiguration = ChannelConfiguration()) throws {
        guard configuration.tls == nil else {
            throw TemporalError(
                code: .invalidArgument,
                message: "the HTTP/2 transport speaks plaintext only: use the gRPC transport for TLS to '\(target)'")
        }
        self.target = target
        guard let colon = target.lastIndex(of: ":") else {
            throw TemporalError(code: .invalidArgument, message: "the target '\(target)' is not host:port")
        }
        var host = String(target[..<colon])
        if host.hasPrefix("["), host.hasSuffix("]") { host = String(host.dropFirst().dropLast()) }
        let port = String(target[target.index(after: colon)...])
        var error: UnsafeMutablePointer<CChar>?
        var options = ch2_options()
        options.keepalive_time_ms = Int32(clamping: configuration.keepaliveTime.milliseconds)
        options.keepalive_timeout_ms = Int32(clamping: configuration.keepaliveTimeout.milliseconds)
        options.max_receive_message_bytes = Int64(configuration.maxReceiveMessageBytes)
        options.max_send_message_bytes = Int64(configuration.maxSendMessageBytes)
        let pointer = configuration.userAgent.withCString { agent in
            options.user_agent = agent
            return ch2_conn_create(host, port, &options, &error)
        }
        guard let pointer else {
            let reason = error.map { String(cString: $0) } ?? "unknown reason"
            free(error)
            throw TemporalError(code: .invalidArgument, message: "cannot open an HTTP/2 connection to '\(target)': \(reason)")
        }
        address = Int(bitPattern: pointer)
    }

    deinit { close() }

    /// TCP connections opened so far: the first call opens one, and so does the first call
    /// after a lost connection or a server's GOAWAY (0 once closed).
    public var connectionsOpened: Int {
        withOpenConnection { Int(ch2_connections_opened($0)) } ?? 0
    }

    public func close() {
        guard closed.compareExchange(expected: false, desired: true, ordering: .sequentiallyConsistent).exchanged else {
            return
        }
        while starting.load(ordering: .sequentiallyConsistent) > 0 { sched_yield() }
        if let pointer = OpaquePointer(bitPattern: address) { ch2_conn_destroy(pointer) }
    }

    private func withOpenConnection<R>(_ body: (OpaquePointer) -> R) -> R? {
        if closed.load(ordering: .sequentiallyConsistent) { return nil }
        starting.wrappingAdd(1, ordering: .sequentiallyConsistent)
        defer { starting.wrappingSubtract(1, ordering: .sequentiallyConsistent) }
        guard !closed.load(ordering: .sequentiallyConsistent), let conn = OpaquePointer(bitPattern: address) else {
            return nil
        }
        return body(conn)
    }

    public func unary(method: String, request: Data, metadata: [(String, String)], timeout: Duration?) async throws -> Data {
        let call = H2CallState()
        return try await withTaskCancellationHandler {
            try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<Data, Error>) in
                let box = Unmanaged.passRetained(H2CompletionBox(continuation: continuation, method: method))
                var error: UnsafeMutablePointer<CChar>?
                var status: Int32 = 1
                let id: Int64 =
                    withOpenConnection { conn in
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
                if call.attach(id) { _ = withOpenConnection { ch2_cancel($0, id) } }
            }
        } onCancel: {
            if let id = call.cancel() { _ = withOpenConnection { ch2_cancel($0, id) } }
        }
    }

    private static func start(
        conn: OpaquePointer, method: String, request: Data, metadata: [(String, String)],
        timeout: Duration?, box: Unmanaged<H2CompletionBox>, status: inout Int32, error: inout UnsafeMutablePointer<CChar>?
    ) -> Int64 {
        var bytes: [UInt8] = []
        bytes.reserveCapacity(metadata.reduce(0) { $0 + $1.0.utf8.count + $1.1.utf8.count })
        var spans: [(key: Range<Int>, value: Range<Int>)] = []
        spans.reserveCapacity(metadata.count)
        for (key, value) in metadata {
            let keyStart = bytes.count
            bytes.append(contentsOf: key.utf8)
            let valueStart = bytes.count
            bytes.append(contentsOf: value.utf8)
            spans.append((keyStart..<valueStart, valueStart..<bytes.count))
        }
        let timeoutMs = timeout.map { max(1, $0.milliseconds) } ?? 0
        return bytes.withUnsafeBufferPointer { raw in
            raw.withMemoryRebound(to: CChar.self) { base in
                let entries = spans.map { span in
                    ch2_header(
                        key: base.baseAddress.map { $0 + span.key.lowerBound }, key_len: span.key.count,
                        value: base.baseAddress.map { $0 + span.value.lowerBound }, value_len: span.value.count)
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
}

private func h2Completion(_ userData: UnsafeMutableRawPointer?, _ result: UnsafePointer<ch2_result>?) {
    guard let userData, let result else { return }
    let box = Unmanaged<H2CompletionBox>.fromOpaque(userData).takeRetainedValue()
    let r = result.pointee
    if r.status == 0 {
        let body = r.message_len > 0 ? Data(bytes: r.message!, count: r.message_len) : Data()
        box.continuation.resume(returning: body)
        return
    }
    var trailers: [(key: String, value: Data)] = []
    for i in 0..<r.trailer_count {
        let t = r.trailers[i]
        let key = String(decoding: UnsafeRawBufferPointer(start: t.key, count: t.key_len), as: UTF8.self)
        let value = t.value_len > 0 ? Data(bytes: t.value!, count: t.value_len) : Data()
        trailers.append((key, value))
    }
    let message =
        r.details_len > 0
        ? String(decoding: UnsafeRawBufferPointer(start: r.details, count: r.details_len), as: UTF8.self) : ""
    box.continuation.resume(
        throwing: GRPCStatusError(
            code: GRPCStatusCode(rawValue: Int(r.status)), message: message, trailers: trailers, method: box.method))
}

private final class H2CompletionBox {
    let continuation: CheckedContinuation<Data, any Error>
    let method: String
    init(continuation: CheckedContinuation<Data, any Error>, method: String) {
        self.continuation = continuation
        self.method = method
    }
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
