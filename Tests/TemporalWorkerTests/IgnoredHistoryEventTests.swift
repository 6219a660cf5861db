import Temporal
import TemporalProto
import Testing

@testable import TemporalWorker

/// Sleeps a second, then returns "woke".
final class SleepsASecond: Workflow {
    init() {}
    func run(context: WorkflowContext, input: NoValue) async throws -> String {
        try await context.sleep(for: .seconds(1))
        return "woke"
    }
}

/// History events that change nothing a workflow sees.
@Suite struct IgnoredHistoryEventTests {
    /// The server writes `WorkflowExecutionOptionsUpdated` when a client sets a versioning
    /// override (`WorkflowHandle.setVersioningOverride`), attaches a request id or callback, or
    /// changes the priority; servers before `worker_may_ignore` did not mark it. It failed every
    /// task of the run with "unsupported history event" (a run stuck for good); it is skipped
    /// now, as Go and Core skip it.
    @Test func anOptionsUpdateWithoutTheIgnoreFlagIsSkipped() throws {
        var b = HistoryBuilder()
        b.started("SleepsASecond")
        _ = b.workflowTaskStarted()
        b.workflowTaskCompleted()
        let timer = b.timerStarted("1")
        _ = b.add(.workflowExecutionOptionsUpdated)  // no attributes this subset knows, no ignore flag
        b.timerFired("1", started: timer)
        _ = b.workflowTaskStarted()
        b.workflowTaskCompleted()
        b.completed(try DataConverter.default.toPayloads("woke"))
        #expect(try WorkflowReplayer(workflows: [SleepsASecond.self]).replay(events: b.events, workflowID: "wf").closed)
    }
}
