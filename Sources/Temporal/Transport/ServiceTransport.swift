#if canImport(FoundationEssentials)
public import FoundationEssentials
#else
public import Foundation
#endif

/// What `WorkflowService` sends its unary calls through: serialized request in, serialized
/// response out, failures as `GRPCStatusError`. `GRPCChannel` is the real one (libgrpc);
/// `TemporalTesting`'s in-memory service implements it to run a client and worker without a
/// server.
public protocol ServiceTransport: Sendable {
    /// What the transport reaches (for error messages), e.g. `localhost:7233`.
    var target: String { get }
    /// Whether calls go over TLS (error messages then say what to check about certificates).
    var usesTLS: Bool { get }
    /// One unary call of `method` (`/package.Service/Method`).
    func unary(method: String, request: Data, metadata: [(String, String)], timeout: Duration?) async throws -> Data
    /// Ends the transport: outstanding and later calls fail with CANCELLED.
    func close()
}

extension ServiceTransport {
    public var usesTLS: Bool { false }
}

extension GRPCChannel: ServiceTransport {}
