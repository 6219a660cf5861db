import Temporal

extension WorkflowContext {
    // MARK: Updates

    /// Registers the handler of update `name` (replacing any earlier one).
    ///
    /// An update is a request with an answer: a caller (`WorkflowHandle.executeUpdate`,
    /// `temporal workflow update execute`, any SDK) sends it, this handler runs as workflow code
    /// — it may change state, run activities, sleep, wait on conditions — and what it returns
    /// (or the error it throws) goes back to the caller. The workflow goes on either way.
    ///
    /// - Parameters:
    ///   - validator: runs first, on the live path only, and must not change state; when it
    ///     throws, the update is rejected (nothing is written to history) and the caller gets
    ///     the error. An argument that does not decode is rejected the same way.
    ///   - handler: the update's body. Any error it throws fails the update, not the workflow.
    ///
    /// Register handlers at the start of `run` (before the first `await`): an update that
    /// arrives with the workflow's first task (update-with-start) finds them there. An update
    /// for a name with no handler waits for the code of its workflow task to register one; when
    /// none does by the end of that task, it is rejected, naming the handlers there are.
    public func setUpdateHandler<Arg: Decodable, Result: Encodable>(
        _ name: String, argument: Arg.Type,
        validator: ((Arg) throws -> Void)? = nil,
        _ handler: @escaping (Arg) async throws -> Result
    ) {
        let converter = run.converter
        run.setUpdateHandler(
            name,
            UpdateHandler(
                validate: { payloads in
                    let value = try converter.fromPayloads(payloads, as: Arg.self)
                    try validator?(value)
                },
                run: { payloads in
                    try converter.toPayloads(try await handler(try converter.fromPayloads(payloads, as: Arg.self)))
                }))
    }

    /// Registers the handler of an update that takes no argument (see the form with one).
    public func setUpdateHandler<Result: Encodable>(
        _ name: String, validator: (() throws -> Void)? = nil,
        _ handler: @escaping () async throws -> Result
    ) {
        let converter = run.converter
        run.setUpdateHandler(
            name,
            UpdateHandler(
                validate: validator.map { validate in { _ in try validate() } },
                run: { _ in try converter.toPayloads(try await handler()) }))
    }

    /// Whether no update handler is running. Wait for it before finishing the workflow
    /// (`try await context.condition { context.allHandlersFinished }`) so that every accepted
    /// update gets its answer: updates still running when the workflow completes fail.
    public var allHandlersFinished: Bool { run.handlers.runningUpdates.isEmpty }
}
