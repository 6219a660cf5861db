import CGRPCShim
import Foundation
import Synchronization
import Temporal
import TemporalProto
import TemporalTestSupport
import Testing

/// Both transports — the gRPC core through the C shim (`GRPCChannel`) and libnghttp2
/// (`HTTP2Transport`) — keep the same contract, checked against a real server (and a port
/// where none listens, and one that accepts and never answers).
@Suite struct TransportTests {
    typealias Kind = ChannelConfiguration.TransportKind
    static let getSystemInfo = "/temporal.api.workflowservice.v1.WorkflowService/GetSystemInfo"
    static let kinds = Kind.allCases
    static let pollActivityTasks = "/temporal.api.workflowservice.v1.WorkflowService/PollActivityTaskQueue"

    /// A serialized activity-task poll of a queue nobody sends to: the server holds it (up to a minute).
    static func idlePoll() throws -> Data {
        var poll = Temporal_Api_Workflowservice_V1_PollActivityTaskQueueRequest()
        poll.namespace = "default"
        poll.taskQueue.name = "nobody-sends-here-\(UUID())"
        return try poll.serializedData()
    }

    /// Opens a transport of `kind` to `target`.
    static func open(_ kind: Kind, _ target: String, _ configuration: ChannelConfiguration = ChannelConfiguration())
        throws -> any ServiceTransport
    {
        switch kind {
        case .grpcCore: try GRPCChannel(target: target, configuration: configuration)
        case .http2: try HTTP2Transport(target: target, configuration: configuration)
        }
    }

    @Test(arguments: kinds) func unaryCallReturnsTheServersBytes(kind: Kind) async throws {
        let server = try await DevServer.shared()
        let channel = try Self.open(kind, server.address)
        let bytes = try await channel.unary(method: Self.getSystemInfo, request: Data(), metadata: [], timeout: .seconds(10))
        let info = try Temporal_Api_Workflowservice_V1_GetSystemInfoResponse(serializedBytes: bytes)
        #expect(!info.serverVersion.isEmpty)
    }

    /// Half a client certificate/key pair is refused when the channel opens, on both
    /// transports (the gRPC core used to connect without a client certificate, and the server's
    /// refusal read like any failed handshake).
    @Test(arguments: kinds) func halfAClientCertificatePairIsRefused(kind: Kind) async throws {
        for tls in [
            TLSConfiguration(clientCertificate: "-----BEGIN CERTIFICATE-----"),
            TLSConfiguration(clientPrivateKey: "-----BEGIN PRIVATE KEY-----"),
        ] {
            var configuration = ChannelConfiguration(tls: tls)
            configuration.transport = kind
            try Self.expectRefused(kind, configuration, saying: "both", "half a pair")
        }
    }

    /// Expects opening a channel of `kind` with `configuration` to be refused as an invalid
    /// argument whose message holds `saying` (`what`: the case, for the failure's text).
    static func expectRefused(_ kind: Kind, _ configuration: ChannelConfiguration, saying: String, _ what: String) throws {
        do {
            let channel = try open(kind, "127.0.0.1:7233", configuration)
            channel.close()
            Issue.record("\(kind): a channel opened with \(what)")
        } catch let error as TemporalError {
            #expect(error.kind == .invalidArgument, "\(error)")
            #expect(error.message.contains(saying), "\(error)")
        }
    }

    /// TLS PEMs that do not load are refused when the channel opens, by both transports. The
    /// gRPC core took them and failed every call as if the server could not be reached (a path
    /// given for the PEM's contents, a key that is not one).
    @Test(arguments: kinds) func aPEMThatDoesNotLoadIsRefused(kind: Kind) throws {
        try Self.expectRefused(
            kind, ChannelConfiguration(tls: TLSConfiguration(serverRootCACertificate: "/etc/temporal/ca.pem")),
            saying: "root CA PEM holds no certificate", "a path for the root CA")
        try Self.expectRefused(
            kind,
            ChannelConfiguration(tls: TLSConfiguration(clientCertificate: "not a certificate", clientPrivateKey: "not a key")),
            saying: "client certificate PEM does not load", "a client certificate that is not one")
    }

    /// A user agent a header cannot carry is refused when the channel opens: the transports
    /// send it on every call unchecked, and the server reset every stream (INTERNAL, naming
    /// nothing).
    @Test(arguments: kinds) func aUserAgentAHeaderCannotCarryIsRefused(kind: Kind) async throws {
        for agent in ["app\u{1}", "app\r\nX-Injected: 1", "app é"] {
            var configuration = ChannelConfiguration()
            configuration.transport = kind
            configuration.userAgent = agent
            try Self.expectRefused(kind, configuration, saying: "userAgent", "user agent \(agent.debugDescription)")
        }
    }

    #if os(Linux)
    /// The thread that completes calls is named (`grpc-completion`, `h2-reader`), so `top -H`,
    /// `perf` and debuggers tell it apart from the threads that start calls.
    @Test(arguments: kinds) func theCompletionThreadIsNamed(kind: Kind) async throws {
        let server = try await DevServer.shared()
        let channel = try Self.open(kind, server.address)
        _ = try await channel.unary(method: Self.getSystemInfo, request: Data(), metadata: [], timeout: .seconds(10))
        let tasks = try FileManager.default.contentsOfDirectory(atPath: "/proc/self/task")
        let names = tasks.compactMap { try? String(contentsOfFile: "/proc/self/task/\($0)/comm", encoding: .utf8) }
        #expect(names.contains(kind == .grpcCore ? "grpc-completion\n" : "h2-reader\n"))
        channel.close()
    }
    #endif

    @Test(arguments: kinds) func nothingListeningIsUnavailable(kind: Kind) async throws {
        let channel = try Self.open(kind, "127.0.0.1:\(try DevServer.freePort())")
        do {
            _ = try await channel.unary(method: Self.getSystemInfo, request: Data(), metadata: [], timeout: .seconds(5))
            Issue.record("expected UNAVAILABLE")
        } catch let e as GRPCStatusError {
            #expect(e.code == .unavailable)
        }
    }

    @Test(arguments: kinds) func unknownMethodIsUnimplemented(kind: Kind) async throws {
        let server = try await DevServer.shared()
        let channel = try Self.open(kind, server.address)
        do {
            _ = try await channel.unary(
                method: "/temporal.api.workflowservice.v1.WorkflowService/NoSuchRpc",
                request: Data(), metadata: [], timeout: .seconds(5))
            Issue.record("expected UNIMPLEMENTED")
        } catch let e as GRPCStatusError {
            #expect(e.code == .unimplemented)
        }
    }

    @Test(arguments: kinds) func deadlineIsEnforced(kind: Kind) async throws {
        let silent = try SilentListener()
        let channel = try Self.open(kind, silent.address)
        let start = ContinuousClock.now
        do {
            _ = try await channel.unary(method: Self.getSystemInfo, request: Data(), metadata: [], timeout: .milliseconds(300))
            Issue.record("expected DEADLINE_EXCEEDED")
        } catch let e as GRPCStatusError {
            #expect(e.code == .deadlineExceeded)
        }
        #expect(ContinuousClock.now - start < .seconds(20), "the 300 ms deadline must end the call")
    }

    @Test(arguments: kinds) func aLongPollEndsAtItsDeadline(kind: Kind) async throws {
        // A connected channel and a server that holds the call: the client's deadline ends it.
        let server = try await DevServer.shared()
        let channel = try Self.open(kind, server.address)
        let request = try Self.idlePoll()
        let start = ContinuousClock.now
        do {
            let bytes = try await channel.unary(
                method: Self.pollActivityTasks,
                request: request, metadata: [], timeout: .seconds(3))
            // The server may answer an empty poll just before the deadline instead.
            #expect(try Temporal_Api_Workflowservice_V1_PollActivityTaskQueueResponse(serializedBytes: bytes).taskToken.isEmpty)
        } catch let e as GRPCStatusError {
            #expect(e.code == .deadlineExceeded)
        }
        // (The server refuses polls with less than 2 s to wait; without a deadline it would
        // hold this one for a minute.)
        #expect(ContinuousClock.now - start < .seconds(10), "the 3 s deadline must end the poll")
    }

    @Test(arguments: kinds) func aResponseOverTheReceiveLimitIsRefused(kind: Kind) async throws {
        let server = try await DevServer.shared()
        var configuration = ChannelConfiguration()
        configuration.maxReceiveMessageBytes = 8
        let channel = try Self.open(kind, server.address, configuration)
        do {
            _ = try await channel.unary(method: Self.getSystemInfo, request: Data(), metadata: [], timeout: .seconds(10))
            Issue.record("expected RESOURCE_EXHAUSTED")
        } catch let e as GRPCStatusError {
            #expect(e.code == .resourceExhausted)
        }
    }

    @Test(arguments: kinds) func cancellingTheTaskCancelsTheCall(kind: Kind) async throws {
        let server = try await DevServer.shared()
        let channel = try Self.open(kind, server.address)
        let request = try Self.idlePoll()
        let task = Task {
            try await channel.unary(
                method: Self.pollActivityTasks,
                request: request, metadata: [], timeout: .seconds(70))
        }
        try await Task.sleep(for: .milliseconds(200))
        let start = ContinuousClock.now
        task.cancel()
        do {
            _ = try await task.value
            Issue.record("expected CANCELLED")
        } catch let e as GRPCStatusError {
            #expect(e.code == .cancelled)
        }
        #expect(ContinuousClock.now - start < .seconds(20), "cancellation must end the 70 s call long before its deadline")
    }

    @Test(arguments: kinds) func manyConcurrentCallsComplete(kind: Kind) async throws {
        let server = try await DevServer.shared()
        let channel = try Self.open(kind, server.address)
        let count = try await withThrowingTaskGroup(of: Int.self) { group in
            for _ in 0..<64 {
                group.addTask {
                    try await channel.unary(
                        method: Self.getSystemInfo, request: Data(), metadata: [("x-test", "1")],
                        timeout: .seconds(10)
                    ).count
                }
            }
            var n = 0
            for try await size in group where size > 0 { n += 1 }
            return n
        }
        #expect(count == 64)
    }

    /// Starts hold no lock; `close()` waits for the starts in progress instead. Closing while
    /// eight tasks keep starting calls must neither crash nor leave a call unanswered: every
    /// call ends (OK before the close, CANCELLED or "closed" after). Each task calls until the
    /// channel refuses it, and the close comes once some calls went through, so the outcome
    /// does not depend on how fast a loaded machine runs the tasks.
    @Test(arguments: kinds) func closingWhileCallsAreStartingEndsEveryCall(kind: Kind) async throws {
        let server = try await DevServer.shared()
        for round in 0..<5 {
            let channel = try Self.open(kind, server.address)
            let completed = CallCount()
            let outcomes = try await withThrowingTaskGroup(of: (ok: Int, refused: Int).self) { group in
                for _ in 0..<8 {
                    group.addTask {
                        var ok = 0
                        // Bounded: a channel that never refuses fails the test instead of hanging it.
                        for _ in 0..<100_000 {
                            do {
                                _ = try await channel.unary(
                                    method: Self.getSystemInfo, request: Data(), metadata: [], timeout: .seconds(10))
                                ok += 1
                                completed.value.add(1, ordering: .relaxed)
                            } catch let e as GRPCStatusError where e.code == .cancelled {
                                return (ok, 1)
                            }
                        }
                        return (ok, 0)
                    }
                }
                while completed.value.load(ordering: .relaxed) < 40 + 20 * round { try await Task.sleep(for: .milliseconds(1)) }
                channel.close()
                var total = (ok: 0, refused: 0)
                for try await r in group { total = (total.ok + r.ok, total.refused + r.refused) }
                return total
            }
            #expect(outcomes.ok >= 40 + 20 * round)
            #expect(outcomes.refused == 8, "every task's last call was refused or cancelled by the close")
        }
    }

    @Test(arguments: kinds) func closingTheChannelFailsOutstandingCallsAndFreesThem(kind: Kind) async throws {
        let server = try await DevServer.shared()
        let channel = try Self.open(kind, server.address)
        let request = try Self.idlePoll()
        let task = Task {
            try await channel.unary(
                method: Self.pollActivityTasks,
                request: request, metadata: [], timeout: .seconds(70))
        }
        try await Task.sleep(for: .milliseconds(200))
        channel.close()
        await #expect(throws: GRPCStatusError.self) { _ = try await task.value }
        do {
            _ = try await channel.unary(method: Self.getSystemInfo, request: Data(), metadata: [], timeout: .seconds(1))
            Issue.record("a closed channel must refuse calls")
        } catch let e as GRPCStatusError {
            #expect(e.message.contains("closed"))
        }
    }
}

/// Calls that went through, counted across tasks.
private final class CallCount: Sendable {
    let value = Atomic<Int>(0)
}

extension TransportTests {
    // Calls the server never started go again: the caller sees the answer, not UNAVAILABLE. A
    // hand-written HTTP/2 server plays the GOAWAY. HTTP2Transport sends them again by itself
    // (gRPC's transparent retry); behind GRPCChannel the client's retry policy does, since the
    // core's retry filter is off (in Debian's libgrpc 1.51 it aborts the process on trailers
    // without grpc-status: `HTTP2TransportTests.trailersWithoutAStatusAreUnknown`).

    @Test(arguments: kinds) func callsAboveAGoAwaysLastStreamGoAgainOnANewConnection(kind: Kind) async throws {
        // The first connection says GOAWAY (last stream 0) and closes as the first call arrives:
        // every call in flight there was never started, and each is answered on the second.
        let server = try ScriptedHTTP2Server { connection, _ in connection == 0 ? .goAway : .answer }
        defer { server.stop() }
        let channel = try Self.open(kind, server.address)
        defer { channel.close() }
        let service = WorkflowService(transport: channel, headers: [])
        try await withThrowingTaskGroup(of: Void.self) { group in
            for _ in 0..<5 {
                group.addTask {
                    if kind == .http2 {
                        _ = try await channel.unary(method: Self.getSystemInfo, request: Data(), metadata: [], timeout: .seconds(10))
                    } else {
                        _ = try await service.getSystemInfo()
                    }
                }
            }
            try await group.waitForAll()
        }
        #expect(server.connections == 2)
    }
}

extension TransportTests {
    /// A call made by a task cancelled already sends nothing: before, its cancellation handler
    /// ran first and the call went out anyway, cancelled only afterwards (a poll the server could
    /// match a task to, a start or a signal the caller then reported as cancelled).
    @Test(arguments: kinds) func aCallOfACancelledTaskSendsNothing(kind: Kind) async throws {
        let server = try ScriptedHTTP2Server { _, _ in .answer }
        defer { server.stop() }
        let channel = try Self.open(kind, server.address)
        defer { channel.close() }
        _ = try await channel.unary(method: Self.getSystemInfo, request: Data(), metadata: [], timeout: .seconds(10))
        let gate = AsyncStream<Void>.makeStream()
        let task = Task {
            for await _ in gate.stream {}
            return try await channel.unary(method: Self.getSystemInfo, request: Data(), metadata: [], timeout: .seconds(10))
        }
        task.cancel()
        gate.continuation.finish()
        do {
            _ = try await task.value
            Issue.record("\(kind): a cancelled task's call was answered")
        } catch let error as GRPCStatusError {
            #expect(error.code == .cancelled, "\(kind): \(error)")
        }
        try await Task.sleep(for: .milliseconds(200))
        #expect(server.calls == 1, "\(kind): the cancelled task's call reached the server")
    }

    /// A header gRPC cannot send is the caller's mistake, said as such (INVALID_ARGUMENT with
    /// the header names), not an INTERNAL "grpc_call_error 10"; a namespace a header cannot
    /// carry is refused when the client connects.
    @Test func aHeaderGRPCCannotSendIsAnInvalidArgument() async throws {
        let server = try ScriptedHTTP2Server { _, _ in .answer }
        defer { server.stop() }
        let channel = try GRPCChannel(target: server.address)
        defer { channel.close() }
        do {
            _ = try await channel.unary(
                method: Self.getSystemInfo, request: Data(), metadata: [("x-tenant", "a\u{1}b")], timeout: .seconds(10))
            Issue.record("a control character went out in a header")
        } catch let error as GRPCStatusError {
            #expect(error.code == .invalidArgument && error.message.contains("x-tenant"), "\(error)")
        }
        let refused = await #expect(throws: TemporalError.self) {
            _ = try await TemporalClient.connect(transport: channel, namespace: "prod\n")
        }
        #expect(
            refused?.code == .invalidArgument && refused?.message.contains("TEMPORAL_NAMESPACE") == true, "\(String(describing: refused))")
    }
}

extension TransportTests {
    /// An update call that got no answer within its deadline (DEADLINE_EXCEEDED) is not sent
    /// again, as Go does not: the workflow may have accepted it, and a copy could run the
    /// handler again in the next run of a workflow that continued as new meanwhile. The error
    /// says how to learn its outcome. Before, it was sent again with no end (here: for ever,
    /// against a frontend that answers every call so).
    @Test func anUpdateLeftUnansweredIsNotSentAgain() async throws {
        let (server, client) = try await Self.frontendEndingEveryCallAtOnce()
        defer { server.stop() }
        defer { client.close() }
        for withStart in [false, true] {
            let before = server.calls
            let error = await #expect(throws: TemporalError.self) {
                try await within(20) {
                    if withStart {
                        _ = try await client.updateWithStart(
                            type: "Counter", id: "wf-1", taskQueue: "q", update: "add", updateArguments: [1], updateID: "u-1")
                    } else {
                        _ = try await client.workflowHandle(id: "wf-1").startUpdate("add", 1, id: "u-1")
                    }
                }
            }
            #expect(error?.code == .deadlineExceeded, "\(String(describing: error))")
            #expect(error?.message.contains("(id u-1) of workflow wf-1 got no answer") == true, "\(String(describing: error))")
            #expect(server.calls - before == 1, "sent \(server.calls - before) times")
        }
    }

    /// A client of a frontend that answers its GetSystemInfo and ends every later call at once
    /// with DEADLINE_EXCEEDED.
    static func frontendEndingEveryCallAtOnce() async throws -> (ScriptedHTTP2Server, TemporalClient) {
        let server = try ScriptedHTTP2Server { _, call in call == 0 ? .answer : .trailersOnlyAtOnce(status: 4) }
        do {
            return (server, try await TemporalClient.connect(transport: try HTTP2Transport(target: server.address)))
        } catch {
            server.stop()
            throw error
        }
    }

    /// Waiting for a result asks again after DEADLINE_EXCEEDED (a server ends its long poll so),
    /// but not at once when the call ended as soon as it was sent: a frontend that ends every call
    /// so (a misconfigured timeout) made the loop send thousands of calls a second.
    @Test func aLongPollEndedAtOnceIsAskedAgainAtAPace() async throws {
        let (server, client) = try await Self.frontendEndingEveryCallAtOnce()
        defer { server.stop() }
        defer { client.close() }
        let waiting = Task { try await client.workflowHandle(id: "wf-1").resultPayloads() }
        try await Task.sleep(for: .milliseconds(2_500))
        waiting.cancel()
        _ = await waiting.result
        #expect((1...4).contains(server.calls - 1), "\(server.calls - 1) polls in 2.5 s (a poll a second at most)")
    }
}
