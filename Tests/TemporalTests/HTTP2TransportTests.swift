import CHTTP2
import Foundation
import Synchronization
import TemporalProto
import TemporalTestSupport
import Testing

@testable import Temporal

/// What only `HTTP2Transport` has to do itself (the gRPC core does it for `GRPCChannel`):
/// keepalive, following a GOAWAY, reconnecting, error details, and how it is chosen.
@Suite struct HTTP2TransportTests {
    static let getSystemInfo = "/temporal.api.workflowservice.v1.WorkflowService/GetSystemInfo"

    @Test func anUnansweredKeepalivePingDropsTheConnection() async throws {
        // The listener accepts and never sends a byte: without a deadline only the keepalive
        // ping (sent after 200 ms of silence, given up on 300 ms later) ends the call.
        let silent = try SilentListener()
        var configuration = ChannelConfiguration()
        configuration.keepaliveTime = .milliseconds(200)
        configuration.keepaliveTimeout = .milliseconds(300)
        let transport = try HTTP2Transport(target: silent.address, configuration: configuration)
        let start = ContinuousClock.now
        do {
            _ = try await transport.unary(method: Self.getSystemInfo, request: Data(), metadata: [], timeout: nil)
            Issue.record("expected UNAVAILABLE")
        } catch let e as GRPCStatusError {
            #expect(e.code == .unavailable)
            #expect(e.message.contains("connection"), "\(e.message)")
        }
        #expect(ContinuousClock.now - start < .seconds(10))
    }

    @Test func aCallWaitingForAConnectionEndsAtItsDeadline() async throws {
        // The connect hangs (the port's backlog is full, SYNs are dropped): it runs on a thread
        // of its own, so the caller is not held and the call still ends at its 300 ms deadline,
        // long before the 20 s connect timeout.
        let listener = try SilentListener(fullBacklog: true)
        let transport = try HTTP2Transport(target: listener.address)
        let start = ContinuousClock.now
        do {
            _ = try await transport.unary(method: Self.getSystemInfo, request: Data(), metadata: [], timeout: .milliseconds(300))
            Issue.record("expected DEADLINE_EXCEEDED")
        } catch let e as GRPCStatusError {
            #expect(e.code == .deadlineExceeded, "\(e)")
        }
        #expect(ContinuousClock.now - start < .seconds(5))
        #expect(transport.connectionsOpened == 0)
        transport.close()
    }

    @Test(.timeLimit(.minutes(1)))
    func callsQueuedBehindTheStreamLimitStillEndAtTheirDeadline() async throws {
        // A peer that never sends SETTINGS gets at most 100 streams (nghttp2's assumption until
        // it hears otherwise): of 150 calls, 50 wait inside nghttp2 without a stream. They must
        // end at their deadline too (their queued HEADERS are dropped), not wait for a slot.
        let silent = try SilentListener()
        let transport = try HTTP2Transport(target: silent.address)
        defer { transport.close() }
        let start = ContinuousClock.now
        let codes = try await withThrowingTaskGroup(of: GRPCStatusCode?.self) { group in
            for _ in 0..<150 {
                group.addTask {
                    do {
                        _ = try await transport.unary(
                            method: Self.getSystemInfo, request: Data(), metadata: [], timeout: .milliseconds(500))
                        return nil
                    } catch let e as GRPCStatusError {
                        return e.code
                    }
                }
            }
            var codes: [GRPCStatusCode?] = []
            for try await code in group { codes.append(code) }
            return codes
        }
        #expect(codes.count == 150)
        #expect(codes.allSatisfy { $0 == .deadlineExceeded }, "\(Set(codes.map { String(describing: $0) }))")
        #expect(ContinuousClock.now - start < .seconds(10))
    }

    @Test(.timeLimit(.minutes(2)))
    func aGoAwayMovesLaterCallsToANewConnectionWhileEarlierOnesFinish() async throws {
        // The frontend sends GOAWAY once a connection is a second old; a long poll started on
        // the first connection keeps running there (the server grants it a grace period).
        let server = try await DevServer.start(extraArguments: [
            "--dynamic-config-value", "frontend.keepAliveMaxConnectionAge=\"1s\"",
        ])
        defer { server.stop() }
        let transport = try HTTP2Transport(target: server.address)
        defer { transport.close() }
        let request = try TransportTests.idlePoll()
        let longPoll = Task {
            try await transport.unary(
                method: TransportTests.pollActivityTasks,
                request: request, metadata: [("temporal-namespace", "default")], timeout: .seconds(20))
        }
        // Calls go on until the frontend has sent a few GOAWAYs (about one a second): counted
        // in calls and connections, not in seconds, so a loaded machine only makes it slower.
        var calls = 0
        let limit = ContinuousClock.now + .seconds(60)
        while calls < 20 || transport.connectionsOpened < 3, ContinuousClock.now < limit {
            _ = try await transport.unary(method: Self.getSystemInfo, request: Data(), metadata: [], timeout: .seconds(10))
            calls += 1
            try await Task.sleep(for: .milliseconds(50))
        }
        #expect(calls >= 20)
        #expect(transport.connectionsOpened >= 3, "a GOAWAY about every second")
        longPoll.cancel()
        do {
            _ = try await longPoll.value
        } catch let e as GRPCStatusError {
            // Cancelled by us, not failed by the connection's end.
            #expect(e.code == .cancelled, "\(e)")
        }
    }

    @Test(.timeLimit(.minutes(3)))
    func aRestartedServerIsReachedAgain() async throws {
        let db = FileManager.default.temporaryDirectory.appendingPathComponent("h2-restart-\(UUID()).db").path
        defer { try? FileManager.default.removeItem(atPath: db) }
        var server = try await DevServer.start(dbFile: db)
        let transport = try HTTP2Transport(target: server.address)
        defer { transport.close() }
        _ = try await transport.unary(method: Self.getSystemInfo, request: Data(), metadata: [], timeout: .seconds(10))
        server = try await server.restart()
        defer { server.stop() }
        var failures: [GRPCStatusCode] = []
        var ok = false
        for _ in 0..<50 where !ok {
            do {
                _ = try await transport.unary(method: Self.getSystemInfo, request: Data(), metadata: [], timeout: .seconds(10))
                ok = true
            } catch let e as GRPCStatusError {
                failures.append(e.code)
                try await Task.sleep(for: .milliseconds(200))
            }
        }
        #expect(ok)
        #expect(failures.allSatisfy { $0 == .unavailable }, "\(failures)")
        #expect(transport.connectionsOpened == 2)
    }

    @Test func errorDetailsReachTheClient() async throws {
        // WorkflowExecutionAlreadyStartedFailure travels in grpc-status-details-bin (base64 on
        // the wire): the client reads the running workflow's run ID from it.
        let server = try await DevServer.shared()
        var configuration = ChannelConfiguration()
        configuration.transport = .http2
        let client = try await TemporalClient.connect(target: server.address, channelConfiguration: configuration)
        let id = "h2-dup-\(UUID())"
        let queue = "h2-nobody-\(UUID())"
        let first = try await client.startWorkflow(type: "Nothing", id: id, taskQueue: queue)
        do {
            _ = try await client.startWorkflow(type: "Nothing", id: id, taskQueue: queue)
            Issue.record("expected already-started")
        } catch let e as TemporalError {
            #expect(e.code == .alreadyExists)
            #expect(e.alreadyStartedRunID == first.resultRunID)
        }
        try await first.terminate(reason: "test done")
    }

    @Test func theEnvironmentPicksTheTransport() async throws {
        let server = try await DevServer.shared()
        let client = try await TemporalClient.connectFromEnvironment(
            ["TEMPORAL_TRANSPORT": "http2"], host: server.address)
        #expect(client.workflowService.transport is HTTP2Transport)
        do {
            _ = try await TemporalClient.connectFromEnvironment(["TEMPORAL_TRANSPORT": "quic"], host: server.address)
            Issue.record("expected an error")
        } catch let e as TemporalError {
            #expect(e.message.contains("TEMPORAL_TRANSPORT='quic'") && e.message.contains("grpc, http2"), "\(e.message)")
        }
    }

    @Test func aTLSConfigurationThatDoesNotLoadIsAClearError() throws {
        // Checked when the transport is made, before any connection: what is wrong and where.
        let cases: [(TLSConfiguration, String)] = [
            (TLSConfiguration(serverRootCACertificate: "not a PEM"), "root CA PEM holds no certificate"),
            (TLSConfiguration(clientCertificate: "not a PEM"), "needs its private key"),
            (TLSConfiguration(clientCertificate: "not a PEM", clientPrivateKey: "not a PEM"), "client certificate PEM does not load"),
        ]
        for (tls, expected) in cases {
            do {
                _ = try HTTP2Transport(target: "127.0.0.1:1", configuration: ChannelConfiguration(tls: tls))
                Issue.record("expected an error mentioning '\(expected)'")
            } catch let e as TemporalError {
                #expect(e.message.contains(expected), "\(e.message)")
            }
        }
    }

    // A REFUSED_STREAM reset promises the server did not process the call, so the call goes
    // again by itself. (The gRPC core, 1.51, retries calls refused by a GOAWAY transparently —
    // see TransportTests — but fails these with UNAVAILABLE.)

    @Test func aRefusedCallGoesAgainTransparently() async throws {
        // RST_STREAM REFUSED_STREAM (a server over its stream limit) promises the call was not
        // processed: the second try, on the same connection, is answered.
        let server = try ScriptedHTTP2Server { _, call in call == 0 ? .refuse : .answer }
        defer { server.stop() }
        let channel = try HTTP2Transport(target: server.address)
        defer { channel.close() }
        _ = try await channel.unary(method: Self.getSystemInfo, request: Data(), metadata: [], timeout: .seconds(10))
        #expect(server.calls == 2)
        #expect(server.connections == 1)
    }

    @Test func aCallRefusedEveryTimeEndsUnavailable() async throws {
        // Transparent retries are bounded: a server that refuses everything gets a few tries of
        // one call, then the caller sees UNAVAILABLE (which the client's retry policy handles).
        let server = try ScriptedHTTP2Server { _, _ in .refuse }
        defer { server.stop() }
        try await Self.expectUnavailable(server)
        #expect(server.calls == 4, "one try and 3 transparent retries, not \(server.calls)")
    }

    @Test func aCallTheServerBeganToAnswerIsNotRetried() async throws {
        // Response headers came first: the server may have processed the call, so a later
        // REFUSED_STREAM must not send it again (it could run twice).
        let server = try ScriptedHTTP2Server { _, call in call == 0 ? .beginThenRefuse : .answer }
        defer { server.stop() }
        try await Self.expectUnavailable(server)
        #expect(server.calls == 1)
    }

    /// "No limit" (`Int.max`) for received messages works: the limit plus the gRPC prefix
    /// wrapped negative, and every response was refused as too large.
    @Test func anUnlimitedReceiveSizeAcceptsResponses() async throws {
        let server = try ScriptedHTTP2Server { _, _ in .answer }
        defer { server.stop() }
        var configuration = ChannelConfiguration()
        configuration.maxReceiveMessageBytes = .max
        let transport = try HTTP2Transport(target: server.address, configuration: configuration)
        let answer = try await transport.unary(method: Self.getSystemInfo, request: Data(), metadata: [], timeout: .seconds(10))
        #expect(answer.isEmpty)
        #expect(!transport.usesTLS)
    }

    /// Metadata over nghttp2's 64 KiB header block limit fails at once with RESOURCE_EXHAUSTED,
    /// which is not retried; it was UNAVAILABLE, retried until the call's budget ran out.
    @Test func metadataTooLargeToSendIsNotRetried() async throws {
        let server = try ScriptedHTTP2Server { _, _ in .answer }
        defer { server.stop() }
        let transport = try HTTP2Transport(target: server.address)
        do {
            _ = try await transport.unary(
                method: Self.getSystemInfo, request: Data(), metadata: [("authorization", String(repeating: "k", count: 70_000))],
                timeout: .seconds(10))
            Issue.record("expected RESOURCE_EXHAUSTED")
        } catch let e as GRPCStatusError {
            #expect(e.code == .resourceExhausted && e.message.contains("too large"), "\(e)")
        }
        #expect(server.calls == 0)
    }

    /// Timeouts become whole milliseconds, saturating both ways (a huge negative one trapped).
    @Test func durationsSaturateToMilliseconds() {
        #expect(Duration.seconds(Int64.min).milliseconds == Int64.min)
        #expect(Duration.seconds(Int64.max).milliseconds == Int64.max)
        #expect(Duration.milliseconds(1_500).milliseconds == 1_500)
    }

    /// A server (or proxy) that answers OK without a response message: both transports fail
    /// the call (INTERNAL). It came back as an empty response, which decodes as a default one.
    @Test func anOKWithoutAMessageIsAnError() async throws {
        let server = try ScriptedHTTP2Server { _, _ in .answerWithoutMessage }
        defer { server.stop() }
        let transports: [any ServiceTransport] = [try HTTP2Transport(target: server.address), try GRPCChannel(target: server.address)]
        for transport in transports {
            defer { transport.close() }
            do {
                _ = try await transport.unary(method: Self.getSystemInfo, request: Data(), metadata: [], timeout: .seconds(10))
                Issue.record("\(type(of: transport)): an OK without a message was taken for a response")
            } catch let error as GRPCStatusError {
                #expect(error.code == .internal && error.message.contains("without a response message"), "\(type(of: transport)): \(error)")
            }
        }
    }

    /// Trailers without grpc-status (a proxy, or a server that is not a gRPC one): UNKNOWN, which
    /// is retried, as grpc-go reads them. HTTP2Transport made it INTERNAL, which is not; behind
    /// `GRPCChannel`, Debian's libgrpc 1.51 aborted the whole process (its retry filter reads the
    /// missing status), which the channel now runs without.
    /// Settings of zero or less mean what they mean to the gRPC core transport: the defaults
    /// (128 MiB messages, 30 s keepalive). `-1` (gRPC's "unlimited") was a 4 MiB limit over
    /// HTTP/2 only, and a negative keepalive no pings at all.
    @Test func settingsOfZeroOrLessAreTheDefaults() {
        var configuration = ChannelConfiguration()
        configuration.maxReceiveMessageBytes = -1
        configuration.maxSendMessageBytes = 0
        configuration.keepaliveTime = .seconds(-1)
        let options = HTTP2Transport.options(configuration)
        #expect(options.max_receive_message_bytes == 128 * 1024 * 1024)
        #expect(options.max_send_message_bytes == 128 * 1024 * 1024)
        #expect(options.keepalive_time_ms == 30_000)
        configuration.maxReceiveMessageBytes = 1_000
        #expect(HTTP2Transport.options(configuration).max_receive_message_bytes == 1_000)
    }

    /// A stream ended by its DATA frame, without trailers, is UNKNOWN too (retried), as gRPC core
    /// reads it: it was INTERNAL ("the server reset the call"), which nothing retries.
    @Test(arguments: [ScriptedHTTP2Server.Action.answerWithoutStatus, .answerWithoutTrailers])
    func trailersWithoutAStatusAreUnknown(action: ScriptedHTTP2Server.Action) async throws {
        let server = try ScriptedHTTP2Server { _, _ in action }
        defer { server.stop() }
        let transports: [any ServiceTransport] = [try HTTP2Transport(target: server.address), try GRPCChannel(target: server.address)]
        for transport in transports {
            defer { transport.close() }
            do {
                _ = try await transport.unary(method: Self.getSystemInfo, request: Data(), metadata: [], timeout: .seconds(10))
                Issue.record("\(type(of: transport)): trailers without a status were taken for a response")
            } catch let error as GRPCStatusError {
                #expect(error.code == .unknown, "\(type(of: transport)): \(error)")
                if transport is HTTP2Transport { #expect(error.message.contains("without a gRPC status"), "\(error)") }
            }
        }
    }

    /// The connection announces a header list limit, so a server sends no header longer than
    /// nghttp2 takes: one (a long grpc-message) ended the connection and every call on it, on
    /// every retry. A server that honours the limit resets that one call instead.
    @Test func theConnectionAnnouncesAHeaderListLimit() async throws {
        let server = try ScriptedHTTP2Server { _, _ in .answer }
        defer { server.stop() }
        let transport = try HTTP2Transport(target: server.address)
        defer { transport.close() }
        _ = try await transport.unary(method: Self.getSystemInfo, request: Data(), metadata: [], timeout: .seconds(10))
        #expect(server.clientSettings[6] == 65_536, "\(server.clientSettings)")
    }

    /// A grpc-message that begins or ends with a space (grpc-go sends spaces as they are) reaches
    /// the caller, as over the gRPC core: nghttp2 (1.50 on) drops such a header by RFC 9113's
    /// field-value rule unless told not to, and the call failed with its code and no message.
    @Test func aMessageWithSpacesAroundItReachesTheCaller() async throws {
        for (transport, error) in try await Self.failuresOverBothTransports(status: 3, message: " query failed: ") {
            #expect(
                error?.code == .invalidArgument && error?.message.contains(" query failed: ") == true,
                "\(transport): \(String(describing: error))")
        }
    }

    /// What a trailers-only answer with `status` and `message` fails a call with, over the HTTP/2
    /// transport and over the gRPC core.
    static func failuresOverBothTransports(status: Int, message: String) async throws -> [(String, GRPCStatusError?)] {
        let server = try ScriptedHTTP2Server { _, _ in .trailersOnlyWithMessage(status: status, message: message) }
        defer { server.stop() }
        let transports: [any ServiceTransport] = [try HTTP2Transport(target: server.address), try GRPCChannel(target: server.address)]
        var failures: [(String, GRPCStatusError?)] = []
        for transport in transports {
            defer { transport.close() }
            failures.append(("\(type(of: transport))", try await failure(of: transport)))
        }
        return failures
    }

    /// A grpc-status outside gRPC's codes (a proxy's own) is UNKNOWN, and the message keeps the
    /// number, over both transports: the HTTP/2 transport made it UNKNOWN in C and lost it.
    @Test func aStatusOutsideGRPCsCodesKeepsItsNumber() async throws {
        for (transport, error) in try await Self.failuresOverBothTransports(status: 42, message: "proxy says no") {
            #expect(
                error?.code == .unknown && error?.message.contains("proxy says no") == true
                    && error?.message.contains("grpc-status 42") == true,
                "\(transport): \(String(describing: error))")
        }
    }

    /// A call reset INTERNAL before any header (how grpc-go ends a call whose failure message
    /// does not fit the header list limit: its trailers-only answer is never sent) says why and
    /// what shows the failure; the hint was given only after response headers.
    @Test func aResetBeforeAnyHeaderSaysTheFailureMayNotFit() async throws {
        let server = try ScriptedHTTP2Server { _, _ in .resetBeforeHeaders }
        defer { server.stop() }
        let transport = try HTTP2Transport(target: server.address)
        defer { transport.close() }
        let error = try await Self.failure(of: transport)
        #expect(error?.code == .internal && error?.message.contains("TEMPORAL_TRANSPORT=grpc") == true, "\(String(describing: error))")
    }

    /// An API key read from a secret file ends with a newline: it is trimmed. One with a line
    /// break inside is refused, saying so, before any call.
    @Test func anAPIKeyIsTrimmedAndOneWithALineBreakRefused() async throws {
        let server = try ScriptedHTTP2Server { _, _ in .answer }
        defer { server.stop() }
        let client = try await TemporalClient.connect(transport: try HTTP2Transport(target: server.address), apiKey: "s3cret-key\n")
        client.close()
        do {
            _ = try await TemporalClient.connect(transport: try HTTP2Transport(target: server.address), apiKey: "s3cret\nkey")
            Issue.record("a key with a line break was sent")
        } catch let error as TemporalError {
            #expect(error.code == .invalidArgument && error.message.contains("TEMPORAL_API_KEY"), "\(error)")
        }
    }

    /// Targets as `GRPCChannel` takes them work; others are refused when the transport is made,
    /// saying why. Before, `dns:///host:port` and an unbracketed IPv6 address failed at the first
    /// call, after the 10 s connect budget, as "cannot resolve".
    @Test func targetsAreReadAsGRPCChannelReadsThem() throws {
        #expect(try HTTP2Transport.hostAndPort(of: "dns:///localhost:7233") == ("localhost", "7233"))
        #expect(try HTTP2Transport.hostAndPort(of: "[::1]:7233") == ("::1", "7233"))
        #expect(try HTTP2Transport.hostAndPort(of: "temporal.example:443") == ("temporal.example", "443"))
        // With TLS, a host alone is port 443, as the gRPC core dials it (it was refused here only).
        #expect(try HTTP2Transport.hostAndPort(of: "temporal.example", usesTLS: true) == ("temporal.example", "443"))
        #expect(try HTTP2Transport.hostAndPort(of: "dns:///temporal.example", usesTLS: true) == ("temporal.example", "443"))
        // A bracketed IPv6 address alone too (it was "an unclosed or empty [IPv6] address").
        #expect(try HTTP2Transport.hostAndPort(of: "[::1]", usesTLS: true) == ("::1", "443"))
        let bracketed = #expect(throws: TemporalError.self) { try HTTP2Transport.hostAndPort(of: "[::1]") }
        #expect(bracketed?.message.contains("has no port") == true, "\(String(describing: bracketed))")
        for bad in ["localhost", "::1:7233", "localhost:http", ":7233", "localhost:0", "[::1:7233", "http://localhost:7233"] {
            #expect(throws: TemporalError.self, "\(bad)") { try HTTP2Transport.hostAndPort(of: bad) }
        }
    }

    /// The gRPC core channel refuses the same mistakes when it is opened: before, `localhost`
    /// dialled port 443 and `http://localhost:7233` failed to resolve, both at every call, and a
    /// worker waiting for its server waited for ever.
    @Test func theGRPCCoreChannelRefusesAURLOrANameWithoutItsPort() throws {
        for (bad, says) in [
            ("localhost", "has no port"), ("http://localhost:7233", "is a URL"), ("HTTPS://temporal.example:443", "is a URL"),
            ("dns:///localhost", "has no port"), ("::1:7233", "IPv6 address without brackets"),
            ("tcp://temporal:7233", "has a scheme gRPC does not resolve"), ("vsock:3:7233", "is a vsock address"),
        ] {
            do {
                _ = try GRPCChannel(target: bad)
                Issue.record("\(bad) was taken")
            } catch let error as TemporalError {
                #expect(error.code == .invalidArgument && error.message.contains(says), "\(bad): \(error)")
            }
        }
        for good in [
            "localhost:7233", "dns:///localhost:7233", "DNS:///localhost:7233", "[::1]:7233", "unix:/tmp/temporal.sock",
            "ipv4:127.0.0.1:7233", "passthrough:///localhost:7233", "dns://8.8.8.8/temporal.example:7233",
        ] {
            #expect(throws: Never.self, "\(good)") { try GRPCChannel.requireTarget(good) }
        }
        // With TLS, a name without its port is one on 443 (an ingress), as gRPC dials it.
        #expect(throws: Never.self) { try GRPCChannel.requireTarget("temporal.example.com", usesTLS: true) }
        #expect(throws: TemporalError.self) { try GRPCChannel.requireTarget("temporal.example.com") }
    }

    @Test func aCallQueuedBehindTheStreamLimitGoesAgainWhenTheConnectionDrops() async throws {
        // The server allows one stream at a time, holds the second call and then drops the
        // connection. The third call was still queued in the client (its HEADERS never left):
        // the server never saw it, so it goes again on a new connection and is answered. The
        // held call may have been processed: it ends UNAVAILABLE. (libgrpc 1.51 fails the queued
        // call too, with UNAVAILABLE "Broken pipe".)
        let server = try ScriptedHTTP2Server(maxConcurrentStreams: 1) { connection, call in
            connection == 0 && call == 1 ? .dropConnection(after: .milliseconds(500)) : .answer
        }
        defer { server.stop() }
        let channel = try HTTP2Transport(target: server.address)
        defer { channel.close() }
        // The first call: the client has the server's SETTINGS (its stream limit) from here on.
        _ = try await channel.unary(method: Self.getSystemInfo, request: Data(), metadata: [], timeout: .seconds(10))
        async let held: Data = channel.unary(method: Self.getSystemInfo, request: Data(), metadata: [], timeout: .seconds(10))
        try await within(10) { while server.calls < 2 { try await Task.sleep(for: .milliseconds(5)) } }
        #expect(server.calls == 2, "the held call reached the server")
        async let queued: Data = channel.unary(method: Self.getSystemInfo, request: Data(), metadata: [], timeout: .seconds(10))
        do {
            _ = try await held
            Issue.record("the held call should end UNAVAILABLE")
        } catch let e as GRPCStatusError {
            #expect(e.code == .unavailable, "\(e)")
        }
        _ = try await queued
        #expect(server.connections == 2)
        #expect(server.calls == 3)
    }

    /// A call lost with a connection the server closed after a GOAWAY with a reason (grpc-go's
    /// ENHANCE_YOUR_CALM "too_many_pings") says so; it said only that the connection was lost.
    @Test func aGoAwaysReasonIsInTheLostCallsMessage() async throws {
        let server = try ScriptedHTTP2Server { connection, call in
            connection == 0 && call == 1 ? .tooManyPings(after: .milliseconds(200)) : .answer
        }
        defer { server.stop() }
        let channel = try HTTP2Transport(target: server.address)
        defer { channel.close() }
        _ = try await channel.unary(method: Self.getSystemInfo, request: Data(), metadata: [], timeout: .seconds(10))
        do {
            _ = try await channel.unary(method: Self.getSystemInfo, request: Data(), metadata: [], timeout: .seconds(10))
            Issue.record("expected UNAVAILABLE")
        } catch let e as GRPCStatusError {
            #expect(e.code == .unavailable, "\(e)")
            #expect(e.message.contains("the server had said GOAWAY, HTTP/2 error 11: too_many_pings"), "\(e.message)")
        }
    }

    @Test func aCallQueuedBehindTheStreamLimitMovesToANewConnectionAfterAGoAway() async throws {
        // One stream at a time. The server holds the second call, then (with the third queued in
        // the client) says GOAWAY but keeps the held call for 10 s more (a long poll draining).
        // The queued call would wait for that stream only to be refused: it goes to a new
        // connection at once and is answered there first.
        let server = try ScriptedHTTP2Server(maxConcurrentStreams: 1) { connection, call in
            connection == 0 && call == 1 ? .drain(goAwayAfter: .milliseconds(500), answerAfter: .seconds(10)) : .answer
        }
        defer { server.stop() }
        let channel = try HTTP2Transport(target: server.address)
        defer { channel.close() }
        _ = try await channel.unary(method: Self.getSystemInfo, request: Data(), metadata: [], timeout: .seconds(10))
        async let held = channel.unary(method: Self.getSystemInfo, request: Data(), metadata: [], timeout: .seconds(30))
        try await within(10) { while server.calls < 2 { try await Task.sleep(for: .milliseconds(5)) } }
        #expect(server.calls == 2, "the held call reached the server")
        let clock = ContinuousClock()
        let start = clock.now
        _ = try await channel.unary(method: Self.getSystemInfo, request: Data(), metadata: [], timeout: .seconds(10))
        // The held call is answered 10 s after the GOAWAY; waiting for its stream would take as long.
        let waited = clock.now - start
        #expect(waited < .seconds(5), "the queued call waited \(waited) for the held call's stream")
        #expect(server.connections == 2)
        _ = try await held
        #expect(server.calls == 3)
    }

    /// A server that answers with its status before taking the whole request, and neither
    /// resets the stream nor opens its window, left the call waiting for its deadline, which
    /// then hid the server's status (DEADLINE_EXCEEDED for RESOURCE_EXHAUSTED). The call ends
    /// with the server's status at once.
    @Test func aStatusBeforeTheWholeRequestEndsTheCallAtOnce() async throws {
        let server = try ScriptedHTTP2Server { _, _ in .trailersOnlyAtOnce(status: 8) }
        defer { server.stop() }
        let channel = try HTTP2Transport(target: server.address)
        defer { channel.close() }
        let start = ContinuousClock.now
        do {
            _ = try await channel.unary(method: Self.getSystemInfo, request: Data(count: 200_000), metadata: [], timeout: .seconds(5))
            Issue.record("the call should end RESOURCE_EXHAUSTED")
        } catch let e as GRPCStatusError {
            #expect(e.code == .resourceExhausted, "\(e)")
        }
        #expect(ContinuousClock.now - start < .seconds(3))
        // The connection serves the next call.
        await #expect(throws: GRPCStatusError.self) {
            _ = try await channel.unary(method: Self.getSystemInfo, request: Data(), metadata: [], timeout: .seconds(5))
        }
        #expect(server.connections == 1)
    }

    /// A grpc-status in the response headers, then a reset: the call passed as OK.
    @Test func aStatusThatDoesNotEndTheStreamDoesNotCount() async throws {
        let server = try ScriptedHTTP2Server { _, _ in .statusInHeadersThenReset }
        defer { server.stop() }
        let channel = try HTTP2Transport(target: server.address)
        defer { channel.close() }
        do {
            _ = try await channel.unary(method: Self.getSystemInfo, request: Data(), metadata: [], timeout: .seconds(5))
            Issue.record("a reset call should fail")
        } catch let e as GRPCStatusError {
            #expect(e.code == .internal, "\(e)")
        }
    }

    /// One call through a new transport to `server` ends UNAVAILABLE.
    static func expectUnavailable(_ server: ScriptedHTTP2Server) async throws {
        let channel = try HTTP2Transport(target: server.address)
        defer { channel.close() }
        let e = try await failure(of: channel)
        #expect(e?.code == .unavailable, "\(String(describing: e))")
    }

    /// How a GetSystemInfo call over `transport` failed (an issue recorded when it did not).
    static func failure(of transport: any ServiceTransport) async throws -> GRPCStatusError? {
        do {
            _ = try await transport.unary(method: getSystemInfo, request: Data(), metadata: [], timeout: .seconds(10))
            Issue.record("\(type(of: transport)): a failure was taken for a response")
            return nil
        } catch let error as GRPCStatusError {
            return error
        }
    }
}

/// HTTP proxies from the environment, as the gRPC core reads them.
@Suite struct HTTP2TransportProxyTests {
    static let getSystemInfo = "/temporal.api.workflowservice.v1.WorkflowService/GetSystemInfo"

    @Test func callsGoThroughTheProxyTheEnvironmentNames() async throws {
        let server = try await DevServer.shared()
        let proxy = try ConnectProxy()
        defer { proxy.stop() }
        let environment = ["https_proxy": proxy.url(credentials: "worker:s%40cret")]
        let channel = try HTTP2Transport(target: server.address, configuration: ChannelConfiguration(), environment: environment)
        defer { channel.close() }
        _ = try await channel.unary(method: Self.getSystemInfo, request: Data(), metadata: [], timeout: .seconds(10))
        let requests = proxy.requests
        #expect(requests.count == 1)
        #expect(requests.first?.target == server.address)
        // "worker:s@cret" in base64.
        #expect(requests.first?.authorization == "Basic d29ya2VyOnNAY3JldA==")
    }

    @Test func noProxyHostsAreReachedDirectly() async throws {
        let server = try await DevServer.shared()
        let proxy = try ConnectProxy()
        defer { proxy.stop() }
        // The control first: a list that does not name the host leaves the proxy in the way.
        for list in ["example.com", "127.0.0.1", "*", "example.com, 127.0.0.1"] {
            let environment = ["grpc_proxy": proxy.url(), "no_proxy": list]
            let channel = try HTTP2Transport(target: server.address, configuration: ChannelConfiguration(), environment: environment)
            _ = try await channel.unary(method: Self.getSystemInfo, request: Data(), metadata: [], timeout: .seconds(10))
            channel.close()
        }
        #expect(proxy.requests.count == 1, "only the call to a host the list does not name is tunnelled")
        #expect(HTTPProxySetting.bypasses("api.temporal.io", ".temporal.io"))
        #expect(HTTPProxySetting.bypasses("api.temporal.io", "temporal.io"))
        #expect(!HTTPProxySetting.bypasses("eviltemporal.io", "temporal.io"))
    }

    @Test func theProxyVariablesAreReadInTheGRPCCoresOrder() throws {
        // The first that is set wins; an empty one means: connect directly.
        let env = ["grpc_proxy": "http://a:1", "https_proxy": "http://b:2", "http_proxy": "http://c:3"]
        #expect(try HTTPProxySetting.forHost("h", environment: env)?.host == "a")
        #expect(try HTTPProxySetting.forHost("h", environment: env.filter { $0.key != "grpc_proxy" })?.host == "b")
        #expect(try HTTPProxySetting.forHost("h", environment: ["http_proxy": "http://c:3"])?.port == "3")
        #expect(try HTTPProxySetting.forHost("h", environment: env.merging(["grpc_proxy": ""]) { $1 }) == nil)
        #expect(try HTTPProxySetting.forHost("h", environment: ["HTTP_PROXY": "http://c:3"]) == nil)
        #expect(try HTTPProxySetting.forHost("h", environment: ["grpc_proxy": "http://a:1", "no_grpc_proxy": "x", "no_proxy": "h"]) != nil)
        #expect(try HTTPProxySetting.forHost("h", environment: ["grpc_proxy": "http://[::1]"])?.host == "::1")
        #expect(try HTTPProxySetting.forHost("h", environment: ["grpc_proxy": "http://[::1]"])?.port == "443")
        // A password with escapes; and never in a message.
        let setting = try HTTPProxySetting.parse("http://u%3Ax:p%40%E9@proxy:8080/")
        #expect(setting.authorization == "Basic " + Data(Array("u:x:p@".utf8) + [0xE9]).base64EncodedString())
        do {
            _ = try HTTPProxySetting.parse("https://user:hunter2@proxy:3128")
            Issue.record("an https:// proxy is refused")
        } catch let e as TemporalError {
            #expect(!e.message.contains("hunter2") && e.message.contains("https://proxy:3128"), "\(e.message)")
        }
        // A raw `/` in the password: the user info is still taken whole (cut at the `/`, the rest
        // was read as host and port, and the message showed the user and half the password).
        // A path with an `@` is a path: after user info, and without any.
        let pathed = try HTTPProxySetting.parse("http://u:pw@proxy:3128/a@b")
        #expect(
            pathed.host == "proxy" && pathed.port == "3128" && pathed.authorization == "Basic " + Data("u:pw".utf8).base64EncodedString())
        let slashed = try HTTPProxySetting.parse("http://alice:s3cr/et@proxy:3128")
        #expect(slashed.host == "proxy" && slashed.port == "3128")
        #expect(slashed.authorization == "Basic " + Data("alice:s3cr/et".utf8).base64EncodedString())
        // With a trailing `/` too (it was "the proxy 'http://alice:s3cr' is not http://host:port",
        // or, with a number after the colon, a tunnel through host alice, port 7).
        for (url, userInfo) in [("http://alice:s3cr/et@proxy:3128/", "alice:s3cr/et"), ("http://alice:7/xyz@proxy:3128/", "alice:7/xyz")] {
            let trailing = try HTTPProxySetting.parse(url)
            #expect(
                trailing.host == "proxy" && trailing.port == "3128"
                    && trailing.authorization == "Basic " + Data(userInfo.utf8).base64EncodedString(), "\(url)")
        }
        // User info without a host after it: refused without the password.
        for url in ["http://user:hunter2@", "http://user:hunter2@/", "socks5://user:hunter2@", "http://user:hun/ter2@"] {
            let error = #expect(throws: TemporalError.self, "\(url)") { try HTTPProxySetting.parse(url) }
            #expect(error?.message.contains("hunter2") == false, "\(String(describing: error))")
        }
        // An `@` in the path alone is no user info.
        #expect(try HTTPProxySetting.parse("http://proxy:3128/path@").host == "proxy")
        let atSigns = try HTTPProxySetting.parse("http://u:p@ss@proxy:3128")
        #expect(atSigns.host == "proxy" && atSigns.authorization == "Basic " + Data("u:p@ss".utf8).base64EncodedString())
        do {
            _ = try HTTPProxySetting.parse("http://alice:s3cr/et@proxy:notaport")
            Issue.record("a port that is not a number is refused")
        } catch let e as TemporalError {
            #expect(!e.message.contains("alice") && !e.message.contains("s3cr"), "\(e.message)")
        }
    }

    @Test func aRefusingProxyIsAClearError() async throws {
        let server = try await DevServer.shared()
        let proxy = try ConnectProxy(refusal: "403 Forbidden")
        defer { proxy.stop() }
        let channel = try HTTP2Transport(
            target: server.address, configuration: ChannelConfiguration(), environment: ["http_proxy": proxy.url()])
        defer { channel.close() }
        do {
            _ = try await channel.unary(method: Self.getSystemInfo, request: Data(), metadata: [], timeout: .seconds(10))
            Issue.record("expected UNAVAILABLE")
        } catch let e as GRPCStatusError {
            #expect(e.code == .unavailable)
            #expect(e.message.contains("refused a tunnel") && e.message.contains("403 Forbidden"), "\(e.message)")
        }
        #expect(throws: TemporalError.self) {
            _ = try HTTP2Transport(
                target: server.address, configuration: ChannelConfiguration(), environment: ["https_proxy": "socks5://x:1"])
        }
    }
}
