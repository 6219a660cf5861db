#if canImport(FoundationEssentials)
public import FoundationEssentials
#else
public import Foundation
#endif

/// A unary call that ended with a non-OK gRPC status.
public struct GRPCStatusError: Error, Sendable, CustomStringConvertible {
    /// The status code.
    public var code: GRPCStatusCode
    /// The server's (or the local library's) status message.
    public var message: String
    /// Trailing metadata; values of `-bin` keys are raw bytes.
    public var trailers: [(key: String, value: Data)]
    /// The RPC method path, for error messages.
    public var method: String

    public init(code: GRPCStatusCode, message: String, trailers: [(key: String, value: Data)] = [], method: String = "") {
        self.code = code
        self.message = message
        self.trailers = trailers
        self.method = method
    }

    /// The first trailer named `key`.
    public func trailer(_ key: String) -> Data? {
        trailers.first(where: { $0.key == key })?.value
    }

    public var description: String {
        "\(method.isEmpty ? "gRPC call" : method) failed: \(code) \(message)"
    }
}
