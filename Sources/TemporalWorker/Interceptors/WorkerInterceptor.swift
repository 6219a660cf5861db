public import Temporal

/// Wraps what a `Worker` runs: activity attempts, and in workflows the run itself, signals,
/// queries, updates (inbound) and the activities, local activities and children a workflow
/// starts (outbound). Register with `WorkerOptions.interceptors` (first outermost).
///
/// Each method gets an input and `next`, the rest of the chain: call `next` with the input,
/// changed or not, to go on. Every method has a default that calls `next` unchanged.
///
/// Headers are how context crosses processes: a `ClientInterceptor` puts entries into a
/// start's `headers`, `executeWorkflow` sees them, and an outbound method puts entries into
/// the headers of the activities and children the workflow starts, which their
/// `executeActivity` / `executeWorkflow` see. To carry a value from `executeWorkflow` to the
/// outbound methods of the same run, bind a `@TaskLocal` around `next` (outbound methods run in
/// the calling workflow task; update and signal handlers get their own inbound calls).
///
/// The workflow methods run as workflow code: they must be deterministic (no I/O, no clocks,
/// no randomness outside `WorkflowContext`), and they run again when a history is replayed.
/// `executeActivity` runs on the worker's tasks, once per attempt, with no such limits.
public protocol WorkerInterceptor: Sendable {
    /// One attempt of an activity (activity tasks and local activities).
    func executeActivity(
        _ input: ExecuteActivityInput,
        next: (ExecuteActivityInput) async throws -> Payloads
    ) async throws -> Payloads

    /// A workflow run's code, from its arguments to its result.
    func executeWorkflow(
        _ input: ExecuteWorkflowInput,
        next: (ExecuteWorkflowInput) async throws -> Payloads
    ) async throws -> Payloads
    /// A signal handed to its handler (or to a later-registered one, when it was buffered).
    func handleSignal(_ input: HandleSignalInput, next: (HandleSignalInput) -> Void)
    /// A query (built-in ones included); throwing fails the query, not the workflow.
    func handleQuery(_ input: HandleQueryInput, next: (HandleQueryInput) throws -> Payloads) throws -> Payloads
    /// An update's validator (live only, before acceptance); throwing rejects the update.
    func validateUpdate(_ input: HandleUpdateInput, next: (HandleUpdateInput) throws -> Void) throws
    /// An accepted update's handler.
    func executeUpdate(
        _ input: HandleUpdateInput,
        next: (HandleUpdateInput) async throws -> Payloads
    ) async throws -> Payloads

    /// A workflow's `executeActivity`: scheduling the activity and waiting for its result.
    func startActivity(
        _ input: StartActivityInput,
        next: (StartActivityInput) async throws -> Payloads?
    ) async throws -> Payloads?
    /// A workflow's `executeLocalActivity`, all its attempts.
    func startLocalActivity(
        _ input: StartLocalActivityInput,
        next: (StartLocalActivityInput) async throws -> Payloads?
    ) async throws -> Payloads?
    /// A workflow's `startChildWorkflow` (and `executeChildWorkflow`), until the child started.
    func startChildWorkflow(
        _ input: StartChildWorkflowInput,
        next: (StartChildWorkflowInput) async throws -> ChildWorkflowHandle
    ) async throws -> ChildWorkflowHandle
    /// A workflow's `signalExternalWorkflow`, until the server delivered the signal.
    func signalExternalWorkflow(
        _ input: SignalExternalWorkflowInput,
        next: (SignalExternalWorkflowInput) async throws -> Void
    ) async throws
    /// A workflow's `continueAsNew`: `next` throws the `ContinueAsNewError` that ends the run.
    func continueAsNew(_ input: ContinueAsNewInput, next: (ContinueAsNewInput) throws -> Never) throws -> Never
    /// A workflow's `cancelExternalWorkflow`, until the server delivered the request.
    func cancelExternalWorkflow(
        _ input: CancelExternalWorkflowInput,
        next: (CancelExternalWorkflowInput) async throws -> Void
    ) async throws
}

extension WorkerInterceptor {
    public func executeActivity(
        _ input: ExecuteActivityInput,
        next: (ExecuteActivityInput) async throws -> Payloads
    ) async throws -> Payloads {
        try await next(input)
    }

    public func executeWorkflow(
        _ input: ExecuteWorkflowInput,
        next: (ExecuteWorkflowInput) async throws -> Payloads
    ) async throws -> Payloads {
        try await next(input)
    }

    public func handleSignal(_ input: HandleSignalInput, next: (HandleSignalInput) -> Void) { next(input) }

    public func handleQuery(_ input: HandleQueryInput, next: (HandleQueryInput) throws -> Payloads) throws -> Payloads {
        try next(input)
    }

    public func validateUpdate(_ input: HandleUpdateInput, next: (HandleUpdateInput) throws -> Void) throws {
        try next(input)
    }

    public func executeUpdate(
        _ input: HandleUpdateInput,
        next: (HandleUpdateInput) async throws -> Payloads
    ) async throws -> Payloads {
        try await next(input)
    }

    public func startActivity(
        _ input: StartActivityInput,
        next: (StartActivityInput) async throws -> Payloads?
    ) async throws -> Payloads? {
        try await next(input)
    }

    public func startLocalActivity(
        _ input: StartLocalActivityInput,
        next: (StartLocalActivityInput) async throws -> Payloads?
    ) async throws -> Payloads? {
        try await next(input)
    }

    public func startChildWorkflow(
        _ input: StartChildWorkflowInput,
        next: (StartChildWorkflowInput) async throws -> ChildWorkflowHandle
    ) async throws -> ChildWorkflowHandle {
        try await next(input)
    }

    public func signalExternalWorkflow(
        _ input: SignalExternalWorkflowInput,
        next: (SignalExternalWorkflowInput) async throws -> Void
    ) async throws {
        try await next(input)
    }

    public func continueAsNew(_ input: ContinueAsNewInput, next: (ContinueAsNewInput) throws -> Never) throws -> Never {
        try next(input)
    }

    public func cancelExternalWorkflow(
        _ input: CancelExternalWorkflowInput,
        next: (CancelExternalWorkflowInput) async throws -> Void
    ) async throws {
        try await next(input)
    }
}

// MARK: - Inputs

/// An activity attempt as interceptors see it.
public struct ExecuteActivityInput: Sendable {
    /// The attempt's context (`info`, heartbeats, cancellation, logger).
    public let context: ActivityContext
    public var arguments: Payloads?
    /// From the scheduling workflow's `startActivity`/`startLocalActivity` (and its trace).
    public let headers: [String: Payload]
}

/// A workflow run as interceptors see it.
public struct ExecuteWorkflowInput: Sendable {
    /// The run's context (for `info`, `logger`, `isReplaying`).
    public let context: WorkflowContext
    public var arguments: Payloads?
    /// From the start request (a client's `ClientInterceptor`, a parent's `startChildWorkflow`).
    public let headers: [String: Payload]
}

/// A signal as interceptors see it.
public struct HandleSignalInput: Sendable {
    public let signalName: String
    public var arguments: Payloads?
    public let headers: [String: Payload]
}

/// A query as interceptors see it.
public struct HandleQueryInput: Sendable {
    public let queryType: String
    public var arguments: Payloads?
    public let headers: [String: Payload]
}

/// An update as interceptors see it.
public struct HandleUpdateInput: Sendable {
    public let updateName: String
    public let updateID: String
    public var arguments: Payloads?
    public let headers: [String: Payload]
}

/// An activity a workflow schedules, as interceptors see it.
public struct StartActivityInput: Sendable {
    public var activityType: String
    public var arguments: Payloads?
    public var options: ActivityOptions
    /// Sent with the ScheduleActivityTask command; the activity's `executeActivity` sees them.
    public var headers: [String: Payload]
}

/// A local activity a workflow runs, as interceptors see it.
public struct StartLocalActivityInput: Sendable {
    public var activityType: String
    public var arguments: Payloads?
    public var options: LocalActivityOptions
    /// Handed to the local activity's `executeActivity` (in this process; not recorded).
    public var headers: [String: Payload]
}

/// A child workflow a workflow starts, as interceptors see it.
public struct StartChildWorkflowInput: Sendable {
    public var workflowType: String
    public var arguments: Payloads?
    public var options: ChildWorkflowOptions
    /// Sent with the StartChildWorkflowExecution command; the child's `executeWorkflow` sees them.
    public var headers: [String: Payload]
}

/// A signal a workflow sends to another workflow, as interceptors see it.
public struct SignalExternalWorkflowInput: Sendable {
    public var workflowID: String
    /// Nil: the target's current run.
    public var runID: String?
    public var signalName: String
    public var arguments: Payloads?
    /// Sent with the SignalExternalWorkflowExecution command; the target's `handleSignal` sees
    /// them (whatever SDK runs it).
    public var headers: [String: Payload]
}

/// A cancel request a workflow sends to another one, as interceptors see it.
public struct CancelExternalWorkflowInput: Sendable {
    public var workflowID: String
    /// Nil: the target's current run.
    public var runID: String?
    /// Recorded with the request in the target's history.
    public var reason: String
}

/// The next run a workflow continues as, as interceptors see it.
public struct ContinueAsNewInput: Sendable {
    /// The next run's input.
    public var arguments: Payloads?
    /// Type, task queue, timeouts, memo, search attributes, retry policy (nil or empty: the
    /// current run's).
    public var options: ContinueAsNewOptions
    /// Sent with the ContinueAsNewWorkflowExecution command; the next run's `executeWorkflow`
    /// sees them. Empty by default: this run's start headers do not carry over on their own.
    public var headers: [String: Payload]
}

// MARK: - Chains

extension Array where Element == any WorkerInterceptor {
    /// Runs `base` inside the interceptors, the first outermost.
    func run<Input, Output>(
        _ input: Input,
        through hook: @escaping (any WorkerInterceptor, Input, (Input) async throws -> Output) async throws -> Output,
        base: @escaping (Input) async throws -> Output, from index: Int = 0
    ) async throws -> Output {
        guard index < count else { return try await base(input) }
        return try await hook(self[index], input) { next in
            try await run(next, through: hook, base: base, from: index + 1)
        }
    }

    /// Hands a signal through the interceptors to `base`.
    func runSignal(_ input: HandleSignalInput, base: (HandleSignalInput) -> Void, from index: Int = 0) {
        guard index < count else { return base(input) }
        withoutActuallyEscaping(base) { base in
            self[index].handleSignal(input) { next in runSignal(next, base: base, from: index + 1) }
        }
    }

    /// `run` for the synchronous hooks (signals, queries, validators).
    func runSync<Input, Output>(
        _ input: Input,
        through hook: (any WorkerInterceptor, Input, (Input) throws -> Output) throws -> Output,
        base: (Input) throws -> Output, from index: Int = 0
    ) rethrows -> Output {
        guard index < count else { return try base(input) }
        return try withoutActuallyEscaping(hook) { hook in
            try withoutActuallyEscaping(base) { base in
                try hook(self[index], input) { next in try runSync(next, through: hook, base: base, from: index + 1) }
            }
        }
    }
}
