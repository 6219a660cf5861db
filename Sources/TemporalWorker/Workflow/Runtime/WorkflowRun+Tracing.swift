import Synchronization
import Temporal
import TemporalProto
import Tracing

/// Whether the run is replaying; read by the replay-aware log handler from any thread.
final class ReplayFlag: Sendable {
    private let storage = Atomic<Bool>(true)
    var value: Bool {
        get { storage.load(ordering: .relaxed) }
        set { storage.store(newValue, ordering: .relaxed) }
    }
}

extension WorkflowRun {
    /// The trace header for a command that starts `operation` (an activity, a child): live, a
    /// short span under the run's trace, whose context the header carries; on replay the run's
    /// context (the command is not sent again).
    /// The header of a command that starts `operation`: `headers` (an interceptor's) with the
    /// trace header over them; nil when both are empty.
    func header(for operation: String, over headers: [String: Payload] = [:]) -> Temporal_Api_Common_V1_Header? {
        let fields = headers.merging(traceHeader(operation)) { _, trace in trace }
        guard !fields.isEmpty else { return nil }
        var header = Temporal_Api_Common_V1_Header()
        header.fields = fields
        return header
    }

    /// Runs a handler (`HandleSignal:<name>`, `HandleQuery:…`, `ValidateUpdate:…`,
    /// `HandleUpdate:…`) inside a span that is a child of the one whose context its message's
    /// headers carry, as Go's tracing interceptor makes them: the client's signal, query or
    /// update span led nowhere. Live only (a query, never in history, whenever it is answered),
    /// and only for a message that carries a trace (no root span per untraced signal, nor per
    /// header another propagator wrote). The span covers what the handler does before it first
    /// waits (`HandleUpdate` marks the update's acceptance: its handler runs as a task of its own).
    func inHandlerSpan<T>(
        _ operation: @autoclosure () -> String, headers: [String: Payload], updateID: String? = nil, query: Bool = false,
        _ body: () throws -> T
    ) rethrows -> T {
        guard query || !isReplaying, !headers.isEmpty, let parent = TraceHeader.extract(headers), !parent.isEmpty else {
            return try body()
        }
        let span = InstrumentationSystem.tracer.startAnySpan(operation(), context: parent, ofKind: .server)
        defer { span.end() }
        if span.isRecording {
            span.attributes["temporalWorkflowID"] = info.workflowID
            span.attributes["temporalRunID"] = info.runID
            if let updateID { span.attributes["temporalUpdateID"] = updateID }
        }
        do {
            return try body()
        } catch {
            span.recordError(error)
            throw error
        }
    }

    /// One span for the run (as the other SDKs make it), under the starter's context; the
    /// workflow's activities, children, signals and continuation are started under it. Made
    /// when the run's first task runs live, or, for a run rebuilt from its history (another
    /// worker's, an evicted one), at its first live activation, as Go makes one at every
    /// rebuild: without it, what such a run started afterwards hung under the client's start
    /// span, or, for a start that carried no trace, began a trace of its own at each command.
    func startRunSpan() {
        runSpanPending = false
        let span = InstrumentationSystem.tracer.startAnySpan("RunWorkflow:\(info.workflowType)", context: traceContext, ofKind: .server)
        if span.isRecording {  // (the attributes are a dictionary built even for a no-op span)
            span.attributes["temporalWorkflowID"] = info.workflowID
            span.attributes["temporalRunID"] = info.runID
        }
        traceContext = span.context
        span.end()
    }

    func traceHeader(_ operation: String) -> [String: Payload] {
        var fields: [String: Payload] = [:]
        if isReplaying {
            TraceHeader.inject(traceContext, into: &fields)
        } else {
            let span = InstrumentationSystem.tracer.startAnySpan(operation, context: traceContext, ofKind: .client)
            TraceHeader.inject(span.context, into: &fields)
            span.end()
        }
        return fields
    }
}
