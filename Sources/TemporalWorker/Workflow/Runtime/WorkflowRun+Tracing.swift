import Synchronization
import Temporal
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
