import Foundation
import Synchronization
import Temporal
import TemporalProto
import TemporalTesting
import Testing

@testable import TemporalWorker

/// Every poll and every answer of a worker names its deployment (`WorkerOptions.deployment`),
/// as the server expects: checked on the requests themselves, since the history shows only the
/// completed workflow tasks'.
@Suite struct DeploymentOptionsOnTheWireTests {
    /// Records each request, then hands it to the in-memory service.
    final class Recorder: ServiceTransport {
        let inner = InMemoryTemporalService()
        let requests = Mutex<[(rpc: String, bytes: Data)]>([])
        var target: String { inner.target }
        func unary(method: String, request: Data, metadata: [(String, String)], timeout: Duration?) async throws -> Data {
            requests.withLock { $0.append((String(method.split(separator: "/").last ?? ""), request)) }
            return try await inner.unary(method: method, request: request, metadata: metadata, timeout: timeout)
        }
        func close() { inner.close() }

        func all(_ rpc: String) -> [Data] { requests.withLock { $0.filter { $0.rpc == rpc }.map(\.bytes) } }
    }

    @Test func pollsAndEveryKindOfAnswerNameTheDeployment() async throws {
        let recorder = Recorder()
        let client = try await TemporalClient.connect(transport: recorder)
        var options = WorkerOptions()
        options.gracefulShutdownTimeout = .seconds(1)
        // The cancel reaches the activity on a heartbeat: every 0.5 s, not 2.4 s of a 3 s
        // heartbeat timeout (0.6 s of slack, which a loaded box can eat: a timeout, not a cancel).
        options.maxHeartbeatThrottleInterval = .milliseconds(500)
        options.deployment = WorkerDeploymentOptions(deploymentName: "etl", buildID: "b7")
        let queue = uniqueQueue("wire")
        let worker = Worker(
            client: client, taskQueue: queue, workflows: [OneGoodOneBad.self, MisusesTheContext.self],
            activities: [
                greet, ActivityDefinition("refuse") { (_: String, _: ActivityContext) -> String in throw ApplicationError("no") },
                ActivityDefinition("waitForCancel") { (_: String, context: ActivityContext) -> String in
                    while true {
                        context.heartbeat()
                        try await Task.sleep(for: .milliseconds(20))  // throws once the cancellation arrives
                    }
                },
            ],
            options: options)
        let running = Task { try await worker.run() }
        let good = try await client.startWorkflow(type: OneGoodOneBad.name, id: "wire-\(UUID())", taskQueue: queue)
        #expect(try await good.result(as: String.self) == "hi x, then failed, then cancelled")
        _ = try await client.startWorkflow(type: MisusesTheContext.name, id: "misuse-\(UUID())", taskQueue: queue)
        #expect(try await eventually(10) { !recorder.all("RespondWorkflowTaskFailed").isEmpty })
        await worker.shutdown(gracePeriod: .zero)
        _ = await running.result

        typealias WS = Temporal_Api_Workflowservice_V1_PollWorkflowTaskQueueRequest
        let named: [(String, (Data) throws -> Temporal_Api_Deployment_V1_WorkerDeploymentOptions)] = [
            ("PollWorkflowTaskQueue", { try WS(serializedBytes: $0).deploymentOptions }),
            (
                "PollActivityTaskQueue",
                { try Temporal_Api_Workflowservice_V1_PollActivityTaskQueueRequest(serializedBytes: $0).deploymentOptions }
            ),
            (
                "RespondWorkflowTaskCompleted",
                { try Temporal_Api_Workflowservice_V1_RespondWorkflowTaskCompletedRequest(serializedBytes: $0).deploymentOptions }
            ),
            (
                "RespondWorkflowTaskFailed",
                { try Temporal_Api_Workflowservice_V1_RespondWorkflowTaskFailedRequest(serializedBytes: $0).deploymentOptions }
            ),
            (
                "RespondActivityTaskCompleted",
                { try Temporal_Api_Workflowservice_V1_RespondActivityTaskCompletedRequest(serializedBytes: $0).deploymentOptions }
            ),
            (
                "RespondActivityTaskCanceled",
                { try Temporal_Api_Workflowservice_V1_RespondActivityTaskCanceledRequest(serializedBytes: $0).deploymentOptions }
            ),
            (
                "RespondActivityTaskFailed",
                { try Temporal_Api_Workflowservice_V1_RespondActivityTaskFailedRequest(serializedBytes: $0).deploymentOptions }
            ),
        ]
        for (rpc, deployment) in named {
            let sent = try recorder.all(rpc).map(deployment)
            #expect(!sent.isEmpty, "no \(rpc) was sent")
            #expect(
                sent.allSatisfy { $0.deploymentName == "etl" && $0.buildID == "b7" && $0.workerVersioningMode == .unversioned },
                "\(rpc): \(sent)")
        }
    }
}

/// An activity that answers, one that fails (once, no retries) and one that is cancelled.
final class OneGoodOneBad: Workflow {
    init() {}
    func run(context: WorkflowContext, input: NoValue) async throws -> String {
        let greeting = try await context.executeActivity("greet", input: "x", options: tenSeconds, as: String.self)
        var once = tenSeconds
        once.retryPolicy = RetryPolicy(maximumAttempts: 1)
        var result = greeting
        do {
            _ = try await context.executeActivity("refuse", input: "x", options: once, as: String.self)
        } catch {
            result += ", then failed"
        }
        // Cancelled by its scope once it runs; the workflow waits for the worker's answer. (1 s: a
        // cancellation before the attempt starts is the server's alone, with no answer to record,
        // which on a loaded box happened at 200 ms.)
        var options = once
        options.heartbeatTimeout = .seconds(3)
        options.cancellationType = .waitCancellationCompleted
        let waiting = options
        let outcome = await valueUnlessCancelled(after: .seconds(1), context: context, cancelled: ", then cancelled") {
            try await context.executeActivity("waitForCancel", input: "x", options: waiting, as: String.self)
        }
        return result + outcome
    }
}

/// Fails its workflow task (an activity without a timeout), again on every attempt.
final class MisusesTheContext: Workflow {
    init() {}
    func run(context: WorkflowContext, input: NoValue) async throws -> String {
        try await context.executeActivity("greet", input: "x", options: ActivityOptions(), as: String.self)
    }
}
