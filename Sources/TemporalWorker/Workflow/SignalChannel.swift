/// The values of one signal, in arrival order, for workflow code that prefers waiting to handlers.
///
/// Confined to the workflow's executor like the rest of its state; `@unchecked Sendable` only
/// so that it can be captured by the signal handler closure stored in the run (see `WorkflowRun`).
public final class SignalChannel<Value>: @unchecked Sendable, UnreadSignals {
    private let context: WorkflowContext
    private var storage: [Value] = []

    init(context: WorkflowContext) { self.context = context }

    /// The values, checked (debug builds) to be touched only by the workflow's own code, as
    /// the run is (`Confinement`).
    private var buffer: [Value] {
        get {
            context.confinedRun.confinement.check("SignalChannel of workflow \(context.confinedRun.info.workflowType)")
            return storage
        }
        _modify {
            context.confinedRun.confinement.check("SignalChannel of workflow \(context.confinedRun.info.workflowType)")
            yield &storage
        }
    }

    func push(_ value: Value) { buffer.append(value) }

    var unread: Int { storage.count }

    /// Values received and not yet taken.
    public var pending: Int { buffer.count }

    /// Takes the next value if one is buffered.
    public func tryReceive() -> Value? { buffer.isEmpty ? nil : buffer.removeFirst() }

    /// Waits for and takes the next value.
    public func receive() async throws -> Value {
        try await context.condition { [self] in !buffer.isEmpty }
        return buffer.removeFirst()
    }
}

/// A signal channel's values not taken yet, whatever their type (the end-of-run warning).
protocol UnreadSignals: AnyObject {
    var unread: Int { get }
}
