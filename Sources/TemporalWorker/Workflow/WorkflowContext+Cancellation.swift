import Temporal

/// Carries non-Sendable workflow code into a task on the run's executor, where all of the
/// run's code runs one job at a time (see `WorkflowRun`'s confinement).
private struct ShieldedBody<T>: @unchecked Sendable {
    let body: () async throws -> T
}

extension WorkflowContext {
    // MARK: Cancellation shield

    /// Runs `body` shielded from cancellation: activities, timers and children it starts are
    /// not cancelled when the workflow (or the calling task) is — a child started here is not
    /// asked to cancel with the workflow even when nobody awaits it, though code awaiting its
    /// result from a cancelled task cancels it, per its cancellation type —, so cleanup and compensation
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
        // The task takes the task-local value it is created under (as do the tasks it starts).
        let task = CancellationShield.$isActive.withValue(true) {
            Task(executorPreference: run.executor) { try await shielded.body() }
        }
        return try await task.value
    }
}

/// Whether workflow code runs inside `nonCancellable`: a child it starts there is not asked to
/// cancel with the workflow (`WorkflowRun.cancelChildrenWithWorkflow`).
enum CancellationShield {
    @TaskLocal static var isActive = false
}
