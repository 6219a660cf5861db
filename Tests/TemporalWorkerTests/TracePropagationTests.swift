import Foundation
import Temporal
import TemporalProto
import TemporalTestSupport
import Testing
import Tracing

@testable import TemporalWorker

/// One trace from the client's start across what a workflow does: its local activities, the
/// signals it sends and the runs it continues as. Before, continue-as-new and signals to other
/// workflows carried no trace header (each run of a chain began a trace of its own) and local
/// activities' spans were roots of traces of their own.
@Suite struct TracePropagationTests {
    @Test func aTraceFollowsLocalActivitiesSignalsAndContinueAsNew() async throws {
        let (root, trace) = FollowingTracer.begin()
        try await withWorker(workflows: [TracedChain.self, SleepLong.self], activities: [echo]) { w in
            let target = try await w.start(SleepLong.self)
            let handle = try await ServiceContext.withValue(root) {
                try await w.client.startWorkflow(
                    type: TracedChain.name, id: "traced-\(UUID())", taskQueue: w.taskQueue,
                    args: TracedChain.Input(target: target.id, round: 0))
            }
            #expect(try await handle.result(as: String.self) == "echoed 1")
            let spans = FollowingTracer.shared.spans(of: trace)
            let names = spans.map(\.name)
            #expect(names.filter { $0 == "RunWorkflow:\(TracedChain.name)" }.count == 2, "\(names)")
            #expect(names.filter { $0 == "RunLocalActivity:echo" }.count == 2, "\(names)")
            #expect(names.contains("ContinueAsNew:\(TracedChain.name)"), "\(names)")
            // The second run's RunWorkflow span is a child of the first run's ContinueAsNew span.
            let continued = try #require(spans.first { $0.name == "ContinueAsNew:\(TracedChain.name)" })
            #expect(spans.contains { $0.name == "RunWorkflow:\(TracedChain.name)" && $0.parent == continued.ids.span })
            // The signal reached its workflow with the trace's header.
            let signaled = try #require(
                try await target.fetchHistory().first { $0.eventType == .workflowExecutionSignaled }?
                    .workflowExecutionSignaledEventAttributes)
            #expect(TraceHeader.extract(signaled.header.fields)?[FollowingTracer.Key.self]?.trace == trace)
            try await target.terminate(reason: "test over")
        }
    }
}

extension TracePropagationTests {
    /// A run rebuilt from its history (no sticky cache here, so at every task) makes its
    /// RunWorkflow span when it runs live, and starts what it starts under it: the second
    /// activity's span hung under the client's start span (and, for a start without a trace,
    /// began a trace of its own).
    @Test func aRunRebuiltFromItsHistoryStartsItsActivitiesUnderARunWorkflowSpan() async throws {
        let (root, trace) = FollowingTracer.begin()
        try await withWorker(workflows: [ManyActivities.self], activities: [echo], configure: { $0.maxCachedWorkflows = 0 }) { w in
            let handle = try await ServiceContext.withValue(root) {
                try await w.client.startWorkflow(type: ManyActivities.name, id: "traced-\(UUID())", taskQueue: w.taskQueue, args: [2, 1])
            }
            #expect(try await handle.result(as: Int.self) == 2)
            let spans = FollowingTracer.shared.spans(of: trace)
            let runSpans = Set(spans.filter { $0.name == "RunWorkflow:\(ManyActivities.name)" }.map(\.ids.span))
            let starts = spans.filter { $0.name == "StartActivity:echo" }
            #expect(starts.count == 2, "\(spans.map(\.name))")
            for start in starts { #expect(start.parent.map(runSpans.contains) == true, "\(start.name) under \(start.parent ?? "nothing")") }
        }
    }

    /// An activity completed asynchronously exported its span as an error (the attempt threw
    /// `ActivityCompletesAsynchronously`, which is how it asks to be completed elsewhere); an
    /// update the workflow rejected exported no error on the client's span.
    @Test func spansFailForFailuresOnly() async throws {
        let (root, trace) = FollowingTracer.begin()
        let tokens = Recorded<Data>()
        let external = ActivityDefinition("external") { (_: String, ctx: ActivityContext) -> String in
            tokens.append(ctx.info.taskToken)
            try ctx.completeAsynchronously()
        }
        try await withWorker(workflows: [RunActivity.self, Tally.self], activities: [external]) { w in
            try await ServiceContext.withValue(root) {
                let run = try await w.start(
                    RunActivity.self, ActivityCall(activity: "external", input: "a", startToClose: 30, maxAttempts: 1))
                let token = try #require(try await firstToken(tokens, count: 1))
                try await w.client.asyncActivityHandle(taskToken: token).complete("done elsewhere")
                #expect(try await run.result(as: String.self) == "done elsewhere")
                let tally = try await w.start(Tally.self)
                await #expect(throws: TemporalError.self) { _ = try await tally.executeUpdate("add", -1, as: Int.self) }
                try await tally.signal("done")
                _ = try await tally.result(as: Int.self)
            }
            let spans = FollowingTracer.shared.spans(of: trace)
            let activity = try #require(spans.first { $0.name == "RunActivity:external" }, "\(spans.map(\.name))")
            #expect(!activity.failed, "an asynchronous completion is not an error")
            let update = try #require(spans.first { $0.name == "UpdateWorkflow:add" }, "\(spans.map(\.name))")
            #expect(update.failed, "a rejected update is the span's error")
        }
    }
}

extension TracePropagationTests {
    /// A signal, a query and an update reach their handlers inside spans that are children of
    /// the client's (`HandleSignal:`, `HandleQuery:`, `ValidateUpdate:`, `HandleUpdate:`, as Go's
    /// tracing interceptor names them): the client's spans led nowhere. A rejected update's
    /// validator span is an error.
    @Test func handlersRunInSpansOfTheClientsTrace() async throws {
        let (root, trace) = FollowingTracer.begin()
        try await withWorker(workflows: [Tally.self]) { w in
            let tally = try await w.start(Tally.self)
            try await ServiceContext.withValue(root) {
                #expect(try await tally.executeUpdate("add", 2, as: Int.self) == 2)
                await #expect(throws: TemporalError.self) { _ = try await tally.executeUpdate("add", -1, as: Int.self) }
                #expect(try await tally.query("total", as: Int.self) == 2)
                try await tally.signal("done")
            }
            _ = try await tally.result(as: Int.self)
            let spans = FollowingTracer.shared.spans(of: trace)
            func child(_ name: String, of client: String) -> [FollowingTracer.Record] {
                let parents = Set(spans.filter { $0.name == client }.map(\.ids.span))
                return spans.filter { $0.name == name && $0.parent.map(parents.contains) == true }
            }
            #expect(child("HandleSignal:done", of: "SignalWorkflow:done").count == 1, "\(spans.map(\.name))")
            #expect(child("HandleQuery:total", of: "QueryWorkflow:total").count == 1, "\(spans.map(\.name))")
            #expect(child("HandleUpdate:add", of: "UpdateWorkflow:add").count == 1, "\(spans.map(\.name))")
            let validated = child("ValidateUpdate:add", of: "UpdateWorkflow:add")
            #expect(validated.count == 2 && validated.filter(\.failed).count == 1, "\(spans.map(\.name))")
        }
    }
}

/// Round 0: a local activity, a signal to `target`, continue-as-new; round 1: a local activity.
final class TracedChain: Workflow {
    struct Input: Codable, Sendable {
        var target: String
        var round: Int
    }
    init() {}
    func run(context: WorkflowContext, input: Input) async throws -> String {
        let echoed = try await context.executeLocalActivity(
            "echo", input: "echoed \(input.round)", options: LocalActivityOptions(startToCloseTimeout: .seconds(10)),
            as: String.self)
        guard input.round == 0 else { return echoed }
        try await context.signalExternalWorkflow(workflowID: input.target, signal: "poke", "hi")
        try context.continueAsNew(input: Input(target: input.target, round: 1))
    }
}
