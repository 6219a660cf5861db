import Foundation
import Logging
import Synchronization
import Temporal
import TemporalProto
import TemporalTestSupport
import Testing

@testable import TemporalWorker

/// Poll errors: back off and log sparingly while the server is away, say when it is back, and
/// stop with a clear error when retrying cannot help.
@Suite struct PollFailureTests {
    static func logger(_ box: LogBox) -> Logger {
        Logger(label: "poll-test") { _ in CapturingLogHandler(box: box) }
    }

    @Test func aNamespaceThatDoesNotExistStopsTheWorkerWithAClearError() async throws {
        let server = try await DevServer.shared()
        let namespace = "no-such-namespace-\(UUID().uuidString.prefix(8).lowercased())"
        let client = try await TemporalClient.connect(target: server.address, namespace: namespace)
        let box = LogBox()
        var options = WorkerOptions()
        options.logger = Self.logger(box)
        let worker = Worker(client: client, taskQueue: "poll-\(UUID().uuidString.prefix(8))", workflows: [Patched.self], options: options)
        let error = await #expect(throws: WorkerStoppedError.self) {
            try await withTimeout(60) { try await worker.run() }
        }
        let text = "\(String(describing: error))"
        #expect(text.contains("namespace '\(namespace)'") && text.contains("temporal operator namespace describe"), "\(text)")
        let warnings = box.lines.withLock { $0 }.filter { $0.contains("polling task queue") }
        #expect(warnings.count <= 2, "\(warnings)")
    }

    /// A client closed under a running worker (a `defer { client.close() }` that ran first)
    /// stops it with a clear error: every call failed at once with CANCELLED, and the pollers
    /// retried with backoff for ever, `run()` never returning.
    @Test func closingTheClientStopsTheWorker() async throws {
        let server = try await DevServer.shared()
        let client = try await TemporalClient.connect(target: server.address)
        let worker = Worker(client: client, taskQueue: "closed-\(UUID().uuidString.prefix(8))", workflows: [Patched.self])
        let running = Task { try await worker.run() }
        try await Task.sleep(for: .milliseconds(500))
        client.close()
        let outcome = Mutex<Result<Void, any Error>?>(nil)
        Task {
            let result = await running.result
            outcome.withLock { $0 = result }
        }
        #expect(try await eventually(15) { outcome.withLock { $0 } != nil }, "run() has not returned")  // old code: never
        running.cancel()
        guard case .failure(let error)? = outcome.withLock({ $0 }) else { return }
        let text = "\(error)"
        #expect(error is WorkerStoppedError && text.contains("TemporalClient was closed") && text.contains("run() has returned"), "\(text)")
    }

    /// Polls of the normal queue that work, of the sticky queue refused (its matching host
    /// down, an authorizer refusing the generated sticky name).
    final class StickyRefused: ServiceTransport {
        let inner: any ServiceTransport
        let stickyPolls = Mutex(0)
        init(_ inner: any ServiceTransport) { self.inner = inner }
        var target: String { inner.target }
        func unary(method: String, request: Data, metadata: [(String, String)], timeout: Duration?) async throws -> Data {
            if method.hasSuffix("/PollWorkflowTaskQueue") {
                let poll = try Temporal_Api_Workflowservice_V1_PollWorkflowTaskQueueRequest(serializedBytes: request)
                if poll.taskQueue.kind == .sticky {
                    stickyPolls.withLock { $0 += 1 }
                    throw TemporalError(code: .permissionDenied, message: "sticky queue \(poll.taskQueue.name) refused")
                }
                try await Task.sleep(for: .milliseconds(50))
                return try Temporal_Api_Workflowservice_V1_PollWorkflowTaskQueueResponse().serializedData()  // empty: no task
            }
            return try await inner.unary(method: method, request: request, metadata: metadata, timeout: timeout)
        }
        func close() { inner.close() }
    }

    /// Sticky polls refused while normal polls work stop the worker, as refusals of any one kind
    /// of poll do. They shared the normal polls' record: each normal poll's success reset it, so
    /// the sticky poller retried every 200 ms for ever, logging at every cycle.
    @Test func refusedStickyPollsAreNotResetByNormalOnes() async throws {
        let server = try await DevServer.shared()
        let transport = StickyRefused(try GRPCChannel(target: server.address))
        let client = try await TemporalClient.connect(transport: transport)
        let worker = Worker(client: client, taskQueue: "sticky-\(UUID().uuidString.prefix(8))", workflows: [Patched.self])
        let error = await #expect(throws: WorkerStoppedError.self) {
            try await withTimeout(30) { try await worker.run() }
        }
        #expect("\(String(describing: error))".contains("refused"), "\(String(describing: error))")
        #expect(transport.stickyPolls.withLock { $0 } < 40)
    }

    /// Sends the polls under an official SDK's name at a version the server does not serve.
    final class UnservedClientVersion: ServiceTransport {
        let inner: any ServiceTransport
        init(_ inner: any ServiceTransport) { self.inner = inner }
        var target: String { inner.target }
        func unary(method: String, request: Data, metadata: [(String, String)], timeout: Duration?) async throws -> Data {
            guard method.contains("/Poll") else {
                return try await inner.unary(method: method, request: request, metadata: metadata, timeout: timeout)
            }
            let renamed =
                metadata.filter { $0.0 != "client-name" && $0.0 != "client-version" } + [
                    ("client-name", "temporal-go"), ("client-version", "9.0.0"),
                ]
            return try await inner.unary(method: method, request: request, metadata: renamed, timeout: timeout)
        }
        func close() { inner.close() }
    }

    /// A server that does not serve the client's version answers its polls FAILED_PRECONDITION
    /// with `ClientVersionNotSupportedFailure`: the worker stops saying so, as Go's does. It
    /// retried for ever, logging every 30 s.
    @Test func aClientVersionTheServerDoesNotServeStopsTheWorker() async throws {
        let server = try await DevServer.shared()
        let client = try await TemporalClient.connect(transport: UnservedClientVersion(try GRPCChannel(target: server.address)))
        let worker = Worker(client: client, taskQueue: "version-\(UUID().uuidString.prefix(8))", workflows: [Patched.self])
        let error = await #expect(throws: WorkerStoppedError.self) {
            try await withTimeout(30) { try await worker.run() }
        }
        let text = "\(String(describing: error))"
        #expect(text.contains("client 'temporal-go' at version 9.0.0") && text.contains("<2.0.0"), "\(text)")
    }

    @Test func anOutageIsLoggedOnceAndTheRecoveryToo() async throws {
        _ = try await DevServer.shared()
        let first = try await DevServer.start()
        let client = try await TemporalClient.connect(target: first.address)
        let box = LogBox()
        var options = WorkerOptions()
        options.logger = Self.logger(box)
        let worker = Worker(client: client, taskQueue: "outage-\(UUID().uuidString.prefix(8))", workflows: [Patched.self], options: options)
        let running = Task { try await worker.run() }
        try await Task.sleep(for: .seconds(1))
        first.stop()
        // Four pollers (workflow + sticky, two each): the old loop logged one warning per poller per second.
        try await Task.sleep(for: .seconds(8))
        let during = box.lines.withLock { $0 }.filter { $0.contains("polling task queue") }
        #expect(!during.isEmpty && during.count <= 2, "\(during)")
        let second = try await DevServer.start(port: first.port)
        defer { second.stop() }
        try await withTimeout(90) {
            // The probe after a backoff ("answers again") or a poll ("works again") ends it.
            while !box.lines.withLock({ $0.contains { $0.contains("works again") || $0.contains("answers again") } }) {
                try await Task.sleep(for: .milliseconds(200))
            }
        }
        await worker.shutdown(gracePeriod: .zero)
        _ = await running.result
    }
}

/// The pollers' backoff (no server needed).
@Suite struct PollBackoffTests {
    /// Errors that will not heal stop a worker that never polled successfully within about 2 s
    /// (a wrong namespace or credentials at start), but one that has polled keeps going for a
    /// minute (a proxy answering 404 for a moment, credentials being rotated): it used to stop
    /// after 2 s either way.
    @Test func aServingWorkerRidesOutPassingRefusals() async throws {
        let logger = Logger(label: "refusals")
        let refused = TemporalError(code: .unimplemented, message: "HTTP 404 from a proxy")
        func threeRefusals(_ failures: PollFailures) async throws -> PollFailures.Action {
            _ = failures.failed(refused, poll: "p")
            _ = failures.failed(refused, poll: "p")
            try await Task.sleep(for: .milliseconds(2_200))
            return failures.failed(refused, poll: "p")
        }
        let starting = PollFailures(taskQueue: "q", namespace: "default", logger: logger)
        guard case .stop(let stopped) = try await threeRefusals(starting) else {
            Issue.record("a worker that never polled kept going")
            return
        }
        #expect("\(stopped)".contains("over 2.0 seconds"), "\(stopped)")
        let serving = PollFailures(taskQueue: "q", namespace: "default", logger: logger)
        serving.succeeded(poll: "p")
        guard case .retry = try await threeRefusals(serving) else {
            Issue.record("a serving worker stopped after 2 s of refusals")
            return
        }
    }

    /// Activity polls the server refuses while workflow polls work (a rejected request of one
    /// kind) stop the worker as refusals of every poll would, with their own backoff. Before,
    /// all pollers shared one count: each workflow poll's success reset it, so the activity
    /// poller retried every 200 ms for ever, and no activity ran.
    @Test func refusalsOfOneKindOfPollAreNotResetByAnotherKindsSuccesses() async throws {
        let failures = PollFailures(taskQueue: "q", namespace: "default", logger: Logger(label: "kinds"))
        let refused = TemporalError(code: .invalidArgument, message: "activity polls refused")
        var last: PollFailures.Action?
        var delays: [Duration] = []
        for round in 0..<3 {
            failures.succeeded(poll: "PollWorkflowTaskQueue")
            if round == 2 { try await Task.sleep(for: .milliseconds(2_100)) }
            last = failures.failed(refused, poll: "PollActivityTaskQueue")
            if case .retry(let delay)? = last { delays.append(delay) }
        }
        guard case .stop(let stopped)? = last else {
            Issue.record("the worker kept polling refused activity polls: \(String(describing: last))")
            return
        }
        #expect("\(stopped)".contains("activity polls refused"), "\(stopped)")
        // 200 ms then 400 ms, each ±20 % jitter: the second is at least 320/240 ≈ 1.33 times the first.
        #expect(delays.count == 2 && delays[1] > delays[0] * 1.3, "the activity polls' backoff grows: \(delays)")
        // A poll of another kind that works ends the outage once the failing kind polls again
        // (its poll may then wait a minute on an idle queue); while its pollers wait out their
        // backoff, it goes on.
        failures.succeeded(poll: "PollWorkflowTaskQueue")
        #expect(failures.outage != nil)
        for _ in 0..<3 { failures.backoffEnded(poll: "PollActivityTaskQueue") }
        #expect(failures.outage == nil)
    }

    /// Throttled polls (RESOURCE_EXHAUSTED) back off from 1 s, as Go's pollers do, so that a
    /// throttled fleet eases the pressure; other failures from 200 ms.
    @Test func throttledPollsBackOffLonger() {
        let logger = Logger(label: "backoff")
        let failures = PollFailures(taskQueue: "q", namespace: "default", logger: logger)
        guard case .retry(let throttled) = failures.failed(TemporalError(code: .resourceExhausted, message: "slow down"), poll: "p") else {
            Issue.record("expected a retry")
            return
        }
        #expect(throttled >= .milliseconds(800), "\(throttled)")
        let other = PollFailures(taskQueue: "q", namespace: "default", logger: logger)
        guard case .retry(let unavailable) = other.failed(TemporalError(code: .unavailable, message: "down"), poll: "p") else {
            Issue.record("expected a retry")
            return
        }
        #expect(unavailable <= .milliseconds(240), "\(unavailable)")
    }

    /// A server that answers the probe while polls still fail at once (its frontend up, its
    /// matching down): the worker reads ready only until the next failed poll, the backoff
    /// keeps growing, one probe runs at a time at most once a second, and "answers again" is
    /// logged once. (The first version reset the whole outage on each answered probe: the
    /// backoff stayed at 200 ms and the two log lines came every cycle.)
    @Test func probesThatAnswerWhilePollsFailDoNotResetTheBackoff() async throws {
        let box = LogBox()
        let failures = PollFailures(taskQueue: "q", namespace: "default", logger: PollFailureTests.logger(box))
        let down = TemporalError(code: .unavailable, message: "matching is down")
        _ = failures.failed(down, poll: "p")
        #expect(failures.beginProbe())
        #expect(!failures.beginProbe(), "one probe at a time")
        failures.probeFinished(answered: true)
        #expect(failures.outage == nil, "ready once the server answers")
        #expect(!failures.beginProbe(), "no probe while the server is known to answer")
        guard case .retry(let second) = failures.failed(down, poll: "p") else {
            Issue.record("expected a retry")
            return
        }
        #expect(second >= .milliseconds(320), "the backoff went on from the first failure: \(second)")
        #expect(failures.outage != nil, "not ready after the poll failed again")
        #expect(!failures.beginProbe(), "at most one probe a second")
        try await Task.sleep(for: .milliseconds(1_100))
        #expect(failures.beginProbe())
        failures.probeFinished(answered: true)
        let lines = box.lines.withLock { $0 }
        #expect(lines.filter { $0.contains("answers again") }.count == 1, "\(lines)")
        #expect(lines.filter { $0.contains("retrying with backoff") }.count == 1, "\(lines)")
        failures.succeeded(poll: "p")
        #expect(!box.lines.withLock { $0 }.contains { $0.contains("works again after") }, "the end was logged once")
    }
}
