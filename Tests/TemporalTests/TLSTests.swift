import Foundation
import Temporal
import TemporalProto
import TemporalTestSupport
import Testing

/// TLS and mutual TLS through the shim, against nginx terminating TLS in front of a dev server.
@Suite(.serialized, .enabled(if: TLSProxy.isAvailable, "needs nginx and openssl (scripts/test installs them)"))
struct TLSTests {
    static let proxy = ProxyOnce()
    var quick: RPCRetryPolicy {
        var p = RPCRetryPolicy()
        p.maximumElapsed = .seconds(2)
        return p
    }

    @Test func tlsWithTheServersCA() async throws {
        let proxy = try await Self.proxy.get()
        let tls = TLSConfiguration(serverRootCACertificate: proxy.caPEM, serverNameOverride: proxy.serverName)
        let client = try await TemporalClient.connect(target: proxy.tlsAddress, tls: tls, retryPolicy: quick)
        #expect(try await client.describeNamespace().namespaceInfo.name == "default")
    }

    @Test func tlsConfigurationFromFiles() async throws {
        let proxy = try await Self.proxy.get()
        let tls = try TLSConfiguration.fromFiles(
            caFile: proxy.path.ca, certFile: proxy.path.cert, keyFile: proxy.path.key,
            serverNameOverride: proxy.serverName)
        let client = try await TemporalClient.connect(target: proxy.mtlsAddress, tls: tls, retryPolicy: quick)
        #expect(client.systemInfo?.serverVersion.isEmpty == false)
        #expect(throws: TemporalError.self) { try TLSConfiguration.fromFiles(caFile: "/nonexistent/ca.pem") }
    }

    @Test func untrustedServerIsRefused() async throws {
        let proxy = try await Self.proxy.get()
        // System roots do not include the test CA.
        let tls = TLSConfiguration(serverNameOverride: proxy.serverName)
        do {
            _ = try await TemporalClient.connect(target: proxy.tlsAddress, tls: tls, retryPolicy: quick)
            Issue.record("an untrusted server must be refused")
        } catch let e as TemporalError {
            #expect(e.kind == .connection)
            #expect(e.message.contains("TLS"), "\(e.message)")
        }
    }

    @Test func wrongServerNameIsRefused() async throws {
        let proxy = try await Self.proxy.get()
        let tls = TLSConfiguration(serverRootCACertificate: proxy.caPEM, serverNameOverride: "not-the-server.example")
        await #expect(throws: TemporalError.self) {
            _ = try await TemporalClient.connect(target: proxy.tlsAddress, tls: tls, retryPolicy: quick)
        }
    }

    @Test func mutualTLSWithAClientCertificate() async throws {
        let proxy = try await Self.proxy.get()
        let tls = TLSConfiguration(
            serverRootCACertificate: proxy.caPEM, clientCertificate: proxy.clientCertPEM,
            clientPrivateKey: proxy.clientKeyPEM, serverNameOverride: proxy.serverName)
        let client = try await TemporalClient.connect(target: proxy.mtlsAddress, tls: tls, retryPolicy: quick)
        #expect(try await client.describeNamespace().namespaceInfo.name == "default")
    }

    @Test func mutualTLSWithoutAClientCertificateIsRefused() async throws {
        let proxy = try await Self.proxy.get()
        let tls = TLSConfiguration(serverRootCACertificate: proxy.caPEM, serverNameOverride: proxy.serverName)
        do {
            _ = try await TemporalClient.connect(target: proxy.mtlsAddress, tls: tls, retryPolicy: quick)
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
