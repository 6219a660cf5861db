public import TemporalProto
import Tracing

#if canImport(FoundationEssentials)
public import FoundationEssentials
#else
public import Foundation
#endif

/// One history event.
public typealias HistoryEvent = Temporal_Api_History_V1_HistoryEvent
/// A workflow run's status.
public typealias WorkflowExecutionStatus = Temporal_Api_Enums_V1_WorkflowExecutionStatus

/// A reference to a workflow (and optionally one of its runs) through which it is observed
/// and controlled. Making a handle costs nothing; every method is one or more RPCs.
///
/// A handle returned by `startWorkflow`, `signalWithStart` or `updateWithStart` names no run,
/// as in the other SDKs: signals, queries, updates, cancel, terminate and describe go to the
/// workflow id's current run (after a continue-as-new, a retry or a cron run, the new one;
/// cancel, terminate and updates only while the chain that start belonged to is still the
/// current one, when the server named its first run), and `result` and `fetchHistory` start
/// from the run that was started (`resultRunID`). A handle from `workflowHandle(id:runID:)`
/// with a run id addresses that run only.
public struct WorkflowHandle: Sendable {
    public let client: TemporalClient
    /// The workflow id.
    public let id: String
    /// The one run this handle addresses; nil = the current run (of the chain, when
    /// `firstExecutionRunID` is set).
    public let runID: String?
    /// The first run of the chain (set for handles returned by `startWorkflow`); cancel and
    /// terminate only act while the chain started there is still the current one.
    public let firstExecutionRunID: String?
    /// The run `result` starts following and `fetchHistory` reads: `runID`, or for a handle
    /// that started a workflow, the run it started.
    public let resultRunID: String?

    init(client: TemporalClient, id: String, runID: String?, firstExecutionRunID: String?, resultRunID: String? = nil) {
        self.client = client
        self.id = id
        self.runID = runID
        self.firstExecutionRunID = firstExecutionRunID
        self.resultRunID = resultRunID ?? runID
    }

    var execution: Temporal_Api_Common_V1_WorkflowExecution {
        var e = Temporal_Api_Common_V1_WorkflowExecution()
        e.workflowID = id
        e.runID = runID ?? ""
        return e
    }

    // MARK: Result

    /// Waits for the workflow to close and decodes its result.
    ///
    /// Long-polls the history for the close event; follows continue-as-new (and retry/cron
    /// runs when `followRuns`) to the final run.
    /// - Throws: `TemporalError` of kind `.workflowFailed` (with the failure chain; an
    ///   `ApplicationError` is in `applicationError`), `.workflowCanceled` (the close event's
    ///   details in `failure`, a canceled failure), `.workflowTerminated`, `.workflowTimedOut`,
    ///   or with `followRuns: false` `.workflowContinuedAsNew`.
    public func result<T: Decodable>(as type: T.Type = T.self, followRuns: Bool = true) async throws -> T {
        let payloads = try await resultPayloads(followRuns: followRuns)
        return try client.dataConverter.fromPayloads(payloads, as: T.self)
    }

    /// Waits for the workflow to close; returns its result payloads undecoded.
    public func resultPayloads(followRuns: Bool = true) async throws -> Payloads? {
        var run = resultRunID ?? ""
        var token = Data()
        var pacing = LongPollPacing()
        while true {
            var r = Temporal_Api_Workflowservice_V1_GetWorkflowExecutionHistoryRequest()
            r.namespace = client.namespace
            r.execution.workflowID = id
            r.execution.runID = run
            r.waitNewEvent = true
            r.historyEventFilterType = .closeEvent
            r.skipArchival = true
            r.nextPageToken = token
            let page: Temporal_Api_Workflowservice_V1_GetWorkflowExecutionHistoryResponse
            do {
                pacing.sending()
                page = try await client.workflowService.getWorkflowExecutionHistory(r)
            } catch let e as TemporalError where e.code == .deadlineExceeded {
                try await pacing.beforeAskingAgain()
                continue  // the long poll outlived its deadline: ask again with the same token
            }
            guard let event = page.history.events.last else {
                // The long poll ended with nothing (the server's own timeout, after about 20 s):
                // ask again, but never more than once a second, should a server or proxy answer
                // empty pages at once (with or without a token).
                token = page.nextPageToken
                try await pacing.beforeAskingAgain()
                continue
            }
            let whichRun = "workflow '\(id)'" + (run.isEmpty ? "" : " (run \(run))")
            switch event.attributes {
            case .workflowExecutionCompletedEventAttributes(let a)?:
                if followRuns, !a.newExecutionRunID.isEmpty {
                    run = a.newExecutionRunID
                    token = Data()
                    continue
                }
                return a.hasResult ? a.result : nil
            case .workflowExecutionFailedEventAttributes(let a)?:
                if followRuns, !a.newExecutionRunID.isEmpty {
                    run = a.newExecutionRunID
                    token = Data()
                    continue
                }
                let failure = client.dataConverter.decodingEncodedAttributes(a.failure)
                var error = TemporalError(kind: .workflowFailed, message: "\(whichRun) failed: \(failure.message)", failure: failure)
                if a.failure.holdsEncodedAttributes { error.receivedFailure = a.failure }
                error.dataConverter = client.dataConverter
                throw error
            case .workflowExecutionTimedOutEventAttributes(let a)?:
                if followRuns, !a.newExecutionRunID.isEmpty {
                    run = a.newExecutionRunID
                    token = Data()
                    continue
                }
                throw TemporalError(kind: .workflowTimedOut, message: "\(whichRun) timed out (retry state \(a.retryState))")
            case .workflowExecutionCanceledEventAttributes(let a)?:
                // The details the workflow cancelled with, as a canceled failure's (Go's CanceledError).
                var failure = Temporal_Api_Failure_V1_Failure()
                failure.message = "cancelled"
                var info = Temporal_Api_Failure_V1_CanceledFailureInfo()
                if a.hasDetails { info.details = a.details }
                failure.canceledFailureInfo = info
                var error = TemporalError(
                    kind: .workflowCanceled, message: "\(whichRun) was cancelled",
                    failure: client.dataConverter.decodingEncodedAttributes(failure))
                error.dataConverter = client.dataConverter
                throw error
            case .workflowExecutionTerminatedEventAttributes(let a)?:
                throw TemporalError(
                    kind: .workflowTerminated,
                    message: "\(whichRun) was terminated" + (a.reason.isEmpty ? "" : ": \(a.reason)"))
            case .workflowExecutionContinuedAsNewEventAttributes(let a)?:
                // A real continue-as-new, or the server's rewrite of a retried/cron run's close event.
                run = a.newExecutionRunID
                token = Data()
                if !followRuns {
                    // Not a failure: Go reports it as its own error (ContinueAsNewError) too.
                    throw TemporalError(kind: .workflowContinuedAsNew, message: "\(whichRun) continued as new run \(a.newExecutionRunID)")
                }
                continue
            default:
                throw TemporalError(code: .internal, message: "unexpected close event \(event.eventType) for \(whichRun)")
            }
        }
    }

    // MARK: Interaction

    /// Sends a signal. Retries of this call are deduplicated by a request id.
    public func signal(_ name: String, _ args: any Encodable...) async throws {
        try await withSpan("SignalWorkflow:\(name)", ofKind: .client) { span in
            var headers: [String: Payload] = [:]
            TraceHeader.inject(span.context, into: &headers)
            let input = SignalWorkflowInput(
                workflowID: id, runID: runID, signalName: name,
                arguments: args.isEmpty ? nil : try client.dataConverter.toPayloads(args),
                headers: headers)
            try await intercepted(client.interceptors, input, through: { try await $0.signalWorkflow($1, next: $2) }) { input in
                var r = Temporal_Api_Workflowservice_V1_SignalWorkflowExecutionRequest()
                r.namespace = client.namespace
                r.workflowExecution.workflowID = input.workflowID
                r.workflowExecution.runID = input.runID ?? ""
                r.signalName = input.signalName
                if let args = input.arguments { r.input = args }
                r.identity = client.identity
                r.requestID = UUID().uuidString
                if !input.headers.isEmpty { r.header.fields = input.headers }
                _ = try await client.workflowService.signalWorkflowExecution(r)
            }
        }
    }

    /// Runs a query on a worker and decodes its answer.
    /// - Throws: `TemporalError` of kind `.queryFailed` when the handler failed or the query was
    ///   rejected, `.rpc` with NOT_FOUND for an unknown workflow.
    public func query<T: Decodable>(
        _ name: String, _ args: any Encodable..., as type: T.Type = T.self,
        rejectCondition: Temporal_Api_Enums_V1_QueryRejectCondition = .none
    ) async throws -> T {
        let arguments = args.isEmpty ? nil : try client.dataConverter.toPayloads(args)
        let answer = try await withSpan("QueryWorkflow:\(name)", ofKind: .client) { span in
            var headers: [String: Payload] = [:]
            TraceHeader.inject(span.context, into: &headers)
            let input = QueryWorkflowInput(
                workflowID: id, runID: runID, queryType: name, arguments: arguments,
                rejectCondition: rejectCondition, headers: headers)
            return try await intercepted(
                client.interceptors, input, through: { try await $0.queryWorkflow($1, next: $2) },
                base: sendQuery)
        }
        return try client.dataConverter.fromPayloads(answer, as: T.self)
    }

    private func sendQuery(_ input: QueryWorkflowInput) async throws -> Payloads? {
        var r = Temporal_Api_Workflowservice_V1_QueryWorkflowRequest()
        r.namespace = client.namespace
        r.execution.workflowID = input.workflowID
        r.execution.runID = input.runID ?? ""
        r.query.queryType = input.queryType
        if let args = input.arguments { r.query.queryArgs = args }
        if !input.headers.isEmpty { r.query.header.fields = input.headers }
        r.queryRejectCondition = input.rejectCondition
        let response: Temporal_Api_Workflowservice_V1_QueryWorkflowResponse
        do {
            response = try await client.workflowService.queryWorkflow(r)
        } catch var error as TemporalError where error.kind == .queryFailed {
            // The handler's failure, encoded by the worker's converter: read it with this
            // client's (its codecs, encoded attributes), as workflow and update failures are.
            if let failure = error.failure, failure.holdsEncodedAttributes {
                let readable = client.dataConverter.decodingEncodedAttributes(failure)
                error.failure = readable
                error.receivedFailure = failure
                // The status message is the encoded one ("Encoded failure"): say the handler's.
                let encoded = DataConverter.encodedFailureMessage
                if error.message.hasSuffix(encoded) { error.message = error.message.dropLast(encoded.count) + readable.message }
            }
            error.dataConverter = client.dataConverter
            throw error
        }
        if response.hasQueryRejected {
            throw TemporalError(
                kind: .queryFailed,
                message:
                    "query '\(input.queryType)' on workflow '\(input.workflowID)' was rejected: the workflow is \(response.queryRejected.status)"
            )
        }
        return response.hasQueryResult ? response.queryResult : nil
    }

    /// Asks the workflow to cancel itself (it decides how; the result then reports cancellation).
    public func cancel(reason: String = "") async throws {
        var r = Temporal_Api_Workflowservice_V1_RequestCancelWorkflowExecutionRequest()
        r.namespace = client.namespace
        r.workflowExecution = execution
        r.identity = client.identity
        r.requestID = UUID().uuidString
        r.reason = reason
        if let first = firstExecutionRunID { r.firstExecutionRunID = first }
        _ = try await client.workflowService.requestCancelWorkflowExecution(r)
    }

    /// Stops the workflow at once; no workflow code runs afterwards.
    ///
    /// Retried on transient errors like every other call (a server restarting, a connection
    /// lost). The request carries no idempotency key, so a retry of an attempt that did reach
    /// the server answers NOT_FOUND ("already completed"): then, when the run is terminated,
    /// the call succeeds.
    public func terminate(reason: String = "", details: any Encodable...) async throws {
        var r = Temporal_Api_Workflowservice_V1_TerminateWorkflowExecutionRequest()
        r.namespace = client.namespace
        r.workflowExecution = execution
        r.reason = reason
        if !details.isEmpty { r.details = try client.dataConverter.toPayloads(details) }
        r.identity = client.identity
        if let first = firstExecutionRunID { r.firstExecutionRunID = first }
        do {
            let _: Temporal_Api_Workflowservice_V1_TerminateWorkflowExecutionResponse =
                try await client.workflowService.call("TerminateWorkflowExecution", r)
        } catch let error as TemporalError where error.isNotFoundOnRetry {
            // An earlier attempt may have terminated it before its answer was lost.
            guard (try? await describe().status) == .terminated else { throw error }
        }
    }

    /// Sets the run's versioning override (`WorkflowOptions.versioningOverride`), or removes it
    /// (nil): the run then follows what its workers report again. The run must be open.
    public func setVersioningOverride(_ override: VersioningOverride?) async throws {
        var r = Temporal_Api_Workflowservice_V1_UpdateWorkflowExecutionOptionsRequest()
        r.namespace = client.namespace
        r.workflowExecution = execution
        r.identity = client.identity
        // The options message must be present (the server refuses a request without it);
        // with the mask naming the override, an absent override removes it.
        r.workflowExecutionOptions = Temporal_Api_Workflow_V1_WorkflowExecutionOptions()
        if let override { r.workflowExecutionOptions.versioningOverride = override.proto }
        r.updateMask.paths = ["versioning_override"]
        _ = try await client.workflowService.updateWorkflowExecutionOptions(r)
    }

    /// Status, pending activities and children, configuration.
    public func describe() async throws -> WorkflowDescription {
        var r = Temporal_Api_Workflowservice_V1_DescribeWorkflowExecutionRequest()
        r.namespace = client.namespace
        r.execution = execution
        return WorkflowDescription(raw: try await client.workflowService.describeWorkflowExecution(r))
    }

    /// The full history of `resultRunID` (the current run when nil), every page.
    public func fetchHistory(pageSize: Int = 0) async throws -> [HistoryEvent] {
        var events: [HistoryEvent] = []
        var token = Data()
        repeat {
            var r = Temporal_Api_Workflowservice_V1_GetWorkflowExecutionHistoryRequest()
            r.namespace = client.namespace
            r.execution.workflowID = id
            r.execution.runID = resultRunID ?? ""
            r.maximumPageSize = Int32(clamping: pageSize)
            r.nextPageToken = token
            let page = try await client.workflowService.getWorkflowExecutionHistory(r)
            events.append(contentsOf: page.history.events)
            token = page.nextPageToken
        } while !token.isEmpty
        return events
    }
}

/// `DescribeWorkflowExecution`'s answer with the common fields at hand.
public struct WorkflowDescription: Sendable {
    /// The full response.
    public let raw: Temporal_Api_Workflowservice_V1_DescribeWorkflowExecutionResponse
    public var status: WorkflowExecutionStatus { raw.workflowExecutionInfo.status }
    public var runID: String { raw.workflowExecutionInfo.execution.runID }
    public var workflowType: String { raw.workflowExecutionInfo.type.name }
    public var taskQueue: String { raw.executionConfig.taskQueue.name }
    public var historyLength: Int { Int(raw.workflowExecutionInfo.historyLength) }
    public var startTime: Date? { raw.workflowExecutionInfo.hasStartTime ? raw.workflowExecutionInfo.startTime.date : nil }
    public var closeTime: Date? { raw.workflowExecutionInfo.hasCloseTime ? raw.workflowExecutionInfo.closeTime.date : nil }
    public var pendingActivities: [Temporal_Api_Workflow_V1_PendingActivityInfo] { raw.pendingActivities }
    /// Where the run stands in Worker Versioning; nil when the server says nothing of it.
    public var versioning: WorkflowVersioningInfo? {
        raw.workflowExecutionInfo.hasVersioningInfo ? WorkflowVersioningInfo(proto: raw.workflowExecutionInfo.versioningInfo) : nil
    }
}

extension TemporalError {
    /// The application error at the root of a workflow failure (the workflow's own
    /// `ApplicationError`, or the one an activity raised), if any.
    public var applicationError: ApplicationError? {
        guard var error = failure?.firstApplicationError else { return nil }
        error = error.keepingEncoded(unchangedReceivedFailure?.firstApplicationFailure)
        if error.converter == nil { error.converter = dataConverter }
        return error
    }
}
