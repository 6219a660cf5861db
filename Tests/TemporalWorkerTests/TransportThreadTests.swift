import Dispatch
import Foundation
import Synchronization
import Temporal
import TemporalTestSupport
import Testing

@testable import TemporalWorker

/// `WorkerOptions.runsOnTransportThread`: the worker's pollers and workflow tasks run on the
/// channel's completion-queue thread; activities and local activities never do, so an activity
/// that blocks holds up no workflow task.
@Suite struct TransportThreadTests {
    /// Where an activity ran: "completion thread" or "elsewhere".
    final class Probe: Sendable {
        private let channel = Mutex<GRPCChannel?>(nil)
        func watch(_ client: TemporalClient) { channel.withLock { $0 = client.workflowService.transport as? GRPCChannel } }
        var executor: CompletionQueueExecutor? { channel.withLock { $0?.completionQueueExecutor } }
        var place: String { executor?.isCurrent == true ? "completion thread" : "elsewhere" }

        var activity: ActivityDefinition {
            ActivityDefinition("whereAmI") { (_: String, _: ActivityContext) -> String in self.place }
        }
    }

    /// Calls `whereAmI` as an activity and as a local activity.
    final class WhereCodeRuns: Workflow {
        init() {}
        func run(context: WorkflowContext, input: String) async throws -> [String] {
            let activity = try await context.executeActivity(
                "whereAmI", input: input, options: ActivityOptions(startToCloseTimeout: .seconds(20)), as: String.self)
            let local = try await context.executeLocalActivity(
                "whereAmI", input: input, options: LocalActivityOptions(startToCloseTimeout: .seconds(20)), as: String.self)
            return [activity, local]
        }
    }

    @Test func workflowTasksRunOnTheCompletionThreadAndActivitiesNever() async throws {
        let probe = Probe()
        try await withWorker(workflows: [WhereCodeRuns.self], activities: [probe.activity]) { w in
            probe.watch(w.client)
            let executor = try #require(probe.executor)
            let before = executor.jobsRun
            let handle = try await w.start(WhereCodeRuns.self, "x")
            #expect(try await handle.result(as: [String].self) == ["elsewhere", "elsewhere"])
            #expect(executor.jobsRun > before, "the worker's tasks ran on the completion thread")
        }
    }

    @Test func turnedOffTheWorkerLeavesTheCompletionThreadAlone() async throws {
        let probe = Probe()
        try await withWorker(
            workflows: [WhereCodeRuns.self], activities: [probe.activity], configure: { $0.runsOnTransportThread = false }
        ) { w in
            probe.watch(w.client)
            let executor = try #require(probe.executor)
            let handle = try await w.start(WhereCodeRuns.self, "x")
            #expect(try await handle.result(as: [String].self) == ["elsewhere", "elsewhere"])
            #expect(executor.jobsRun == 0)
        }
    }

    /// An activity that blocks its thread (synchronous I/O, a semaphore) while another
    /// workflow runs from start to end: on the completion thread it would stop every response
    /// of the channel and the second workflow could not finish before the activity is released.
    @Test func aBlockingActivityHoldsUpNoWorkflowTask() async throws {
        let release = DispatchSemaphore(value: 0)
        let entered = Flag()
        let blocking = ActivityDefinition("blockThread") { (_: String, _: ActivityContext) -> String in
            entered.set()
            let released = release.wait(timeout: .now() + 30) == .success
            return released ? "released" : "timed out"
        }
        let probe = Probe()
        try await withWorker(workflows: [RunActivity.self, WhereCodeRuns.self], activities: [blocking, probe.activity]) { w in
            probe.watch(w.client)
            let blocked = try await w.start(RunActivity.self, ActivityCall(activity: "blockThread", startToClose: 60))
            #expect(try await eventually(20) { entered.isSet })
            let other = try await w.start(WhereCodeRuns.self, "y")
            #expect(try await other.result(as: [String].self) == ["elsewhere", "elsewhere"])
            release.signal()
            #expect(try await blocked.result(as: String.self) == "released")
        }
    }
}
