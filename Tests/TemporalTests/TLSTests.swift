import Foundation
import TemporalProto
import TemporalTestSupport
import Testing

@testable import Temporal

/// TLS and mutual TLS over both transports (the gRPC core, and HTTP2Transport with OpenSSL),
/// against nginx terminating TLS in front of a dev server.
@Suite(.serialized, .enabled(if: TLSProxy.isAvailable, "needs nginx and openssl (scripts/test installs them)"))
struct TLSTests {
    static let proxy = ProxyOnce()
    typealias Kind = ChannelConfiguration.TransportKind
    var quick: RPCRetryPolicy {
        var p = RPCRetryPolicy()
        p.maximumElapsed = .seconds(2)
        return p
    }

    /// A client of `target` over `kind` with `tls`.
    func connect(_ kind: Kind, _ target: String, _ tls: TLSConfiguration) async throws -> TemporalClient {
        var channel = ChannelConfiguration(tls: tls)
        channel.transport = kind
        return try await TemporalClient.connect(target: target, tls: tls, retryPolicy: quick, channelConfiguration: channel)
    }

    @Test(arguments: Kind.allCases) func tlsWithTheServersCA(kind: Kind) async throws {
        let proxy = try await Self.proxy.get()
        let tls = TLSConfiguration(serverRootCACertificate: proxy.caPEM, serverNameOverride: proxy.serverName)
        let client = try await connect(kind, proxy.tlsAddress, tls)
        #expect(try await client.describeNamespace().namespaceInfo.name == "default")
        let transport = client.workflowService.transport
        #expect(kind == .http2 ? transport is HTTP2Transport : transport is GRPCChannel)
    }

    @Test func tlsThroughAnHTTPProxy() async throws {
        // HTTP2Transport tunnels through the proxy (CONNECT) and runs TLS inside it, checking the
        // target's name (here its address, which the certificate names).
        let proxy = try await Self.proxy.get()
        let tunnel = try ConnectProxy()
        defer { tunnel.stop() }
        let configuration = ChannelConfiguration(tls: TLSConfiguration(serverRootCACertificate: proxy.caPEM))
        let transport = try HTTP2Transport(
            target: proxy.tlsAddress, configuration: configuration, environment: ["https_proxy": tunnel.url()])
        let client = try await TemporalClient.connect(transport: transport)
        #expect(try await client.describeNamespace().namespaceInfo.name == "default")
        #expect(tunnel.requests.map(\.target) == [proxy.tlsAddress])
    }

    @Test(arguments: Kind.allCases) func messagesOfManyTLSRecordsGoBothWays(kind: Kind) async throws {
        // A 300 KB workflow input: the request and the history that carries it back span many
        // TLS records (16 KB each) and partial writes.
        let proxy = try await Self.proxy.get()
        let tls = TLSConfiguration(serverRootCACertificate: proxy.caPEM, serverNameOverride: proxy.serverName)
        let client = try await connect(kind, proxy.tlsAddress, tls)
        let input = String(repeating: "0123456789abcdef", count: 300 * 64)
        let handle = try await client.startWorkflow(
            type: "NobodyRunsThis", id: "tls-big-\(UUID())", taskQueue: "nobody-polls-\(UUID())", args: input)
        defer { Task { try? await handle.terminate(reason: "test over") } }
        let history = try await handle.fetchHistory()
        let payload = history.first?.workflowExecutionStartedEventAttributes.input.payloads.first?.data
        #expect(payload.map { String(decoding: $0, as: UTF8.self) } == "\"\(input)\"")
    }

    @Test(arguments: Kind.allCases) func tlsConfigurationFromFiles(kind: Kind) async throws {
        let proxy = try await Self.proxy.get()
        let tls = try TLSConfiguration.fromFiles(
            caFile: proxy.path.ca, certFile: proxy.path.cert, keyFile: proxy.path.key,
            serverNameOverride: proxy.serverName)
        let client = try await connect(kind, proxy.mtlsAddress, tls)
        #expect(client.systemInfo?.serverVersion.isEmpty == false)
        #expect(throws: TemporalError.self) { try TLSConfiguration.fromFiles(caFile: "/nonexistent/ca.pem") }
    }

    @Test(arguments: Kind.allCases) func untrustedServerIsRefused(kind: Kind) async throws {
        let proxy = try await Self.proxy.get()
        // System roots do not include the test CA.
        let tls = TLSConfiguration(serverNameOverride: proxy.serverName)
        do {
            _ = try await connect(kind, proxy.tlsAddress, tls)
            Issue.record("an untrusted server must be refused")
        } catch let e as TemporalError {
            #expect(e.kind == .connection)
            #expect(e.message.contains("TLS"), "\(e.message)")
            if kind == .http2 { #expect(e.message.contains("not trusted for 'temporal.test'"), "\(e.message)") }
        }
    }

    @Test(arguments: Kind.allCases) func wrongServerNameIsRefused(kind: Kind) async throws {
        let proxy = try await Self.proxy.get()
        let tls = TLSConfiguration(serverRootCACertificate: proxy.caPEM, serverNameOverride: "not-the-server.example")
        do {
            _ = try await connect(kind, proxy.tlsAddress, tls)
            Issue.record("a certificate for another name must be refused")
        } catch let e as TemporalError {
            #expect(e.kind == .connection)
            if kind == .http2 { #expect(e.message.contains("not trusted for 'not-the-server.example'"), "\(e.message)") }
        }
    }

    @Test(arguments: Kind.allCases) func anIPAddressIsCheckedAgainstTheCertificatesAddresses(kind: Kind) async throws {
        // No name override: the target's address (127.0.0.1) must be one the certificate names.
        let proxy = try await Self.proxy.get()
        let client = try await connect(kind, proxy.tlsAddress, TLSConfiguration(serverRootCACertificate: proxy.caPEM))
        #expect(try await client.describeNamespace().namespaceInfo.name == "default")
    }

    @Test(arguments: Kind.allCases) func mutualTLSWithAClientCertificate(kind: Kind) async throws {
        let proxy = try await Self.proxy.get()
        let tls = TLSConfiguration(
            serverRootCACertificate: proxy.caPEM, clientCertificate: proxy.clientCertPEM,
            clientPrivateKey: proxy.clientKeyPEM, serverNameOverride: proxy.serverName)
        let client = try await connect(kind, proxy.mtlsAddress, tls)
        #expect(try await client.describeNamespace().namespaceInfo.name == "default")
    }

    @Test(arguments: Kind.allCases) func mutualTLSWithoutAClientCertificateIsRefused(kind: Kind) async throws {
        let proxy = try await Self.proxy.get()
        let tls = TLSConfiguration(serverRootCACertificate: proxy.caPEM, serverNameOverride: proxy.serverName)
        do {
            _ = try await connect(kind, proxy.mtlsAddress, tls)
            Issue.record("expected a refusal")
        } catch let e as TemporalError {
            #expect(e.code != .ok)
        }
    }
}

actor ProxyOnce {
    private var proxy: TLSProxy?
    func get() async throws -> TLSProxy {
        if let proxy { return proxy }
        let server = try await DevServer.shared()
        let p = try await TLSProxy.start(upstream: server.address)
        proxy = p
        return p
    }
}
