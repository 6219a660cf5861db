import CoreMetrics
import Foundation
import Prometheus
import Temporal
import TemporalTestSupport
import TemporalWorker
import Testing

@testable import TemporalPrometheus

/// Calls `echo` once.
final class MetricsFlow: Workflow {
    init() {}
    func run(context: WorkflowContext, input: String) async throws -> String {
        if input == "stray activity" {
            var once = ActivityOptions(startToCloseTimeout: .seconds(10))
            once.retryPolicy = RetryPolicy(maximumAttempts: 1)
            do {
                _ = try await context.executeActivity("noSuchActivity", input: input, options: once, as: String.self)
            } catch {
                return "refused"
            }
        }
        let local = try await context.executeLocalActivity(
            "echo", input: input, options: LocalActivityOptions(startToCloseTimeout: .seconds(10)), as: String.self)
        return try await context.executeActivity(
            "echo", input: local, options: ActivityOptions(startToCloseTimeout: .seconds(10)),
            as: String.self)
    }
}

@Suite("Prometheus metrics endpoint")
struct MetricsEndpointTests {
    @Test func unknownPathsAndMethodsAre404() async throws {
        let registry = PrometheusCollectorRegistry()
        PrometheusBootstrap.factory(for: registry).makeCounter(label: "probe_total", dimensions: [("kind", "test")]).increment(by: 1)
        let endpoint = try MetricsEndpoint(registry: registry, host: "127.0.0.1", port: 0)
        let port = try await endpoint.start()
        defer { Task { await endpoint.stop() } }

        let ok = try await httpRequest("http://127.0.0.1:\(port)/metrics")
        #expect(ok.status == 200)
        #expect(ok.contentType.hasPrefix("text/plain; version=0.0.4"))
        #expect(parseSamples(ok.body).value("probe_total", ["kind": "test"]) == 1)

        for (path, method) in [("/", "GET"), ("/nope", "GET"), ("/metrics/x", "GET"), ("/healthz", "POST")] {
            let reply = try await httpRequest("http://127.0.0.1:\(port)\(path)", method: method)
            #expect(reply.status == 404, "\(method) \(path)")
        }
        // Another method on a path served is 405, not "not found".
        for method in ["POST", "PUT", "DELETE"] {
            let reply = try await httpRequest("http://127.0.0.1:\(port)/metrics", method: method)
            #expect(reply.status == 405, "\(method)")
        }
        // HEAD is GET without the body (it was a 404).
        let head = try await httpRequest("http://127.0.0.1:\(port)/metrics", method: "HEAD")
        #expect(head.status == 200 && head.body.isEmpty && head.contentType.hasPrefix("text/plain; version=0.0.4"), "\(head)")
        await endpoint.stop()
    }

    /// A negative duration (measured across a wall-clock step back) is recorded as 0: before,
    /// swift-prometheus trapped writing the histogram's negative sum, at every scrape.
    @Test func aNegativeDurationIsRecordedAsZero() {
        let registry = PrometheusCollectorRegistry()
        let timer = PrometheusBootstrap.factory(for: registry).makeTimer(label: "probe_latency", dimensions: [("kind", "test")])
        timer.recordNanoseconds(-300_000_000)
        let reply = MetricsEndpoint.respond(method: "GET", path: "/metrics", registry: registry)
        let samples = parseSamples(String(decoding: reply.body, as: UTF8.self))
        #expect(reply.status == 200)
        #expect(samples.value("probe_latency_seconds_sum", ["kind": "test"]) == 0)
        #expect(samples.value("probe_latency_seconds_count", ["kind": "test"]) == 1)
    }

    /// `/healthz` and `/readyz` answer from the health check set (404 before one is): 200 when
    /// live or ready, 503 otherwise, with the check's text.
    @Test func healthAndReadiness() async throws {
        let endpoint = try MetricsEndpoint(registry: PrometheusCollectorRegistry(), host: "127.0.0.1", port: 0)
        let port = try await endpoint.start()
        let base = "http://127.0.0.1:\(port)"
        #expect(try await httpRequest(base + "/healthz").status == 404)
        endpoint.setHealthCheck { HealthReport(live: true, ready: false, text: "polling failing: UNAVAILABLE") }
        let live = try await httpRequest(base + "/healthz")
        #expect(live.status == 200 && live.body == "ok\npolling failing: UNAVAILABLE\n", "\(live.body)")
        let notReady = try await httpRequest(base + "/readyz")
        #expect(notReady.status == 503 && notReady.body.hasPrefix("not ready\n"), "\(notReady.body)")
        endpoint.setHealthCheck { HealthReport(live: false, ready: false, text: "stopped") }
        #expect(try await httpRequest(base + "/healthz").status == 503)
        #expect(try await httpRequest(base + "/healthz", method: "POST").status == 405)
        await endpoint.stop()
    }

    @Test func aTakenPortFailsToStart() async throws {
        let first = try MetricsEndpoint(registry: PrometheusCollectorRegistry(), host: "127.0.0.1", port: 0)
        let port = try await first.start()
        let second = try MetricsEndpoint(registry: PrometheusCollectorRegistry(), host: "127.0.0.1", port: port)
        await #expect(throws: (any Error).self) { try await second.start() }
        await first.stop()
    }

    /// A worker without a sticky cache rebuilds the run from its history for every task after
    /// the first, and times each replay (`temporal_workflow_task_replay_latency`, as Go and
    /// Core name it; not recorded before), while a run's first task, with nothing to replay, is
    /// not timed.
    @Test func aRunRebuiltFromItsHistoryTimesItsReplay() async throws {
        let registry = PrometheusCollectorRegistry()
        let server = try await DevServer.shared()
        let client = try await TemporalClient.connect(target: server.address, metricsFactory: PrometheusBootstrap.factory(for: registry))
        defer { client.close() }
        let queue = "replay-metrics-\(UUID().uuidString.prefix(8))"
        var options = WorkerOptions()
        options.maxCachedWorkflows = 0
        options.gracefulShutdownTimeout = .seconds(1)
        let echo = ActivityDefinition("echo") { (text: String, _: ActivityContext) -> String in text }
        let worker = Worker(client: client, taskQueue: queue, workflows: [MetricsFlow.self], activities: [echo], options: options)
        let running = Task { try await worker.run() }
        let handle = try await client.startWorkflow(
            type: MetricsFlow.name, id: "replay-metrics-\(UUID().uuidString)", taskQueue: queue, args: "hello")
        #expect(try await handle.result(as: String.self) == "hello")
        await worker.shutdown(gracePeriod: .seconds(1))
        _ = await running.result

        let reply = MetricsEndpoint.respond(method: "GET", path: "/metrics", registry: registry)
        let samples = parseSamples(String(decoding: reply.body, as: UTF8.self))
        let wf = ["namespace": "default", "task_queue": queue, "workflow_type": "MetricsFlow"]
        let tasks = samples.value("temporal_workflow_task_execution_latency_seconds_count", wf) ?? 0
        let replays = samples.value("temporal_workflow_task_replay_latency_seconds_count", wf) ?? 0
        #expect(tasks >= 2 && replays == tasks - 1, "\(tasks) tasks, \(replays) replays")
    }

    /// A worker and its client record into a registry; a real HTTP scrape sees polls, slots,
    /// task latencies, the activity, and an RPC failure by gRPC code.
    @Test func workerMetricsAreScraped() async throws {
        let registry = PrometheusCollectorRegistry()
        let server = try await DevServer.shared()
        let client = try await TemporalClient.connect(target: server.address, metricsFactory: PrometheusBootstrap.factory(for: registry))
        defer { client.close() }
        let queue = "metrics-\(UUID().uuidString.prefix(8))"
        var options = WorkerOptions()
        options.maxConcurrentWorkflowTasks = 7
        options.maxConcurrentActivities = 5
        options.gracefulShutdownTimeout = .seconds(1)
        let echo = ActivityDefinition("echo") { (text: String, _: ActivityContext) -> String in text }
        let worker = Worker(client: client, taskQueue: queue, workflows: [MetricsFlow.self], activities: [echo], options: options)
        let running = Task { try await worker.run() }

        let handle = try await client.startWorkflow(
            type: MetricsFlow.name, id: "metrics-\(UUID().uuidString)", taskQueue: queue,
            args: "hello")
        let result = try await handle.result(as: String.self)
        #expect(result == "hello")
        // An activity of a type this worker does not register (Go's counter; none before).
        let strayActivity = try await client.startWorkflow(
            type: MetricsFlow.name, id: "metrics-\(UUID().uuidString)", taskQueue: queue, args: "stray activity")
        #expect(try await strayActivity.result(as: String.self) == "refused")

        // A deliberately failing RPC: NOT_FOUND.
        await #expect(throws: TemporalError.self) {
            _ = try await client.workflowHandle(id: "no-such-workflow-\(UUID().uuidString)").describe()
        }

        // A workflow of a type this worker does not run: its failed task is counted under one
        // label for every such type, not under the wire's name (each name added series for good).
        let stray = "NoSuchFlow\(UUID().uuidString.prefix(8))"
        _ = try await client.startWorkflow(type: stray, id: "metrics-stray-\(UUID().uuidString)", taskQueue: queue, args: "x")
        let deadline = ContinuousClock.now + .seconds(20)
        while worker.metrics.snapshot.workflowTaskFailures == 0, ContinuousClock.now < deadline {
            try await Task.sleep(for: .milliseconds(50))
        }

        // Stopped first: the closing task's metrics are recorded once the server accepted it,
        // which can be after the result reached the client.
        await worker.shutdown(gracePeriod: .seconds(1))
        _ = await running.result
        let endpoint = try MetricsEndpoint(registry: registry, host: "127.0.0.1", port: 0)
        let port = try await endpoint.start()
        let scrape = try await httpRequest("http://127.0.0.1:\(port)/metrics")
        await endpoint.stop()

        #expect(scrape.status == 200)
        #expect(scrape.contentType.hasPrefix("text/plain; version=0.0.4"))
        let samples = parseSamples(scrape.body)
        let mine = ["namespace": "default", "task_queue": queue]
        func labels(_ extra: [String: String]) -> [String: String] { mine.merging(extra) { $1 } }

        #expect((samples.value("temporal_worker_start_total", mine) ?? 0) == 1)
        #expect((samples.value("temporal_workflow_task_queue_poll_succeed_total", mine) ?? 0) >= 2)
        #expect(
            (samples.value("temporal_activity_task_queue_poll_succeed_total", mine) ?? 0)
                + (samples.value("temporal_activity_execution_latency_seconds_count", mine) ?? 0) >= 1)

        let wf = labels(["workflow_type": "MetricsFlow"])
        #expect((samples.value("temporal_workflow_task_execution_latency_seconds_count", wf) ?? 0) >= 2)
        #expect((samples.value("temporal_workflow_task_execution_latency_seconds_sum", wf) ?? -1) >= 0)
        #expect((samples.value("temporal_workflow_task_schedule_to_start_latency_seconds_count", wf) ?? 0) >= 2)
        #expect(samples.value("temporal_workflow_task_execution_failed_total", wf) == nil)
        // The two runs closed: each counted once, with its end-to-end latency.
        #expect(samples.value("temporal_workflow_completed_total", wf) == 2)
        #expect(samples.value("temporal_workflow_failed_total", wf) == nil)
        #expect((samples.value("temporal_workflow_endtoend_latency_seconds_count", wf) ?? 0) == 2)

        let unregistered = labels(["workflow_type": "__unregistered__", "failure_reason": "WorkflowError"])
        #expect((samples.value("temporal_workflow_task_execution_failed_total", unregistered) ?? 0) >= 1)
        #expect(!scrape.body.contains(stray), "a series named after an unregistered type")

        // Activity metrics name the scheduling workflow's type, as Go's do.
        let act = labels(["activity_type": "echo", "workflow_type": "MetricsFlow"])
        #expect((samples.value("temporal_activity_execution_latency_seconds_count", act) ?? 0) >= 1)
        #expect((samples.value("temporal_activity_schedule_to_start_latency_seconds_count", act) ?? 0) >= 1)
        #expect((samples.value("temporal_activity_succeed_endtoend_latency_seconds_count", act) ?? 0) >= 1)
        #expect(samples.value("temporal_activity_execution_failed_total", act) == nil)
        // The local activity, under Go's and Core's names (none were recorded before).
        #expect(samples.value("temporal_local_activity_total", act) == 1)
        #expect((samples.value("temporal_local_activity_execution_latency_seconds_count", act) ?? 0) == 1)
        #expect((samples.value("temporal_local_activity_succeed_endtoend_latency_seconds_count", act) ?? 0) == 1)
        #expect(samples.value("temporal_local_activity_execution_failed_total", act) == nil)

        // Slots: both kinds, used + available = the configured capacity.
        for (type, capacity) in [("WorkflowWorker", 7.0), ("ActivityWorker", 5.0)] {
            let dims = labels(["worker_type": type])
            let used = samples.value("temporal_worker_task_slots_used", dims)
            let available = samples.value("temporal_worker_task_slots_available", dims)
            #expect(used != nil && available != nil, "\(type) slots missing")
            if let used, let available {
                #expect(used >= 0 && available >= 0 && used + available == capacity, "\(type): used \(used), available \(available)")
            }
        }

        // The sticky cache: the run is cached between its tasks, so its later tasks hit; its
        // first task is no miss (Go counts a miss only for a partial history it had to replay).
        #expect((samples.value("temporal_sticky_cache_hit_total", mine) ?? 0) >= 1)
        #expect(samples.value("temporal_sticky_cache_miss_total", mine) == nil)
        #expect(samples.value("temporal_sticky_cache_size", mine) != nil)
        #expect(samples.value("temporal_unregistered_activity_invocation_total", mine) == 1)
        // Pollers waiting, by type, as Go reports them (none before).
        for type in ["workflow_task", "workflow_sticky_task", "activity_task"] {
            #expect(samples.value("temporal_num_pollers", labels(["poller_type": type])) != nil, "\(type)")
        }

        // Latency buckets that fit: long polls up to 90 s, activities up to a day.
        let bounds = { (name: String) in Set(samples.filter { $0.name == name }.compactMap { $0.labels["le"] }) }
        #expect(bounds("temporal_long_request_latency_seconds_bucket").isSuperset(of: ["60.0", "90.0"]))
        #expect(bounds("temporal_activity_execution_latency_seconds_bucket").contains("86400.0"))

        // Client RPCs: long polls, ordinary requests, and the NOT_FOUND by code.
        #expect((samples.value("temporal_long_request_total", ["operation": "PollWorkflowTaskQueue", "namespace": "default"]) ?? 0) >= 1)
        #expect(
            (samples.value("temporal_request_total", ["operation": "StartWorkflowExecution", "namespace": "default"]) ?? 0) == 3,
            "the two runs and the stray one")
        #expect((samples.value("temporal_request_latency_seconds_count", ["operation": "RespondActivityTaskCompleted"]) ?? 0) >= 1)
        #expect(
            samples.value(
                "temporal_request_failure_total",
                [
                    "operation": "DescribeWorkflowExecution", "status_code": "NOT_FOUND",
                    "namespace": "default",
                ]) == 1)
        #expect(samples.value("temporal_request_failure_total", ["operation": "StartWorkflowExecution"]) == nil)
        // The polls the shutdown cancelled did not fail (each was counted as a CANCELLED failure).
        #expect(
            !samples.contains { $0.name == "temporal_long_request_failure_total" && $0.labels["status_code"] == "CANCELLED" },
            "\(samples.filter { $0.name == "temporal_long_request_failure_total" })")
    }
}
