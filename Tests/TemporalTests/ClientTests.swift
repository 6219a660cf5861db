import Foundation
import Synchronization
import Temporal
import TemporalProto
import TemporalTestSupport
import Testing

/// TemporalClient and WorkflowHandle against a real dev server, with workflows completed by a
/// worker of the official Python SDK (an independent implementation of the protocol).
@Suite(.serialized) struct ClientTests {
    static let peer = PeerOnce()

    struct Echo: Codable, Equatable {
        var echo: [String: Int]
        var by: String
    }

    func unique(_ prefix: String) -> String { "\(prefix)-\(UUID().uuidString.prefix(8))" }

    @Test func startAndResultOnAnotherSDKsWorker() async throws {
        let (client, queue) = try await Self.peer.get()
        let id = unique("echo")
        let handle = try await client.startWorkflow(type: "PyEcho", id: id, taskQueue: queue, args: ["n": 7])
        let result = try await handle.result(as: Echo.self)
        #expect(result == Echo(echo: ["n": 7], by: "python"))

        // The Temporal CLI sees the same run.
        let server = try await DevServer.shared()
        let out = try DevServer.runCLI(["workflow", "describe", "--address", server.address, "--workflow-id", id, "--output", "json"])
        #expect(out.contains(handle.resultRunID ?? "missing"))
        #expect(out.contains("WORKFLOW_EXECUTION_STATUS_COMPLETED") || out.contains("Completed"))
    }

    @Test func startingARunningWorkflowAgainFailsWithItsRunID() async throws {
        let (client, queue) = try await Self.peer.get()
        let id = unique("dup")
        let first = try await client.startWorkflow(type: "PyWaitForSignal", id: id, taskQueue: queue)
        do {
            _ = try await client.startWorkflow(type: "PyWaitForSignal", id: id, taskQueue: queue)
            Issue.record("expected already-started")
        } catch let e as TemporalError {
            #expect(e.code == .alreadyExists)
            #expect(e.alreadyStartedRunID == first.resultRunID)
        }
        try await first.terminate(reason: "test done")
    }

    @Test func sameRequestIDStartsOnce() async throws {
        let (client, queue) = try await Self.peer.get()
        let id = unique("idem")
        let options = WorkflowOptions(requestID: "fixed-\(id)")
        let a = try await client.startWorkflow(type: "PyWaitForSignal", id: id, taskQueue: queue, options: options)
        let b = try await client.startWorkflow(type: "PyWaitForSignal", id: id, taskQueue: queue, options: options)
        #expect(a.resultRunID != nil && a.resultRunID == b.resultRunID)
        try await a.terminate()
    }

    @Test func signalQueryAndQueryAfterClose() async throws {
        let (client, queue) = try await Self.peer.get()
        let handle = try await client.startWorkflow(type: "PyWaitForSignal", id: unique("sig"), taskQueue: queue)
        #expect(try await handle.query("state", as: String.self) == "waiting")
        try await handle.signal("finish", "over and out")
        #expect(try await handle.result(as: String.self) == "over and out")
        #expect(try await handle.query("state", as: String.self) == "finished")
        #expect(try await handle.describe().status == .completed)
    }

    @Test func signalWithStartDeliversTheSignalFirst() async throws {
        let (client, queue) = try await Self.peer.get()
        let handle = try await client.signalWithStart(
            type: "PyWaitForSignal", id: unique("sws"), taskQueue: queue,
            signal: "finish", signalArguments: ["from signal-with-start"])
        #expect(try await handle.result(as: String.self) == "from signal-with-start")
    }

    @Test func cancelEndsTheWorkflowAsCancelled() async throws {
        let (client, queue) = try await Self.peer.get()
        let handle = try await client.startWorkflow(type: "PyWaitForSignal", id: unique("cancel"), taskQueue: queue)
        _ = try await handle.query("state", as: String.self)  // it is running
        try await handle.cancel(reason: "test")
        await #expect { try await handle.result(as: String.self) } throws: { error in
            (error as? TemporalError)?.kind == .workflowCanceled
        }
        #expect(try await handle.describe().status == .canceled)
    }

    @Test func terminateEndsTheWorkflowAtOnce() async throws {
        let (client, queue) = try await Self.peer.get()
        let handle = try await client.startWorkflow(type: "PyWaitForSignal", id: unique("term"), taskQueue: queue)
        try await handle.terminate(reason: "enough")
        await #expect { try await handle.result(as: String.self) } throws: { error in
            guard let e = error as? TemporalError else { return false }
            return e.kind == .workflowTerminated && e.message.contains("enough")
        }
        let d = try await handle.describe()
        #expect(d.status == .terminated)
        #expect(d.taskQueue == queue)
        #expect(d.workflowType == "PyWaitForSignal")
    }

    @Test func workflowFailureCarriesTheFailureChain() async throws {
        let (client, queue) = try await Self.peer.get()
        let handle = try await client.startWorkflow(type: "PyFail", id: unique("fail"), taskQueue: queue, args: "it broke")
        do {
            _ = try await handle.result(as: String.self)
            Issue.record("expected a failure")
        } catch let e as TemporalError {
            #expect(e.kind == .workflowFailed)
            let app = try #require(e.applicationError)
            #expect(app.type == "PyFailure")
            #expect(app.nonRetryable)
            #expect(app.message == "it broke")
            #expect(try app.detail(as: String.self) == "detail-1")
        }
    }

    @Test func resultFollowsContinueAsNew() async throws {
        let (client, queue) = try await Self.peer.get()
        let handle = try await client.startWorkflow(type: "PyContinueAsNew", id: unique("can"), taskQueue: queue, args: 3)
        #expect(try await handle.result(as: String.self) == "done after continue-as-new")
        let latest = try await client.workflowHandle(id: handle.id).describe()
        #expect(latest.runID != handle.resultRunID)
        let continued = await #expect(throws: TemporalError.self) { try await handle.result(as: String.self, followRuns: false) }
        #expect(continued?.kind == .workflowContinuedAsNew, "not a failure: \(String(describing: continued))")
    }

    @Test func historyIsReadAcrossPages() async throws {
        let (client, queue) = try await Self.peer.get()
        let handle = try await client.startWorkflow(type: "PyManyEvents", id: unique("hist"), taskQueue: queue, args: 40)
        #expect(try await handle.result(as: Int.self) == 40)
        let events = try await handle.fetchHistory(pageSize: 25)
        #expect(events.count > 200)
        #expect(events.map(\.eventID) == Array(1...Int64(events.count)))
        #expect(events.last?.eventType == .workflowExecutionCompleted)
    }

    @Test func listWorkflowsPagesThroughVisibility() async throws {
        let (client, queue) = try await Self.peer.get()
        let listQueue = unique("list-q")
        for i in 0..<5 {
            _ = try await client.startWorkflow(type: "PyEcho", id: unique("list-\(i)"), taskQueue: listQueue, args: i)
        }
        // Visibility is eventually consistent.
        var found: [WorkflowExecutionInfo] = []
        for _ in 0..<50 {
            found = try await client.listWorkflows(query: "TaskQueue = '\(listQueue)'", pageSize: 2).collect()
            if found.count == 5 { break }
            try await Task.sleep(for: .milliseconds(200))
        }
        #expect(found.count == 5)
        #expect(Set(found.map(\.execution.workflowID)).count == 5)
        #expect(try await client.countWorkflows(query: "TaskQueue = '\(listQueue)'") == 5)
        _ = queue
        for info in found { try? await client.workflowHandle(id: info.execution.workflowID).terminate() }
    }

    @Test func describeNamespaceAndSystemInfo() async throws {
        let (client, _) = try await Self.peer.get()
        #expect(try await client.describeNamespace().namespaceInfo.name == "default")
        #expect(client.systemInfo?.serverVersion.isEmpty == false)
        do {
            _ = try await client.describeNamespace("no-such-namespace-\(UUID())")
            Issue.record("expected NOT_FOUND")
        } catch let e as TemporalError {
            #expect(e.code == .notFound)
            if case .namespaceNotFound? = e.details {} else { Issue.record("details: \(String(describing: e.details))") }
        }
    }

    @Test func unknownWorkflowIsNotFound() async throws {
        let (client, _) = try await Self.peer.get()
        await #expect { try await client.workflowHandle(id: "never-started-\(UUID())").describe() } throws: { error in
            (error as? TemporalError)?.code == .notFound
        }
    }

    @Test func connectionRefusedIsAClearError() async throws {
        var quick = RPCRetryPolicy()
        quick.maximumElapsed = .seconds(1)
        let port = try DevServer.freePort()
        do {
            _ = try await TemporalClient.connect(target: "127.0.0.1:\(port)", retryPolicy: quick)
            Issue.record("expected a connection error")
        } catch let e as TemporalError {
            #expect(e.kind == .connection)
            #expect(e.code == .unavailable)
            #expect(e.message.contains("127.0.0.1:\(port)"))
            #expect(e.message.contains("temporal server start-dev"))
        }
    }

    /// With the default retry policy, a server that is not there fails `connect` within its
    /// ~10 s budget (as Go's 5 s), not after the RPCs' 60 s of retries.
    @Test func connectGivesUpOnAMissingServerWithinItsBudget() async throws {
        let port = try DevServer.freePort()
        let clock = ContinuousClock()
        let start = clock.now
        await #expect(throws: TemporalError.self) { _ = try await TemporalClient.connect(target: "127.0.0.1:\(port)") }
        #expect(clock.now - start < .seconds(30), "\(clock.now - start)")
    }
}

/// Starts one Python peer worker for the suite.
actor PeerOnce {
    private var value: (TemporalClient, String)?
    func get() async throws -> (TemporalClient, String) {
        if let value { return value }
        let server = try await DevServer.shared()
        let queue = "py-peer-\(UUID().uuidString.prefix(8))"
        _ = try await PythonPeer.start(address: server.address, taskQueue: queue)
        let client = try await TemporalClient.connect(target: server.address)
        value = (client, queue)
        return (client, queue)
    }
}

/// Records each call's `temporal-namespace` header.
final class NamespaceHeaderRecorder: ServiceTransport {
    let inner: any ServiceTransport
    let seen = Mutex<[(method: String, namespace: String?)]>([])
    init(_ inner: any ServiceTransport) { self.inner = inner }
    var target: String { inner.target }
    func unary(method: String, request: Data, metadata: [(String, String)], timeout: Duration?) async throws -> Data {
        let namespace = metadata.first { $0.0 == "temporal-namespace" }?.1
        seen.withLock { $0.append((String(method.split(separator: "/").last ?? ""), namespace)) }
        return try await inner.unary(method: method, request: request, metadata: metadata, timeout: timeout)
    }
    func close() { inner.close() }
}

@Suite struct NamespaceHeaderTests {
    /// A request that names another namespace than the client's goes out under that one's
    /// header (as Go takes it from the request): proxies and Temporal Cloud route and authorize
    /// by it. It went out under the client's namespace.
    @Test func aRequestNamingAnotherNamespaceCarriesItsHeader() async throws {
        let server = try await DevServer.shared()
        let recorder = NamespaceHeaderRecorder(try GRPCChannel(target: server.address))
        let client = try await TemporalClient.connect(transport: recorder, namespace: "default")
        let other = "other-\(UUID().uuidString.prefix(8).lowercased())"
        await #expect(throws: TemporalError.self) { _ = try await client.describeNamespace(other) }
        _ = try await client.describeNamespace()
        let described = recorder.seen.withLock { $0 }.filter { $0.method == "DescribeNamespace" }.map(\.namespace)
        #expect(described == [other, "default"], "\(described)")
    }
}

/// Answers every call with an empty message, counting GetWorkflowExecutionHistory and
/// PollWorkflowExecutionUpdate calls: a server (or proxy) whose long polls end at once with nothing.
final class EmptyHistoryTransport: ServiceTransport {
    let historyCalls = Mutex(0)
    var target: String { "empty-history" }
    func unary(method: String, request: Data, metadata: [(String, String)], timeout: Duration?) async throws -> Data {
        if method.hasSuffix("/GetWorkflowExecutionHistory") || method.hasSuffix("/PollWorkflowExecutionUpdate") {
            historyCalls.withLock { $0 += 1 }
        }
        try Task.checkCancellation()
        return Data()
    }
    func close() {}
}

@Suite struct ResultPollPacingTests {
    /// A history long poll that ends at once with no event (and no token) was asked again at
    /// once, in a loop as fast as the server answered: it is asked again at most once a second.
    @Test func emptyHistoryPagesAreNotAskedForInAHotLoop() async throws {
        let transport = EmptyHistoryTransport()
        let client = try await TemporalClient.connect(transport: transport)
        let handle = client.workflowHandle(id: "never-ends")
        let waiting = Task { try await handle.resultPayloads() }
        try await Task.sleep(for: .milliseconds(2_500))
        waiting.cancel()
        _ = try? await waiting.value
        let calls = transport.historyCalls.withLock { $0 }
        #expect((1...4).contains(calls), "\(calls) calls in 2.5 s")
    }

    /// The same for an update's outcome: a poll answered at once without one was sent again at
    /// once, in a loop.
    @Test func updatePollsAnsweredWithoutAnOutcomeAreNotRepeatedInAHotLoop() async throws {
        let transport = EmptyHistoryTransport()
        let client = try await TemporalClient.connect(transport: transport)
        let update = WorkflowUpdateHandle(client: client, workflowID: "never-ends", id: "u1", name: "grow")
        let waiting = Task { try await update.resultPayloads() }
        try await Task.sleep(for: .milliseconds(2_500))
        waiting.cancel()
        _ = try? await waiting.value
        let calls = transport.historyCalls.withLock { $0 }
        #expect((1...4).contains(calls), "\(calls) calls in 2.5 s")
    }
}
