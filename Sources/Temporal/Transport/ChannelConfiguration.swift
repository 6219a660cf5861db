#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// TLS settings for a connection to a Temporal frontend.
public struct TLSConfiguration: Sendable, Equatable {
    /// PEM root certificates that sign the server's certificate; nil uses the system bundle.
    public var serverRootCACertificate: String?
    /// PEM client certificate chain for mutual TLS (Temporal Cloud mTLS namespaces).
    public var clientCertificate: String?
    /// PEM private key of `clientCertificate`.
    public var clientPrivateKey: String?
    /// Overrides the host name checked against the server certificate; it is also the TLS
    /// server name (SNI) and the requests' `:authority`, over either transport.
    public var serverNameOverride: String?

    public init(
        serverRootCACertificate: String? = nil,
        clientCertificate: String? = nil,
        clientPrivateKey: String? = nil,
        serverNameOverride: String? = nil
    ) {
        self.serverRootCACertificate = serverRootCACertificate
        self.clientCertificate = clientCertificate
        self.clientPrivateKey = clientPrivateKey
        self.serverNameOverride = serverNameOverride
    }

    /// Reads PEM files from disk. Throws a clear error naming the unreadable file.
    public static func fromFiles(
        caFile: String? = nil, certFile: String? = nil, keyFile: String? = nil,
        serverNameOverride: String? = nil
    ) throws -> TLSConfiguration {
        func read(_ path: String?, _ what: String) throws -> String? {
            guard let path else { return nil }
            guard let text = try? String(contentsOfFile: path, encoding: .utf8) else {
                throw TemporalError(
                    code: .invalidArgument, message: "cannot read the \(what) file '\(path)': check the path and its permissions")
            }
            return text
        }
        return TLSConfiguration(
            serverRootCACertificate: try read(caFile, "TLS CA certificate"),
            clientCertificate: try read(certFile, "TLS client certificate"),
            clientPrivateKey: try read(keyFile, "TLS client key"),
            serverNameOverride: serverNameOverride)
    }
}

/// Transport settings of a gRPC channel, with the Go SDK's defaults.
public struct ChannelConfiguration: Sendable, Equatable {
    /// nil = plaintext.
    public var tls: TLSConfiguration?
    /// Keepalive ping interval (default 30 s) and ping-ack timeout (default 15 s). At least
    /// 10 s against a Temporal frontend, which answers pings more often than that with GOAWAY
    /// (`too_many_pings`), dropping every long poll of the connection.
    public var keepaliveTime: Duration = .seconds(30)
    public var keepaliveTimeout: Duration = .seconds(15)
    /// Largest message accepted from the server (default 128 MiB: history pages can be large).
    public var maxReceiveMessageBytes: Int = 128 * 1024 * 1024
    /// Largest message sent (default 128 MiB; the server enforces its own limit).
    public var maxSendMessageBytes: Int = 128 * 1024 * 1024
    /// Upper bound of the reconnect backoff (default 5 s, so a restarted server is found quickly).
    /// The gRPC core's only: `HTTP2Transport` connects again for the first call after a failed
    /// connection, and the client's retry policy (`RPCRetryPolicy`) paces those calls.
    public var maxReconnectBackoff: Duration = .seconds(5)
    /// Prefix of the user-agent header.
    public var userAgent: String = "temporal-etl-swift/\(TemporalClient.version)"
    /// What carries the calls (default the gRPC core; `TEMPORAL_TRANSPORT` for the executables).
    public var transport: TransportKind = .grpcCore

    /// The implementations of `ServiceTransport` that `TemporalClient.connect` can open.
    public enum TransportKind: String, Sendable, CaseIterable {
        /// `GRPCChannel`: libgrpc's core (TLS, name resolution, reconnect back-off).
        case grpcCore = "grpc"
        /// `HTTP2Transport`: one HTTP/2 connection framed by libnghttp2, about a fifth
        /// less CPU per workflow task under a CPU quota (BENCHMARKS.md). TLS through the system's
        /// OpenSSL.
        case http2
    }

    public init(tls: TLSConfiguration? = nil) { self.tls = tls }
}

extension Duration {
    /// Whole milliseconds, saturating.
    var milliseconds: Int64 {
        let (s, atto) = components
        let ms = Double(s) * 1000 + Double(atto) / 1e15
        return ms >= Double(Int64.max) ? Int64.max : ms <= Double(Int64.min) ? Int64.min : Int64(ms)
    }
}

extension ChannelConfiguration {
    /// Refuses a `userAgent` a header cannot carry: the transports send it on every call
    /// unchecked, and the server resets every stream then (INTERNAL, naming nothing).
    func requireSendableSettings() throws {

        guard userAgent.unicodeScalars.allSatisfy({ (0x20...0x7E).contains($0.value) }) else {
            throw TemporalError(
                code: .invalidArgument,
                message:
                    "ChannelConfiguration.userAgent \(userAgent.debugDescription) has a character a header cannot carry (a control character, a line break, non-ASCII): use printable ASCII"
            )
        }
    }
}
