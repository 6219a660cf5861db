import Foundation
import Temporal
import TemporalProto
import TemporalTestSupport
import TemporalTesting
import Testing

@testable import TemporalWorker

/// A cancel the server refuses — of a timer that is not live, of an activity that is not
/// pending or was asked to cancel already — fails the workflow task (BAD_CANCEL_TIMER_ATTRIBUTES,
/// BAD_REQUEST_CANCEL_ACTIVITY_ATTRIBUTES), every attempt of it: a worker that sends one is stuck
/// on a server. The in-memory service took them without a word, so such a bug passed every test.
/// Each case runs against the in-memory service and the dev server.
@Suite struct InMemoryCancelCommandTests {
    typealias Command = Temporal_Api_Command_V1_Command
    typealias Cause = Temporal_Api_Enums_V1_WorkflowTaskFailedCause

    /// Starts a run answered by hand: its first task starts timer "t" and schedules an activity
    /// no worker polls for; each of `answers` then answers the next task (a signal brings it).
    /// The activity's scheduled event id is passed to each answer. `endingActivity`: the
    /// activity completes while the last task is in flight (its event buffered).
    /// - Returns: the cause of the failed task, nil if every answer was taken.
    func cause(_ client: TemporalClient, _ answers: [@Sendable (Int64) -> [Command]], endingActivity: Bool = false) async throws -> Cause? {
        let run = try await HandAnsweredRun.start(client, "cancels")
        let handle = run.handle
        defer { Task { try? await handle.terminate(reason: "test over") } }
        let activityQueue = uniqueQueue("nobody")
        func completeActivity() async throws {
            var r = Temporal_Api_Workflowservice_V1_PollActivityTaskQueueRequest()
            r.namespace = client.namespace
            r.taskQueue.name = activityQueue
            r.identity = "by-hand"
            let request = r
            let task = try await within(10) { try await client.workflowService.pollActivityTaskQueue(request) }
            var done = Temporal_Api_Workflowservice_V1_RespondActivityTaskCompletedRequest()
            done.namespace = client.namespace
            done.taskToken = task.taskToken
            done.identity = "by-hand"
            _ = try await client.workflowService.respondActivityTaskCompleted(done)
        }
        func answer(_ commands: [Command], endingActivity: Bool = false) async throws {
            let task = try await run.nextTask()
            if endingActivity { try await completeActivity() }
            try await run.answer(task.taskToken, commands)
        }
        var timer = Command()
        timer.commandType = .startTimer
        timer.startTimerCommandAttributes.timerID = "t"
        timer.startTimerCommandAttributes.startToFireTimeout = .init(seconds: 60)
        var activity = Command()
        activity.commandType = .scheduleActivityTask
        activity.scheduleActivityTaskCommandAttributes.activityID = "a"
        activity.scheduleActivityTaskCommandAttributes.activityType.name = "unpolled"
        activity.scheduleActivityTaskCommandAttributes.taskQueue.name = activityQueue
        activity.scheduleActivityTaskCommandAttributes.startToCloseTimeout = .init(seconds: 60)
        try await answer([timer, activity])
        let scheduled = try #require(
            try await handle.fetchHistory().first { $0.eventType == .activityTaskScheduled }?.eventID)
        for (index, commands) in answers.enumerated() {
            try await handle.signal("next")
            do {
                try await answer(commands(scheduled), endingActivity: endingActivity && index == answers.count - 1)
            } catch let error as TemporalError where error.code == .invalidArgument {
                let failed = try await handle.fetchHistory().last { $0.eventType == .workflowTaskFailed }
                return try #require(failed?.workflowTaskFailedEventAttributes.cause)
            }
        }
        return nil
    }

    static func cancelTimer(_ id: String) -> Command {
        var c = Command()
        c.commandType = .cancelTimer
        c.cancelTimerCommandAttributes.timerID = id
        return c
    }

    static func cancelActivity(_ scheduledEventID: Int64) -> Command {
        var c = Command()
        c.commandType = .requestCancelActivityTask
        c.requestCancelActivityTaskCommandAttributes.scheduledEventID = scheduledEventID
        return c
    }

    /// Each case and the cause it fails with (nil: taken).
    static var cases: [(name: String, answers: [@Sendable (Int64) -> [Command]], cause: Cause?)] {
        [
            ("the live timer", [{ _ in [cancelTimer("t")] }], nil),
            ("a timer never started", [{ _ in [cancelTimer("nope")] }], .badCancelTimerAttributes),
            ("the timer twice", [{ _ in [cancelTimer("t")] }, { _ in [cancelTimer("t")] }], .badCancelTimerAttributes),
            ("the pending activity", [{ [cancelActivity($0)] }], nil),
            ("the pending activity twice in one answer", [{ [cancelActivity($0), cancelActivity($0)] }], nil),
            ("an event that scheduled no activity", [{ [cancelActivity($0 + 100)] }], .badRequestCancelActivityAttributes),
            ("the activity once cancelled", [{ [cancelActivity($0)] }, { [cancelActivity($0)] }], .badRequestCancelActivityAttributes),
        ]
    }

    func check(_ client: TemporalClient) async throws {
        for c in Self.cases {
            let cause = try await cause(client, c.answers)
            #expect(cause == c.cause, "cancelling \(c.name): \(String(describing: cause))")
        }
        // An activity that ended while the task ran is still taken (its outcome is buffered).
        let ended = try await cause(client, [{ [Self.cancelActivity($0)] }], endingActivity: true)
        #expect(ended == nil, "cancelling an activity that ended during the task: \(String(describing: ended))")
    }

    @Test func theInMemoryServiceRefusesTheCancelsAServerRefuses() async throws {
        let env = try await TestWorkflowEnvironment.start()
        defer { env.shutdown() }
        try await check(env.client)
    }

    @Test func theDevServerDoesTheSame() async throws {
        let client = try await TemporalClient.connect(transport: GRPCChannel(target: try await DevServer.shared().address))
        try await check(client)
    }
}
