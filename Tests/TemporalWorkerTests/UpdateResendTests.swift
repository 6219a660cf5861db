import Foundation
import Synchronization
import Temporal
import TemporalProto
import Testing

@testable import TemporalWorker

/// An update the server accepted but answered before it completed (its long poll ended) is
/// waited for by polling the run that accepted it, never sent again: update ids are
/// deduplicated only within a run, so the request sent again after the workflow continued as
/// new ran the handler a second time in the new run.
@Suite struct UpdateResendTests {
    @Test(arguments: [false, true])
    func anAcceptedUpdateIsPolledForNotSentAgain(withStart: Bool) async throws {
        try await withWorker(workflows: [BumpsThenContinues.self]) { running in
            let transport = AnswersTheFirstUpdateOnAcceptance(running.client.workflowService.transport)
            let client = try await TemporalClient.connect(transport: transport)
            let id = "bump-\(UUID().uuidString)"
            let bump: Task<Int, any Error>
            if withStart {
                bump = Task {
                    let (_, update) = try await client.updateWithStart(
                        type: BumpsThenContinues.name, id: id, taskQueue: running.taskQueue, arguments: [0], update: "bump",
                        waitFor: .completed)
                    return try await update.result(as: Int.self)
                }
            } else {
                _ = try await running.start(BumpsThenContinues.self, 0, id: id)
                bump = Task { try await client.workflowHandle(id: id).executeUpdate("bump", as: Int.self) }
            }
            // The update runs in the first run, which then continues as new.
            let handle = client.workflowHandle(id: id)
            let clock = ContinuousClock()
            let deadline = clock.now + .seconds(20)
            var runs: Set<String> = []
            while runs.count < 2, clock.now < deadline {
                if let run = try? await handle.describe().runID { runs.insert(run) }
                try await Task.sleep(for: .milliseconds(50))
            }
            #expect(runs.count == 2, "the workflow continued as new")
            transport.release()
            #expect(try await bump.value == 1)
            #expect(transport.resent.withLock { $0 } == 0, "the accepted update was sent again")
            // The new run never saw the update: its count is still the first run's.
            #expect(try await handle.query("count", as: Int.self) == 1)
            let events = try await handle.fetchHistory()
            #expect(!events.contains { $0.eventType == .workflowExecutionUpdateAccepted }, "the new run ran the handler")
            try await handle.terminate(reason: "test over")
        }
    }

    /// Hands calls to the dev server. The first call that sends an update (UpdateWorkflowExecution,
    /// or ExecuteMultiOperation for update-with-start) waits only until the update is accepted, as
    /// when the server's long poll ends before the handler completed; any later one is held until
    /// `release()` (once the workflow continued as new) and counted.
    final class AnswersTheFirstUpdateOnAcceptance: ServiceTransport {
        let inner: any ServiceTransport
        let updates = Mutex(0)
        let resent = Mutex(0)
        let released = Mutex(false)
        init(_ inner: any ServiceTransport) { self.inner = inner }
        var target: String { inner.target }
        func release() { released.withLock { $0 = true } }
        func unary(method: String, request: Data, metadata: [(String, String)], timeout: Duration?) async throws -> Data {
            let multi = method.hasSuffix("/ExecuteMultiOperation")
            guard multi || method.hasSuffix("/UpdateWorkflowExecution") else {
                return try await inner.unary(method: method, request: request, metadata: metadata, timeout: timeout)
            }
            let number = updates.withLock {
                $0 += 1
                return $0
            }
            guard number == 1 else {
                resent.withLock { $0 += 1 }
                while !released.withLock({ $0 }) { try await Task.sleep(for: .milliseconds(20)) }
                return try await inner.unary(method: method, request: request, metadata: metadata, timeout: timeout)
            }
            let early: Data
            if multi {
                var operations = try Temporal_Api_Workflowservice_V1_ExecuteMultiOperationRequest(serializedBytes: request)
                operations.operations[1].updateWorkflow.waitPolicy.lifecycleStage = .accepted
                early = try operations.serializedData()
            } else {
                var update = try Temporal_Api_Workflowservice_V1_UpdateWorkflowExecutionRequest(serializedBytes: request)
                update.waitPolicy.lifecycleStage = .accepted
                early = try update.serializedData()
            }
            return try await inner.unary(method: method, request: early, metadata: metadata, timeout: timeout)
        }
        func close() {}
    }
}
