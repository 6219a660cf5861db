public import TemporalProto

/// Wraps what a `TemporalClient` sends to workflows: starts, signals, queries and updates.
///
/// Each method gets the call's input (arguments already encoded by the client's data converter,
/// codecs included: with an encryption codec an interceptor sees ciphertext, and arguments it
/// adds should be encoded with the client's `dataConverter` too) and `next`, the rest of the chain; call `next` with the input, changed
/// or not, to go on, or throw to fail the call. The `headers` of an input travel with the
/// request in Temporal's `header` field and reach the worker's `WorkerInterceptor` (the
/// client's trace context is already there under `TraceHeader.key`). Every method has a
/// default that calls `next` unchanged: implement only what you need.
///
/// Interceptors run in the order given to `TemporalClient.connect(…, interceptors:)`, the first
/// outermost. Header values are payloads: make them with `DataConverter.default.toPayload`.
public protocol ClientInterceptor: Sendable {
    /// `startWorkflow` (eager or not).
    func startWorkflow(
        _ input: StartWorkflowInput,
        next: (StartWorkflowInput) async throws -> WorkflowHandle
    ) async throws -> WorkflowHandle
    /// `signalWithStart`.
    func signalWithStart(
        _ input: SignalWithStartInput,
        next: (SignalWithStartInput) async throws -> WorkflowHandle
    ) async throws -> WorkflowHandle
    /// `WorkflowHandle.signal`.
    func signalWorkflow(_ input: SignalWorkflowInput, next: (SignalWorkflowInput) async throws -> Void) async throws
    /// `WorkflowHandle.query`; returns the answer's payloads (nil: the handler returned nothing).
    func queryWorkflow(
        _ input: QueryWorkflowInput,
        next: (QueryWorkflowInput) async throws -> Payloads?
    ) async throws -> Payloads?
    /// `WorkflowHandle.startUpdate` and `executeUpdate`.
    func startWorkflowUpdate(
        _ input: StartWorkflowUpdateInput,
        next: (StartWorkflowUpdateInput) async throws -> WorkflowUpdateHandle
    ) async throws -> WorkflowUpdateHandle
    /// `TemporalClient.updateWithStart`.
    func updateWithStart(
        _ input: UpdateWithStartInput,
        next: (UpdateWithStartInput) async throws -> (WorkflowHandle, WorkflowUpdateHandle)
    ) async throws -> (WorkflowHandle, WorkflowUpdateHandle)
    /// `TemporalClient.createSchedule` (as Go's `CreateSchedule`): its `headers` go with every
    /// run the schedule starts.
    func createSchedule(
        _ input: CreateScheduleInput,
        next: (CreateScheduleInput) async throws -> ScheduleHandle
    ) async throws -> ScheduleHandle
}

extension ClientInterceptor {
    public func startWorkflow(
        _ input: StartWorkflowInput,
        next: (StartWorkflowInput) async throws -> WorkflowHandle
    ) async throws -> WorkflowHandle {
        try await next(input)
    }

    public func signalWithStart(
        _ input: SignalWithStartInput,
        next: (SignalWithStartInput) async throws -> WorkflowHandle
    ) async throws -> WorkflowHandle {
        try await next(input)
    }

    public func signalWorkflow(_ input: SignalWorkflowInput, next: (SignalWorkflowInput) async throws -> Void) async throws {
        try await next(input)
    }

    public func queryWorkflow(
        _ input: QueryWorkflowInput,
        next: (QueryWorkflowInput) async throws -> Payloads?
    ) async throws -> Payloads? {
        try await next(input)
    }

    public func startWorkflowUpdate(
        _ input: StartWorkflowUpdateInput,
        next: (StartWorkflowUpdateInput) async throws -> WorkflowUpdateHandle
    ) async throws -> WorkflowUpdateHandle {
        try await next(input)
    }

    public func updateWithStart(
        _ input: UpdateWithStartInput,
        next: (UpdateWithStartInput) async throws -> (WorkflowHandle, WorkflowUpdateHandle)
    ) async throws -> (WorkflowHandle, WorkflowUpdateHandle) {
        try await next(input)
    }

    public func createSchedule(
        _ input: CreateScheduleInput,
        next: (CreateScheduleInput) async throws -> ScheduleHandle
    ) async throws -> ScheduleHandle {
        try await next(input)
    }
}

/// A workflow start as interceptors see it.
public struct StartWorkflowInput: Sendable {
    public var workflowType: String
    public var workflowID: String
    public var taskQueue: String
    /// The arguments, encoded (nil: none).
    public var arguments: Payloads?
    public var options: WorkflowOptions
    /// Sent in the start request's `header`; the workflow's interceptors see them.
    public var headers: [String: Payload]
}

/// A signal-with-start as interceptors see it.
public struct SignalWithStartInput: Sendable {
    public var start: StartWorkflowInput
    public var signalName: String
    public var signalArguments: Payloads?
}

/// A signal as interceptors see it.
public struct SignalWorkflowInput: Sendable {
    public var workflowID: String
    /// nil: the latest run.
    public var runID: String?
    public var signalName: String
    public var arguments: Payloads?
    public var headers: [String: Payload]
}

/// A query as interceptors see it.
public struct QueryWorkflowInput: Sendable {
    public var workflowID: String
    public var runID: String?
    public var queryType: String
    public var arguments: Payloads?
    public var rejectCondition: Temporal_Api_Enums_V1_QueryRejectCondition
    public var headers: [String: Payload]
}

/// An update as interceptors see it.
public struct StartWorkflowUpdateInput: Sendable {
    public var workflowID: String
    public var runID: String?
    public var firstExecutionRunID: String?
    public var updateName: String
    /// The update id (unique per workflow; a repeated id runs once).
    public var updateID: String
    public var arguments: Payloads?
    public var waitFor: UpdateStage
    public var headers: [String: Payload]
}

/// A schedule's creation as interceptors see it.
public struct CreateScheduleInput: Sendable {
    /// The schedule's id (the request's).
    public var scheduleID: String {
        get { request.scheduleID }
        set { request.scheduleID = newValue }
    }
    /// The request as built (the schedule, its policies, state, memo, search attributes and
    /// initial patch), without `headers`.
    public var request: Temporal_Api_Workflowservice_V1_CreateScheduleRequest
    /// Sent in the `header` of every run the schedule starts (the client's trace context is
    /// already there under `TraceHeader.key`: scheduled runs continue the creation's trace).
    public var headers: [String: Payload]
}

/// An update-with-start as interceptors see it (the update's run ids are not sent: the update
/// goes to the run the request starts or finds).
public struct UpdateWithStartInput: Sendable {
    public var start: StartWorkflowInput
    public var update: StartWorkflowUpdateInput
}

/// Runs `base` inside `interceptors`, the first outermost.
func intercepted<Input, Output>(
    _ interceptors: [any ClientInterceptor], _ input: Input,
    through hook: @escaping (any ClientInterceptor, Input, (Input) async throws -> Output) async throws -> Output,
    base: @escaping (Input) async throws -> Output, from index: Int = 0
) async throws -> Output {
    guard index < interceptors.count else { return try await base(input) }
    return try await hook(interceptors[index], input) { next in
        try await intercepted(interceptors, next, through: hook, base: base, from: index + 1)
    }
}
