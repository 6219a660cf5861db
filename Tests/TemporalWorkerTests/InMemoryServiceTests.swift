import Foundation
import Temporal
import TemporalProto
import Testing
import TemporalTesting
@testable import TemporalWorker

/// The worker and client against `TemporalTesting`'s in-memory service: no server, so these
/// run in milliseconds (and without `TEMPORAL_TEST_ADDRESS`).
@Suite struct InMemoryServiceTests {
    let steps = ["step1", "step2", "step3"].map { name in
        ActivityDefinition(name) { (value: String, _: ActivityContext) in value + "+" + name }
    }

    @Test func activitiesRunInOrderAndTheHistoryReplays() async throws {
        let env = try await TestWorkflowEnvironment.start()
        defer { env.shutdown() }
        let result = try await env.execute(ThreeSteps.self, input: "x", activities: steps, id: "three")
        #expect(result == "x+step1+step2+step3")
        let history = try env.service.history(workflowID: "three")
        #expect(history.filter { $0.eventType == .activityTaskCompleted }.count == 3)
        #expect(try WorkflowReplayer(workflows: [ThreeSteps.self]).replay(events: history).closed)
    }

    @Test func timersAreSkipped() async throws {
        let env = try await TestWorkflowEnvironment.start()
        defer { env.shutdown() }
        let clock = ContinuousClock()
        let started = clock.now
        let elapsed = try await env.execute(Sleeper.self, input: 86_400.0)
        #expect(elapsed == 86_400, "a day of workflow time")
        #expect(clock.now - started < .seconds(30), "without waiting for it")
    }

    @Test func activityFailuresAreRetriedThenReported() async throws {
        let attempts = Counter()
        let flaky = ActivityDefinition("flaky") { (_: String, ctx: ActivityContext) -> String in
            attempts.increment()
            if ctx.info.attempt < 3 { throw ApplicationError("not yet", type: "NotYet") }
            return "ok on \(ctx.info.attempt)"
        }
        let fatal = ActivityDefinition("fatal") { (_: String, _: ActivityContext) -> String in
            throw ApplicationError("never", type: "Fatal", nonRetryable: true)
        }
        let env = try await TestWorkflowEnvironment.start()
        defer { env.shutdown() }
        #expect(try await env.execute(RunActivity.self, input: ActivityCall(activity: "flaky"), activities: [flaky]) == "ok on 3")
        #expect(attempts.current == 3)
        #expect(try await env.execute(RunActivity.self, input: ActivityCall(activity: "fatal"), activities: [fatal]) == "error:Fatal|timeout:")
    }

    @Test func signalsQueriesAndFailures() async throws {
        let env = try await TestWorkflowEnvironment.start()
        defer { env.shutdown() }
        try await env.withWorker(workflows: [Channelled.self, Refuse.self]) { worker in
            let handle = try await env.client.startWorkflow(type: Channelled.name, id: "words", taskQueue: worker.taskQueue, args: 2)
            try await handle.signal("word", "hello")
            try await handle.signal("word", "world")
            #expect(try await handle.result(as: [String].self) == ["hello", "world"])
            let stack = try await handle.query("__stack_trace", as: String.self)
            #expect(stack.contains("Channelled"))
            let refused = try await env.client.startWorkflow(type: Refuse.name, id: "refuse", taskQueue: worker.taskQueue)
            do {
                _ = try await refused.result(as: String.self)
                Issue.record("a failed workflow's result must throw")
            } catch let error as TemporalError {
                #expect(error.kind == .workflowFailed)
                #expect(error.applicationError?.type == "Nope")
            }
        }
    }

    @Test func unsupportedCommandsSayWhatToDo() async throws {
        let env = try await TestWorkflowEnvironment.start()
        defer { env.shutdown() }
        try await env.withWorker(workflows: [Countdown.self]) { worker in
            let handle = try await env.client.startWorkflow(type: Countdown.name, id: "countdown", taskQueue: worker.taskQueue, args: 1)
            let failed = try await eventually {
                try env.service.history(workflowID: handle.id).contains { $0.eventType == .workflowTaskFailed }
            }
            #expect(failed)
            let history = try env.service.history(workflowID: handle.id)
            let message = history.first { $0.eventType == .workflowTaskFailed }?.workflowTaskFailedEventAttributes.failure.message ?? ""
            #expect(message.contains("dev server"), "\(message)")
        }
    }

    @Test func anActivityRunsWithATestContext() async throws {
        let counting = ActivityDefinition("count") { (to: Int, ctx: ActivityContext) -> Int in
            var n = try ctx.lastHeartbeatDetails(as: Int.self) ?? 0
            while n < to {
                n += 1
                ctx.heartbeat(n)
            }
            return n
        }
        let env = ActivityTestEnvironment()
        #expect(try await env.run(counting, input: 3, as: Int.self) == 3)
        #expect(try env.heartbeats(as: Int.self) == [1, 2, 3], "every heartbeat, before throttling")
        let resumed = ActivityTestEnvironment()
        #expect(try await resumed.run(counting, input: 5, as: Int.self, attempt: 2, previousHeartbeat: 3) == 5)
        #expect(try resumed.heartbeats(as: Int.self) == [4, 5], "resumed from the previous attempt's progress")
    }

    @Test func aTestActivityCanBeCancelled() async throws {
        let started = Flag()
        let waiting = ActivityDefinition("wait") { (_: String, ctx: ActivityContext) -> String in
            started.set()
            while !Task.isCancelled { try? await Task.sleep(for: .milliseconds(5)) }
            return ctx.isCancellationRequested ? "cancel requested" : "cancelled without a request"
        }
        let env = ActivityTestEnvironment()
        let run = Task { try await env.run(waiting, input: "x", as: String.self) }
        #expect(try await eventually { started.isSet })
        env.cancel()
        #expect(try await run.value == "cancel requested")
    }
}
