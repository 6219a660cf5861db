import Foundation
import Temporal
import TemporalProto
import TemporalTestSupport
import TemporalTesting
import Testing

@testable import TemporalWorker

/// A timer that comes due while a workflow task is in flight fires there and then, its event
/// buffered, as any event from outside: an answer that closes the run is refused
/// (UNHANDLED_COMMAND) and the next task brings the timer to the code. The in-memory service
/// fired it only after the answer, which it accepted: code that would have seen the timer on a
/// server closed the run in tests.
@Suite struct InMemoryTimerDuringTaskTests {
    typealias EventType = Temporal_Api_Enums_V1_EventType

    /// Starts a run answered by hand: its first task starts a 1 s timer; a signal brings a
    /// second task, answered once the timer is due with a command that closes the run (or, with
    /// `cancelTimer`, cancels the timer first).
    /// - Returns: whether the answer was refused, and the run's event types.
    func timerDueDuringATask(_ client: TemporalClient, cancelTimer: Bool = false) async throws -> (refused: Bool, types: [EventType]) {
        let run = try await HandAnsweredRun.start(client, "due")
        let handle = run.handle
        func answer(_ token: Data, _ commands: [Temporal_Api_Command_V1_Command]) async throws {
            try await run.answer(token, commands)
        }
        var timer = Temporal_Api_Command_V1_Command()
        timer.commandType = .startTimer
        timer.startTimerCommandAttributes.timerID = "t"
        timer.startTimerCommandAttributes.startToFireTimeout = .init(seconds: 1)
        let first = try await run.nextTask()
        try await answer(first.taskToken, [timer])
        try await handle.signal("go")
        let second = try await run.nextTask()
        try await Task.sleep(for: .milliseconds(1_500))  // the timer comes due meanwhile
        var cancel = Temporal_Api_Command_V1_Command()
        cancel.commandType = .cancelTimer
        cancel.cancelTimerCommandAttributes.timerID = "t"
        var complete = Temporal_Api_Command_V1_Command()
        complete.commandType = .completeWorkflowExecution
        complete.completeWorkflowExecutionCommandAttributes = .init()
        var refused = false
        do {
            try await answer(second.taskToken, cancelTimer ? [cancel, complete] : [complete])
        } catch let error as TemporalError where error.code == .invalidArgument {
            refused = true
        }
        return (refused, try await handle.fetchHistory().map(\.eventType))
    }

    static let refusedForTheTimer: [EventType] = [
        .workflowExecutionStarted, .workflowTaskScheduled, .workflowTaskStarted, .workflowTaskCompleted, .timerStarted,
        .workflowExecutionSignaled, .workflowTaskScheduled, .workflowTaskStarted, .workflowTaskFailed, .timerFired,
        .workflowTaskScheduled,
    ]

    static let cancelledAndClosed: [EventType] = [
        .workflowExecutionStarted, .workflowTaskScheduled, .workflowTaskStarted, .workflowTaskCompleted, .timerStarted,
        .workflowExecutionSignaled, .workflowTaskScheduled, .workflowTaskStarted, .workflowTaskCompleted, .timerCanceled,
        .workflowExecutionCompleted,
    ]

    @Test func aTimerDueDuringATaskRefusesAnAnswerClosingTheRun() async throws {
        let env = try await TestWorkflowEnvironment.start()
        defer { env.shutdown() }
        let (refused, types) = try await timerDueDuringATask(env.client)
        #expect(refused)
        #expect(types == Self.refusedForTheTimer, "\(types)")
    }

    /// An answer that cancels the due timer closes the run: the server drops the buffered event.
    @Test func anAnswerCancellingTheDueTimerClosesTheRun() async throws {
        let env = try await TestWorkflowEnvironment.start()
        defer { env.shutdown() }
        let (refused, types) = try await timerDueDuringATask(env.client, cancelTimer: true)
        #expect(!refused)
        #expect(types == Self.cancelledAndClosed, "\(types)")
    }

    /// What the dev server does, which the in-memory service copies.
    @Test func theDevServerDoesTheSame() async throws {
        let client = try await TemporalClient.connect(transport: GRPCChannel(target: try await DevServer.shared().address))
        let (refused, types) = try await timerDueDuringATask(client)
        #expect(refused)
        #expect(types == Self.refusedForTheTimer, "\(types)")
        let (kept, cancelled) = try await timerDueDuringATask(client, cancelTimer: true)
        #expect(!kept)
        #expect(cancelled == Self.cancelledAndClosed, "\(cancelled)")
    }
}
