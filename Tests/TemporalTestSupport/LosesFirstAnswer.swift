public import Foundation
public import Synchronization
public import Temporal

/// A transport that hands calls to another (the dev server's); the answer of the first call of
/// `method` is lost on the way back (UNAVAILABLE), as when a connection drops after the server
/// acted. `calls` counts the calls of `method` sent, retries included.
public final class LosesFirstAnswer: ServiceTransport {
    let inner: any ServiceTransport
    let method: String
    public let calls = Mutex(0)

    public init(_ inner: any ServiceTransport, method: String) {
        self.inner = inner
        self.method = method
    }

    public var target: String { inner.target }

    public func unary(method: String, request: Data, metadata: [(String, String)], timeout: Duration?) async throws -> Data {
        guard method.hasSuffix("/" + self.method) else {
            return try await inner.unary(method: method, request: request, metadata: metadata, timeout: timeout)
        }
        let number = calls.withLock {
            $0 += 1
            return $0
        }
        let answer = try await inner.unary(method: method, request: request, metadata: metadata, timeout: timeout)
        if number == 1 { throw GRPCStatusError(code: .unavailable, message: "connection lost (test)") }
        return answer
    }

    public func close() {}
}
