public import TemporalProto
import Tracing

#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// The stages of a Workflow Update: `.admitted` (the server holds it), `.accepted` (a worker
/// accepted it and its handler runs), `.completed` (the handler finished, or it was rejected).
public typealias UpdateStage = Temporal_Api_Enums_V1_UpdateWorkflowExecutionLifecycleStage

/// An update sent to a workflow, to wait for its result. Making one costs nothing; `result`
/// long-polls the server, and can be called from any process that knows the ids.
public struct WorkflowUpdateHandle: Sendable {
    public let client: TemporalClient
    /// The workflow the update was sent to.
    public let workflowID: String
    /// The run that accepted it (empty if not known yet).
    public let runID: String
    /// The update id (unique per workflow; sending the same id again is deduplicated).
    public let id: String
    /// The handler name.
    public let name: String
    /// The outcome, when the call that made this handle already received it.
    var knownOutcome: Temporal_Api_Update_V1_Outcome?

    public init(client: TemporalClient, workflowID: String, runID: String = "", id: String, name: String) {
        self.init(client: client, workflowID: workflowID, runID: runID, id: id, name: name, knownOutcome: nil)
    }

    init(
        client: TemporalClient, workflowID: String, runID: String, id: String, name: String,
        knownOutcome: Temporal_Api_Update_V1_Outcome?
    ) {
        self.client = client
        self.workflowID = workflowID
        self.runID = runID
        self.id = id
        self.name = name
        self.knownOutcome = knownOutcome
    }

    /// Waits for the update's handler to finish and decodes what it returned.
    /// - Throws: `TemporalError` of kind `.updateFailed` (the workflow's failure in `failure`)
    ///   when the update was rejected or its handler threw.
    public func result<T: Decodable>(as type: T.Type = T.self) async throws -> T {
        try client.dataConverter.fromPayloads(try await resultPayloads(), as: T.self)
    }

    /// Waits for the update to complete; returns its result payloads undecoded.
    public func resultPayloads() async throws -> Payloads? {
        try decode(try await outcome())
    }

    /// The update's outcome: the one already received, or long-polled for (by update id, in
    /// the run that accepted it when that is known). A poll never admits an update.
    func outcome() async throws -> Temporal_Api_Update_V1_Outcome {
        if let knownOutcome { return knownOutcome }
        var r = Temporal_Api_Workflowservice_V1_PollWorkflowExecutionUpdateRequest()
        r.namespace = client.namespace
        r.updateRef.workflowExecution.workflowID = workflowID
        r.updateRef.workflowExecution.runID = runID
        r.updateRef.updateID = id
        r.identity = client.identity
        r.waitPolicy.lifecycleStage = .completed
        var pacing = LongPollPacing()
        while true {
            let response: Temporal_Api_Workflowservice_V1_PollWorkflowExecutionUpdateResponse
            do {
                pacing.sending()
                response = try await client.workflowService.pollWorkflowExecutionUpdate(r)
            } catch let e as TemporalError where e.code == .deadlineExceeded {
                try await pacing.beforeAskingAgain()
                continue  // the long poll outlived its deadline: ask again
            }
            if response.hasOutcome { return response.outcome }
            // The server's long poll ended first (or a proxy answers at once): ask again, never
            // more than once a second.
            try await pacing.beforeAskingAgain()
        }
    }

    func decode(_ outcome: Temporal_Api_Update_V1_Outcome) throws -> Payloads? {
        switch outcome.value {
        case .success(let payloads)?:
            return payloads
        case .failure(let received)?:
            let failure = client.dataConverter.decodingEncodedAttributes(received)
            var error = TemporalError(
                kind: .updateFailed,
                message: "update '\(name)' (id \(id)) of workflow '\(workflowID)' failed: \(failure.message)",
                failure: failure)
            if received.holdsEncodedAttributes { error.receivedFailure = received }
            error.dataConverter = client.dataConverter
            throw error
        case nil:
            throw TemporalError(code: .internal, message: "update '\(name)' (id \(id)) completed without an outcome")
        }
    }
}

extension WorkflowHandle {
    /// Sends update `name` and waits for its handler's result (`temporal workflow update execute`).
    ///
    /// An update is a signal with an answer: a handler in the workflow runs it (after its
    /// validator, if any, accepted it) and may change the workflow's state and wait on
    /// activities; its return value comes back here.
    /// - Parameter id: the update id; the same id sent twice runs once (default: a new UUID).
    /// - Throws: `TemporalError` of kind `.updateFailed` when the workflow rejected the update
    ///   (no such handler, or the validator threw) or the handler threw; `.rpc` with NOT_FOUND
    ///   when the workflow is not running.
    public func executeUpdate<T: Decodable>(
        _ name: String, _ args: any Encodable..., id: String? = nil,
        as type: T.Type = T.self
    ) async throws -> T {
        let handle = try await startUpdate(name, arguments: args, id: id, waitFor: .completed)
        return try await handle.result(as: T.self)
    }

    /// Sends update `name` and returns once it reached `stage` (default: accepted, i.e. its
    /// handler runs); wait for the result with the returned handle.
    /// - Throws: as `executeUpdate` when the update had completed with a failure by the time
    ///   the server answered: a rejection (which completes it at once), or a handler that failed
    ///   within the workflow task that accepted it. The server's answer does not tell the two
    ///   apart (the history does: an accepted update has a `WorkflowExecutionUpdateAccepted`
    ///   event), so do not send it again under a new id without looking: its handler may have run.
    public func startUpdate(
        _ name: String, _ args: any Encodable..., id: String? = nil,
        waitFor stage: UpdateStage = .accepted
    ) async throws -> WorkflowUpdateHandle {
        try await startUpdate(name, arguments: args, id: id, waitFor: stage)
    }

    /// `startUpdate` with an argument list.
    public func startUpdate(
        _ name: String, arguments: [any Encodable], id: String? = nil,
        waitFor stage: UpdateStage = .accepted
    ) async throws -> WorkflowUpdateHandle {
        let span = InstrumentationSystem.tracer.startAnySpan(
            "UpdateWorkflow:\(name)", context: ServiceContext.current ?? .topLevel, ofKind: .client)
        defer { span.end() }
        do {
            let input = try updateInput(name, arguments: arguments, id: id, waitFor: stage, trace: span.context)
            return try await intercepted(
                client.interceptors, input, through: { try await $0.startWorkflowUpdate($1, next: $2) },
                base: sendUpdate)
        } catch {
            span.recordError(error)  // a rejection or failure is the span's error, as withSpan records
            throw error
        }
    }

    /// Sends the update until the server holds it durably (accepted by the run), then waits
    /// for the stage asked for by polling that run.
    ///
    /// The request is sent again only while the update is not accepted yet: a run deduplicates
    /// update ids only within itself, so once the update was accepted (and the server's long
    /// poll ended before it completed), sending it again could reach the next run of a workflow
    /// that continued-as-new meanwhile and run the handler a second time there, or fail with
    /// NOT_FOUND for a workflow that closed after the update succeeded.
    ///
    /// A call that got no answer within its deadline (DEADLINE_EXCEEDED: the server answers a
    /// long poll before it) is not sent again, as Go does not: it may have been accepted
    /// (`Self.unanswered`). Before, it was sent again with no end.
    func sendUpdate(_ input: StartWorkflowUpdateInput) async throws -> WorkflowUpdateHandle {
        let request = try updateRequest(input)
        while true {
            let response: Temporal_Api_Workflowservice_V1_UpdateWorkflowExecutionResponse
            do {
                response = try await client.workflowService.updateWorkflowExecution(request)
            } catch let e as TemporalError where e.code == .deadlineExceeded {
                throw Self.unanswered(e, workflowID: input.workflowID, updateName: input.updateName, updateID: input.updateID)
            }
            if let handle = try await Self.durableHandle(for: response, request: request, client: client, waitedFor: input.waitFor) {
                return handle
            }
        }
    }

    /// The error for an update call that got no answer within its deadline: whether the
    /// server accepted the update is unknown, so it is not sent again (a run deduplicates
    /// update ids only within itself: once accepted, a copy could run the handler again in the
    /// next run of a workflow that continued as new meanwhile). Says how to learn its outcome.
    static func unanswered(_ error: TemporalError, workflowID: String, updateName: String, updateID: String) -> TemporalError {
        var unanswered = error
        unanswered.message =
            "update '\(updateName)' (id \(updateID)) of workflow \(workflowID) got no answer within the call's deadline, so whether the workflow accepted it is unknown: wait for its outcome with WorkflowUpdateHandle(client:workflowID:id:name:).result, or send it again under the same id (\(updateID)) if the workflow has not continued as new since (\(error.message))"
        return unanswered
    }

    func updateInput(
        _ name: String, arguments: [any Encodable], id: String?, waitFor stage: UpdateStage,
        trace: ServiceContext
    ) throws -> StartWorkflowUpdateInput {
        guard stage == .accepted || stage == .completed else {
            throw TemporalError(
                kind: .invalidArgument, code: .invalidArgument,
                message: "an update can be waited for until accepted or completed, not \(stage)")
        }
        var headers: [String: Payload] = [:]
        TraceHeader.inject(trace, into: &headers)
        return StartWorkflowUpdateInput(
            workflowID: self.id, runID: runID, firstExecutionRunID: firstExecutionRunID, updateName: name,
            updateID: id ?? UUID().uuidString,
            arguments: arguments.isEmpty ? nil : try client.dataConverter.toPayloads(arguments),
            waitFor: stage, headers: headers)
    }

    func updateRequest(_ input: StartWorkflowUpdateInput) throws -> Temporal_Api_Workflowservice_V1_UpdateWorkflowExecutionRequest {
        var r = Temporal_Api_Workflowservice_V1_UpdateWorkflowExecutionRequest()
        r.namespace = client.namespace
        r.workflowExecution.workflowID = input.workflowID
        r.workflowExecution.runID = input.runID ?? ""
        if let first = input.firstExecutionRunID { r.firstExecutionRunID = first }
        r.waitPolicy.lifecycleStage = input.waitFor
        r.request.meta.updateID = input.updateID
        r.request.meta.identity = client.identity
        r.request.input.name = input.updateName
        if let args = input.arguments { r.request.input.args = args }
        if !input.headers.isEmpty { r.request.input.header.fields = input.headers }
        return r
    }

    /// The handle once the server holds the update durably: accepted or completed (a
    /// rejection or a failure throws). When the stage waited for is `.completed` and the
    /// answer came before it (its long poll ended), the outcome is polled for in the run that
    /// accepted the update. nil while the update is only admitted (or an older server answered
    /// UNSPECIFIED): send it again. With `throwingForFailure` false, a rejection or failure is
    /// left to the handle's `result` (update-with-start: the workflow started all the same).
    static func durableHandle(
        for response: Temporal_Api_Workflowservice_V1_UpdateWorkflowExecutionResponse,
        request: Temporal_Api_Workflowservice_V1_UpdateWorkflowExecutionRequest,
        client: TemporalClient, waitedFor stage: UpdateStage, throwingForFailure: Bool = true
    ) async throws -> WorkflowUpdateHandle? {
        guard response.hasOutcome || response.stage.rawValue >= UpdateStage.accepted.rawValue else { return nil }
        var handle = WorkflowUpdateHandle(
            client: client, workflowID: request.workflowExecution.workflowID,
            runID: response.updateRef.workflowExecution.runID, id: request.request.meta.updateID,
            name: request.request.input.name, knownOutcome: response.hasOutcome ? response.outcome : nil)
        if handle.knownOutcome == nil, stage == .completed { handle.knownOutcome = try await handle.outcome() }
        // A rejection completes the update at once: report it here, not only from `result`.
        if throwingForFailure, let outcome = handle.knownOutcome, case .failure? = outcome.value { _ = try handle.decode(outcome) }
        return handle
    }
}

extension TemporalClient {
    /// Update-with-start: sends update `update` to workflow `id`, starting the workflow first if
    /// no run with that id is open (one atomic `ExecuteMultiOperation` call). The workflow's
    /// handler sees the update in its first workflow task, after the workflow code registered
    /// its handlers.
    ///
    /// - Parameter options: `idConflictPolicy` defaults to `.useExisting` (update the open run);
    ///   `.fail` makes the call fail when a run is open.
    /// - Returns: the workflow's handle and the update's (wait for its result with `result`).
    ///   An update the workflow rejected (no such handler, its validator threw) or whose handler
    ///   failed does not make this call throw: the workflow may have been started by it, and
    ///   its handle is returned; the update's `result` throws `.updateFailed` (as Go's SDK).
    /// - Throws: `TemporalError` when the start failed (ALREADY_EXISTS under `.fail`, …) or the
    ///   call did.
    public func updateWithStart(
        type: String, id: String, taskQueue: String, arguments: [any Encodable] = [],
        options: WorkflowOptions = WorkflowOptions(),
        update: String, updateArguments: [any Encodable] = [], updateID: String? = nil,
        waitFor stage: UpdateStage = .accepted
    ) async throws -> (WorkflowHandle, WorkflowUpdateHandle) {
        try await withSpan("UpdateWithStartWorkflow:\(type)", ofKind: .client) { span in
            var startOptions = options
            if startOptions.idConflictPolicy == nil { startOptions.idConflictPolicy = .useExisting }
            let workflow = WorkflowHandle(client: self, id: id, runID: nil, firstExecutionRunID: nil)
            let input = UpdateWithStartInput(
                start: try startInput(
                    type: type, id: id, taskQueue: taskQueue, arguments: arguments, options: startOptions,
                    trace: span.context),
                update: try workflow.updateInput(
                    update, arguments: updateArguments, id: updateID, waitFor: stage,
                    trace: span.context))
            return try await intercepted(
                interceptors, input, through: { try await $0.updateWithStart($1, next: $2) },
                base: sendUpdateWithStart)
        }
    }

    private func sendUpdateWithStart(_ input: UpdateWithStartInput) async throws -> (WorkflowHandle, WorkflowUpdateHandle) {
        var start = Temporal_Api_Workflowservice_V1_StartWorkflowExecutionRequest()
        try fillStart(&start, input.start)
        let id = input.start.workflowID
        let workflow = WorkflowHandle(client: self, id: id, runID: nil, firstExecutionRunID: nil)
        var updateRequest = try workflow.updateRequest(input.update)
        // The update goes to the run this request starts (or finds): run ids set by an
        // interceptor would make the server refuse the whole request.
        updateRequest.workflowExecution.runID = ""
        updateRequest.firstExecutionRunID = ""
        var request = Temporal_Api_Workflowservice_V1_ExecuteMultiOperationRequest()
        request.namespace = namespace
        var startOperation = Temporal_Api_Workflowservice_V1_ExecuteMultiOperationRequest.Operation()
        startOperation.startWorkflow = start
        var updateOperation = Temporal_Api_Workflowservice_V1_ExecuteMultiOperationRequest.Operation()
        updateOperation.updateWorkflow = updateRequest
        request.operations = [startOperation, updateOperation]
        // The first answer's start: a re-sent operation's start is deduplicated, and its answer
        // may no longer say that it started the run (as Go keeps the first).
        var firstStart: Temporal_Api_Workflowservice_V1_StartWorkflowExecutionResponse?
        while true {
            let response: Temporal_Api_Workflowservice_V1_ExecuteMultiOperationResponse
            do {
                response = try await workflowService.executeMultiOperation(request)
            } catch let e as TemporalError where e.code == .deadlineExceeded {
                // Not sent again (`WorkflowHandle.unanswered`): the start is deduplicated, the
                // update may have been accepted.
                throw WorkflowHandle.unanswered(e, workflowID: id, updateName: input.update.updateName, updateID: input.update.updateID)
            }
            guard response.responses.count == 2, case .startWorkflow(let answered)? = response.responses[0].response,
                case .updateWorkflow(let updated)? = response.responses[1].response
            else {
                throw TemporalError(
                    code: .internal,
                    message: "ExecuteMultiOperation answered \(response.responses.count) responses, expected start and update")
            }
            let started = firstStart ?? answered
            firstStart = started
            let handle = WorkflowHandle(
                client: self, id: id, runID: nil,
                firstExecutionRunID: TemporalClient.firstExecutionRunID(
                    named: started.firstExecutionRunID, runID: started.runID, started: started.started),
                resultRunID: started.runID)
            if let updateHandle = try await WorkflowHandle.durableHandle(
                for: updated, request: updateRequest, client: self, waitedFor: input.update.waitFor, throwingForFailure: false)
            {
                return (handle, updateHandle)
            }
            // Only admitted: the whole operation again, as Go's SDK does (same request id and
            // update id, so the start and the update are each deduplicated by the server).
        }
    }
}
