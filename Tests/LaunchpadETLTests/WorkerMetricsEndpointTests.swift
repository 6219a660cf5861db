import Foundation
import TemporalTestSupport
import Testing

@testable import LaunchpadETL
@testable import LaunchpadFixture

#if canImport(FoundationNetworking)
import FoundationNetworking
#endif

/// `LaunchpadWorker --metrics-port`, run as a process: a real scrape after the mock flows ran.
@Suite struct WorkerMetricsEndpointTests {
    /// The value of the sample `name{…}` whose labels include every `labels` pair.
    static func sample(_ text: String, _ name: String, _ labels: [String: String]) -> Double? {
        text.split(separator: "\n").lazy
            .filter { line in line.hasPrefix(name + "{") && labels.allSatisfy { line.contains("\($0.key)=\"\($0.value)\"") } }
            .compactMap { $0.split(separator: " ").last.flatMap { Double($0) } }
            .first
    }

    static func get(_ url: String) async throws -> (Int, String, String) {
        let (data, response) = try await URLSession.shared.data(from: URL(string: url)!)
        let http = response as! HTTPURLResponse
        return (http.statusCode, http.value(forHTTPHeaderField: "Content-Type") ?? "", String(decoding: data, as: UTF8.self))
    }

    @Test func workerServesPrometheusMetricsWithEventsLoaded() async throws {
        let server = try await DevServer.shared()
        let directory = try TemporaryDirectory()
        let queue = flowQueue("exe-metrics")
        let port = try DevServer.freePort()
        let worker = try ExecutableTests.launchWorker([
            "--host", server.address, "--db-path", directory.file("events.db"),
            "--mock-task-queue", queue, "--no-launchpad", "--metrics-port", "\(port)", "--metrics-host", "127.0.0.1",
        ])
        defer { if worker.isRunning { kill(worker.processIdentifier, SIGKILL) } }

        let (status, output) = try await ExecutableTests.run(
            try ExecutableTests.executable("StartMockWorkflow"),
            ["--host", server.address, "--task-queue", queue])
        #expect(status == 0, "\(output)")

        // The endpoint starts before the worker polls, so it is up once the flows have run.
        let (code, contentType, body) = try await Self.get("http://127.0.0.1:\(port)/metrics")
        #expect(code == 200)
        #expect(contentType.hasPrefix("text/plain; version=0.0.4"))
        let mine = ["namespace": "default", "task_queue": queue]
        // Loads run on the worker's store queue (see `StoreRouting`).
        let storeQueue = StoreRouting.queue(base: queue, store: try SQLiteEventStore(path: directory.file("events.db")).identity)
        #expect(Self.sample(body, "launchpad_events_loaded_total", ["namespace": "default", "task_queue": storeQueue]) == 12, "\(body)")
        #expect((Self.sample(body, "temporal_workflow_task_queue_poll_succeed_total", mine) ?? 0) >= 4)
        #expect(Self.sample(body, "temporal_worker_task_slots_available", mine.merging(["worker_type": "ActivityWorker"]) { $1 }) != nil)
        #expect(Self.sample(body, "temporal_activity_execution_latency_seconds_count", mine) != nil)
        let (missing, _, _) = try await Self.get("http://127.0.0.1:\(port)/")
        #expect(missing == 404)
        // Health beside the metrics: alive and ready, each worker (queue) named.
        for path in ["/healthz", "/readyz"] {
            let (healthCode, _, health) = try await Self.get("http://127.0.0.1:\(port)\(path)")
            #expect(healthCode == 200 && health.hasPrefix("ok") && health.contains("worker on '\(queue)': serving"), "\(path): \(health)")
        }
        // `LaunchpadWorker health` (the compose healthcheck) asks the same, as a process.
        let launchpadWorker = try ExecutableTests.executable("LaunchpadWorker")
        let (ready, readyText) = try await ExecutableTests.run(
            launchpadWorker, ["health", "--port", "\(port)"], environment: ["METRICS_HOST": "127.0.0.1"])
        #expect(ready == 0 && readyText.contains("worker on '\(queue)': serving"), "\(readyText)")
        let (alive, _) = try await ExecutableTests.run(launchpadWorker, ["health", "--live", "--port", "\(port)", "--host", "127.0.0.1"])
        #expect(alive == 0)

        worker.terminate()
        let deadline = Date().addingTimeInterval(15)
        while worker.isRunning, Date() < deadline { try await Task.sleep(for: .milliseconds(50)) }
        #expect(!worker.isRunning)
        // Nothing listens now: the check fails, saying what to look at.
        let (gone, goneText) = try await ExecutableTests.run(launchpadWorker, ["health", "--port", "\(port)"])
        #expect(gone == 1 && goneText.contains("nothing answers on 127.0.0.1:\(port)"), "\(goneText)")
        // Port 0 (the worker picks one) cannot be checked, and the check says so (it said no
        // port was set, with METRICS_PORT=0 set).
        let (zero, zeroText) = try await ExecutableTests.run(launchpadWorker, ["health"], environment: ["METRICS_PORT": "0"])
        #expect(zero == 64 && zeroText.contains("metrics port 0 makes the worker pick a free port"), "\(zeroText)")
    }

    /// A port in use is refused naming the address and the option that set it (with
    /// `--codec-server-port` too, FlyingFox's bare "bind(98): Address already in use" did not say
    /// which), before the worker connects.
    @Test func aMetricsPortInUseIsNamedWithItsOption() async throws {
        guard let (fd, port) = LoopbackSocket.listen() else { throw POSIXError(.EADDRNOTAVAIL) }
        defer { close(fd) }
        let (status, output) = try await ExecutableTests.run(
            try ExecutableTests.executable("LaunchpadWorker"),
            ["--metrics-port", "\(port)", "--metrics-host", "127.0.0.1", "--host", "127.0.0.1:1", "--no-launchpad"])
        #expect(
            status != 0 && output.contains("cannot listen on 127.0.0.1:\(port) (--metrics-port / METRICS_PORT)")
                && output.contains("in use"), "\(output)")
    }

    /// `--metrics-host` takes an IPv4 address; anything else is refused before the worker
    /// starts, saying what to give.
    @Test func aMetricsHostThatIsNotAnAddressIsRefused() async throws {
        let (status, output) = try await ExecutableTests.run(
            try ExecutableTests.executable("LaunchpadWorker"), ["--metrics-port", "0", "--metrics-host", "metrics.local"])
        #expect(status != 0 && output.contains("metrics host 'metrics.local' is not an IPv4 address"), "\(output)")
    }
}
