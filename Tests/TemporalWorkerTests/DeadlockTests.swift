import Foundation
import Temporal
import TemporalProto
import TemporalTestSupport
import Testing
@testable import TemporalWorker

/// The deadlock detector against the dev server: workflow code that blocks its thread fails
/// the workflow task with a message naming the workflow, the worker keeps running other
/// workflows meanwhile, and the run completes once the code stops blocking.
@Suite struct DeadlockTests {
    @Test func blockingWorkflowCodeFailsTheTaskAndTheWorkerGoesOn() async throws {
        try await withWorker(workflows: [BlockOnce.self, Instant.self],
                             configure: { $0.deadlockDetectionTimeout = .milliseconds(500) }) { w in
            // Two blocked runs: as many as this machine has cooperative threads.
            let blocked = try await w.start(BlockOnce.self, 3.0)
            let alsoBlocked = try await w.start(BlockOnce.self, 3.0)
            // While their threads are blocked for 3 s, the worker runs other workflows.
            try await Task.sleep(for: .milliseconds(200))
            let clock = ContinuousClock()
            let started = clock.now
            for i in 0..<4 {
                #expect(try await w.start(Instant.self, "\(i)").result(as: String.self) == "at once: \(i)")
            }
            #expect(clock.now - started < .seconds(2), "other workflows ran while one was blocked")
            // The blocked task was failed with the reason; the retry (not blocking) completes.
            #expect(try await blocked.result(as: String.self) == "finished on a retried task")
            #expect(try await alsoBlocked.result(as: String.self) == "finished on a retried task")
            let events = try await blocked.fetchHistory()
            let failed = try #require(events.first { $0.eventType == .workflowTaskFailed })
            let message = failed.workflowTaskFailedEventAttributes.failure.message
            #expect(message.contains("potential deadlock"), "\(message)")
            #expect(message.contains("BlockOnce") && message.contains(blocked.id), "\(message)")
            #expect(message.contains("activity"), "says what to do: \(message)")
        }
    }
}

/// Blocks its thread (a synchronous sleep: what workflow code must never do) on its first
/// execution (per workflow id) only.
final class BlockOnce: Workflow {
    static let blocked = OnceFlag()
    init() {}
    func run(context: WorkflowContext, input seconds: Double) async throws -> String {
        if BlockOnce.blocked.firstTime(context.info.workflowID) {
            usleep(UInt32(seconds * 1_000_000)) // a blocking call, as workflow code must never make
            return "finished while blocked"
        }
        return "finished on a retried task"
    }
}

final class OnceFlag: @unchecked Sendable {
    private let lock = NSLock()
    private var seen: Set<String> = []
    func firstTime(_ key: String) -> Bool { lock.withLock { seen.insert(key).inserted } }
}
