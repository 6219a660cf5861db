import Foundation
import Temporal
import TemporalTestSupport
import Testing

@testable import TemporalWorker

/// `Worker.health` through a worker's life: starting, serving, failing to poll, stopped.
@Suite struct WorkerHealthTests {
    @Test func healthFollowsTheWorkersLife() async throws {
        let client = try await DevServer.client()
        var options = WorkerOptions()
        options.gracefulShutdownTimeout = .seconds(1)
        let worker = Worker(client: client, taskQueue: uniqueQueue("health"), workflows: [GreetThenSleep.self], options: options)
        #expect(worker.health.status == .starting && worker.health.isLive && !worker.health.isReady)
        let running = Task { try await worker.run() }
        #expect(try await eventually(10) { worker.health.status == .serving })
        #expect(worker.health.isReady)
        await worker.shutdown(gracePeriod: .zero)
        _ = try await running.value
        #expect(worker.health.status == .stopped && !worker.health.isLive && !worker.health.isReady)
    }

    /// A worker whose `run()` refused its options reads as stopped, saying why: it read as
    /// starting ("run() not called yet") and live for ever, so a liveness check never restarted it.
    @Test func aWorkerThatRefusedItsOptionsReadsAsStopped() async throws {
        let client = try await DevServer.client()
        var options = WorkerOptions()
        options.maxConcurrentWorkflowTasks = 1  // the sticky polls need one more
        let worker = Worker(client: client, taskQueue: uniqueQueue("health"), workflows: [GreetThenSleep.self], options: options)
        await #expect(throws: TemporalError.self) { try await worker.run() }
        let health = worker.health
        #expect(health.status == .stopped && !health.isLive, "\(health)")
        #expect(health.detail?.contains("maxConcurrentWorkflowTasks") == true, "\(health)")
    }

    /// The namespace's capabilities are read again while the server cannot be reached: read
    /// once, a failure (here every call for its first 3 s, beyond the client's retries) left
    /// the worker on the legacy shutdown for good, its polls cancelled under tasks the server
    /// had handed them, though the namespace answers a stopping worker's polls.
    @Test func theNamespacesCapabilitiesAreReadAgainUntilTheyAnswer() async throws {
        let server = try await DevServer.start(extraArguments: [
            "--dynamic-config-value", "frontend.enableCancelWorkerPollsOnShutdown=true",
        ])
        defer { server.stop() }
        let transport = DescribeUnavailableAtFirst(try GRPCChannel(target: server.address), for: .seconds(3))
        var retries = RPCRetryPolicy()
        retries.maximumElapsed = .milliseconds(300)
        let client = try await TemporalClient.connect(transport: transport, retryPolicy: retries)
        var options = WorkerOptions()
        options.gracefulShutdownTimeout = .seconds(1)
        let worker = Worker(client: client, taskQueue: uniqueQueue("caps"), workflows: [GreetThenSleep.self], options: options)
        let running = Task { try await worker.run() }
        #expect(try await eventually(20) { worker.pollsAnsweredByServerAtShutdown })
        await worker.shutdown(gracePeriod: .zero)
        _ = try? await running.value
    }

    /// Activity polls the server refuses (UNAVAILABLE at once, here) keep the worker not ready
    /// while its workflow polls work: each workflow poll that came back ended the outage, and
    /// the worker read as serving nearly all the time without running an activity.
    @Test func activityPollsThatFailKeepItNotReadyWhileWorkflowPollsWork() async throws {
        let server = try await DevServer.start()
        defer { server.stop() }
        let transport = ActivityPollsUnavailable(try GRPCChannel(target: server.address))
        let client = try await TemporalClient.connect(transport: transport, retryPolicy: .none)
        var options = WorkerOptions()
        options.gracefulShutdownTimeout = .seconds(1)
        let worker = Worker(
            client: client, taskQueue: uniqueQueue("half"), workflows: [GreetThenSleep.self], activities: [greet], options: options)
        let running = Task { try await worker.run() }
        try await Task.sleep(for: .seconds(2))
        var failing = 0
        for _ in 0..<40 {
            if worker.health.status == .pollingFailing { failing += 1 }
            try await Task.sleep(for: .milliseconds(250))
        }
        #expect(failing >= 32, "polling failing in \(failing) of 40 samples")
        #expect(worker.health.detail?.contains("UNAVAILABLE") == true || worker.health.status == .serving, "\(worker.health)")
        await worker.shutdown(gracePeriod: .zero)
        _ = try? await running.value
    }

    /// Polls that fail (the server went away) make it not ready, still alive: it keeps
    /// retrying, and says why. When the server is back, it is ready again within a backoff
    /// (about 12 s at most) and a probe, not when a poll that waits on the idle queue for a task
    /// comes back (a minute; the code before the probe was still not ready after 20 s).
    @Test func failingPollsAreNotReadyUntilTheServerIsBack() async throws {
        let server = try await DevServer.start()
        let client = try await TemporalClient.connect(target: server.address, retryPolicy: .none)
        var options = WorkerOptions()
        options.gracefulShutdownTimeout = .seconds(1)
        let worker = Worker(client: client, taskQueue: uniqueQueue("health"), workflows: [GreetThenSleep.self], options: options)
        let running = Task { try await worker.run() }
        #expect(try await eventually(10) { worker.health.status == .serving })
        server.stop()
        #expect(try await eventually(30) { worker.health.status == .pollingFailing })
        let health = worker.health
        #expect(health.isLive && !health.isReady)
        #expect(health.description.contains("polling failing: for ") && health.description.contains("UNAVAILABLE"), "\(health)")
        let restarted = try await DevServer.start(port: server.port)
        defer { restarted.stop() }
        #expect(try await eventually(30) { worker.health.status == .serving }, "\(worker.health)")
        await worker.shutdown(gracePeriod: .zero)
        _ = await running.result
        #expect(worker.health.status == .stopped)
    }
}

/// Passes calls to a channel, but answers DescribeNamespace UNAVAILABLE for its first moments.
private final class DescribeUnavailableAtFirst: ServiceTransport {
    let inner: GRPCChannel
    let until: ContinuousClock.Instant
    init(_ inner: GRPCChannel, for duration: Duration) {
        self.inner = inner
        until = .now + duration
    }
    var target: String { inner.target }
    func unary(method: String, request: Data, metadata: [(String, String)], timeout: Duration?) async throws -> Data {
        if method.hasSuffix("/DescribeNamespace"), ContinuousClock.now < until {
            throw GRPCStatusError(code: .unavailable, message: "not yet")
        }
        return try await inner.unary(method: method, request: request, metadata: metadata, timeout: timeout)
    }
    func close() { inner.close() }
}

/// Passes calls to a channel, but fails every activity poll UNAVAILABLE at once and answers
/// workflow polls empty after 200 ms (a busy queue's polls come back often).
private final class ActivityPollsUnavailable: ServiceTransport {
    let inner: GRPCChannel
    init(_ inner: GRPCChannel) { self.inner = inner }
    var target: String { inner.target }
    func unary(method: String, request: Data, metadata: [(String, String)], timeout: Duration?) async throws -> Data {
        if method.hasSuffix("/PollActivityTaskQueue") { throw GRPCStatusError(code: .unavailable, message: "matching unavailable") }
        if method.hasSuffix("/PollWorkflowTaskQueue") {
            try await Task.sleep(for: .milliseconds(200))
            return Data()
        }
        return try await inner.unary(method: method, request: request, metadata: metadata, timeout: timeout)
    }
    func close() { inner.close() }
}
