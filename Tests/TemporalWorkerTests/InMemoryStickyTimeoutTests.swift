import Foundation
import Temporal
import TemporalProto
import TemporalTestSupport
import TemporalTesting
import Testing

@testable import TemporalWorker

/// A workflow task for a sticky queue whose worker went without a word (killed, crashed) goes
/// to the normal queue with the whole history, as a server sends it: at once when nobody polls
/// the sticky queue (lately), else after its schedule-to-start timeout (WorkflowTaskTimedOut,
/// SCHEDULE_TO_START). The in-memory service left it there for ever: a test that stopped a
/// worker abruptly and started another hung.
@Suite struct InMemoryStickyTimeoutTests {
    typealias EventType = Temporal_Api_Enums_V1_EventType

    /// Answers a run's first task by hand, naming a sticky queue (1 s timeout) polled once and
    /// given up (`polledOnce`) or never, signals the run, and polls its normal queue.
    /// - Returns: the event types of the task that poll got, and how long it took.
    func taskAfterAGoneStickyWorker(_ client: TemporalClient, polledOnce: Bool) async throws -> (types: [EventType], waited: Duration) {
        let run = try await HandAnsweredRun.start(client, "sticky-gone")
        let handle = run.handle
        defer { Task { try? await handle.terminate(reason: "test over") } }
        let first = try await run.nextTask()
        let sticky = uniqueQueue("gone-worker")
        if polledOnce {
            var r = run.pollRequest(queue: sticky)
            r.taskQueue.kind = .sticky
            r.taskQueue.normalName = run.queue
            let request = r
            let stickyPoll = Task { try? await client.workflowService.pollWorkflowTaskQueue(request) }
            try await Task.sleep(for: .milliseconds(300))
            stickyPoll.cancel()  // the worker is gone
            _ = await stickyPoll.value
        }
        try await run.answer(first.taskToken, []) {
            $0.stickyAttributes.workerTaskQueue.name = sticky
            $0.stickyAttributes.workerTaskQueue.kind = .sticky
            $0.stickyAttributes.scheduleToStartTimeout = .init(seconds: 1)
        }
        try await handle.signal("go")
        let clock = ContinuousClock()
        let start = clock.now
        let second = try await run.nextTask(within: 20)
        return (second.history.events.map(\.eventType), clock.now - start)
    }

    static let timedOut: [EventType] = [
        .workflowExecutionStarted, .workflowTaskScheduled, .workflowTaskStarted, .workflowTaskCompleted,
        .workflowExecutionSignaled, .workflowTaskScheduled, .workflowTaskTimedOut, .workflowTaskScheduled, .workflowTaskStarted,
    ]
    static let sentElsewhere: [EventType] = [
        .workflowExecutionStarted, .workflowTaskScheduled, .workflowTaskStarted, .workflowTaskCompleted,
        .workflowExecutionSignaled, .workflowTaskScheduled, .workflowTaskStarted,
    ]

    func check(_ client: TemporalClient) async throws {
        let (types, waited) = try await taskAfterAGoneStickyWorker(client, polledOnce: true)
        #expect(types == Self.timedOut, "\(types)")
        #expect(waited >= .milliseconds(900), "\(waited)")
        let (direct, _) = try await taskAfterAGoneStickyWorker(client, polledOnce: false)
        #expect(direct == Self.sentElsewhere, "\(direct)")
    }

    @Test func aTaskForAGoneWorkersStickyQueueGoesToTheNormalQueue() async throws {
        let env = try await TestWorkflowEnvironment.start()
        defer { env.shutdown() }
        try await check(env.client)
    }

    @Test func theDevServerDoesTheSame() async throws {
        try await check(try await TemporalClient.connect(transport: GRPCChannel(target: try await DevServer.shared().address)))
    }
}
