public import Temporal

extension WorkflowContext {
    // MARK: Local activities

    /// Runs a registered activity in this worker as a local activity (see `LocalActivityOptions`)
    /// and waits for its result. It must be registered on this worker.
    ///
    /// - Throws: `ActivityError` when it fails for good (retries exhausted, a non-retryable
    ///   error, `scheduleToCloseTimeout`); `CancellationError` when the calling task is cancelled.
    public func executeLocalActivity<Input: Encodable, Output: Decodable>(
        _ name: String, input: Input, options: LocalActivityOptions, as: Output.Type = Output.self
    ) async throws -> Output {
        let result = try await executeLocalActivity(name, payloads: try run.converter.toPayloads(input), options: options)
        return try run.converter.fromPayloads(result, as: Output.self)
    }

    /// Runs a local activity that takes no argument.
    public func executeLocalActivity<Output: Decodable>(
        _ name: String, options: LocalActivityOptions, as: Output.Type = Output.self
    ) async throws -> Output {
        try run.converter.fromPayloads(try await executeLocalActivity(name, payloads: nil, options: options), as: Output.self)
    }

    /// Runs a local activity with raw payloads.
    public func executeLocalActivity(_ name: String, payloads: Payloads?, options: LocalActivityOptions) async throws -> Payloads? {
        try Task.checkCancellation()
        let input = StartLocalActivityInput(activityType: name, arguments: payloads, options: options, headers: [:])
        return try await run.interceptors.run(input, through: { try await $0.startLocalActivity($1, next: $2) }) { [self] input in
            try await runLocalActivity(input)
        }
    }

    private func runLocalActivity(_ input: StartLocalActivityInput) async throws -> Payloads? {
        let (name, payloads, options) = (input.activityType, input.arguments, input.options)
        try Task.checkCancellation()
        if let problem = TimeoutChecks.activity(
            "local activity '\(name)'", startToClose: options.startToCloseTimeout, scheduleToClose: options.scheduleToCloseTimeout),
            options.startToCloseTimeout == nil && options.scheduleToCloseTimeout == nil
                || run.sdkFlags.tryUse(.localActivityTimeoutsChecked)
        {
            // Both nil was refused before; zero or negative ones ran (each attempt timing out at
            // once), so a history may hold their markers: refused under the flag only.
            throw WorkflowUsageError(problem)
        }
        let run = self.run
        let scheduled = run.now
        var attempt = 1
        var activityID = options.activityID
        while true {
            let seq = run.requestLocalActivity(
                type: name, input: payloads, options: options, attempt: attempt,
                scheduledTime: scheduled, activityID: activityID, headers: input.headers)
            activityID = run.localActivityID(seq)
            let outcome = try await withTaskCancellationHandler {
                try await withCheckedThrowingContinuation { continuation in
                    run.awaitLocalActivity(seq, continuation)
                }
            } onCancel: {
                run.cancelLocalActivity(seq)
            }
            switch outcome {
            case .completed(let result, _):
                return result
            case .failed(let failure, _):
                throw ActivityError(failure: failure, converter: run.converter)
            case .backoff(let delay, let next, _):
                // A long backoff: a durable timer instead of a sleeping worker.
                try await sleep(for: delay)
                attempt = next
            }
        }
    }
}
