public import Temporal

/// A child workflow that has started (returned by `WorkflowContext.startChildWorkflow`).
///
/// Use it only from the parent's workflow code. Cancelling the task that awaits `result`
/// cancels the child according to its `ChildWorkflowOptions.cancellationType`.
public struct ChildWorkflowHandle: Sendable {
    let run: WorkflowRun
    let seq: Int
    /// The child's workflow id.
    public let workflowID: String
    /// The child's workflow type.
    public let workflowType: String
    /// The run id of the child's first run (later runs follow by retry or continue-as-new).
    public let firstExecutionRunID: String

    /// Waits for the child to close and decodes its result.
    /// - Throws: `ChildWorkflowError` when the child failed, was cancelled, timed out or was
    ///   terminated; `CancellationError` when the awaiting task is cancelled (tryCancel/abandon).
    public func result<Output: Decodable>(as: Output.Type = Output.self) async throws -> Output {
        try run.converter.fromPayloads(try await result(), as: Output.self)
    }

    /// Waits for the child to close; its raw result.
    public func result() async throws -> Payloads? {
        let run = self.run
        let seq = self.seq
        return try await run.result(of: \.children, seq) { run.cancelChild($0) }
    }

    /// Requests the child's cancellation now (per its cancellation type); waiters of `result`
    /// get `CancellationError` (tryCancel and abandon at once, waitCancellationRequested once the
    /// request is delivered) or the child's outcome (waitCancellationCompleted).
    public func cancel() {
        run.cancelChild(seq)
    }
}
