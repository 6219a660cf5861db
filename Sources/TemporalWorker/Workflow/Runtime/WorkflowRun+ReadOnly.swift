import Temporal

/// Workflow code that must not change its run: an update's validator (it runs when the update
/// arrives, never on replay) and a query handler (it runs between tasks, its commands never
/// sent). A patch marker, an upsert, a random number, a child's cancellation or a signal
/// handler's registration (which hands it the buffered signals) there made the next replay
/// report nondeterminism, for good; as the other SDKs do, such a call is refused: the
/// validator rejects the update, the query fails, with the call named.
struct ReadOnlyScope {
    /// What runs, e.g. "the validator of update 'add'".
    var what: String
    /// The first call that would have changed the run.
    var violation: String?
}

extension WorkflowRun {
    /// Whether a call that changes the run (`call`, as the workflow wrote it) may go on; in
    /// read-only code it is recorded as refused instead, and the caller changes nothing.
    func mayChange(_ call: @autoclosure () -> String) -> Bool {
        guard readOnly != nil else { return true }
        if readOnly?.violation == nil { readOnly?.violation = call() }
        return false
    }

    /// Runs `body` (a validator or a query handler) as read-only code.
    /// - Throws: what `body` throws, or an `ApplicationError` (`ReadOnlyContextViolation`)
    ///   naming the first call that would have changed the run.
    func readOnly<T>(_ what: String, _ body: () throws -> T) throws -> T {
        let outer = readOnly
        readOnly = ReadOnlyScope(what: what)
        defer { readOnly = outer }
        let result: Result<T, any Error> = Result { try body() }
        if let violation = readOnly?.violation {
            throw ApplicationError(
                "\(what) called \(violation), which changes the workflow's state; validators and queries may only read it (they do not run on replay): move the call into the workflow or the update's handler",
                type: "ReadOnlyContextViolation", nonRetryable: true)
        }
        return try result.get()
    }

    /// `body` with the run's random generator; in read-only code with a copy (the run's does
    /// not advance) after recording the call as refused.
    func withRandom<T>(_ call: @autoclosure () -> String, _ body: (inout DeterministicRandom) -> T) -> T {
        guard mayChange(call()) else {
            var copy = random
            return body(&copy)
        }
        return body(&random)
    }
}
