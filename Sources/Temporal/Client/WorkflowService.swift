import CoreMetrics
public import SwiftProtobuf
public import TemporalProto

#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Typed unary RPCs of `temporal.api.workflowservice.v1.WorkflowService`.
///
/// Every call carries the client's headers (`client-name`, `client-version`,
/// `temporal-namespace`, optionally `authorization`), a deadline (10 s by default; 70 s for
/// task-queue polls), and is retried on transient failures according to `retryPolicy`.
/// Errors are `TemporalError`s with the gRPC code and decoded error details; a call whose task
/// is cancelled throws `CancellationError`, during an attempt as during a backoff. Every attempt is
/// counted and timed in `metrics` (`temporal_request`, `temporal_request_failure` by
/// `status_code`, …; see `RPCMetrics`).
public final class WorkflowService: Sendable {
    /// The gRPC service name.
    public static let serviceName = "temporal.api.workflowservice.v1.WorkflowService"
    /// The OperatorService (search attributes), on the same frontend as WorkflowService.
    public static let operatorServiceName = "temporal.api.operatorservice.v1.OperatorService"
    /// Default deadline of ordinary RPCs.
    public static let defaultTimeout: Duration = .seconds(10)
    /// Deadline of long polls on task queues (the server answers empty after ~60 s).
    public static let pollTimeout: Duration = .seconds(70)
    /// Deadline of a long-polling history request (the server answers after ~20 s).
    public static let historyLongPollTimeout: Duration = .seconds(65)

    /// `TEMPORAL_RPC_TRACE=1` prints every failed attempt to standard error.
    static let trace = ProcessInfo.processInfo.environment["TEMPORAL_RPC_TRACE"] == "1"

    /// Where calls go: a `GRPCChannel`, or another `ServiceTransport` (an in-memory service).
    public let transport: any ServiceTransport
    /// The gRPC channel, when the transport is one.
    public var channel: GRPCChannel? { transport as? GRPCChannel }
    public let retryPolicy: RPCRetryPolicy
    /// Request counts, latencies and failures by gRPC code.
    public let metrics: RPCMetrics
    private let headers: [(String, String)]

    /// - Parameters:
    ///   - headers: sent on every call.
    ///   - metrics: default: `MetricsSystem.factory`, with the `temporal-namespace` header as namespace.
    public convenience init(
        channel: GRPCChannel, headers: [(String, String)], retryPolicy: RPCRetryPolicy = RPCRetryPolicy(),
        metrics: RPCMetrics? = nil
    ) {
        self.init(transport: channel, headers: headers, retryPolicy: retryPolicy, metrics: metrics)
    }

    /// A service over any transport (see `ServiceTransport`).
    public init(
        transport: any ServiceTransport, headers: [(String, String)], retryPolicy: RPCRetryPolicy = RPCRetryPolicy(),
        metrics: RPCMetrics? = nil
    ) {
        self.transport = transport
        self.headers = headers
        self.retryPolicy = retryPolicy
        self.metrics =
            metrics
            ?? RPCMetrics(
                factory: MetricsSystem.factory,
                namespace: headers.first { $0.0 == "temporal-namespace" }?.1 ?? "")
    }

    /// Calls `rpc` with `request`, decoding the response as `Response`.
    /// - Parameters:
    ///   - service: the gRPC service (default WorkflowService; `operatorServiceName` for the
    ///     OperatorService, served on the same frontend).
    ///   - timeout: the per-attempt deadline.
    ///   - retry: whether to retry transient failures (long polls pass false: their callers loop anyway).
    ///   - retryingFor: how long retries may go on, when shorter than the policy's
    ///     `maximumElapsed` (a heartbeat is worth nothing once its heartbeat timeout has passed).
    ///   - namespace: the namespace the request names, when it may not be the client's (e.g.
    ///     describing another): sent as the call's `temporal-namespace` header, which proxies
    ///     and Temporal Cloud route and authorize by (as Go takes it from the request).
    public func call<Request: SwiftProtobuf.Message, Response: SwiftProtobuf.Message>(
        _ rpc: String, _ request: Request, as: Response.Type = Response.self,
        timeout: Duration = WorkflowService.defaultTimeout, retry: Bool = true, retryingFor: Duration? = nil,
        service: String = WorkflowService.serviceName, namespace: String? = nil
    ) async throws -> Response {
        try await perform(rpc, timeout: timeout, retry: retry, retryingFor: retryingFor, service: service, namespace: namespace) {
            try request.serializedData()
        } decode: {
            try Response(serializedBytes: $0)
        }
    }

    /// `call` for the responses TemporalProto decodes with code specialised to their type (the
    /// ones a worker decodes on every task): the same value, for a fraction of the instructions.
    public func call<Request: SwiftProtobuf.Message, Response: SpecializedBinaryDecodable>(
        _ rpc: String, _ request: Request, as: Response.Type = Response.self,
        timeout: Duration = WorkflowService.defaultTimeout, retry: Bool = true, retryingFor: Duration? = nil,
        service: String = WorkflowService.serviceName, namespace: String? = nil
    ) async throws -> Response {
        try await perform(rpc, timeout: timeout, retry: retry, retryingFor: retryingFor, service: service, namespace: namespace) {
            try request.serializedData()
        } decode: {
            try Response(specializedBytes: $0)
        }
    }

    /// `call` for the requests and responses TemporalProto encodes and decodes with code
    /// specialised to their type (the ones a worker sends and receives on every task).
    public func call<Request: SpecializedBinaryEncodable, Response: SpecializedBinaryDecodable>(
        _ rpc: String, _ request: Request, as: Response.Type = Response.self,
        timeout: Duration = WorkflowService.defaultTimeout, retry: Bool = true, retryingFor: Duration? = nil,
        service: String = WorkflowService.serviceName, namespace: String? = nil
    ) async throws -> Response {
        try await perform(rpc, timeout: timeout, retry: retry, retryingFor: retryingFor, service: service, namespace: namespace) {
            try request.specializedSerializedData()
        } decode: {
            try Response(specializedBytes: $0)
        }
    }

    private func perform<Response>(
        _ rpc: String, timeout: Duration, retry: Bool, retryingFor: Duration?, service: String, namespace: String?,
        encode: () throws -> Data, decode: (Data) throws -> Response
    ) async throws -> Response {
        let method = "/\(service)/\(rpc)"
        var headers = self.headers
        if let namespace, let index = headers.firstIndex(where: { $0.0 == "temporal-namespace" }), headers[index].1 != namespace {
            headers[index].1 = namespace
        }
        let bytes: Data
        do {
            bytes = try encode()
        } catch {
            throw TemporalError(
                kind: .invalidArgument, code: .invalidArgument, message: "cannot serialize \(rpc) request: \(error)", cause: error)
        }
        let clock = ContinuousClock()
        let start = clock.now
        let long = timeout >= Self.historyLongPollTimeout
        let retryBudget = min(retryPolicy.maximumElapsed, retryingFor ?? retryPolicy.maximumElapsed)
        var attempt = 0
        var throttled = 0  // of the failed attempts, those the server throttled (their own backoff, as Core counts)
        while true {
            attempt += 1
            let attemptStart = clock.now
            // A caller's budget (`retryingFor`) bounds each attempt's deadline too: an attempt
            // begun near its end ran a whole `timeout` past it (a heartbeat past its timeout).
            var attemptTimeout = timeout
            if let retryingFor {
                attemptTimeout = min(timeout, max(retryingFor - (attemptStart - start), .milliseconds(50)))
            }
            do {
                let reply = try await transport.unary(method: method, request: bytes, metadata: headers, timeout: attemptTimeout)
                metrics.record(rpc, long: long, elapsed: clock.now - attemptStart, code: nil)
                do {
                    return try decode(reply)
                } catch {
                    throw TemporalError(
                        code: .internal, message: "cannot decode the \(rpc) response (\(reply.count) bytes): \(error)", cause: error)
                }
            } catch let status as GRPCStatusError {
                // A call its caller cancelled (a poll at shutdown) neither failed nor answered: not
                // recorded (every shutdown added a CANCELLED failure for each poll).
                if !(status.code == .cancelled && Task.isCancelled) {
                    var cause = 0
                    if status.code == .resourceExhausted,
                        case .resourceExhausted(let named, _)? = TemporalError.decodeDetails(status.trailer("grpc-status-details-bin"))
                    {
                        cause = named
                    }
                    metrics.record(rpc, long: long, elapsed: clock.now - attemptStart, code: status.code, exhaustedCause: cause)
                }
                let elapsed = clock.now - start
                if Self.trace {
                    var line = "[temporal-rpc] \(rpc) attempt \(attempt) after \(elapsed): \(status.code) \(status.message)\n"
                    line.withUTF8 { _ = write(2, $0.baseAddress, $0.count) }
                }
                // The caller's task was cancelled: CancellationError, whether the call or the
                // backoff before a retry was under way (as Go returns the context's error).
                if Task.isCancelled, status.code == .cancelled || (retry && RPCRetryPolicy.isTransient(status)) {
                    throw CancellationError()
                }
                if retry, RPCRetryPolicy.isTransient(status) {
                    if status.code == .resourceExhausted { throttled += 1 }
                    let pause = retryPolicy.backoff(attempt: attempt, throttledAttempt: status.code == .resourceExhausted ? throttled : nil)
                    if elapsed + pause < retryBudget {
                        try await Task.sleep(for: pause)
                        continue
                    }
                }
                throw TemporalError(
                    status: status, rpc: rpc, target: transport.target, attempts: attempt, overTLS: transport.usesTLS)
            }
        }
    }
}

// MARK: - The RPCs

extension WorkflowService {
    public func getSystemInfo(_ r: Temporal_Api_Workflowservice_V1_GetSystemInfoRequest = .init()) async throws
        -> Temporal_Api_Workflowservice_V1_GetSystemInfoResponse
    {
        try await call("GetSystemInfo", r)
    }
    public func describeNamespace(_ r: Temporal_Api_Workflowservice_V1_DescribeNamespaceRequest) async throws
        -> Temporal_Api_Workflowservice_V1_DescribeNamespaceResponse
    {
        try await call("DescribeNamespace", r, namespace: r.namespace)
    }
    public func registerNamespace(_ r: Temporal_Api_Workflowservice_V1_RegisterNamespaceRequest) async throws
        -> Temporal_Api_Workflowservice_V1_RegisterNamespaceResponse
    {
        try await call("RegisterNamespace", r, namespace: r.namespace)
    }
    public func startWorkflowExecution(_ r: Temporal_Api_Workflowservice_V1_StartWorkflowExecutionRequest) async throws
        -> Temporal_Api_Workflowservice_V1_StartWorkflowExecutionResponse
    {
        try await call("StartWorkflowExecution", r)
    }
    public func signalWithStartWorkflowExecution(_ r: Temporal_Api_Workflowservice_V1_SignalWithStartWorkflowExecutionRequest) async throws
        -> Temporal_Api_Workflowservice_V1_SignalWithStartWorkflowExecutionResponse
    {
        try await call("SignalWithStartWorkflowExecution", r)
    }
    public func signalWorkflowExecution(_ r: Temporal_Api_Workflowservice_V1_SignalWorkflowExecutionRequest) async throws
        -> Temporal_Api_Workflowservice_V1_SignalWorkflowExecutionResponse
    {
        try await call("SignalWorkflowExecution", r)
    }
    /// Queries wait for a worker to answer: 30 s deadline by default.
    public func queryWorkflow(_ r: Temporal_Api_Workflowservice_V1_QueryWorkflowRequest, timeout: Duration = .seconds(30)) async throws
        -> Temporal_Api_Workflowservice_V1_QueryWorkflowResponse
    {
        try await call("QueryWorkflow", r, timeout: timeout)
    }
    /// Waits (server-side) until the update reached the requested stage: the long-poll deadline.
    public func updateWorkflowExecution(_ r: Temporal_Api_Workflowservice_V1_UpdateWorkflowExecutionRequest) async throws
        -> Temporal_Api_Workflowservice_V1_UpdateWorkflowExecutionResponse
    {
        try await call("UpdateWorkflowExecution", r, timeout: Self.historyLongPollTimeout)
    }
    /// Waits (server-side) until an update sent earlier reached the requested stage.
    public func pollWorkflowExecutionUpdate(_ r: Temporal_Api_Workflowservice_V1_PollWorkflowExecutionUpdateRequest) async throws
        -> Temporal_Api_Workflowservice_V1_PollWorkflowExecutionUpdateResponse
    {
        try await call("PollWorkflowExecutionUpdate", r, timeout: Self.historyLongPollTimeout)
    }
    /// Start-and-update in one call (update-with-start).
    public func executeMultiOperation(_ r: Temporal_Api_Workflowservice_V1_ExecuteMultiOperationRequest) async throws
        -> Temporal_Api_Workflowservice_V1_ExecuteMultiOperationResponse
    {
        try await call("ExecuteMultiOperation", r, timeout: Self.historyLongPollTimeout)
    }
    public func describeWorkflowExecution(_ r: Temporal_Api_Workflowservice_V1_DescribeWorkflowExecutionRequest) async throws
        -> Temporal_Api_Workflowservice_V1_DescribeWorkflowExecutionResponse
    {
        try await call("DescribeWorkflowExecution", r)
    }
    /// Uses the long-poll deadline when `wait_new_event` is set. A server configured to send
    /// serialized history batches (`frontend.sendRawWorkflowHistory`) answers in `raw_history`;
    /// their events are moved to `history`, so every caller reads one field.
    public func getWorkflowExecutionHistory(_ r: Temporal_Api_Workflowservice_V1_GetWorkflowExecutionHistoryRequest) async throws
        -> Temporal_Api_Workflowservice_V1_GetWorkflowExecutionHistoryResponse
    {
        var page: Temporal_Api_Workflowservice_V1_GetWorkflowExecutionHistoryResponse = try await call(
            "GetWorkflowExecutionHistory", r, timeout: r.waitNewEvent ? Self.historyLongPollTimeout : Self.defaultTimeout)
        if !page.rawHistory.isEmpty { try page.moveRawHistoryToHistory(closeEventOnly: r.historyEventFilterType == .closeEvent) }
        return page
    }
    public func terminateWorkflowExecution(_ r: Temporal_Api_Workflowservice_V1_TerminateWorkflowExecutionRequest) async throws
        -> Temporal_Api_Workflowservice_V1_TerminateWorkflowExecutionResponse
    {
        try await call("TerminateWorkflowExecution", r)
    }
    public func requestCancelWorkflowExecution(_ r: Temporal_Api_Workflowservice_V1_RequestCancelWorkflowExecutionRequest) async throws
        -> Temporal_Api_Workflowservice_V1_RequestCancelWorkflowExecutionResponse
    {
        try await call("RequestCancelWorkflowExecution", r)
    }
    public func listWorkflowExecutions(_ r: Temporal_Api_Workflowservice_V1_ListWorkflowExecutionsRequest) async throws
        -> Temporal_Api_Workflowservice_V1_ListWorkflowExecutionsResponse
    {
        try await call("ListWorkflowExecutions", r)
    }
    public func countWorkflowExecutions(_ r: Temporal_Api_Workflowservice_V1_CountWorkflowExecutionsRequest) async throws
        -> Temporal_Api_Workflowservice_V1_CountWorkflowExecutionsResponse
    {
        try await call("CountWorkflowExecutions", r)
    }
    /// Legacy mode only: the pollers the server has seen recently on one queue and task type.
    public func describeTaskQueue(_ r: Temporal_Api_Workflowservice_V1_DescribeTaskQueueRequest) async throws
        -> Temporal_Api_Workflowservice_V1_DescribeTaskQueueResponse
    {
        try await call("DescribeTaskQueue", r)
    }

    // Worker RPCs.

    /// Long poll (70 s deadline, not retried here: poll loops back off themselves).
    public func pollWorkflowTaskQueue(_ r: Temporal_Api_Workflowservice_V1_PollWorkflowTaskQueueRequest) async throws
        -> Temporal_Api_Workflowservice_V1_PollWorkflowTaskQueueResponse
    {
        try await call("PollWorkflowTaskQueue", r, timeout: Self.pollTimeout, retry: false)
    }
    public func respondWorkflowTaskCompleted(_ r: Temporal_Api_Workflowservice_V1_RespondWorkflowTaskCompletedRequest) async throws
        -> Temporal_Api_Workflowservice_V1_RespondWorkflowTaskCompletedResponse
    {
        try await call("RespondWorkflowTaskCompleted", r)
    }
    public func respondWorkflowTaskFailed(_ r: Temporal_Api_Workflowservice_V1_RespondWorkflowTaskFailedRequest) async throws
        -> Temporal_Api_Workflowservice_V1_RespondWorkflowTaskFailedResponse
    {
        try await call("RespondWorkflowTaskFailed", r)
    }
    public func respondQueryTaskCompleted(_ r: Temporal_Api_Workflowservice_V1_RespondQueryTaskCompletedRequest) async throws
        -> Temporal_Api_Workflowservice_V1_RespondQueryTaskCompletedResponse
    {
        try await call("RespondQueryTaskCompleted", r)
    }
    public func updateWorkflowExecutionOptions(_ r: Temporal_Api_Workflowservice_V1_UpdateWorkflowExecutionOptionsRequest)
        async throws -> Temporal_Api_Workflowservice_V1_UpdateWorkflowExecutionOptionsResponse
    {
        try await call("UpdateWorkflowExecutionOptions", r)
    }
    public func resetStickyTaskQueue(_ r: Temporal_Api_Workflowservice_V1_ResetStickyTaskQueueRequest) async throws
        -> Temporal_Api_Workflowservice_V1_ResetStickyTaskQueueResponse
    {
        try await call("ResetStickyTaskQueue", r)
    }
    public func shutdownWorker(_ r: Temporal_Api_Workflowservice_V1_ShutdownWorkerRequest) async throws
        -> Temporal_Api_Workflowservice_V1_ShutdownWorkerResponse
    {
        try await call("ShutdownWorker", r, timeout: .seconds(5), retry: false)
    }
    /// Long poll (70 s deadline, not retried here).
    public func pollActivityTaskQueue(_ r: Temporal_Api_Workflowservice_V1_PollActivityTaskQueueRequest) async throws
        -> Temporal_Api_Workflowservice_V1_PollActivityTaskQueueResponse
    {
        try await call("PollActivityTaskQueue", r, timeout: Self.pollTimeout, retry: false)
    }
    /// - Parameter within: how long the call may take, retries included (each attempt's
    ///   deadline too), when shorter than the defaults.
    public func recordActivityTaskHeartbeat(
        _ r: Temporal_Api_Workflowservice_V1_RecordActivityTaskHeartbeatRequest, within budget: Duration? = nil
    ) async throws -> Temporal_Api_Workflowservice_V1_RecordActivityTaskHeartbeatResponse {
        try await call(
            "RecordActivityTaskHeartbeat", r, timeout: min(Self.defaultTimeout, budget ?? Self.defaultTimeout), retryingFor: budget)
    }
    public func respondActivityTaskCompleted(_ r: Temporal_Api_Workflowservice_V1_RespondActivityTaskCompletedRequest) async throws
        -> Temporal_Api_Workflowservice_V1_RespondActivityTaskCompletedResponse
    {
        try await call("RespondActivityTaskCompleted", r)
    }
    public func respondActivityTaskFailed(_ r: Temporal_Api_Workflowservice_V1_RespondActivityTaskFailedRequest) async throws
        -> Temporal_Api_Workflowservice_V1_RespondActivityTaskFailedResponse
    {
        try await call("RespondActivityTaskFailed", r)
    }
    public func respondActivityTaskCanceled(_ r: Temporal_Api_Workflowservice_V1_RespondActivityTaskCanceledRequest) async throws
        -> Temporal_Api_Workflowservice_V1_RespondActivityTaskCanceledResponse
    {
        try await call("RespondActivityTaskCanceled", r)
    }
}
