import Foundation
import Synchronization
import Temporal
import TemporalProto
import TemporalTestSupport
import Testing

@testable import TemporalWorker

/// While local activities run, the worker heartbeats its workflow task within 80 % of the task
/// timeout, as Core and Go do. The heartbeats went out on a 200 ms tick, each period counted
/// from the previous answer's arrival: a 1 s task's heartbeats left 1.000–1.003 s apart and
/// raced the server's 1 s timer (lost, the task timed out and the local activity started over).
@Suite struct LocalActivityHeartbeatTimingTests {
    /// Passes calls to the dev server, noting when each workflow task heartbeat is sent.
    final class Timing: ServiceTransport {
        let inner: GRPCChannel
        let heartbeats = Mutex<[ContinuousClock.Instant]>([])
        init(_ inner: GRPCChannel) { self.inner = inner }
        var target: String { inner.target }
        func unary(method: String, request: Data, metadata: [(String, String)], timeout: Duration?) async throws -> Data {
            if method.hasSuffix("/RespondWorkflowTaskCompleted"),
                (try? Temporal_Api_Workflowservice_V1_RespondWorkflowTaskCompletedRequest(serializedBytes: request))?
                    .forceCreateNewWorkflowTask == true
            {
                heartbeats.withLock { $0.append(.now) }
            }
            return try await inner.unary(method: method, request: request, metadata: metadata, timeout: timeout)
        }
        func close() { inner.close() }
    }

    @Test func heartbeatsGoOutWithin80PercentOfAShortTaskTimeout() async throws {
        let transport = Timing(try GRPCChannel(target: try await DevServer.shared().address))
        let client = try await TemporalClient.connect(transport: transport)
        let started = Counter()
        let slow = ActivityDefinition("slowLocal") { (seconds: Double, _: ActivityContext) -> String in
            started.increment()
            try await Task.sleep(for: .seconds(seconds))
            return "slept"
        }
        let queue = uniqueQueue("la-beat")
        var options = WorkerOptions()
        options.gracefulShutdownTimeout = .seconds(1)
        let worker = Worker(
            client: client, taskQueue: queue, workflows: [SleepsInALocalActivity.self], activities: [slow], options: options)
        let running = Task { try await worker.run() }
        let handle = try await client.startWorkflow(
            type: SleepsInALocalActivity.name, id: "la-beat-\(UUID())", taskQueue: queue, args: 4.0,
            options: WorkflowOptions(taskTimeout: .seconds(1)))
        let result = try? await withTimeout(30) { try await handle.result(as: String.self) }
        await worker.shutdown()
        _ = await running.result
        #expect(result == "slept")
        // The usual gap, not every one: a loaded machine can stall the worker past the timeout
        // now and then (a 1.5 s stall on a CI run timed the task out and the local activity
        // started over), which no schedule of heartbeats prevents.
        let times = transport.heartbeats.withLock { $0 }
        #expect(times.count >= 4, "\(times.count) heartbeats")
        let gaps = zip(times.dropFirst(), times).map { $0 - $1 }.sorted()
        // About 0.4-0.6 s now (0.4 s, then the next tick); 1.0 s before.
        let median = gaps.isEmpty ? Duration.zero : gaps[gaps.count / 2]
        #expect(median <= .milliseconds(900), "median \(median) of \(gaps)")
    }
}

/// One local activity of `seconds`, with room for it.
final class SleepsInALocalActivity: Workflow {
    init() {}
    func run(context: WorkflowContext, input: Double) async throws -> String {
        try await context.executeLocalActivity(
            "slowLocal", input: input, options: LocalActivityOptions(startToCloseTimeout: .seconds(30)), as: String.self)
    }
}
