import Temporal

/// Carries non-Sendable workflow code into a task on the run's executor, where all of the
/// run's code runs one job at a time (see `WorkflowRun`'s confinement).
private struct ShieldedBody<T>: @unchecked Sendable {
    let body: () async throws -> T
}

extension WorkflowContext {
    // MARK: Cancellation shield

    /// Runs `body` shielded from cancellation: activities, timers and children it starts are
    /// not cancelled when the workflow (or the calling task) is, so cleanup and compensation
    /// can still run after a cancellation request — `executeActivity` outside the shield throws
    /// `CancellationError` at once then. (Go's disconnected context, Python's `asyncio.shield`,
    /// TypeScript's `CancellationScope.nonCancellable`.)
    ///
    /// ```swift
    /// do {
    ///     try await context.executeActivity("book", input: trip, options: options, as: String.self)
    /// } catch is CancellationError {
    ///     try await context.nonCancellable {
    ///         try await context.executeActivity("cancelBooking", input: trip, options: options, as: String.self)
    ///     }
    ///     throw CancellationError()   // the workflow then ends as cancelled
    /// }
    /// ```
    ///
    /// The body runs as its own workflow coroutine on the run's deterministic executor; the
    /// caller waits for it even if the caller is cancelled meanwhile.
    public func nonCancellable<T: Sendable>(_ body: @escaping () async throws -> T) async throws -> T {
        let shielded = ShieldedBody(body: body)
        let task = Task(executorPreference: run.executor) { try await shielded.body() }
        return try await task.value
    }
}
