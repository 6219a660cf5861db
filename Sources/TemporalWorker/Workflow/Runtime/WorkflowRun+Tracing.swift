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
