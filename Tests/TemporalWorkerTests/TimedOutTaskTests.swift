import Foundation
import Synchronization
import Temporal
import TemporalProto
import TemporalTestSupport
import Testing

@testable import TemporalWorker

/// A workflow task the server timed out while this worker still processes it: the server hands
/// out the run's next task (attempt 2, the whole history), which reaches the same worker. It
/// waits for the first to end, as in Go and Core: the run's code never runs on two tasks at once
/// (before, the second replayed the run beside the live one, and local activities ran twice).
@Suite struct TimedOutTaskTests {
    @Test func aTaskOfARunWaitsForItsTimedOutPredecessor() async throws {
        try await withWorker(
            workflows: [SlowFirstTask.self],
            configure: { $0.deadlockDetectionTimeout = nil }  // a slow task is the point, not a deadlock
        ) { w in
            let id = "slow-first-\(UUID().uuidString)"
            let handle = try await w.client.startWorkflow(
                type: SlowFirstTask.name, id: id, taskQueue: w.taskQueue, args: NoValue(),
                options: WorkflowOptions(taskTimeout: .seconds(2)))
            #expect(try await handle.result(as: String.self) == "done")
            let events = try await handle.fetchHistory()
            #expect(events.contains { $0.eventType == .workflowTaskTimedOut }, "the first task outlasted its timeout")
            #expect(SlowFirstTask.executions.peak(id) == 1, "the run's code ran on two tasks at once")
            #expect(SlowFirstTask.executions.total(id) >= 2, "the retried task replayed the run")
        }
    }

    /// The gate itself: a waiting task gets the run when its holder leaves; a newer task
    /// supersedes a waiting one (which is dropped: the server can no longer take its answer).
    @Test func aNewerTaskSupersedesAWaitingOne() async throws {
        let gate = RunTaskGate()
        #expect(await gate.enter("run"))
        let older = Task { await gate.enter("run") }
        #expect(try await eventually { gate.hasWaiter("run") })
        let newer = Task { await gate.enter("run") }
        #expect(await older.value == false)
        #expect(try await eventually { gate.hasWaiter("run") })
        gate.leave("run")
        #expect(await newer.value == true)
        #expect(gate.isHeld("run") && !gate.hasWaiter("run"))
        gate.leave("run")
        #expect(!gate.isHeld("run"))
        #expect(await gate.enter("other") && gate.isHeld("other"))
    }
}

/// Tracks how many executions of a workflow's code run at once, per workflow id.
final class ConcurrentExecutions: Sendable {
    private struct Counts {
        var active = 0
        var peak = 0
        var total = 0
    }
    private let counts = Mutex<[String: Counts]>([:])
    /// Enters an execution; true for the first one of `id`.
    func enter(_ id: String) -> Bool {
        counts.withLock {
            var c = $0[id] ?? Counts()
            c.active += 1
            c.total += 1
            c.peak = max(c.peak, c.active)
            $0[id] = c
            return c.total == 1
        }
    }
    func leave(_ id: String) { counts.withLock { $0[id]?.active -= 1 } }
    func peak(_ id: String) -> Int { counts.withLock { $0[id]?.peak ?? 0 } }
    func total(_ id: String) -> Int { counts.withLock { $0[id]?.total ?? 0 } }
}

/// Its first execution holds its thread for 6 s (three times its task timeout in the test); later
/// executions (replays on retried tasks) return at once.
final class SlowFirstTask: Workflow {
    static let executions = ConcurrentExecutions()
    init() {}
    func run(context: WorkflowContext, input: NoValue) async throws -> String {
        let id = context.info.workflowID
        if SlowFirstTask.executions.enter(id) { usleep(6_000_000) }
        SlowFirstTask.executions.leave(id)
        return "done"
    }
}
