import Foundation
import Temporal
import TemporalProto
import TemporalTesting
import Testing

@testable import TemporalWorker

/// Autoscaled pollers (`PollerBehavior.autoscaling`): the number of open polls follows the
/// service's hints, and the work gets done.
@Suite struct PollerAutoscalingTests {
    private static let steps = ["step1", "step2", "step3"].map { name in
        ActivityDefinition(name) { (s: String, _: ActivityContext) in s + name.suffix(1) }
    }

    /// In memory: the service hints "one poll fewer" on every response, then "two more".
    @Test func theOpenPollsFollowTheServicesHints() async throws {
        let env = try await TestWorkflowEnvironment.start()
        var options = TestWorkflowEnvironment.defaultWorkerOptions
        options.workflowTaskPollerBehavior = .autoscaling(minimum: 1, maximum: 5, initial: 3)
        options.activityTaskPollerBehavior = .autoscaling(minimum: 1, maximum: 5, initial: 3)
        options.eagerActivities = false  // every activity through a poll
        try await env.withWorker(taskQueue: "scaled", workflows: [ThreeSteps.self], activities: Self.steps, options: options) {
            worker in
            let service = env.service
            #expect(try await eventually(10) { service.waitingPolls(taskQueue: "scaled", activities: true) == 3 })
            service.setPollerScalingHint(-1)
            for i in 0..<3 {
                let handle = try await env.client.startWorkflow(
                    type: ThreeSteps.name, id: "down-\(i)", taskQueue: "scaled", arguments: ["\(i)-"])
                #expect(try await handle.result(as: String.self) == "\(i)-123")
            }
            #expect(worker.pollerTargets.activity == 1 && worker.pollerTargets.workflow == 1)
            #expect(try await eventually(10) { service.waitingPolls(taskQueue: "scaled", activities: true) == 1 })
            #expect(try await eventually(10) { service.waitingPolls(taskQueue: "scaled", activities: false) == 1 })
            // Idle for a few of the scaler's 100 ms periods: the rate of tasks is no longer
            // falling, so hints to add polls are followed again.
            try await Task.sleep(for: .milliseconds(400))
            service.setPollerScalingHint(2)
            let handle = try await env.client.startWorkflow(
                type: ThreeSteps.name, id: "up", taskQueue: "scaled", arguments: ["up-"])
            #expect(try await handle.result(as: String.self) == "up-123")
            #expect(try #require(worker.pollerTargets.activity) > 1)
            #expect(try await eventually(10) { service.waitingPolls(taskQueue: "scaled", activities: true) > 1 })
        }
    }

    /// Two workflow task slots and autoscaled pollers: the normal queue's polls leave a slot to
    /// the sticky queue's, which scale too. Before, the five normal polls queued for the two
    /// slots ahead of the sticky poll once it had run a task, so each signal's task waited on
    /// the sticky queue until its schedule-to-start timeout moved it to the normal queue.
    @Test func stickyPollsKeepASlotWhenTheNormalQueuesPollsAutoscale() async throws {
        try await withWorker(
            workflows: [Channelled.self],
            configure: {
                $0.maxConcurrentWorkflowTasks = 2
                $0.workflowTaskPollerBehavior = .autoscaling(minimum: 1, maximum: 10, initial: 5)
                $0.stickyScheduleToStartTimeout = .seconds(3)
            }
        ) { w in
            let bounds = w.worker.workflowPollerBounds
            #expect(bounds.normal?.maximum == 1, "2 slots, 1 left to the sticky queue's minimum")
            #expect(bounds.sticky?.maximum == 1, "2 slots, 1 left to the normal queue")
            #expect(bounds.sticky?.target == 1, "the sticky queue starts at its minimum")
            let handle = try await w.start(Channelled.self, 4)
            for word in ["a", "b", "c", "d"] {
                try await Task.sleep(for: .milliseconds(300))
                try await handle.signal("word", word)
            }
            #expect(try await handle.result(as: [String].self) == ["a", "b", "c", "d"])
            let timedOut = try await handle.fetchHistory().filter { $0.eventType == .workflowTaskTimedOut }
            #expect(timedOut.isEmpty, "\(timedOut.count) workflow tasks timed out on the sticky queue")
        }
    }

    /// Against the dev server, which sends hints of its own: the work is done and the counts
    /// stay within their bounds.
    @Test func autoscaledPollersDoTheWorkAgainstTheDevServer() async throws {
        try await withWorker(
            workflows: [ThreeSteps.self], activities: Self.steps,
            configure: {
                $0.workflowTaskPollerBehavior = .autoscaling(minimum: 1, maximum: 6, initial: 4)
                $0.activityTaskPollerBehavior = .autoscaling(minimum: 1, maximum: 6, initial: 4)
            }
        ) { w in
            for i in 0..<8 {
                let result = try await w.start(ThreeSteps.self, "\(i)-").result(as: String.self)
                #expect(result == "\(i)-123")
            }
            let activity = try #require(w.worker.pollerTargets.activity)
            let workflow = try #require(w.worker.pollerTargets.workflow)
            #expect((1...6).contains(activity) && (1...6).contains(workflow))
        }
    }
}
