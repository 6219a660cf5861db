import Synchronization

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

// What `GRPCChannel` and `HTTP2Transport` share: both hand a C library a call and get its one
// completion back on a thread of the library's.

/// Keeps a C connection alive while calls are being started: `close()` waits for the starts in
/// progress instead of a lock held across them (a start writes to the socket).
final class StartGate: Sendable {
    /// The C object's address (an Int, which is Sendable); valid until `close` destroys it.
    private let address: Int
    private let starting = Atomic<Int>(0)
    private let closed = Atomic<Bool>(false)

    init(_ pointer: OpaquePointer) { address = Int(bitPattern: pointer) }

    /// Runs `body` with the C object unless it is closed (nil then); `close` waits for it.
    func withOpen<R>(_ body: (OpaquePointer) -> R) -> R? {
        // Refused without touching the count once closed, so that callers retrying on a closed
        // transport do not keep `close` waiting; the check after the increment is the one that counts.
        if closed.load(ordering: .sequentiallyConsistent) { return nil }
        starting.wrappingAdd(1, ordering: .sequentiallyConsistent)
        defer { starting.wrappingSubtract(1, ordering: .sequentiallyConsistent) }
        guard !closed.load(ordering: .sequentiallyConsistent), let pointer = OpaquePointer(bitPattern: address) else {
            return nil
        }
        return body(pointer)
    }

    /// Closes once: waits out the starts that saw the gate open, then runs `destroy`.
    func close(_ destroy: (OpaquePointer) -> Void) {
        guard closed.compareExchange(expected: false, desired: true, ordering: .sequentiallyConsistent).exchanged else {
            return
        }
        // Every start that saw the gate open is counted in `starting` (both sides use
        // sequentially consistent operations, so a start either sees `closed` or is seen here).
        while starting.load(ordering: .sequentiallyConsistent) > 0 { sched_yield() }
        if let pointer = OpaquePointer(bitPattern: address) { destroy(pointer) }
    }
}

/// The continuation a C completion callback resumes (passed to C as an unmanaged pointer).
final class CompletionBox {
    let continuation: CheckedContinuation<Data, any Error>
    let method: String
    init(continuation: CheckedContinuation<Data, any Error>, method: String) {
        self.continuation = continuation
        self.method = method
    }

    /// Resumes with the response (status 0 with a message) or with the failure the C result
    /// describes. OK without a message (a broken server or proxy) is INTERNAL, as grpc-go has
    /// it: an empty response would decode as a default one (a start that started nothing).
    func complete(
        status: Int32, hasMessage: Bool, message: UnsafePointer<UInt8>?, messageLength: Int,
        details: UnsafePointer<CChar>?, detailsLength: Int, trailers: [(key: String, value: Data)]
    ) {
        if status == 0, hasMessage {
            continuation.resume(returning: messageLength > 0 ? Data(bytes: message!, count: messageLength) : Data())
            return
        }
        if status == 0 {
            continuation.resume(
                throwing: GRPCStatusError(
                    code: .internal, message: "the server answered OK without a response message (a broken server or proxy)",
                    trailers: trailers, method: method))
            return
        }
        let text =
            detailsLength > 0
            ? String(decoding: UnsafeRawBufferPointer(start: details, count: detailsLength), as: UTF8.self) : ""
        // A code outside gRPC's (a proxy's own) is UNKNOWN, as gRPC's clients read it; the
        // message keeps the number.
        let code = GRPCStatusCode(received: Int(status))
        continuation.resume(
            throwing: GRPCStatusError(
                code: code, message: code.rawValue == Int(status) ? text : "\(text) (grpc-status \(status))", trailers: trailers,
                method: method))
    }
}

/// One trailer of a C result as Swift values.
func trailer(key: UnsafePointer<CChar>?, keyLength: Int, value: UnsafePointer<CChar>?, valueLength: Int) -> (
    key: String, value: Data
) {
    let name = String(decoding: UnsafeRawBufferPointer(start: key, count: keyLength), as: UTF8.self)
    return (name, valueLength > 0 ? Data(bytes: value!, count: valueLength) : Data())
}

/// Every key and value of `metadata` in one buffer (the C side copies them): `body` gets the
/// buffer's base and each entry's key and value ranges — three arrays per call instead of
/// several per header.
func withMarshalledMetadata<R>(
    _ metadata: [(String, String)],
    _ body: (UnsafePointer<CChar>?, [(key: Range<Int>, value: Range<Int>)]) -> R
) -> R {
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
    return bytes.withUnsafeBufferPointer { raw in
        raw.withMemoryRebound(to: CChar.self) { body(UnsafePointer($0.baseAddress), spans) }
    }
}

/// Calls `body` with a C string of `string`, or with nil.
/// Refuses a call whose task is cancelled already, before anything is sent: a transport that
/// started it would cancel it only once it had gone out (a poll the server could match a task
/// to, a start or a signal the caller then reports as cancelled).
func refuseIfCancelled(_ method: String) throws {
    if Task.isCancelled { throw GRPCStatusError(code: .cancelled, message: "cancelled before the call started", method: method) }
}

func withOptionalCString<R>(_ string: String?, _ body: (UnsafePointer<CChar>?) -> R) -> R {
    guard let string else { return body(nil) }
    return string.withCString { body($0) }
}

/// The C strings of a TLS configuration's PEMs and server name (nil where unset, or without TLS).
struct TLSCStrings {
    var rootCertificates, certificateChain, privateKey, serverNameOverride: UnsafePointer<CChar>?
}

/// Calls `body` with the C strings of `tls`, valid during the call.
func withTLSCStrings<R>(_ tls: TLSConfiguration?, _ body: (TLSCStrings) -> R) -> R {
    withOptionalCString(tls?.serverRootCACertificate) { roots in
        withOptionalCString(tls?.clientCertificate) { cert in
            withOptionalCString(tls?.clientPrivateKey) { key in
                withOptionalCString(tls?.serverNameOverride.flatMap { $0.isEmpty ? nil : $0 }) { name in
                    body(TLSCStrings(rootCertificates: roots, certificateChain: cert, privateKey: key, serverNameOverride: name))
                }
            }
        }
    }
}
