import TemporalProto
import Tracing

#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

// MARK: - Client API

extension TemporalClient {
    /// Creates a schedule.
    ///
    /// - Parameters:
    ///   - id: the schedule id, unique in the namespace.
    ///   - spec: when it runs.
    ///   - action: what it starts.
    ///   - policies: overlap, catch-up and failure handling.
    ///   - paused: create it paused.
    ///   - note: the state's notes.
    ///   - memo: values shown with the schedule.
    ///   - remainingActions: take only this many actions, then none (nil: no limit). Set at
    ///     creation, as Go's `RemainingActions`: a limit set by a later update could come after
    ///     a due action.
    ///   - triggerImmediately: take one action now, as part of the creation (Go's
    ///     `TriggerImmediately`). A manual action, as the server counts them: not against
    ///     `remainingActions` (a schedule that acts once, now, and never again: 0 and true).
    ///   - searchAttributes: the schedule's own search attributes (Go's
    ///     `TypedSearchAttributes`), to find it with `listSchedules(query:)`; the runs it starts
    ///     take theirs from the action's options.
    ///   - backfill: past ranges whose actions run as part of the creation (Go's
    ///     `ScheduleBackfill`), as `ScheduleHandle.backfill` runs them; checked before any
    ///     request, so a schedule is not created with a backfill it then refuses.
    /// - Throws: `TemporalError` with code `.alreadyExists` (and a message naming the id) when a
    ///   schedule with `id` exists; `.invalidArgument` for a negative `remainingActions` or a
    ///   backfill range that ends in the future or before it starts.
    public func createSchedule(
        id: String, spec: ScheduleSpec, action: ScheduleAction,
        policies: SchedulePolicies = SchedulePolicies(), paused: Bool = false,
        note: String = "", memo: [String: any Encodable & Sendable] = [:],
        remainingActions: Int? = nil, triggerImmediately: Bool = false,
        searchAttributes: [String: any Encodable & Sendable] = [:], backfill: [ScheduleBackfill] = []
    ) async throws -> ScheduleHandle {
        var r = Temporal_Api_Workflowservice_V1_CreateScheduleRequest()
        r.namespace = namespace
        r.scheduleID = id
        r.schedule = try scheduleProto(spec: spec, action: action, policies: policies, paused: paused, note: note)
        if let remainingActions {
            guard remainingActions >= 0 else {
                throw TemporalError(
                    code: .invalidArgument,
                    message:
                        "remainingActions is \(remainingActions): give how many actions the schedule may still take (0 or more), or nil for no limit"
                )
            }
            r.schedule.state.limitedActions = true
            r.schedule.state.remainingActions = Int64(remainingActions)
        }
        if triggerImmediately { r.initialPatch.triggerImmediately = Temporal_Api_Schedule_V1_TriggerImmediatelyRequest() }
        if !backfill.isEmpty { r.initialPatch.backfillRequest = try backfill.map { try $0.proto() } }
        if !memo.isEmpty { r.memo.fields = try scheduleMap(memo) }
        if !searchAttributes.isEmpty { r.searchAttributes.indexedFields = try SearchAttributeEncoding.encode(searchAttributes) }
        r.identity = identity
        r.requestID = UUID().uuidString
        let request = r
        // Through the interceptors, with a trace header for the runs, as Go's tracing
        // interceptor writes one: scheduled runs went without either.
        return try await withSpan("CreateSchedule:\(id)", ofKind: .client) { span in
            var headers: [String: Payload] = [:]
            TraceHeader.inject(span.context, into: &headers)
            let input = CreateScheduleInput(request: request, headers: headers)
            return try await intercepted(interceptors, input, through: { try await $0.createSchedule($1, next: $2) }) { input in
                var r = input.request
                r.schedule.action.addHeaders(input.headers)
                _ = try await self.scheduleCall(input.scheduleID) { try await self.workflowService.createSchedule(r) }
                return ScheduleHandle(client: self, id: input.scheduleID)
            }
        }
    }

    /// A handle to an existing schedule (no RPC).
    public func scheduleHandle(id: String) -> ScheduleHandle {
        ScheduleHandle(client: self, id: id)
    }

    /// The namespace's schedules (optionally filtered by a visibility `query`), fetched page by
    /// page. Visibility is eventually consistent: a schedule created a moment ago may be missing.
    public func listSchedules(query: String = "", pageSize: Int = 100) -> ScheduleList {
        PagedList { [self] token in
            var r = Temporal_Api_Workflowservice_V1_ListSchedulesRequest()
            r.namespace = namespace
            r.maximumPageSize = Int32(clamping: pageSize)
            r.query = query
            r.nextPageToken = token
            let page = try await workflowService.listSchedules(r)
            return (page.schedules, page.nextPageToken)
        }
    }

    /// The wire form of a schedule.
    func scheduleProto(
        spec: ScheduleSpec, action: ScheduleAction, policies: SchedulePolicies,
        paused: Bool, note: String
    ) throws -> Temporal_Api_Schedule_V1_Schedule {
        var s = Temporal_Api_Schedule_V1_Schedule()
        s.spec = spec.proto
        s.action = try actionProto(action)
        s.policies = policies.proto
        s.state.paused = paused
        s.state.notes = note
        return s
    }

    /// The wire form of an action.
    /// - Throws: `TemporalError` `.invalidArgument` for options a scheduled run cannot have
    ///   (`ScheduleAction.inapplicableOptions`): dropped, they changed what the caller asked for
    ///   without a word (a start delay not applied, a reuse policy not enforced).
    func actionProto(_ action: ScheduleAction) throws -> Temporal_Api_Schedule_V1_ScheduleAction {
        let inapplicable = action.inapplicableOptions
        if !inapplicable.isEmpty {
            throw TemporalError(
                code: .invalidArgument,
                message:
                    "a schedule's action cannot have \(inapplicable.joined(separator: ", ")): they do not apply to scheduled runs "
                    + "(the schedule's spec says when runs start, its overlap policy whether one may start while another is "
                    + "open, and the server appends each run's time to its workflow id); leave them out of the action's options")
        }
        var info = Temporal_Api_Workflow_V1_NewWorkflowExecutionInfo()
        // The server appends each run's time to it; empty, every run's id was its time alone, so
        // schedules without one shared run ids (Go's client makes one up, as here).
        info.workflowID = action.workflowID.isEmpty ? UUID().uuidString : action.workflowID
        info.workflowType.name = action.workflowType
        info.taskQueue.name = action.taskQueue
        info.taskQueue.kind = .normal
        if !action.arguments.isEmpty { info.input = try dataConverter.toPayloads(action.arguments.map { $0 as any Encodable }) }
        let options = action.options
        if let t = options.executionTimeout { info.workflowExecutionTimeout = .init(duration: t) }
        if let t = options.runTimeout { info.workflowRunTimeout = .init(duration: t) }
        if let t = options.taskTimeout { info.workflowTaskTimeout = .init(duration: t) }
        if let p = options.retryPolicy { info.retryPolicy = p.proto }
        if !options.memo.isEmpty { info.memo.fields = try scheduleMap(options.memo) }
        if !options.searchAttributes.isEmpty {
            info.searchAttributes.indexedFields = try SearchAttributeEncoding.encode(options.searchAttributes)
        }
        if let s = options.staticSummary { info.userMetadata.summary = try dataConverter.toPayload(s) }
        if let o = options.versioningOverride { info.versioningOverride = o.proto }
        var a = Temporal_Api_Schedule_V1_ScheduleAction()
        a.action = .startWorkflow(info)
        return a
    }

    private func scheduleMap(_ values: [String: any Encodable & Sendable]) throws -> [String: Payload] {
        var out: [String: Payload] = [:]
        for (k, v) in values { out[k] = try schedulePayload(v) }
        return out
    }

    private func schedulePayload<T: Encodable>(_ value: T) throws -> Payload {
        try dataConverter.toPayload(value)
    }

    /// Runs a schedule RPC, naming the schedule in ALREADY_EXISTS and NOT_FOUND errors.
    func scheduleCall<T>(_ id: String, _ body: () async throws -> T) async throws -> T {
        do {
            return try await body()
        } catch var error as TemporalError {
            if error.code == .alreadyExists {
                error.message =
                    "schedule '\(id)' already exists in namespace '\(namespace)' (\(error.message)); update or delete it instead"
            } else if error.code == .notFound {
                error.message = "schedule '\(id)' not found in namespace '\(namespace)' (\(error.message))"
            }
            throw error
        }
    }
}

extension Temporal_Api_Schedule_V1_ScheduleAction {
    /// Adds `headers` to the header of the runs a start action starts (theirs win over the same
    /// keys already there).
    mutating func addHeaders(_ headers: [String: Payload]) {
        guard !headers.isEmpty, case .startWorkflow(var info)? = action else { return }
        info.header.fields.merge(headers) { _, new in new }
        action = .startWorkflow(info)
    }
}
