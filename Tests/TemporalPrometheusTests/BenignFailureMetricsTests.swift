import Foundation
import Prometheus
import Temporal
import TemporalTestSupport
import TemporalWorker
import Testing

@testable import TemporalPrometheus

/// Runs `benign` as an activity and as a local activity (each fails once, benign and
/// non-retryable) and then fails itself, benign or not as its input says.
final class BenignFlow: Workflow {
    init() {}
    func run(context: WorkflowContext, input: Bool) async throws -> String {
        var once = ActivityOptions(startToCloseTimeout: .seconds(10))
        once.retryPolicy = RetryPolicy(maximumAttempts: 1)
        var seen: [String] = []
        do {
            _ = try await context.executeActivity("benign", input: "remote", options: once, as: String.self)
        } catch let error as ActivityError {
            seen.append("remote \(error.applicationError?.category == .benign ? "benign" : "not benign")")
        }
        var local = LocalActivityOptions(startToCloseTimeout: .seconds(10))
        local.retryPolicy = RetryPolicy(maximumAttempts: 1)
        do {
            _ = try await context.executeLocalActivity("benign", input: "local", options: local, as: String.self)
        } catch let error as ActivityError {
            seen.append("local \(error.applicationError?.category == .benign ? "benign" : "not benign")")
        }
        throw ApplicationError(
            seen.joined(separator: ", "), type: "NothingToDo", nonRetryable: true, category: input ? .benign : .unspecified)
    }
}

/// Failures their code calls benign (`ApplicationError.category`, Go's and Core's
/// `APPLICATION_ERROR_CATEGORY_BENIGN`: expected, no alarm) keep their category across the
/// server, and are left out of the failure metrics. Before, the category could not be set and
/// every such failure was counted.
@Suite struct BenignFailureMetricsTests {
    @Test func benignFailuresKeepTheirCategoryAndAreNotCounted() async throws {
        let registry = PrometheusCollectorRegistry()
        let server = try await DevServer.shared()
        let client = try await TemporalClient.connect(target: server.address, metricsFactory: PrometheusBootstrap.factory(for: registry))
        defer { client.close() }
        let queue = "benign-\(UUID().uuidString.prefix(8))"
        var options = WorkerOptions()
        options.gracefulShutdownTimeout = .seconds(1)
        let benign = ActivityDefinition("benign") { (_: String, _: ActivityContext) -> String in
            throw ApplicationError("nothing new yet", type: "NothingNew", nonRetryable: true, category: .benign)
        }
        let worker = Worker(client: client, taskQueue: queue, workflows: [BenignFlow.self], activities: [benign], options: options)
        let running = Task { try await worker.run() }
        for benignRun in [true, false] {
            let handle = try await client.startWorkflow(
                type: BenignFlow.name, id: "benign-\(UUID().uuidString)", taskQueue: queue, args: benignRun)
            do {
                _ = try await handle.result(as: String.self)
                Issue.record("the workflow should fail")
            } catch let error as TemporalError {
                let app = try #require(error.applicationError, "\(error)")
                #expect(app.category == (benignRun ? .benign : .unspecified))
                #expect(app.message == "remote benign, local benign", "\(app.message)")
            }
        }
        await worker.shutdown(gracePeriod: .seconds(1))
        _ = await running.result

        let samples = parseSamples(
            String(decoding: MetricsEndpoint.respond(method: "GET", path: "/metrics", registry: registry).body, as: UTF8.self))
        let flow = ["namespace": "default", "task_queue": queue, "workflow_type": "BenignFlow"]
        // Two runs closed: the benign failure is not counted, the other is.
        #expect(samples.value("temporal_workflow_failed_total", flow) == 1)
        #expect(samples.value("temporal_workflow_endtoend_latency_seconds_count", flow) == 2, "both closes are timed")
        let activity = flow.merging(["activity_type": "benign"]) { $1 }
        #expect(samples.value("temporal_activity_execution_failed_total", activity) == nil)
        #expect(samples.value("temporal_local_activity_execution_failed_total", activity) == nil)
        #expect((samples.value("temporal_activity_execution_latency_seconds_count", activity) ?? 0) == 2)
    }
}
