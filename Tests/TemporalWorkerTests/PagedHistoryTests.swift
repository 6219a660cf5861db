import Foundation
import Temporal
import TemporalProto
import TemporalTestSupport
import Testing

@testable import TemporalWorker

/// Histories a server sends in pages: a server whose page size is 3 events
/// (`limit.historyMaxPageSize` for poll responses and returned tasks,
/// `matching.historyMaxPageSize` for query tasks, `frontend.historyMaxPageSize` for
/// GetWorkflowExecutionHistory). Every task but a run's first then comes with a next-page
/// token: sticky tasks with more than three new events, full histories after a cache miss,
/// every task of a worker without a cache, and the query tasks of closed runs. Until now only
/// hand-built histories and the in-memory service (which never pages) covered these paths.
@Suite struct PagedHistoryTests {
    @Test func historiesSentInPagesOfThreeAreReadWhole() async throws {
        let server = try await DevServer.start(extraArguments: [
            "--dynamic-config-value", "limit.historyMaxPageSize=3",
            "--dynamic-config-value", "matching.historyMaxPageSize=3",
            "--dynamic-config-value", "frontend.historyMaxPageSize=3",
        ])
        defer { server.stop() }
        let client = try await TemporalClient.connect(target: server.address)
        defer { client.close() }

        // The server does page: a first task with six events comes with a page of three (and
        // the task's own WorkflowTaskStarted) and a token for the rest.
        let byHand = try await HandAnsweredRun.start(client, "paged")
        for n in 1...3 { try await byHand.handle.signal("note", n) }
        let first = try await byHand.nextTask()
        #expect(first.history.events.count < 6)
        #expect(!first.nextPageToken.isEmpty)
        try await byHand.handle.terminate(reason: "seen")

        for cacheSize in [1000, 0] {
            var options = WorkerOptions()
            options.gracefulShutdownTimeout = .seconds(1)
            options.maxCachedWorkflows = cacheSize
            let worker = RunningWorker(
                worker: Worker(
                    client: client, taskQueue: uniqueQueue("paged"), workflows: [ManyActivities.self, SignalTally.self],
                    activities: [echo], options: options))
            do {
                try await withTimeout(120) {
                    // Four activities at a time: each sticky task carries a dozen new events.
                    let many = try await worker.start(ManyActivities.self, [3, 4])
                    #expect(try await many.result(as: Int.self) == 12)

                    let tally = try await worker.start(SignalTally.self, 6)
                    for n in [1, 1] { try await tally.signal("add", n) }
                    #expect(try await eventually(30) { (try? await tally.query("count", as: Int.self)) == 2 })
                    // Out of the cache: the next sticky task misses, and the worker reads the
                    // whole history, page by page, before it.
                    if cacheSize > 0 {
                        #expect(try await eventually(20) { worker.worker.evictFromCache(runID: tally.resultRunID ?? "") })
                    }
                    for n in [1, 1, 2] { try await tally.signal("add", n) }
                    #expect(try await tally.result(as: Int.self) == 6)
                    // A closed run's query task: a first page from matching, the rest fetched.
                    #expect(try await tally.query("count", as: Int.self) == 6)
                }
            } catch {
                await worker.stop(grace: .zero)
                throw error
            }
            await worker.stop(grace: .zero)
            let seen = worker.worker.metrics.snapshot
            #expect(seen.workflowTaskFailures == 0, "cache size \(cacheSize)")
            if cacheSize > 0 {
                #expect(seen.cacheHits > 0)
                #expect(seen.fullReplays > 0)
            }
        }
    }
}
