import Foundation
import Temporal
import TemporalProto
import TemporalTesting
import Testing

@testable import TemporalWorker

/// Events that arrive while a workflow task is being worked on (a signal during a local
/// activity), against the in-memory service with no cache (every task replays). The service
/// wrote the signal between the task's Started and Completed events, which a server never does:
/// the next task's replay failed as nondeterministic, and the run never finished.
@Suite struct InMemoryMidTaskEventsTests {
    /// Starts `SignalDuringLocal` as `id` and signals it while its first workflow task is held
    /// by a local activity; `body` then gets the handle and opens the gate (the activity ends).
    func withSignalDuringATask(
        _ id: String, _ body: @escaping @Sendable (TestWorkflowEnvironment, WorkflowHandle, Flag) async throws -> Void
    ) async throws {
        let env = try await TestWorkflowEnvironment.start()
        defer { env.shutdown() }
        let gate = Flag()
        let slow = ActivityDefinition("slowUpper") { (input: String, _: ActivityContext) -> String in
            while !gate.isSet { try await Task.sleep(for: .milliseconds(10)) }
            return input.uppercased()
        }
        try await env.withWorker(workflows: [SignalDuringLocal.self], activities: [slow]) { worker in
            let handle = try await env.client.startWorkflow(type: SignalDuringLocal.name, id: id, taskQueue: worker.taskQueue)
            #expect(
                try await eventually { try env.service.history(workflowID: handle.id).contains { $0.eventType == .workflowTaskStarted } })
            try await handle.signal("note", "during")
            try await body(env, handle, gate)
        }
    }

    @Test func aSignalDuringALocalActivityIsSeenOnceAndInOrder() async throws {
        try await withSignalDuringATask("mid") { env, handle, gate in
            gate.set()
            let result = try await withTimeout(20) { try await handle.result(as: [String].self) }
            #expect(result == ["A", "during", "B"], "\(result)")
            // As a server writes it: the signal after the task that was in flight, its
            // completion and its marker, not between its Started and Completed.
            let types = try env.service.history(workflowID: handle.id).map(\.eventType)
            let signaled = try #require(types.firstIndex(of: .workflowExecutionSignaled))
            #expect(Array(types[2..<signaled]) == [.workflowTaskStarted, .workflowTaskCompleted, .markerRecorded], "\(types)")
        }
    }

    /// Terminated while a task is in flight: the task fails (force close), what arrived
    /// meanwhile is written, then the termination, and nothing after it when the worker's
    /// answer comes (it is refused).
    @Test func aTerminationDuringATaskWritesWhatArrivedAndClosesLast() async throws {
        try await withSignalDuringATask("ended") { env, handle, gate in
            try await handle.terminate(reason: "test")
            gate.set()
            try await Task.sleep(for: .milliseconds(300))  // the worker's answer arrives, and is refused
            let types = try env.service.history(workflowID: handle.id).map(\.eventType)
            #expect(
                Array(types.suffix(4)) == [
                    .workflowTaskStarted, .workflowTaskFailed, .workflowExecutionSignaled, .workflowExecutionTerminated,
                ],
                "\(types)")
        }
    }
}

/// A local activity, then the notes so far, then another local activity once a note came.
final class SignalDuringLocal: Workflow {
    var notes: [String] = []
    init() {}
    func run(context: WorkflowContext, input: NoValue) async throws -> [String] {
        context.setSignalHandler("note", as: String.self) { self.notes.append($0) }
        let options = LocalActivityOptions(startToCloseTimeout: .seconds(5))
        let a = try await context.executeLocalActivity("slowUpper", input: "a", options: options, as: String.self)
        try await context.condition { !self.notes.isEmpty }
        let b = try await context.executeLocalActivity("slowUpper", input: "b", options: options, as: String.self)
        return [a] + notes + [b]
    }
}

/// A workflow task that its worker never answers (a worker killed mid-task) times out after the
/// run's task timeout, as on a server: WorkflowTaskTimedOut, what arrived meanwhile, and a new
/// attempt that another worker takes; the first worker's late answer is refused. Before, the
/// in-memory service held the run (and the signal) until the environment closed.
@Suite struct InMemoryWorkflowTaskTimeoutTests {
    /// Starts `SumSignals` (one signal to wait for) with a 1 s task timeout, and takes its first
    /// workflow task as a "dead" worker would: polled, never answered.
    func startAndAbandon(_ env: TestWorkflowEnvironment, _ id: String) async throws -> (
        WorkflowHandle, Temporal_Api_Workflowservice_V1_PollWorkflowTaskQueueResponse
    ) {
        let handle = try await env.client.startWorkflow(
            type: SumSignals.name, id: id, taskQueue: "test", args: 1, options: WorkflowOptions(taskTimeout: .seconds(1)))
        var poll = Temporal_Api_Workflowservice_V1_PollWorkflowTaskQueueRequest()
        poll.namespace = env.client.namespace
        poll.taskQueue.name = "test"
        let abandoned = try await env.client.workflowService.pollWorkflowTaskQueue(poll)
        #expect(!abandoned.taskToken.isEmpty)
        return (handle, abandoned)
    }

    @Test func aWorkflowTaskNobodyAnswersTimesOutAndAnotherWorkerTakesIt() async throws {
        let env = try await TestWorkflowEnvironment.start()
        defer { env.shutdown() }
        let (handle, abandoned) = try await startAndAbandon(env, "abandoned")
        try await handle.signal("add", 1)
        let started = ContinuousClock.now
        // Timed out by the service itself: nothing else calls meanwhile.
        #expect(
            try await eventually(5) { try env.service.history(workflowID: handle.id).contains { $0.eventType == .workflowTaskTimedOut } })
        #expect(ContinuousClock.now - started < .seconds(3), "timed out after about its 1 s, not later")
        // The dead worker's late answer, while the run is open, is refused and changes nothing.
        let before = try env.service.history(workflowID: handle.id).count
        var late = Temporal_Api_Workflowservice_V1_RespondWorkflowTaskCompletedRequest()
        late.namespace = env.client.namespace
        late.taskToken = abandoned.taskToken
        var complete = Temporal_Api_Command_V1_Command()
        complete.commandType = .completeWorkflowExecution
        complete.completeWorkflowExecutionCommandAttributes = .init()
        late.commands = [complete]
        let refused = await #expect(throws: TemporalError.self) { try await env.client.workflowService.respondWorkflowTaskCompleted(late) }
        #expect(refused?.code == .notFound, "\(String(describing: refused))")
        #expect(try env.service.history(workflowID: handle.id).count == before)
        let result = try await env.withWorker(workflows: [SumSignals.self]) { _ in
            try await withTimeout(10) { try await handle.result(as: Int.self) }
        }
        #expect(result == 1)
        let history = try env.service.history(workflowID: handle.id)
        #expect(
            Array(history.map(\.eventType).prefix(6)) == [
                .workflowExecutionStarted, .workflowTaskScheduled, .workflowTaskStarted, .workflowTaskTimedOut,
                .workflowExecutionSignaled, .workflowTaskScheduled,
            ], "\(history.map(\.eventType))")
        // New events followed the timed-out task: the next attempt is a first one, as a server numbers it.
        #expect(history[5].workflowTaskScheduledEventAttributes.attempt == 1)
    }

    /// With no call after the dead worker's poll, the service's own alarm times the task out
    /// (the poll started it while handing it out); the next attempt is a second one.
    @Test func theServiceTimesATaskOutWithNothingElseCalling() async throws {
        let env = try await TestWorkflowEnvironment.start()
        defer { env.shutdown() }
        let (handle, _) = try await startAndAbandon(env, "quiet")
        let started = ContinuousClock.now
        #expect(
            try await eventually(5) { try env.service.history(workflowID: handle.id).contains { $0.eventType == .workflowTaskTimedOut } })
        #expect(ContinuousClock.now - started < .seconds(3))
        let last = try #require(try env.service.history(workflowID: handle.id).last)
        #expect(last.eventType == .workflowTaskScheduled && last.workflowTaskScheduledEventAttributes.attempt == 2)
    }
}
