public import Temporal

extension WorkflowContext {
    // MARK: Child workflows

    /// Starts a child workflow (by the type name it is registered under, on a worker of any
    /// language) and waits until it has started.
    ///
    /// - Throws: `ChildWorkflowStartError` when the server refuses the start (e.g. a workflow
    ///   with the same id is running); `CancellationError` when the calling task is cancelled
    ///   (the child is cancelled according to `options.cancellationType`).
    public func startChildWorkflow<Input: Encodable>(
        _ type: String, input: Input, options: ChildWorkflowOptions = .init()
    ) async throws -> ChildWorkflowHandle {
        try await startChildWorkflow(type, payloads: try run.converter.toPayloads(input), options: options)
    }

    /// Starts a child workflow that takes no argument and waits until it has started.
    public func startChildWorkflow(_ type: String, options: ChildWorkflowOptions = .init()) async throws -> ChildWorkflowHandle {
        try await startChildWorkflow(type, payloads: nil, options: options)
    }

    /// Starts a child workflow of a `Workflow` type (registered under `W.name`).
    public func startChildWorkflow<W: Workflow>(
        _ workflow: W.Type, input: W.Input, options: ChildWorkflowOptions = .init()
    ) async throws -> ChildWorkflowHandle where W.Input: Encodable {
        try await startChildWorkflow(W.name, input: input, options: options)
    }

    /// Starts a child workflow with raw payloads (nil: no argument) and waits until it has started.
    public func startChildWorkflow(_ type: String, payloads: Payloads?, options: ChildWorkflowOptions) async throws -> ChildWorkflowHandle {
        try Task.checkCancellation()
        let input = StartChildWorkflowInput(workflowType: type, arguments: payloads, options: options, headers: [:])
        return try await run.interceptors.run(input, through: { try await $0.startChildWorkflow($1, next: $2) }) { [run] input in
            try await Self.startChild(input, on: run)
        }
    }

    private static func startChild(_ input: StartChildWorkflowInput, on run: WorkflowRun) async throws -> ChildWorkflowHandle {
        try Task.checkCancellation()
        let type = input.workflowType
        let (seq, workflowID) = try run.startChild(
            type: type, input: input.arguments, options: input.options,
            headers: input.headers, cancelledWithWorkflow: !CancellationShield.isActive)
        let runID = try await withTaskCancellationHandler {
            try await withCheckedThrowingContinuation { continuation in
                run.awaitChildStart(seq, continuation)
            }
        } onCancel: {
            run.cancelChild(seq)
        }
        return ChildWorkflowHandle(run: run, seq: seq, workflowID: workflowID, workflowType: type, firstExecutionRunID: runID)
    }

    /// Runs a child workflow and waits for its result.
    ///
    /// - Throws: `ChildWorkflowStartError` when it cannot start; `ChildWorkflowError` when it
    ///   fails, is cancelled, times out or is terminated (the child's `ApplicationError` is its
    ///   `applicationError`); `CancellationError` when the calling task is cancelled.
    public func executeChildWorkflow<Input: Encodable, Output: Decodable>(
        _ type: String, input: Input, options: ChildWorkflowOptions = .init(), as: Output.Type = Output.self
    ) async throws -> Output {
        try await startChildWorkflow(type, input: input, options: options).result(as: Output.self)
    }

    /// Runs a child workflow that takes no argument and waits for its result.
    public func executeChildWorkflow<Output: Decodable>(
        _ type: String, options: ChildWorkflowOptions = .init(), as: Output.Type = Output.self
    ) async throws -> Output {
        try await startChildWorkflow(type, options: options).result(as: Output.self)
    }

    /// Runs a child workflow of a `Workflow` type and waits for its result.
    public func executeChildWorkflow<W: Workflow>(
        _ workflow: W.Type, input: W.Input, options: ChildWorkflowOptions = .init()
    ) async throws -> W.Output where W.Input: Encodable, W.Output: Decodable {
        try await startChildWorkflow(W.name, input: input, options: options).result(as: W.Output.self)
    }
}
