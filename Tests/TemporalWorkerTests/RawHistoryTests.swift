import Foundation
import Temporal
import TemporalProto
import TemporalTestSupport
import Testing

@testable import TemporalWorker

/// A server configured to send history as serialized batches (`frontend.sendRawWorkflowHistory`
/// answers GetWorkflowExecutionHistory in `raw_history`, leaving `history` empty). The old
/// client read `history` only: `result()` asked again and again for ever, a worker without a
/// cache saw empty histories, and `fetchHistory` returned nothing.
@Suite struct RawHistoryTests {
    @Test func aServerSendingRawHistoryIsReadLikeAnyOther() async throws {
        let server = try await DevServer.start(extraArguments: [
            "--dynamic-config-value", "frontend.sendRawWorkflowHistory=true",
        ])
        defer { server.stop() }
        let client = try await TemporalClient.connect(target: server.address)
        defer { client.close() }
        var options = WorkerOptions()
        options.gracefulShutdownTimeout = .seconds(1)
        let worker = RunningWorker(
            worker: Worker(
                client: client, taskQueue: uniqueQueue("raw"), workflows: [GreetThenSleep.self, SumSignals.self], activities: [greet],
                options: options))
        do {
            try await withTimeout(90) {
                let greeting = try await worker.start(GreetThenSleep.self, "raw")
                #expect(try await greeting.result(as: String.self) == "hi raw")
                let events = try await greeting.fetchHistory(pageSize: 3)
                #expect(events.map(\.eventID) == Array(1...Int64(events.count)))
                #expect(events.last?.eventType == .workflowExecutionCompleted)

                let sum = try await worker.start(SumSignals.self, 5)
                try await sum.signal("add", 2)
                #expect(try await eventually(30) { (try? await sum.query("sum", as: Int.self)) == 2 })
                // Out of the cache: the next task (sticky, with part of the history) replays the
                // whole history, which the worker fetches.
                // (A task may hold the run for a moment: evicting waits for it.)
                #expect(try await eventually(20) { worker.worker.evictFromCache(runID: sum.resultRunID ?? "") })
                try await sum.signal("add", 3)
                #expect(try await sum.result(as: Int.self) == 5)
                #expect(try await sum.query("sum", as: Int.self) == 5)  // a closed run: replayed from its history
            }
        } catch {
            await worker.stop(grace: .zero)
            throw error
        }
        await worker.stop(grace: .zero)
    }
}
