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
