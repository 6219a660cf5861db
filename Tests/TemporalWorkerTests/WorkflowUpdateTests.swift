import Foundation
import Temporal
import TemporalProto
import TemporalTestSupport
import Testing

@testable import TemporalWorker

/// Workflow Update against the dev server: handlers, validators, failures, unknown names
/// (from our client and from the `temporal` CLI), update-with-start, and replay of the
/// histories updates leave.
@Suite struct WorkflowUpdateTests {
    @Test func updatesRunHandlersAndAnswer() async throws {
        try await withWorker(workflows: [Tally.self]) { running in
            let handle = try await running.start(Tally.self)
            #expect(try await handle.executeUpdate("add", 5, as: Int.self) == 5)
            #expect(try await handle.executeUpdate("add", 7, as: Int.self) == 12)

            // The validator refuses: the caller gets its error, and history keeps no trace.
            let refused = await #expect(throws: TemporalError.self) { try await handle.executeUpdate("add", -3, as: Int.self) }
            #expect(refused?.kind == .updateFailed)
            #expect(refused?.applicationError?.type == "NegativeAmount", "\(String(describing: refused))")

            // The handler throws: the update fails, the workflow goes on.
            let failed = await #expect(throws: TemporalError.self) { try await handle.executeUpdate("fail", as: Int.self) }
            #expect(failed?.kind == .updateFailed && failed?.applicationError?.type == "AskedToFail")

            // No such handler: rejected at once, naming the handlers there are.
            let unknown = await #expect(throws: TemporalError.self) { try await handle.executeUpdate("nope", as: Int.self) }
            #expect(unknown?.applicationError?.type == "UpdateNotFound")
            #expect(unknown?.message.contains("known updates: add, fail") == true, "\(String(describing: unknown))")

            // startUpdate returns once accepted; the handle gives the result; the same id runs once.
            let started = try await handle.startUpdate("add", 1, id: "add-once")
            #expect(try await started.result(as: Int.self) == 13)
            let again = try await handle.startUpdate("add", 1, id: "add-once", waitFor: .completed)
            #expect(try await again.result(as: Int.self) == 13)
            #expect(try await handle.query("total", as: Int.self) == 13)

            try await handle.signal("done")
            #expect(try await handle.result(as: Int.self) == 13)

            // The history replays with the same code, and not with code that changed the handler.
            let events = try await handle.fetchHistory()
            let accepted = events.filter { $0.eventType == .workflowExecutionUpdateAccepted }.count
            let completed = events.filter { $0.eventType == .workflowExecutionUpdateCompleted }.count
            #expect(accepted == 4 && completed == 4, "add ×3 and fail were accepted; rejections leave nothing")
            let replay = try WorkflowReplayer(workflows: [Tally.self]).replay(events: events)
            #expect(replay.closed)
            #expect(throws: NondeterminismError.self) { try WorkflowReplayer(workflows: [TallyChanged.self]).replay(events: events) }
        }
    }

    /// A rejected update leaves no event even when the task before it made commands (its
    /// task is dropped: the worker says it can take that): before, the server kept the task
    /// (three events per rejection) whenever the previous one had made a command. The run goes
    /// on from the task before, and its history replays.
    @Test func aRejectedUpdateLeavesNoEventsAfterATaskThatMadeCommands() async throws {
        try await withWorker(workflows: [Tally.self]) { running in
            let handle = try await running.start(Tally.self)
            #expect(try await handle.executeUpdate("add", 5, as: Int.self) == 5)  // a timer, then the update's completion
            let before = try await handle.fetchHistory()
            #expect(before.last?.eventType != .workflowTaskCompleted, "the last task made commands: \(before.last?.eventType as Any)")
            for _ in 0..<3 {
                await #expect(throws: TemporalError.self) { try await handle.executeUpdate("add", -3, as: Int.self) }
            }
            await #expect(throws: TemporalError.self) { try await handle.executeUpdate("nope", as: Int.self) }
            let after = try await handle.fetchHistory()
            #expect(after.count == before.count, "\(after.count - before.count) events for four rejected updates")
            #expect(try await handle.executeUpdate("add", 2, as: Int.self) == 7)
            try await handle.signal("done")
            #expect(try await handle.result(as: Int.self) == 7)
            #expect(try WorkflowReplayer(workflows: [Tally.self]).replay(events: try await handle.fetchHistory()).closed)
        }
    }

    /// A command made after the workflow returned, in the same task (an update handler woken
    /// by the same signal starts a timer), goes before the close: the server refuses any
    /// command after it without recording the failure, so every attempt failed alike and the
    /// workflow never closed.
    @Test func aCommandMadeAfterTheWorkflowReturnedGoesBeforeTheClose() async throws {
        try await withWorker(workflows: [ClosesBeforeItsUpdate.self]) { running in
            let handle = try await running.start(ClosesBeforeItsUpdate.self)
            _ = try await handle.startUpdate("wait", id: "wait-1")
            try await handle.signal("approve")
            let result = try await within(30) { try await handle.result(as: String.self) }
            #expect(result == "done")
            let events = try await handle.fetchHistory()
            #expect(events.filter { $0.eventType == .workflowTaskFailed }.isEmpty)
            #expect(events.last?.eventType == .workflowExecutionCompleted)
            #expect(events.contains { $0.eventType == .timerStarted })
            #expect(try WorkflowReplayer(workflows: [ClosesBeforeItsUpdate.self]).replay(events: events).closed)
        }
    }

    /// The run's next task holds what happened while no worker ran: starts `workflow` on a
    /// worker, waits until its history has an event of type `waitFor`, stops the worker, lets
    /// `whileStopped` act (e.g. wait for a timer's firing, send a signal), sends update "add" with
    /// `item` (held by the server for the next task: clients cannot wait for `.admitted`, hence
    /// the 3 s), and starts another worker. Returns the result, the update's and the history.
    private func updateWithTheNextTask<W: Workflow>(
        _ workflow: W.Type, item: Int, waitFor: Temporal_Api_Enums_V1_EventType,
        whileStopped: (WorkflowHandle) async throws -> Void
    ) async throws -> (result: [Int], update: Int, events: [HistoryEvent]) {
        let queue = uniqueQueue()
        let first = try await startWorker(taskQueue: queue, workflows: [workflow])
        let handle = try await first.start(workflow)
        let ready = try await eventually { try await handle.fetchHistory().contains { $0.eventType == waitFor } }
        await first.stop()
        try #require(ready, "no \(waitFor) event in time")
        try await whileStopped(handle)
        let update = Task { try await handle.executeUpdate("add", item, id: "add-\(item)", as: Int.self) }
        try await Task.sleep(for: .seconds(3))
        let second = try await startWorker(taskQueue: queue, workflows: [workflow])
        let outcome = try await withTimeout(30) { () async throws -> ([Int], Int) in
            (try await handle.result(as: [Int].self), try await update.value)
        }
        await second.stop()
        return (outcome.0, outcome.1, try await handle.fetchHistory())
    }

    /// Waits for the run's timer to fire (with no worker).
    private func timerFired(_ handle: WorkflowHandle) async throws {
        #expect(try await eventually(30) { try await handle.fetchHistory().contains { $0.eventType == .timerFired } }, "the timer fires")
    }

    /// An update that comes with the task in which the workflow's timer fired (sent while no
    /// worker ran): its handler runs before the code the timer wakes (as in Core and Go), so the
    /// workflow returns what the update added. Before, the code ran first and closed the
    /// workflow, and the update was rejected as too late.
    @Test func anUpdateInTheTaskThatClosesTheWorkflowRunsFirst() async throws {
        let (result, update, events) = try await updateWithTheNextTask(
            CollectsUntilTimer.self, item: 5, waitFor: .timerStarted, whileStopped: timerFired)
        #expect(result == [5] && update == 1, "\(result) \(update)")
        let fired = events.firstIndex { $0.eventType == .timerFired }
        let accepted = events.firstIndex { $0.eventType == .workflowExecutionUpdateAccepted }
        let tasks = events.filter { $0.eventType == .workflowTaskStarted }.count
        #expect(fired != nil && accepted != nil && fired! < accepted!, "\(events.map(\.eventType))")
        #expect(tasks == 2, "the scenario: the update came with the timer's task, \(events.map(\.eventType))")

        // The history replays; stripped of the flag its answer recorded, it replays in the old
        // order, which sends the workflow's completion first: not what history holds.
        #expect(try WorkflowReplayer(workflows: [CollectsUntilTimer.self]).replay(events: events).closed)
        let flagged = events.filter { !$0.workflowTaskCompletedEventAttributes.sdkMetadata.langUsedFlags.isEmpty }
        #expect(flagged.count == 1, "recorded once, by the run's first answer")
        var stripped = events
        for i in stripped.indices where stripped[i].eventType == .workflowTaskCompleted {
            stripped[i].workflowTaskCompletedEventAttributes.sdkMetadata.langUsedFlags = []
        }
        #expect(throws: NondeterminismError.self) { try WorkflowReplayer(workflows: [CollectsUntilTimer.self]).replay(events: stripped) }
    }

    /// An update that comes with a task whose events wake the code that registers its handler
    /// waits for it (as Go buffers it), instead of being rejected as unknown.
    @Test func anUpdateWaitsForItsHandlerRegisteredLaterInTheSameTask() async throws {
        let (result, update, events) = try await updateWithTheNextTask(
            RegistersAfterTimer.self, item: 7, waitFor: .timerStarted, whileStopped: timerFired)
        #expect(result == [7] && update == 1, "\(result) \(update)")
        #expect(try WorkflowReplayer(workflows: [RegistersAfterTimer.self]).replay(events: events).closed)
    }

    /// A signal and an update that come with the same task: the signal's handler runs first, so
    /// the update's validator sees what it set (Core's order: signals, then updates).
    @Test func aSignalOfTheSameTaskRunsBeforeAnUpdatesValidator() async throws {
        let (result, update, events) = try await updateWithTheNextTask(
            OpensOnSignal.self, item: 9, waitFor: .workflowTaskCompleted, whileStopped: { try await $0.signal("open") })
        #expect(result == [9] && update == 1, "\(result) \(update)")
        #expect(events.filter { $0.eventType == .workflowTaskStarted }.count == 2, "the scenario: one task held both")
    }

    @Test func updatesWorkWithoutTheStickyCache() async throws {
        // Every task replays from event 1: accepted updates are rebuilt from history.
        try await withWorker(workflows: [Tally.self], configure: { $0.maxCachedWorkflows = 0 }) { running in
            let handle = try await running.start(Tally.self)
            #expect(try await handle.executeUpdate("add", 2, as: Int.self) == 2)
            #expect(try await handle.executeUpdate("add", 3, as: Int.self) == 5)
            _ = await #expect(throws: TemporalError.self) { try await handle.executeUpdate("add", -1, as: Int.self) }
            #expect(try await handle.executeUpdate("add", 4, as: Int.self) == 9)
            try await handle.signal("done")
            #expect(try await handle.result(as: Int.self) == 9)
        }
    }

    @Test func theCLIGetsARejectionForAnUnknownUpdateWithinSeconds() async throws {
        let server = try await DevServer.shared()
        // A generous sticky timeout: on a loaded machine a task must not fall back to the normal
        // queue (a full replay there would hide whether the rewind worked).
        try await withWorker(workflows: [Tally.self], configure: { $0.stickyScheduleToStartTimeout = .seconds(60) }) { running in
            let handle = try await running.start(Tally.self)
            #expect(try await handle.executeUpdate("add", 1, as: Int.self) == 1)
            // A signal that ends in a task without commands: the update below then comes in a
            // speculative task (the server drops it from history when the update is rejected).
            try await handle.signal("noop")
            _ = try await handle.query("total", as: Int.self)
            let clock = ContinuousClock()
            let started = clock.now
            // Off the cooperative pool (runProcess): a blocked pool thread could starve the worker
            // that has to answer the update.
            let text = try await temporalCLI([
                "workflow", "update", "execute", "--address", server.address, "--workflow-id", handle.id,
                "--name", "nope", "--command-timeout", "60s",
            ])
            #expect(text.contains("no handler for update 'nope'"), "\(text)")
            #expect(clock.now - started < .seconds(20), "a rejection, not a timeout")
            let replaysBefore = running.worker.metrics.snapshot.fullReplays
            // The CLI, as a client of another implementation, gets a handler's result too.
            let answer = try await temporalCLI([
                "workflow", "update", "execute", "--address", server.address,
                "--workflow-id", handle.id, "--name", "add", "--input", "10", "-o", "json",
            ])
            #expect(answer.contains("11"), "\(answer)")
            // The run goes on, and the cached run stayed usable after the dropped speculative
            // task: it was rewound, not replayed from event 1.
            #expect(try await handle.executeUpdate("add", 2, as: Int.self) == 13)
            #expect(running.worker.metrics.snapshot.fullReplays == replaysBefore)
            try await handle.signal("done")
            #expect(try await handle.result(as: Int.self) == 13)
        }
    }

    @Test func updateWithStartStartsTheWorkflowAndAnswers() async throws {
        try await withWorker(workflows: [Tally.self]) { running in
            let id = "uws-\(UUID().uuidString)"
            let (workflow, update) = try await running.client.updateWithStart(
                type: Tally.name, id: id, taskQueue: running.taskQueue, update: "add", updateArguments: [40], waitFor: .completed)
            #expect(try await update.result(as: Int.self) == 40)
            // The same call on the open run updates it (conflict policy: use existing).
            let (_, second) = try await running.client.updateWithStart(
                type: Tally.name, id: id, taskQueue: running.taskQueue, update: "add", updateArguments: [2])
            #expect(try await second.result(as: Int.self) == 42)
            try await workflow.signal("done")
            #expect(try await workflow.result(as: Int.self) == 42)
            let events = try await running.client.workflowHandle(id: id).fetchHistory()
            #expect(try WorkflowReplayer(workflows: [Tally.self]).replay(events: events).closed)
        }
    }

    /// An interceptor that sets the update's run ids on an update-with-start (its input has
    /// them, as every update's) does not break the call: they were sent, and the server refused
    /// the whole request.
    @Test func updateWithStartIgnoresRunIDsAnInterceptorSets() async throws {
        try await withWorker(workflows: [Tally.self]) { running in
            let server = try await DevServer.shared()
            let client = try await TemporalClient.connect(target: server.address, interceptors: [PinsUpdateRuns()])
            defer { client.close() }
            let (workflow, update) = try await client.updateWithStart(
                type: Tally.name, id: "uws-pinned-\(UUID().uuidString)", taskQueue: running.taskQueue, update: "add",
                updateArguments: [5], waitFor: .completed)
            #expect(try await update.result(as: Int.self) == 5)
            try await workflow.signal("done")
            #expect(try await workflow.result(as: Int.self) == 5)
        }
    }

    /// A validator that records a patch marker, or a query that takes a random number, changed
    /// the run: the next replay reported nondeterminism for good (the validator does not run on
    /// replay). Both are refused, naming the call, and the history replays.
    @Test func validatorsAndQueriesMayNotChangeTheRun() async throws {
        try await withWorker(workflows: [ReadOnlyBreaker.self]) { running in
            let handle = try await running.start(ReadOnlyBreaker.self)
            let rejected = await #expect(throws: TemporalError.self) { _ = try await handle.executeUpdate("add", 1, as: Int.self) }
            #expect(rejected?.kind == .updateFailed, "\(String(describing: rejected))")
            #expect("\(String(describing: rejected))".contains("context.patched(\"strict-validation\")"), "\(String(describing: rejected))")
            let query = await #expect(throws: (any Error).self) { _ = try await handle.query("lucky", as: Int.self) }
            #expect("\(String(describing: query))".contains("context.random(in:)"), "\(String(describing: query))")
            let registering = await #expect(throws: (any Error).self) { _ = try await handle.query("register", as: Int.self) }
            #expect("\(String(describing: registering))".contains("setSignalHandler"), "\(String(describing: registering))")
            // An update handler too (it would accept held updates from read-only code).
            let updateHandler = await #expect(throws: (any Error).self) { _ = try await handle.query("registerUpdate", as: Int.self) }
            #expect("\(String(describing: updateHandler))".contains("setUpdateHandler"), "\(String(describing: updateHandler))")
            try await handle.signal("done")
            #expect(try await handle.result(as: Int.self) == 0)
            let events = try await handle.fetchHistory()
            #expect(try WorkflowReplayer(workflows: [ReadOnlyBreaker.self]).replay(events: events).closed)
        }
    }

    /// An update-with-start whose update the workflow rejects still started the workflow: the
    /// call threw, with no handle or run id, and the run stayed open with nobody knowing of it.
    @Test func updateWithStartWhoseUpdateIsRejectedReturnsTheStartedWorkflow() async throws {
        try await withWorker(workflows: [Tally.self]) { running in
            let (workflow, update) = try await running.client.updateWithStart(
                type: Tally.name, id: "uws-rejected-\(UUID().uuidString)", taskQueue: running.taskQueue, update: "no-such-handler",
                waitFor: .completed)
            let error = await #expect(throws: TemporalError.self) { _ = try await update.result(as: Int.self) }
            #expect(error?.kind == .updateFailed, "\(String(describing: error))")
            #expect(try await workflow.describe().status == .running)
            try await workflow.signal("done")
            #expect(try await workflow.result(as: Int.self) == 0)
        }
    }

    /// Update-with-start refused because the workflow runs (conflict policy FAIL) says so as a
    /// start does: ALREADY_EXISTS with the running run's id (it was the multi-operation error,
    /// with no run id).
    @Test func updateWithStartOnARunningWorkflowNamesItsRun() async throws {
        try await withWorker(workflows: [Tally.self]) { running in
            let first = try await running.start(Tally.self)
            let error = await #expect(throws: TemporalError.self) {
                _ = try await running.client.updateWithStart(
                    type: Tally.name, id: first.id, taskQueue: running.taskQueue,
                    options: WorkflowOptions(idConflictPolicy: .fail), update: "add", updateArguments: [1])
            }
            #expect(error?.code == .alreadyExists, "\(String(describing: error))")
            #expect(error?.alreadyStartedRunID == first.resultRunID, "\(String(describing: error))")
            try await first.signal("done")
        }
    }

    @Test func metadataListsTheUpdatesAndTheStackTraceShowsRunningHandlers() async throws {
        try await withWorker(workflows: [Tally.self]) { running in
            let handle = try await running.start(Tally.self)
            #expect(try await handle.executeUpdate("add", 1, as: Int.self) == 1)
            var request = Temporal_Api_Workflowservice_V1_QueryWorkflowRequest()
            request.namespace = running.client.namespace
            request.execution.workflowID = handle.id
            request.query.queryType = "__temporal_workflow_metadata"
            let answer = try await running.client.workflowService.queryWorkflow(request)
            let metadata = try Temporal_Api_Sdk_V1_WorkflowMetadata(jsonUTF8Data: try #require(answer.queryResult.payloads.first).data)
            #expect(metadata.definition.updateDefinitions.map(\.name) == ["add", "fail"])
            try await handle.signal("done")
            _ = try await handle.result(as: Int.self)
        }
    }

    @Test func aPythonSDKClientUpdatesOurWorkflow() async throws {
        let server = try await DevServer.shared()
        try await withWorker(workflows: [Tally.self]) { running in
            let handle = try await running.start(Tally.self)
            let script = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
                .appendingPathComponent("../peers/python_update_client.py").standardizedFileURL.path
            let output = try await runProcess("/usr/bin/env", ["python3", script, server.address, handle.id])
            #expect(output.contains("added:20"), "\(output)")
            #expect(output.contains("rejected:") && output.contains("negative amounts are refused"), "\(output)")
            try await handle.signal("done")
            #expect(try await handle.result(as: Int.self) == 20)
        }
    }
}

/// Sets run ids on every update-with-start's update.
struct PinsUpdateRuns: ClientInterceptor {
    func updateWithStart(
        _ input: UpdateWithStartInput,
        next: (UpdateWithStartInput) async throws -> (WorkflowHandle, WorkflowUpdateHandle)
    ) async throws -> (WorkflowHandle, WorkflowUpdateHandle) {
        var input = input
        input.update.runID = "3f1c5a4e-0000-4000-8000-000000000001"
        input.update.firstExecutionRunID = "3f1c5a4e-0000-4000-8000-000000000002"
        return try await next(input)
    }
}
