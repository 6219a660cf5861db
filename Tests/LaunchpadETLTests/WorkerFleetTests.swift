import Foundation
import Logging
import ServiceLifecycle
import Synchronization
import Temporal
import TemporalTestSupport
import TemporalWorker
import Testing

@testable import LaunchpadETL

/// The worker executable's workers are one service: a graceful shutdown reaches them all at
/// once. A `ServiceGroup` of the workers themselves shuts them down one after another, each
/// within its grace period, while the others keep polling.
@Suite struct WorkerFleetTests {
    /// Runs an activity for 6 s.
    final class SlowStep: Workflow {
        init() {}
        func run(context: WorkflowContext, input: NoValue) async throws -> String {
            try await context.executeActivity("slowStep", options: ActivityOptions(startToCloseTimeout: .seconds(30)), as: String.self)
        }
    }

    @Test(arguments: [false, true])
    func aGracefulShutdownReachesEveryWorkerAtOnce(asOneService: Bool) async throws {
        let client = try await DevServer.client()
        let running = Mutex(false)
        let finished = Mutex(false)
        let slowStep = ActivityDefinition("slowStep") { (_: ActivityContext) -> String in
            running.withLock { $0 = true }
            // 6 s: the statuses are read 1 s into the drain, with room for a loaded box.
            try await Task.sleep(for: .seconds(6))
            finished.withLock { $0 = true }
            return "done"
        }
        let idle = ActivityDefinition("idle") { (_: ActivityContext) -> String in "idle" }
        let queue = "fleet-\(UUID().uuidString.prefix(8))"
        var options = WorkerOptions()
        options.gracefulShutdownTimeout = .seconds(20)  // the 6 s activity drains well within it
        let busy = Worker(
            client: client, taskQueue: queue, workflowDefinitions: [WorkflowDefinition(SlowStep.self, name: "SlowStep")],
            activities: [slowStep], options: options)
        let quiet = Worker(client: client, taskQueue: queue + "-quiet", workflowDefinitions: [], activities: [idle])
        // A group shuts its services down last first: the busy worker first, the quiet one after it.
        let services: [any Service] = asOneService ? [WorkerFleet(workers: [quiet, busy])] : [quiet, busy]
        let group = ServiceGroup(
            configuration: .init(services: services.map { .init(service: $0) }, logger: .init(label: "fleet-test")))
        let runGroup = Task { try await group.run() }
        let handle = try await client.startWorkflow(type: "SlowStep", id: "fleet-\(UUID())", taskQueue: queue)
        try await within(30) { while !running.withLock({ $0 }) { try await Task.sleep(for: .milliseconds(20)) } }
        await group.triggerGracefulShutdown()
        try await Task.sleep(for: .seconds(1))
        // The busy worker drains its activity (5 s more); the quiet one has been told too, or not.
        #expect(busy.health.status == .stopping)
        let quietStatus = quiet.health.status
        if asOneService {
            #expect(quietStatus == .stopping || quietStatus == .stopped, "\(quietStatus)")
        } else {
            #expect(quietStatus == .serving, "a ServiceGroup tells its services in turn: \(quietStatus)")
        }
        try await runGroup.value
        // The running activity was let finish within the grace period (no worker is left to
        // complete the workflow itself).
        #expect(finished.withLock { $0 })
        try await handle.terminate(reason: "test over")
    }
}
