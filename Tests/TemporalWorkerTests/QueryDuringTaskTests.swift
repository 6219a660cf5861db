import Foundation
import Temporal
import TemporalTestSupport
import Testing

@testable import TemporalWorker

/// A query sent right after a signal reaches the worker while the signal's workflow task may
/// still be finishing there (the server sends the query it held back once the task's answer
/// reached it, while the worker still handles the reply): it waits for that task and answers
/// from the cached run. It found the run checked out and replayed the whole history.
@Suite struct QueryDuringTaskTests {
    @Test func queriesRacingTheirRunsTasksAreAnsweredFromTheCache() async throws {
        try await withWorker(workflows: [SlowSignals.self]) { running in
            let handle = try await running.start(SlowSignals.self)
            #expect(try await handle.query("total", as: Int.self) == 0)
            let before = running.worker.metrics.snapshot
            let rounds = 30
            for _ in 0..<rounds {
                try await handle.signal("slow")
                _ = try await handle.query("total", as: Int.self)
            }
            let after = running.worker.metrics.snapshot
            let replays = after.queryReplays - before.queryReplays
            // Some come with a workflow task instead (the server attaches a query it held to the
            // run's next task, if the answer made one): on a loaded machine all 30 may (a CI run
            // saw 0 query tasks), so their number is not checked; the test below makes the race
            // certain.
            _ = after.queryTasks - before.queryTasks
            #expect(replays == 0, "\(replays) of \(rounds) queries replayed the history")
            try await handle.signal("done")
            #expect(try await handle.result(as: Int.self) == rounds)
        }
    }

    /// The race above made certain: while a task holds the run (here the test, as a task whose
    /// answer's reply is being handled), a query waits for it and then uses the cached run.
    @Test func aQueryWaitsForTheTaskHoldingItsRun() async throws {
        try await withWorker(workflows: [SlowSignals.self]) { running in
            let handle = try await running.start(SlowSignals.self)
            #expect(try await handle.query("total", as: Int.self) == 0)  // cached now
            let runID = try await handle.describe().runID
            let worker = running.worker
            #expect(worker.runGate.tryEnter(runID))
            let run = try #require(worker.cache?.checkout(runID))
            let before = worker.metrics.snapshot
            async let answer = handle.query("total", as: Int.self)
            try await Task.sleep(for: .milliseconds(300))
            worker.cache?.checkin(runID, run)
            worker.runGate.leave(runID)
            #expect(try await answer == 0)
            let after = worker.metrics.snapshot
            #expect(after.queryTasks == before.queryTasks + 1)
            #expect(after.queryReplays == before.queryReplays, "the query replayed the history instead of waiting")
            try await handle.signal("done")
            #expect(try await handle.result(as: Int.self) == 0)
        }
    }
}

/// Counts "slow" signals, each handled in 30 ms (so that a query sent right after one finds its
/// workflow task in flight); ends on "done".
final class SlowSignals: Workflow {
    var total = 0
    var done = false
    init() {}
    func run(context: WorkflowContext, input: NoValue) async throws -> Int {
        context.setQueryHandler("total") { self.total }
        context.setSignalHandler("slow") {
            Thread.sleep(forTimeInterval: 0.03)  // as long code would (well under the deadlock timeout)
            self.total += 1
        }
        context.setSignalHandler("done") { self.done = true }
        try await context.condition { self.done }
        return total
    }
}
