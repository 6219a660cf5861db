import Foundation
import Temporal
import TemporalProto
import TemporalTestSupport
import Testing

@testable import TemporalTesting
@testable import TemporalWorker

/// Where the in-memory service answered otherwise than a server, so that a test passed in
/// memory and the same code failed (or behaved otherwise) on a real one.
@Suite struct InMemoryServerParityTests {
    /// A handle that started a run addresses that run's chain only: once the id holds a newer
    /// run, cancelling or terminating through the old handle is not found (as a server answers,
    /// `requestcancelworkflow/api.go`, `terminateworkflow/api.go`). In memory it reached the
    /// newer run.
    @Test func aStaleHandleDoesNotReachANewerRunOfItsID() async throws {
        let env = try await TestWorkflowEnvironment.start()
        defer { env.shutdown() }
        try await env.withWorker(workflows: [RefusesQueries.self]) { worker in
            let first = try await env.client.startWorkflow(type: RefusesQueries.name, id: "reused", taskQueue: worker.taskQueue)
            try await first.terminate(reason: "done")
            let second = try await env.client.startWorkflow(type: RefusesQueries.name, id: "reused", taskQueue: worker.taskQueue)
            let cancel = await #expect(throws: TemporalError.self) { try await first.cancel() }
            #expect(cancel?.code == .notFound, "\(String(describing: cancel))")
            let terminate = await #expect(throws: TemporalError.self) { try await first.terminate(reason: "stale") }
            #expect(terminate?.code == .notFound, "\(String(describing: terminate))")
            let history = try env.service.history(workflowID: "reused", runID: second.resultRunID)
            #expect(!history.contains { $0.eventType == .workflowExecutionCancelRequested || $0.eventType == .workflowExecutionTerminated })
            try await second.terminate(reason: "done")
        }
    }

    /// The failure an attempt is retried after has no cause; the final timeout's cause is the
    /// attempt before (two levels at most, as a server writes them). In memory every timed-out
    /// attempt nested one level deeper: past the decoder's 100 levels the worker could not read
    /// its task.
    @Test func timedOutAttemptsDoNotNestTheirFailures() async throws {
        let stuck = ActivityDefinition("stuck") { (_: String, _: ActivityContext) -> String in
            try? await Task.sleep(for: .seconds(30))
            return "late"
        }
        let env = try await TestWorkflowEnvironment.start()
        defer { env.shutdown() }
        let call = ActivityCall(activity: "stuck", startToClose: 0.3, maxAttempts: 3)
        #expect(try await env.execute(RunActivity.self, input: call, activities: [stuck], id: "nested") == "error:|timeout:startToClose")
        let history = try env.service.history(workflowID: "nested")
        let failure = try #require(history.first { $0.eventType == .activityTaskTimedOut }?.activityTaskTimedOutEventAttributes.failure)
        let causeIsATimeout: Bool
        if case .timeoutFailureInfo? = failure.cause.failureInfo { causeIsATimeout = true } else { causeIsATimeout = false }
        #expect(failure.hasCause && causeIsATimeout && !failure.cause.hasCause, "\(failure)")
    }

    /// ActivityTaskStarted is written with the attempt's outcome but dated when the attempt
    /// started, as the server dates it (`ActivityInfo.started_time`), for completions and timeouts
    /// alike: in memory it had the outcome's time, and an activity's duration read from history
    /// was zero.
    @Test func anActivityStartedEventIsDatedWhenTheAttemptStarted() async throws {
        let slow = ActivityDefinition("slow") { (_: String, _: ActivityContext) -> String in
            try? await Task.sleep(for: .milliseconds(300))
            return "done"
        }
        let env = try await TestWorkflowEnvironment.start()
        defer { env.shutdown() }
        _ = try await env.execute(RunActivity.self, input: ActivityCall(activity: "slow"), activities: [slow], id: "dated")
        _ = try await env.execute(
            RunActivity.self, input: ActivityCall(activity: "slow", startToClose: 0.1, maxAttempts: 1), activities: [slow],
            id: "dated-timeout")
        for (id, outcome) in [("dated", Temporal_Api_Enums_V1_EventType.activityTaskCompleted), ("dated-timeout", .activityTaskTimedOut)] {
            let history = try env.service.history(workflowID: id)
            let started = try #require(history.first { $0.eventType == .activityTaskStarted }).eventTime.date
            let ended = try #require(history.first { $0.eventType == outcome }).eventTime.date
            let least = id == "dated" ? 0.25 : 0.08
            #expect(ended.timeIntervalSince(started) >= least, "\(id): \(ended.timeIntervalSince(started)) s")
        }
    }

    /// A task failure that may pass on its own (a deadlock suspicion, a failed history fetch) is
    /// told by its type, so also when the worker encrypts error messages ("Encoded failure"):
    /// read by its message only, it ended the run at once in memory.
    @Test func aPassingFailureIsToldByItsTypeThoughItsMessageIsSealed() throws {
        var fetch = Failure()
        fetch.message = "Encoded failure"
        fetch.applicationFailureInfo.type = "TemporalError.connection"
        #expect(InMemoryState.mayPass(fetch))
        var deadlock = fetch
        deadlock.applicationFailureInfo.type = "PotentialDeadlockError"
        #expect(InMemoryState.mayPass(deadlock))
        var code = fetch
        code.applicationFailureInfo.type = "InvalidInput"
        #expect(!InMemoryState.mayPass(code))
    }

    /// A retry policy of one attempt is not checked further, as a server checks it
    /// (`retrypolicy.Validate`): a maximum interval under the default initial interval was
    /// refused in memory (BAD_SCHEDULE_ACTIVITY_ATTRIBUTES) and accepted in production.
    @Test func aRetryPolicyOfOneAttemptIsNotCheckedFurther() {
        var policy = Temporal_Api_Common_V1_RetryPolicy()
        policy.maximumInterval = .init(rounding: .milliseconds(500))
        policy.maximumAttempts = 1
        #expect(InMemoryState.retryPolicyProblem(policy) == nil)
        policy.maximumAttempts = 2
        #expect(InMemoryState.retryPolicyProblem(policy) != nil)
    }

    /// A timer and an activity that both end while a workflow task is in flight come in the
    /// next task timer first, as a server reorders its buffered events (activity outcomes last,
    /// `historybuilder/event_store.go` `reorderBuffer`): in memory the activity came first, and
    /// a timeout raced against an activity lost where it wins on a server.
    @Test func aTimerAndAnActivityEndingDuringATaskComeTimerFirst() async throws {
        let env = try await TestWorkflowEnvironment.start()
        defer { env.shutdown() }
        try await env.withWorker(workflows: [RaceBehindALocalActivity.self], activities: RaceBehindALocalActivity.activities) { worker in
            let handle = try await env.client.startWorkflow(
                type: RaceBehindALocalActivity.name, id: "race-buffered", taskQueue: worker.taskQueue)
            try await Task.sleep(for: .milliseconds(200))  // the first task has scheduled both
            try await handle.signal("go")
            #expect(try await handle.result(as: String.self) == "timer")
            let types = try env.service.history(workflowID: "race-buffered").map(\.eventType)
            let fired = try #require(types.firstIndex(of: .timerFired))
            let completed = try #require(types.firstIndex(of: .activityTaskCompleted))
            #expect(fired < completed, "\(types)")
        }
    }

    /// The same race on the dev server: the timer first.
    @Test func aTimerAndAnActivityEndingDuringATaskComeTimerFirstOnTheDevServer() async throws {
        try await withWorker(workflows: [RaceBehindALocalActivity.self], activities: RaceBehindALocalActivity.activities) { w in
            let handle = try await w.client.startWorkflow(
                type: RaceBehindALocalActivity.name, id: "race-\(UUID())", taskQueue: w.taskQueue, args: NoValue())
            try await Task.sleep(for: .milliseconds(500))
            try await handle.signal("go")
            #expect(try await handle.result(as: String.self) == "timer")
            let types = try await handle.fetchHistory().map(\.eventType)
            let fired = try #require(types.firstIndex(of: .timerFired))
            let completed = try #require(types.firstIndex(of: .activityTaskCompleted))
            #expect(fired < completed, "\(types)")
        }
    }

    /// Workflow tasks suggest continuing as new once the history reaches the service's limit
    /// (`suggestContinueAsNewAt`, as a server's `limit.historyCount.suggestContinueAsNew`), so a
    /// workflow's continue-as-new branch can be tested in memory. No task suggested it.
    @Test func tasksSuggestContinuingAsNewPastTheLimit() async throws {
        let service = InMemoryTemporalService(workflowTaskFailuresEndRuns: true, suggestContinueAsNewAt: 30)
        let client = try await TemporalClient.connect(transport: service)
        defer { client.close() }
        let worker = Worker(
            client: client, taskQueue: "suggest", workflows: [SleepsUntilSuggested.self],
            options: TestWorkflowEnvironment.defaultWorkerOptions)
        let running = Task { try await worker.run() }
        defer {
            running.cancel()
        }
        let handle = try await client.startWorkflow(type: SleepsUntilSuggested.name, id: "suggested", taskQueue: "suggest", args: NoValue())
        let length = try await within(60) { try await handle.result(as: Int.self) }
        #expect((30...36).contains(length), "suggested at \(length) events")
        await worker.shutdown(gracePeriod: .seconds(1))
    }
}

/// Races a 1 s activity against a 1 s timer while its second workflow task (run by a signal)
/// holds a 3 s local activity: both end while that task is in flight, and the next task's
/// history says which came first. Returns the winner.
final class RaceBehindALocalActivity: Workflow {
    var go = false
    init() {}
    func run(context: WorkflowContext, input: NoValue) async throws -> String {
        context.setSignalHandler("go") { self.go = true }
        return try await withThrowingTaskGroup(of: String.self) { group in
            group.addTask {
                _ = try await context.executeActivity(
                    "oneSecond", options: ActivityOptions(startToCloseTimeout: .seconds(30)), as: String.self)
                return "activity"
            }
            group.addTask {
                try await context.sleep(for: .seconds(1))
                return "timer"
            }
            try await context.condition { self.go }
            _ = try await context.executeLocalActivity(
                "threeSeconds", options: LocalActivityOptions(startToCloseTimeout: .seconds(30)), as: String.self)
            let first = try await group.next() ?? "none"
            group.cancelAll()
            return first
        }
    }

    static let activities = [
        ActivityDefinition("oneSecond") { (_: ActivityContext) async throws -> String in
            try await Task.sleep(for: .seconds(1))
            return "done"
        },
        ActivityDefinition("threeSeconds") { (_: ActivityContext) async throws -> String in
            try await Task.sleep(for: .seconds(3))
            return "done"
        },
    ]
}

/// Sleeps a second at a time until its task suggests continuing as new; returns the history
/// length then.
final class SleepsUntilSuggested: Workflow {
    init() {}
    func run(context: WorkflowContext, input: NoValue) async throws -> Int {
        while !context.isContinueAsNewSuggested { try await context.sleep(for: .seconds(1)) }
        return context.historyLength
    }
}
