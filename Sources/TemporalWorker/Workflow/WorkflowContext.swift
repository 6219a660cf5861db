public import Logging
public import Temporal

#if canImport(FoundationEssentials)
public import FoundationEssentials
#else
public import Foundation
#endif

/// What workflow code may use to interact with the world deterministically: activities,
/// durable timers, signals, queries, conditions, versioning, randomness and time.
///
/// Every method must be called from the workflow's own code (its `run` and the tasks it
/// creates with `async let` or task groups), never from another thread.
public final class WorkflowContext: Sendable {
    let confinedRun: WorkflowRun

    /// The run, checked (debug builds) to be touched only by the workflow's own code.
    var run: WorkflowRun {
        confinedRun.confinement.check("WorkflowContext of workflow \(confinedRun.info.workflowType)")
        return confinedRun
    }

    init(run: WorkflowRun) { confinedRun = run }

    /// Facts about this run.
    public var info: WorkflowInfo { run.info }
    /// The workflow's clock: the start time of the current workflow task (never the wall clock).
    public var now: Date { run.now }
    /// True while the code re-executes history already recorded (the logger is silent then).
    public var isReplaying: Bool { run.isReplaying }
    /// True once a client asked to cancel the workflow (the root task is cancelled too).
    public var isCancellationRequested: Bool { run.cancelRequested }
    /// Number of events in history as of the current workflow task.
    public var historyLength: Int { Int(run.historyLength) }
    /// True when the server suggests `continueAsNew` (history past its suggested size).
    public var isContinueAsNewSuggested: Bool { run.continueAsNewSuggested }
    /// A logger with workflow metadata that drops messages while replaying.
    public var logger: Logger { run.logger }
    /// The converter used for inputs, results, signals and queries.
    public var dataConverter: DataConverter { run.converter }

    // MARK: Randomness

    /// A deterministic random number (seeded from the run).
    public func random() -> UInt64 { run.withRandom("context.random()") { $0.next() } }
    /// A deterministic random number in `range` (not empty), by the mapping
    /// `DeterministicRandom.int(in:)` fixes, so that no toolchain change can alter it.
    public func random(in range: Range<Int>) -> Int { run.withRandom("context.random(in:)") { $0.int(in: range) } }
    /// A deterministic random number in `range`.
    public func random(in range: ClosedRange<Int>) -> Int { run.withRandom("context.random(in:)") { $0.int(in: range) } }
    /// A deterministic random number in `0 ..< 1` (`DeterministicRandom.unitDouble()`).
    public func randomDouble() -> Double { run.withRandom("context.randomDouble()") { $0.unitDouble() } }
    /// A deterministic version-4 UUID.
    public func uuid() -> UUID { run.withRandom("context.uuid()") { $0.uuid() } }

    // MARK: Activities

    /// Runs an activity (by the name it is registered under, on a worker of any language) and
    /// waits for its result.
    ///
    /// - Throws: `ActivityError` when it fails or times out after its retries;
    ///   `CancellationError` when the calling task is cancelled (the activity is cancelled
    ///   according to `options.cancellationType`).
    public func executeActivity<Input: Encodable, Output: Decodable>(
        _ name: String, input: Input, options: ActivityOptions, as: Output.Type = Output.self
    ) async throws -> Output {
        let payloads = try run.converter.toPayloads(input)
        let result = try await executeActivity(name, payloads: payloads, options: options)
        return try run.converter.fromPayloads(result, as: Output.self)
    }

    /// Runs an activity that takes no argument.
    public func executeActivity<Output: Decodable>(
        _ name: String, options: ActivityOptions, as: Output.Type = Output.self
    ) async throws -> Output {
        let result = try await executeActivity(name, payloads: nil, options: options)
        return try run.converter.fromPayloads(result, as: Output.self)
    }

    /// Runs an activity through a typed reference.
    public func executeActivity<Input, Output>(
        _ activity: ActivityReference<Input, Output>, input: Input, options: ActivityOptions
    ) async throws -> Output {
        try await executeActivity(activity.name, input: input, options: options, as: Output.self)
    }

    /// Runs an activity with raw payloads.
    public func executeActivity(_ name: String, payloads: Payloads?, options: ActivityOptions) async throws -> Payloads? {
        try Task.checkCancellation()
        let input = StartActivityInput(activityType: name, arguments: payloads, options: options, headers: [:])
        return try await run.interceptors.run(input, through: { try await $0.startActivity($1, next: $2) }) { [run] input in
            try await Self.schedule(input, on: run)
        }
    }

    private static func schedule(_ input: StartActivityInput, on run: WorkflowRun) async throws -> Payloads? {
        try Task.checkCancellation()
        let seq = try run.scheduleActivity(
            type: input.activityType, input: input.arguments, options: input.options,
            headers: input.headers)
        return try await run.result(of: \.activities, seq) { run.cancelActivity($0) }
    }

    // MARK: Timers

    /// Waits durably (a server-side timer; survives worker restarts).
    /// - Throws: `CancellationError` when the calling task is cancelled (the timer is cancelled).
    public func sleep(for duration: Duration) async throws {
        try Task.checkCancellation()
        guard duration > .zero else { return }
        let run = self.run
        let seq = run.startTimer(duration)
        try await run.result(of: \.timers, seq) { run.cancelTimer($0) }
    }

    // MARK: Conditions

    /// Waits until `predicate` is true. It is evaluated after every step of workflow code, so it
    /// should read workflow state only (e.g. a flag set by a signal handler).
    public func condition(_ predicate: @escaping () -> Bool) async throws {
        try Task.checkCancellation()
        if predicate() { return }
        let run = self.run
        let id = run.nextConditionID
        try await withTaskCancellationHandler {
            try await withCheckedThrowingContinuation { continuation in
                _ = run.addCondition(predicate, continuation)
            }
        } onCancel: {
            run.cancelCondition(id)
        }
    }

    /// Waits until `predicate` is true or `timeout` passes (a durable timer).
    /// - Returns: true if the predicate became true, false on timeout.
    public func condition(timeout: Duration, _ predicate: @escaping () -> Bool) async throws -> Bool {
        if predicate() { return true }
        // No timer for a timeout that has already passed (like `sleep`): the answer is now.
        guard timeout > .zero else { return false }
        let run = self.run
        let seq = run.startTimer(timeout)
        do {
            try await condition { predicate() || run.timerFired(seq) }
        } catch {
            run.cancelTimer(seq)
            throw error
        }
        if run.timerFired(seq) { return predicate() }
        run.cancelTimer(seq)
        return true
    }

    // MARK: Signals

    /// Registers the handler of signal `name` (replacing any earlier one). Signals received
    /// before registration are delivered now, in order. Undecodable signals are logged and dropped.
    public func setSignalHandler<T: Decodable>(_ name: String, as: T.Type = T.self, _ handler: @escaping (T) -> Void) {
        let run = self.run
        run.setSignalHandler(name) { payloads in
            do {
                handler(try run.converter.fromPayloads(payloads, as: T.self))
            } catch {
                run.logger.warning("dropping signal '\(name)': \(error)")
            }
        }
    }

    /// Registers a handler for a signal that carries no value.
    public func setSignalHandler(_ name: String, _ handler: @escaping () -> Void) {
        run.setSignalHandler(name) { _ in handler() }
    }

    /// A channel receiving the values of signal `name` (registers its handler). Called again
    /// for the name (with the same type), it returns the same channel, with the values it holds,
    /// as Go's `GetSignalChannel` does: a loop may call it on each pass.
    public func signalChannel<T: Decodable>(_ name: String, as: T.Type = T.self) -> SignalChannel<T> {
        let run = self.run
        if let existing = run.signalChannels[name] as? SignalChannel<T>, run.sdkFlags.tryUse(.oneSignalChannelPerName) {
            return existing
        }
        let channel = SignalChannel<T>(context: self)
        // In a query handler or validator (read-only): refused, and not kept (the workflow's own
        // call would get it back later, with no handler feeding it).
        guard run.mayChange("signalChannel(\"\(name)\")") else { return channel }
        run.signalChannels[name] = channel
        setSignalHandler(name, as: T.self) { channel.push($0) }
        return channel
    }

    /// Signals another workflow (any SDK's) and waits until the server delivered it.
    /// - Parameter runID: nil addresses the workflow's current run.
    /// - Throws: `ApplicationError` of type `SignalExternalWorkflowFailed` when the target does
    ///   not exist; `CancellationError` if cancelled before the signal was sent;
    ///   `WorkflowUsageError` for an empty workflow id or signal name.
    public func signalExternalWorkflow<Value: Encodable>(
        workflowID: String, runID: String? = nil,
        signal name: String, _ value: Value
    ) async throws {
        try await signalExternalWorkflow(
            workflowID: workflowID, runID: runID, signal: name,
            payloads: try run.converter.toPayloads(value))
    }

    /// Signals another workflow with raw payloads (nil: no argument).
    public func signalExternalWorkflow(
        workflowID: String, runID: String? = nil, signal name: String,
        payloads: Payloads?
    ) async throws {
        try Task.checkCancellation()
        let run = self.run
        let input = SignalExternalWorkflowInput(
            workflowID: workflowID, runID: runID, signalName: name, arguments: payloads, headers: [:])
        try await run.interceptors.run(input, through: { try await $0.signalExternalWorkflow($1, next: $2) }) { input in
            // The server would refuse the command by failing the workflow task, every attempt.
            if let problem = Self.runIDProblem(input.runID, of: input.workflowID) { throw WorkflowUsageError(problem) }
            if input.workflowID.isEmpty || input.signalName.isEmpty {
                throw WorkflowUsageError(
                    input.workflowID.isEmpty
                        ? "signal '\(input.signalName)' has no workflow id to go to: give the id of the workflow to signal"
                        : "the signal to workflow '\(input.workflowID)' has no signal name: give the name its handler has")
            }
            let seq = run.signalExternal(
                workflowID: input.workflowID, runID: input.runID, name: input.signalName, input: input.arguments,
                headers: input.headers)
            try await run.result(of: \.outgoingSignals, seq) { run.cancelSignalExternal($0) }
        }
    }

    /// Asks another workflow (not necessarily a child of this one) to cancel, and waits until
    /// the server delivered the request; the target decides what cancelling means, and may
    /// ignore it. To cancel a child, cancel the task awaiting it (or `ChildWorkflowHandle.cancel`).
    /// - Parameters:
    ///   - runID: nil addresses the workflow's current run.
    ///   - reason: recorded with the request in the target's history.
    /// - Throws: `ApplicationError` of type `CancelExternalWorkflowFailed` when the target does
    ///   not exist; `CancellationError` if cancelled before the request was sent;
    ///   `WorkflowUsageError` for an empty workflow id.
    public func cancelExternalWorkflow(workflowID: String, runID: String? = nil, reason: String = "") async throws {
        try Task.checkCancellation()
        let run = self.run
        let input = CancelExternalWorkflowInput(workflowID: workflowID, runID: runID, reason: reason)
        try await run.interceptors.run(input, through: { try await $0.cancelExternalWorkflow($1, next: $2) }) { input in
            // The server would refuse these commands by failing the workflow task, every attempt.
            guard !input.workflowID.isEmpty else {
                throw WorkflowUsageError("a cancel request has no workflow id to go to: give the id of the workflow to cancel")
            }
            if let problem = Self.runIDProblem(input.runID, of: input.workflowID) { throw WorkflowUsageError(problem) }
            if run.startsChildInThisTask(workflowID: input.workflowID) {
                throw WorkflowUsageError(
                    "workflow '\(input.workflowID)' is a child this workflow starts in the same workflow task, which the server does not let a cancel request follow: cancel the task awaiting it, or its ChildWorkflowHandle"
                )
            }
            let seq = run.cancelExternal(workflowID: input.workflowID, runID: input.runID, reason: input.reason)
            try await run.result(of: \.outgoingCancels, seq) { run.abandonCancelExternal($0) }
        }
    }

    /// Why the server would refuse `runID` as the run of workflow `workflowID`, or nil: it
    /// takes a UUID as Go's `uuid.Validate` does (36 characters with dashes, 32 hex digits,
    /// either in braces, or after `urn:uuid:`); histories hold whatever it took, so this must
    /// refuse nothing it takes (replay would then differ).
    static func runIDProblem(_ runID: String?, of workflowID: String) -> String? {
        guard let runID, !runID.isEmpty else { return nil }
        var text = Substring(runID)
        if text.utf8.count == 45, text.lowercased().hasPrefix("urn:uuid:") {
            text = text.dropFirst(9)
        } else if text.utf8.count == 38, text.first == "{", text.last == "}" {
            text = text.dropFirst().dropLast()
        }
        let bytes = Array(text.utf8)
        func hex(_ b: UInt8) -> Bool { (48...57).contains(b) || (65...70).contains(b) || (97...102).contains(b) }
        let valid =
            bytes.count == 32
            ? bytes.allSatisfy(hex)
            : bytes.count == 36 && bytes.indices.allSatisfy { [8, 13, 18, 23].contains($0) ? bytes[$0] == 45 : hex(bytes[$0]) }
        if valid { return nil }
        return "'\(runID)' is not a run id of workflow '\(workflowID)' (a UUID): give the run's id, or nil for its current run"
    }

    // MARK: Queries

    /// Registers a query handler taking an argument. Handlers must not change workflow state.
    public func setQueryHandler<Arg: Decodable, Result: Encodable>(
        _ name: String, argument: Arg.Type, _ handler: @escaping (Arg) throws -> Result
    ) {
        let converter = run.converter
        run.setQueryHandler(name) { payloads in
            try converter.toPayloads(try handler(try converter.fromPayloads(payloads, as: Arg.self)))
        }
    }

    /// Registers a query handler without argument.
    public func setQueryHandler<Result: Encodable>(_ name: String, _ handler: @escaping () throws -> Result) {
        let converter = run.converter
        run.setQueryHandler(name) { _ in try converter.toPayloads(try handler()) }
    }

    // MARK: Versioning and continue-as-new

    /// Whether the code path introduced by patch `id` should run: true for new executions (a
    /// marker is recorded), and on replay true only from the workflow task in which the original
    /// execution recorded the marker (false before it, as in Go, so that asking earlier than the
    /// recording build did still replays). Keep calling it (same id) until no run older than the
    /// patch is open.
    public func patched(_ id: String) -> Bool { run.patched(id) }

    /// Retires patch `id` (step two of three): call it where `if patched(id) { new } else { old }`
    /// stood, keeping only `new`, once no run that took the old path is open. It records a
    /// deprecated marker, which later replays skip, so that when no run without one is open the
    /// call itself can be removed (step three) without breaking the runs in between.
    public func deprecatePatch(_ id: String) { run.deprecatePatch(id) }

    /// Ends this run and starts a new one of the same workflow with `input` (a fresh history).
    /// Throws `ContinueAsNewError`; let it propagate out of `run`.
    /// The run and task timeouts carry over to the new run (as in Go).
    public func continueAsNew<Input: Encodable>(input: Input, workflowType: String? = nil, taskQueue: String? = nil) throws -> Never {
        try continueAsNew(input: input, options: ContinueAsNewOptions(workflowType: workflowType, taskQueue: taskQueue))
    }

    /// Ends this run and starts a new one with `input` and `options` (timeouts, memo, search
    /// attributes and retry policy not given carry over). Throws `ContinueAsNewError`.
    /// - Throws: `WorkflowUsageError` for a negative timeout or a retry policy the server refuses
    ///   (it fails the task for them on every attempt).
    public func continueAsNew<Input: Encodable>(input: Input, options: ContinueAsNewOptions) throws -> Never {
        let request = ContinueAsNewInput(arguments: try run.converter.toPayloads(input), options: options, headers: [:])
        let run = self.run
        try run.interceptors.runSync(request, through: { try $0.continueAsNew($1, next: $2) }) { request in
            // Checked as the interceptors left them.
            let options = request.options
            if let problem = TimeoutChecks.negative(
                "continue-as-new", [("runTimeout", options.runTimeout), ("taskTimeout", options.taskTimeout)])
                ?? TimeoutChecks.retryPolicy("continue-as-new", options.retryPolicy)
            {
                throw WorkflowUsageError(problem)
            }
            throw ContinueAsNewError(
                input: request.arguments, workflowType: options.workflowType,
                taskQueue: options.taskQueue, runTimeout: options.runTimeout, taskTimeout: options.taskTimeout,
                memo: options.memo.isEmpty ? nil : try run.encodeMap(options.memo),
                searchAttributes: options.searchAttributes.isEmpty
                    ? nil : try SearchAttributeEncoding.encode(options.searchAttributes),
                retryPolicy: options.retryPolicy, initialVersioningBehavior: options.initialVersioningBehavior,
                headers: request.headers)
        }
    }

}
