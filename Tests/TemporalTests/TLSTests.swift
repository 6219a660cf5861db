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

    /// An HTTP2Transport client of `proxy`'s TLS address through `tunnel` (https_proxy), checking
    /// the certificate against the address, which it names.
    func connect(_ proxy: TLSProxy, through tunnel: ConnectProxy) async throws -> TemporalClient {
        let configuration = ChannelConfiguration(tls: TLSConfiguration(serverRootCACertificate: proxy.caPEM))
        let transport = try HTTP2Transport(
            target: proxy.tlsAddress, configuration: configuration, environment: ["https_proxy": tunnel.url()])
        // Connection errors then advise on certificates, not on starting a dev server.
        #expect(transport.usesTLS)
        return try await TemporalClient.connect(transport: transport)
    }

    /// The workflow's input as the server recorded it (its JSON text).
    func recordedInput(_ handle: WorkflowHandle) async throws -> String? {
        let history = try await handle.fetchHistory()
        let payload = history.first?.workflowExecutionStartedEventAttributes.input.payloads.first?.data
        return payload.map { String(decoding: $0, as: UTF8.self) }
    }

    @Test(arguments: Kind.allCases) func tlsWithTheServersCA(kind: Kind) async throws {
        let proxy = try await Self.proxy.get()
        let tls = TLSConfiguration(serverRootCACertificate: proxy.caPEM, serverNameOverride: proxy.serverName)
        let client = try await connect(kind, proxy.tlsAddress, tls)
        #expect(try await client.describeNamespace().namespaceInfo.name == "default")
        let transport = client.workflowService.transport
        #expect(kind == .http2 ? transport is HTTP2Transport : transport is GRPCChannel)
        // The server name override is the requests' :authority too, as gRPC core makes it (an
        // ingress routing on it would otherwise refuse the call, 404 or 421).
        #expect(proxy.requestedAuthorities.last == proxy.serverName, "\(proxy.requestedAuthorities.suffix(3))")
    }

    /// An empty server name override is no override: the target's name is checked. Before,
    /// HTTP2Transport set an empty TLS name, and every connect failed ("cannot set the name ''").
    @Test(arguments: Kind.allCases) func anEmptyServerNameOverrideIsNone(kind: Kind) async throws {
        let proxy = try await Self.proxy.get()
        let tls = TLSConfiguration(serverRootCACertificate: proxy.caPEM, serverNameOverride: "")
        let client = try await connect(kind, proxy.tlsAddress, tls)
        #expect(try await client.describeNamespace().namespaceInfo.name == "default")
    }

    @Test func tlsThroughAnHTTPProxy() async throws {
        // HTTP2Transport tunnels through the proxy (CONNECT) and runs TLS inside it, checking the
        // target's name (here its address, which the certificate names).
        let proxy = try await Self.proxy.get()
        let tunnel = try ConnectProxy()
        defer { tunnel.stop() }
        let client = try await connect(proxy, through: tunnel)
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
        #expect(try await recordedInput(handle) == "\"\(input)\"")
    }

    /// While a TLS record arrives in pieces (a slow path), HTTP2Transport's reader waits for
    /// the socket. Before, OpenSSL's read-ahead buffer held the partial record, the reader took
    /// it for readable data and polled without waiting: a core spun until the record was whole
    /// (8.8 s of CPU in 8.9 s of fetching a 200 KB history, against 0.03 s now).
    @Test func theReaderWaitsForTheRestOfATLSRecordWithoutSpinning() async throws {
        let proxy = try await Self.proxy.get()
        let tlsPort = try #require(proxy.tlsAddress.split(separator: ":").last.flatMap { Int($0) })
        let port = try DevServer.freePort()
        let script = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .appendingPathComponent("peers/trickle_proxy.py").path
        let trickle = try Watchdog.launch("/usr/bin/env python3 '\(script)' \(port) \(tlsPort) 700 0.01")
        defer { trickle.terminate() }
        let readersBefore = HTTP2ReaderThreads.ids()
        let tls = TLSConfiguration(serverRootCACertificate: proxy.caPEM, serverNameOverride: proxy.serverName)
        let client = try await within(30) {
            while true {
                if let client = try? await connect(.http2, "127.0.0.1:\(port)", tls) { return client }
                try await Task.sleep(for: .milliseconds(100))
            }
        }
        // The reader threads born while this client connected: its own (other suites' clients
        // run beside this one, and this window keeps theirs out).
        let readers = HTTP2ReaderThreads.ids().subtracting(readersBefore)
        let handle = try await client.startWorkflow(
            type: "NobodyRunsThis", id: "tls-trickle-\(UUID())", taskQueue: "nobody-polls-\(UUID())",
            args: String(repeating: "x", count: 100_000))
        defer { Task { try? await handle.terminate(reason: "test over") } }
        #expect(!readers.isEmpty, "no new h2-reader thread")
        let cpuBefore = HTTP2ReaderThreads.cpuSeconds(readers)
        let clock = ContinuousClock()
        let started = clock.now
        _ = try await handle.fetchHistory()  // ~150 trickled pieces of 700 bytes, 10 ms apart
        let wall = (clock.now - started) / .seconds(1)
        let cpu = HTTP2ReaderThreads.cpuSeconds(readers) - cpuBefore
        #expect(wall > 0.5, "the history did not trickle (\(wall) s)")
        #expect(cpu < wall / 4, "the reader used \(cpu) s of CPU in \(wall) s")
    }

    @Test func aBurstThatFillsTheSocketGoesOnWhereItStopped() async throws {
        // The tunnel stops reading for half a second, as a slow link would, while 96 calls of
        // 100 KB each are being written: HTTP2Transport's TLS writes find the socket full
        // (OpenSSL wants to write again) and must go on with the same bytes once it drains.
        // Every input is different, and every one arrives whole.
        let proxy = try await Self.proxy.get()
        let tunnel = try ConnectProxy(stall: (after: 64 * 1024, duration: .milliseconds(500)))
        defer { tunnel.stop() }
        let client = try await connect(proxy, through: tunnel)
        let queue = "nobody-polls-\(UUID())"
        let inputs = (0..<96).map { index in String(repeating: String(format: "%04d:abcdefghij_", index), count: 100 * 1024 / 16) }
        let handles = try await withThrowingTaskGroup(of: (Int, WorkflowHandle).self) { group in
            for (index, input) in inputs.enumerated() {
                group.addTask {
                    (
                        index,
                        try await client.startWorkflow(
                            type: "NobodyRunsThis", id: "tls-burst-\(index)-\(UUID())", taskQueue: queue, args: input)
                    )
                }
            }
            return try await group.reduce(into: [:]) { $0[$1.0] = $1.1 }
        }
        #expect(handles.count == inputs.count)
        // On one connection: a write that failed instead of waiting would drop the connection,
        // and the retries on a new one would hide it.
        #expect(tunnel.requests.count == 1, "the transport connected \(tunnel.requests.count) times")
        #expect(tunnel.stalls == 1, "the tunnel never stalled: the test did not fill the socket")
        for (index, handle) in handles.sorted(by: { $0.key < $1.key }) {
            defer { Task { try? await handle.terminate(reason: "test over") } }
            #expect(try await recordedInput(handle) == "\"\(inputs[index])\"", "input \(index)")
        }
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

    /// The PEMs themselves in Temporal's standard variables (a secret mounted as a variable):
    /// they were ignored, and the client connected without TLS.
    @Test func mutualTLSFromPEMsInTheEnvironment() async throws {
        let proxy = try await Self.proxy.get()
        let client = try await TemporalClient.connectFromEnvironment(
            [
                "TEMPORAL_TLS_SERVER_CA_CERT_DATA": proxy.caPEM, "TEMPORAL_TLS_CLIENT_CERT_DATA": proxy.clientCertPEM,
                "TEMPORAL_TLS_CLIENT_KEY_DATA": proxy.clientKeyPEM, "TEMPORAL_TLS_SERVER_NAME": proxy.serverName,
            ], host: proxy.mtlsAddress)
        #expect(try await client.describeNamespace().namespaceInfo.name == "default")
        client.close()
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

/// How `connectFromEnvironment` decides on TLS (no server needed).
@Suite struct TLSFromEnvironmentTests {
    @Test func anAPIKeyTurnsTLSOnUnlessTemporalTLSSaysFalse() throws {
        #expect(try !TemporalClient.tlsEnabled(fromEnvironment: [:]))
        #expect(try !TemporalClient.tlsEnabled(fromEnvironment: ["TEMPORAL_API_KEY": ""]))
        // The bearer token must not travel in clear text by default (Temporal's envconfig).
        #expect(try TemporalClient.tlsEnabled(fromEnvironment: ["TEMPORAL_API_KEY": "k"]))
        #expect(try !TemporalClient.tlsEnabled(fromEnvironment: ["TEMPORAL_API_KEY": "k", "TEMPORAL_TLS": "false"]))
        #expect(try TemporalClient.tlsEnabled(fromEnvironment: ["TEMPORAL_TLS_CA": "/ca.pem"]))
        #expect(try TemporalClient.tlsEnabled(fromEnvironment: ["TEMPORAL_TLS_CERT": "/c.pem", "TEMPORAL_TLS_KEY": "/k.pem"]))
        #expect(try !TemporalClient.tlsEnabled(fromEnvironment: ["TEMPORAL_TLS_CA": ""]))
        // A server name alone (a server whose certificate a public CA signed) asks for TLS, as
        // in Go's envconfig: it was ignored, and the client connected in plaintext.
        #expect(try TemporalClient.tlsEnabled(fromEnvironment: ["TEMPORAL_TLS_SERVER_NAME": "temporal.internal"]))
        #expect(throws: TemporalError.self) {
            try TemporalClient.tlsEnabled(fromEnvironment: ["TEMPORAL_TLS_SERVER_NAME": "temporal.internal", "TEMPORAL_TLS": "false"])
        }
    }

    /// Temporal's standard variable names (the CLI's, Go's envconfig, Temporal Cloud's docs)
    /// are read where ours are unset: `TEMPORAL_ADDRESS` used to be ignored, so the client
    /// went to localhost:7233 (with an API key's bearer token).
    @Test func temporalsStandardNamesAreRead() async throws {
        #expect(try TemporalClient.tlsEnabled(fromEnvironment: ["TEMPORAL_TLS_SERVER_CA_CERT_PATH": "/ca.pem"]))
        #expect(
            try TemporalClient.tlsEnabled(fromEnvironment: [
                "TEMPORAL_TLS_CLIENT_CERT_PATH": "/c.pem", "TEMPORAL_TLS_CLIENT_KEY_PATH": "/k.pem",
            ]))
        #expect(TemporalClient.setting(["TEMPORAL_ADDRESS": "a:1", "TEMPORAL_HOST": "h:2"], "TEMPORAL_HOST") == "h:2")
        // An error names the variable as the environment spells it.
        let conflict = #expect(throws: TemporalError.self) {
            try TemporalClient.tlsEnabled(fromEnvironment: ["TEMPORAL_TLS": "false", "TEMPORAL_TLS_CLIENT_CERT_PATH": "/c.pem"])
        }
        #expect(conflict?.message.contains("TEMPORAL_TLS_CLIENT_CERT_PATH") == true, "\(String(describing: conflict))")
        let server = try await DevServer.shared()
        let client = try await TemporalClient.connectFromEnvironment(["TEMPORAL_ADDRESS": server.address])
        #expect(client.target == server.address)
        client.close()
    }

    /// Temporal's standard variables this client does not act on are refused, naming what to
    /// set instead: set and ignored, they left another connection than the one asked for.
    @Test func standardVariablesThisClientDoesNotReadAreRefused() async throws {
        for (name, value) in [
            ("TEMPORAL_PROFILE", "prod"), ("TEMPORAL_CONFIG_FILE", "/etc/temporal.toml"),
            ("TEMPORAL_TLS_DISABLE_HOST_VERIFICATION", "true"), ("TEMPORAL_CLIENT_AUTHORITY", "temporal.test"),
            ("TEMPORAL_GRPC_META_X_TENANT", "a"),
        ] {
            let error = await #expect(throws: TemporalError.self) {
                _ = try await TemporalClient.connectFromEnvironment(
                    [name: value], host: name.hasSuffix("PROFILE") || name.hasSuffix("FILE") ? nil : "127.0.0.1:1")
            }
            #expect(error?.code == .invalidArgument && error?.message.contains(name) == true, "\(String(describing: error))")
        }
        // A profile exported for the CLI beside an address, or verification asked for: fine.
        let server = try await DevServer.shared()
        for env in [["TEMPORAL_PROFILE": "prod", "TEMPORAL_ADDRESS": server.address], ["TEMPORAL_TLS_DISABLE_HOST_VERIFICATION": "false"]] {
            let client = try await TemporalClient.connectFromEnvironment(env, host: env["TEMPORAL_ADDRESS"] == nil ? server.address : nil)
            client.close()
        }
        // A PEM given both as data and as a file: one of them would be ignored.
        let both = await #expect(throws: TemporalError.self) {
            _ = try await TemporalClient.connectFromEnvironment(
                ["TEMPORAL_TLS_SERVER_CA_CERT_DATA": "pem", "TEMPORAL_TLS_CA": "/ca.pem"], host: "127.0.0.1:1")
        }
        #expect(both?.message.contains("TEMPORAL_TLS_SERVER_CA_CERT_DATA") == true, "\(String(describing: both))")
        #expect(try TemporalClient.tlsEnabled(fromEnvironment: ["TEMPORAL_TLS_SERVER_CA_CERT_DATA": "pem"]))
    }

    /// An API key against a plaintext server: the handshake fails, and the error says that the
    /// key turned TLS on and how to turn it off.
    @Test func aRefusedHandshakeThatTheAPIKeyAskedForSaysHowToTurnItOff() async throws {
        let server = try await DevServer.shared()
        do {
            _ = try await TemporalClient.connectFromEnvironment(["TEMPORAL_API_KEY": "k"], host: server.address)
            Issue.record("expected a TLS handshake failure against the plaintext dev server")
        } catch let e as TemporalError {
            #expect(e.kind == .connection)
            #expect(e.message.contains("TEMPORAL_TLS=false"), "\(e.message)")
        }
        let plain = try await TemporalClient.connectFromEnvironment(
            ["TEMPORAL_API_KEY": "k", "TEMPORAL_TLS": "false"], host: server.address)
        plain.close()
    }

    /// `connect(target:apiKey:)` turns TLS on for a key when nothing set it, as the other SDKs
    /// do (it sent the key in the clear to a TLS-only endpoint before the connection dropped);
    /// `apiKeyWithoutTLS` keeps plaintext, and TLS or a channel configuration given wins.
    @Test func anAPIKeyGivenInCodeTurnsTLSOnToo() async throws {
        #expect(TemporalClient.channelConfiguration(nil, tls: nil, apiKey: "k", apiKeyWithoutTLS: false).0.tls != nil)
        #expect(TemporalClient.channelConfiguration(nil, tls: nil, apiKey: " \n", apiKeyWithoutTLS: false).0.tls == nil)
        #expect(TemporalClient.channelConfiguration(nil, tls: nil, apiKey: nil, apiKeyWithoutTLS: false).0.tls == nil)
        #expect(TemporalClient.channelConfiguration(nil, tls: nil, apiKey: "k", apiKeyWithoutTLS: true).0.tls == nil)
        let given = TLSConfiguration(serverNameOverride: "temporal.test")
        #expect(
            TemporalClient.channelConfiguration(nil, tls: given, apiKey: "k", apiKeyWithoutTLS: false).0.tls?.serverNameOverride
                == "temporal.test")
        let server = try await DevServer.shared()
        let refused = await #expect(throws: TemporalError.self) {
            _ = try await TemporalClient.connect(target: server.address, apiKey: "k")
        }
        #expect(refused?.message.contains("apiKeyWithoutTLS: true") == true, "\(String(describing: refused))")
        let plain = try await TemporalClient.connect(target: server.address, apiKey: "k", apiKeyWithoutTLS: true)
        plain.close()
    }

    @Test func temporalTLSTakesTheSpellingsOfABoolean() throws {
        for on in ["true", "TRUE", "1", "yes", " true "] {
            #expect(try TemporalClient.tlsEnabled(fromEnvironment: ["TEMPORAL_TLS": on]), "\(on)")
        }
        for off in ["false", "False", "0", "no"] {
            #expect(try !TemporalClient.tlsEnabled(fromEnvironment: ["TEMPORAL_TLS": off, "TEMPORAL_API_KEY": "k"]), "\(off)")
        }
    }

    @Test func aTemporalTLSThatIsNotABooleanOrContradictsTheFilesIsAClearError() {
        do {
            _ = try TemporalClient.tlsEnabled(fromEnvironment: ["TEMPORAL_TLS": "enabled"])
            Issue.record("expected an error")
        } catch let e as TemporalError {
            #expect(e.code == .invalidArgument)
            #expect(e.message.contains("TEMPORAL_TLS='enabled'") && e.message.contains("true or false"), "\(e.message)")
        } catch { Issue.record("\(error)") }
        do {
            _ = try TemporalClient.tlsEnabled(fromEnvironment: ["TEMPORAL_TLS": "false", "TEMPORAL_TLS_CERT": "/c.pem"])
            Issue.record("expected an error")
        } catch let e as TemporalError {
            #expect(e.message.contains("TEMPORAL_TLS_CERT"), "\(e.message)")
        } catch { Issue.record("\(error)") }
    }
}

/// The `h2-reader` threads of this process and their CPU time, from `/proc/self/task`.
enum HTTP2ReaderThreads {
    static func ids() -> Set<String> {
        let tasks = (try? FileManager.default.contentsOfDirectory(atPath: "/proc/self/task")) ?? []
        return Set(
            tasks.filter {
                (try? String(contentsOfFile: "/proc/self/task/\($0)/comm", encoding: .utf8))?.hasPrefix("h2-reader") == true
            })
    }

    /// utime + stime of `threads`, in seconds.
    static func cpuSeconds(_ threads: Set<String>) -> Double {
        threads.reduce(0) { total, id in
            guard let stat = try? String(contentsOfFile: "/proc/self/task/\(id)/stat", encoding: .utf8),
                let close = stat.lastIndex(of: ")")
            else { return total }
            // Fields after the command's ")": state is the 3rd field, utime the 14th, stime the 15th.
            let fields = stat[stat.index(after: close)...].split(separator: " ")
            let ticks = (Double(fields[11]) ?? 0) + (Double(fields[12]) ?? 0)
            return total + ticks / Double(sysconf(Int32(_SC_CLK_TCK)))
        }
    }
}
