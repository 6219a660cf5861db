import Foundation
public import Logging
import Synchronization
public import Temporal
public import TemporalProto
public import TemporalWorker

/// Runs an activity body outside a worker, as a worker would run one attempt, and shows what
/// it did: its heartbeats, and how it takes a cancellation.
///
/// ```swift
/// let env = ActivityTestEnvironment()
/// let rows = try await env.run(extract, input: request, as: ExtractOutput.self)
/// let progress = try env.heartbeats(as: Checkpoint.self)      // every heartbeat, in order
/// ```
public final class ActivityTestEnvironment: Sendable {
    private struct State {
        var heartbeats: [Payloads?] = []
        var cancelRequested = false
        /// The body heartbeated since `cancel()`: the cancellation is delivered.
        var heartbeatAfterCancel = false
        var cancel: (@Sendable () -> Void)?
    }
    private let state = Mutex(State())
    private let dataConverter: DataConverter
    private let interceptors: [any WorkerInterceptor]
    private let logger: Logger

    public init(
        dataConverter: DataConverter = .default, interceptors: [any WorkerInterceptor] = [],
        logger: Logger = Logger(label: "temporal.test-activity")
    ) {
        self.dataConverter = dataConverter
        self.interceptors = interceptors
        self.logger = logger
    }

    /// Every heartbeat's details so far, in order (nil: a heartbeat without details).
    public var heartbeats: [Payloads?] { state.withLock { $0.heartbeats } }

    /// The heartbeats' details decoded as `T` (heartbeats without details are skipped).
    public func heartbeats<T: Decodable>(as type: T.Type) throws -> [T] {
        try heartbeats.compactMap { $0 }.map { try dataConverter.fromPayloads($0, as: T.self) }
    }

    /// Asks the server to cancel the running attempt, as a workflow's cancellation does: the
    /// body learns of it at its next heartbeat, as from a server (whose heartbeat answers carry
    /// it): `isCancellationRequested` turns true and the body's task is cancelled. A body that
    /// never heartbeats never learns of it and runs on, as with a worker. Called before `run`
    /// starts the attempt (say, right after starting a task that calls it), it is delivered at
    /// that attempt's first heartbeat. (It was delivered at once, heartbeat or not: a test of
    /// a body that does not heartbeat passed, and the body ran to its timeout in production.)
    public func cancel() {
        state.withLock { $0.cancelRequested = true }
    }

    /// Runs `activity` with `input` and decodes its result.
    /// - Parameters:
    ///   - attempt: the attempt number the body sees (`context.info.attempt`).
    ///   - previousHeartbeat: what `context.lastHeartbeatDetails` returns (a previous attempt's progress).
    ///   - heartbeatTimeout: the attempt's heartbeat timeout, if any.
    /// - Throws: what the body threw (`CancellationError` when cancelled).
    public func run<Input: Encodable, Output: Decodable>(
        _ activity: ActivityDefinition, input: Input, as type: Output.Type = Output.self, attempt: Int = 1,
        previousHeartbeat: (any Encodable)? = nil, heartbeatTimeout: Duration? = nil,
        headers: [String: Payload] = [:]
    ) async throws -> Output {
        var task = Temporal_Api_Workflowservice_V1_PollActivityTaskQueueResponse()
        task.taskToken = Data("test-activity".utf8)
        task.activityType.name = activity.name
        task.activityID = "test-activity"
        task.workflowType.name = "TestWorkflow"
        task.workflowExecution.workflowID = "test-workflow"
        task.workflowExecution.runID = "test-run"
        task.attempt = Int32(attempt)
        task.input = try dataConverter.toPayloads(input)
        if let previousHeartbeat { task.heartbeatDetails = try dataConverter.toPayloads(previousHeartbeat) }
        if let heartbeatTimeout { task.heartbeatTimeout = .init(duration: heartbeatTimeout) }
        task.header.fields = headers
        let now = Date()
        task.scheduledTime = .init(date: now)
        task.startedTime = .init(date: now)
        task.currentAttemptScheduledTime = .init(date: now)
        // Each run starts without heartbeats; a cancellation asked for before it got here is kept
        // (cleared when the run ends).
        state.withLock { $0.heartbeats = [] }
        let service = WorkflowService(transport: HeartbeatSink(environment: self), headers: [])
        let run = TestActivityAttempt(
            activity, task: task, service: service, dataConverter: dataConverter, logger: logger,
            interceptors: interceptors
        ) { [weak self] details in
            // A heartbeat after a cancel request: the server's answer carries it.
            let cancel: (@Sendable () -> Void)? = self?.state.withLock { s -> (@Sendable () -> Void)? in
                s.heartbeats.append(details)
                guard s.cancelRequested else { return nil }
                s.heartbeatAfterCancel = true
                return s.cancel
            }
            cancel?()
        }
        let cancelNow = state.withLock { s -> Bool in
            s.cancel = { run.requestCancel() }
            return s.heartbeatAfterCancel
        }
        if cancelNow { run.requestCancel() }
        let result = await run.result()
        state.withLock {
            $0.cancel = nil
            $0.cancelRequested = false
            $0.heartbeatAfterCancel = false
        }
        return try dataConverter.fromPayloads(try result.get(), as: Output.self)
    }

    fileprivate var cancelRequested: Bool { state.withLock { $0.cancelRequested } }
}

/// Answers the attempt's heartbeat calls: cancel requested or not.
private struct HeartbeatSink: ServiceTransport {
    let environment: ActivityTestEnvironment
    var target: String { "test-activity-environment" }

    func unary(method: String, request: Data, metadata: [(String, String)], timeout: Duration?) async throws -> Data {
        guard method.hasSuffix("/RecordActivityTaskHeartbeat") else {
            throw GRPCStatusError(code: .unimplemented, message: "an activity test environment only answers heartbeats", method: method)
        }
        var response = Temporal_Api_Workflowservice_V1_RecordActivityTaskHeartbeatResponse()
        response.cancelRequested = environment.cancelRequested
        return try response.serializedData()
    }

    func close() {}
}
