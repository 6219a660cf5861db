import Foundation
import Temporal
import TemporalTestSupport
import Testing

@testable import TemporalWorker

@Suite("Cost")
struct CostTests {
    /// The worker's cost counters add up (the cost itself is measured by TemporalBench, not by tests).
    @Test func workflowTaskCountersAddUp() async throws {
        let steps = ["step1", "step2", "step3"].map { name in
            ActivityDefinition(name) { (s: String, _: ActivityContext) in s + name.suffix(1) }
        }
        let running = try await startWorker(workflows: [ThreeSteps.self], activities: steps)
        try await withTimeout(60) {
            try await withThrowingTaskGroup(of: String.self) { group in
                for _ in 0..<10 { group.addTask { try await running.start(ThreeSteps.self, "x").result(as: String.self) } }
                for try await r in group { #expect(r == "x123") }
            }
        }
        await running.stop()
        let m = running.worker.metrics.snapshot
        #expect(m.workflowTasks == 40)
        let perTask = m.workflowTaskCPU / m.workflowTasks
        print(
            "worker CPU per workflow task: \(perTask) (cache hits \(m.cacheHits), full replays \(m.fullReplays), wall per task \(m.workflowTaskWall / m.workflowTasks))"
        )
        #expect(perTask > .zero)
    }
}
