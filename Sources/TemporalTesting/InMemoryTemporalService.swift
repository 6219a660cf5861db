public import Foundation
import SwiftProtobuf
import Synchronization
public import Temporal
public import TemporalProto

/// A Temporal service in memory, for tests that should run in milliseconds without a server:
/// a `ServiceTransport` that answers the client's and the worker's calls from an in-process
/// model of workflow histories and task queues.
///
/// It models starts, workflow tasks (on a worker's sticky queue with the new events only, once
/// it answered with sticky attributes, until its ShutdownWorker; no sticky timeout), activities
/// with retries (after the policy's backoff) and eager activities, local-activity markers, timers, signals, legacy
/// queries (held while their run has a workflow task to answer, as a server holds them, then
/// answered as query tasks, where a server puts them in the next workflow task), cancellation, termination, search-attribute upserts and results. Time is skipped:
/// while a run waits only on timers, the clock jumps to the next one (as Temporal's test
/// server does), so `context.sleep(for: .days(1))` returns at once; while an activity or a
/// workflow task is under way, timers fire on the wall clock (a task or activity left on the
/// queue of a worker that stopped — it said so, or the queue went unpolled for 10 s — does not
/// count as under way). Events that arrive while a
/// workflow task is in flight (signals, activity outcomes, cancel requests) are written after
/// it is answered, as a server buffers them. A started workflow task that its worker does not
/// answer within the run's task timeout times out (WorkflowTaskTimedOut, then a new attempt on
/// the normal queue). Activities time out as on a server (start-to-close, heartbeat). Commands
/// a server refuses for their attributes (an activity or timer id already in use, a retry policy it
/// refuses) fail the
/// workflow task with the server's cause; a payload over the server's size limits (a result,
/// failure, activity input or local activity's result over 2 MiB, a search attribute value over
/// 2 KiB, a run's attributes over 40 KiB) also terminates the run, as a server does. It does not model child workflows, continue-as-new,
/// updates, schedules, visibility queries, namespaces, a workflow's run or execution timeout,
/// retry policy, cron schedule or start delay: those calls and options fail with UNIMPLEMENTED
/// or INVALID_ARGUMENT saying so — test them against `temporal server start-dev`. Activity
/// retries wait the policy's backoff, skipped like timers (not after a timeout).
public final class InMemoryTemporalService: ServiceTransport, Sendable {
    public var target: String { "in-memory" }
    private let state = Mutex(InMemoryState())
    private let waiters = Mutex(Waiters())
    private let closed = Atomic<Bool>(false)
    private let faults = Mutex<[String: (count: Int, error: GRPCStatusError)]>([:])
    private let scalingHint = Mutex<Int32?>(nil)
    /// The alarm that fires the next due timer: when it goes off (on the wall clock: the
    /// service's own clock jumps when time is skipped), and the task that waits for it.
    private let alarm = Mutex<(wake: ContinuousClock.Instant, task: Task<Void, Never>)?>(nil)

    /// - Parameter workflowTaskFailuresEndRuns: a failed workflow task (the workflow code threw
    ///   an error that is not an `ApplicationError`, a nondeterminism error, a command the
    ///   service refuses) terminates its run, saying why, so that a test awaiting its result
    ///   fails at once. Otherwise the task is retried as a server retries it (once here, then it
    ///   times out again and again), and the result never comes.
    /// - Parameter searchAttributes: the namespace's custom search attributes: starts and
    ///   upserts are checked as a server checks them (a custom attribute must be registered,
    ///   here or with AddSearchAttributes, its value of its type; system attributes are not
    ///   settable). Nil: not checked.
    /// - Parameter suggestContinueAsNewAt: the history length (events) from which workflow tasks
    ///   suggest continuing as new (`WorkflowContext.isContinueAsNewSuggested`), as a server's
    ///   `limit.historyCount.suggestContinueAsNew` (4,096 there); nil (the default): never. The
    ///   service does not model continue-as-new itself, so a suggestion only lets a test see
    ///   that a workflow notices it (one that then continues is refused).
    public init(
        workflowTaskFailuresEndRuns: Bool = false, searchAttributes: [String: IndexedValueType]? = nil,
        suggestContinueAsNewAt: Int? = nil
    ) {
        state.withLock {
            $0.workflowTaskFailureEndsRun = workflowTaskFailuresEndRuns
            $0.customSearchAttributes = searchAttributes
            $0.suggestContinueAsNewAt = suggestContinueAsNewAt.map(Int64.init) ?? .max
        }
        // As a server's matching: a task for a sticky queue nobody polls (lately) goes to the
        // normal queue at once.
        state.withLock {
            $0.stickyQueuePolled = { [weak self] name in
                self?.waiters.withLock { $0.isPolled(InMemoryState.workflowQueue(name), at: .now) } ?? true
            }
        }
    }

    deinit { alarm.withLock { $0?.task.cancel() } }

    /// The workflow clock: the wall clock, plus the jumps of skipped timers.
    public var now: Date { state.withLock { $0.now } }

    /// The history of a run (the latest of `workflowID` when `runID` is nil).
    public func history(workflowID: String, runID: String? = nil) throws -> [HistoryEvent] {
        try state.withLock { s in try s.execution(try s.run(workflowID: workflowID, runID: runID)).history }
    }

    /// Attaches a poller-scaling hint (`PollerScalingDecision.poll_request_delta_suggestion`) to
    /// every poll response from now on, as servers do to steer autoscaling pollers (nil: none).
    public func setPollerScalingHint(_ delta: Int32?) { scalingHint.withLock { $0 = delta } }

    /// Polls waiting on a task queue now (`activities`: its activity queue, else its workflow queue).
    public func waitingPolls(taskQueue: String, activities: Bool) -> Int {
        let key = activities ? InMemoryState.activityQueue(taskQueue) : InMemoryState.workflowQueue(taskQueue)
        return waiters.withLock { w in w.polls[key]?.filter { !$0.isFinished }.count ?? 0 }
    }

    /// Fails the next `count` calls of `rpc` (e.g. `PollWorkflowTaskQueue`) with `code`, as a
    /// server that is away or refuses would: for tests of retries, backoff and error reporting.
    public func failNextCalls(
        to rpc: String, count: Int = 1, code: GRPCStatusCode = .unavailable,
        message: String = "injected by the test"
    ) {
        faults.withLock { $0[rpc] = (count, GRPCStatusError(code: code, message: message)) }
    }

    public func close() {
        closed.store(true, ordering: .releasing)
        alarm.withLock { a in
            a?.task.cancel()
            a = nil
        }
        let all = waiters.withLock { w -> [Waiter] in
            defer { w = Waiters() }
            return w.polls.values.flatMap { $0 } + w.closes.values.flatMap { $0 } + Array(w.queries.values)
        }
        for waiter in all { waiter.resume(.failure(GRPCStatusError(code: .cancelled, message: "the in-memory service was closed"))) }
    }

    public func unary(method: String, request: Data, metadata: [(String, String)], timeout: Duration?) async throws -> Data {
        if closed.load(ordering: .acquiring) {
            throw GRPCStatusError(code: .cancelled, message: "the in-memory service was closed", method: method)
        }
        let rpc = String(method.split(separator: "/").last ?? "")
        let injected = faults.withLock { f -> GRPCStatusError? in
            guard let fault = f[rpc], fault.count > 0 else { return nil }
            f[rpc] = (fault.count - 1, fault.error)
            return fault.error
        }
        if var injected {
            injected.method = method
            throw injected
        }
        do {
            return try await handle(rpc, request, timeout: timeout ?? .seconds(10)).serializedData()
        } catch var status as GRPCStatusError {
            status.method = method
            throw status
        }
    }

    // MARK: Dispatch

    private func handle(_ rpc: String, _ bytes: Data, timeout: Duration) async throws -> any SwiftProtobuf.Message {
        typealias WS = Temporal_Api_Workflowservice_V1_StartWorkflowExecutionRequest
        switch rpc {
        case "GetSystemInfo":
            var r = Temporal_Api_Workflowservice_V1_GetSystemInfoResponse()
            r.serverVersion = "in-memory"
            r.capabilities.signalAndQueryHeader = true
            r.capabilities.internalErrorDifferentiation = true
            r.capabilities.sdkMetadata = true
            r.capabilities.encodedFailureAttributes = true
            return r
        case "StartWorkflowExecution":
            let r = try WS(serializedBytes: bytes)
            let (runID, started) = try mutate { try $0.start(r) }
            var response = Temporal_Api_Workflowservice_V1_StartWorkflowExecutionResponse()
            response.runID = runID
            response.started = started
            return response
        case "PollWorkflowTaskQueue":
            let r = try Temporal_Api_Workflowservice_V1_PollWorkflowTaskQueueRequest(serializedBytes: bytes)
            return try await poll(InMemoryState.workflowQueue(r.taskQueue.name), timeout: timeout) as PollWorkflowTaskQueueResponse
        case "PollActivityTaskQueue":
            let r = try Temporal_Api_Workflowservice_V1_PollActivityTaskQueueRequest(serializedBytes: bytes)
            return try await poll(InMemoryState.activityQueue(r.taskQueue.name), timeout: timeout) as ActivityTask
        case "RespondWorkflowTaskCompleted":
            let r = try Temporal_Api_Workflowservice_V1_RespondWorkflowTaskCompletedRequest(serializedBytes: bytes)
            let token = try InMemoryToken(r.taskToken)
            var response = Temporal_Api_Workflowservice_V1_RespondWorkflowTaskCompletedResponse()
            try mutate { s in
                response.activityTasks = try s.completeWorkflowTask(token, r)
                s.fireDueTimers()  // before the next task starts: it brings them, as a server's would
                if r.returnNewWorkflowTask, r.forceCreateNewWorkflowTask, let next = s.startWorkflowTask(token.runID) {
                    response.workflowTask = next
                }
            }
            return response
        case "RespondWorkflowTaskFailed":
            let r = try Temporal_Api_Workflowservice_V1_RespondWorkflowTaskFailedRequest(serializedBytes: bytes)
            let token = try InMemoryToken(r.taskToken)
            try mutate { try $0.failWorkflowTask(token, r) }
            return Temporal_Api_Workflowservice_V1_RespondWorkflowTaskFailedResponse()
        case "RespondActivityTaskCompleted":
            let r = try Temporal_Api_Workflowservice_V1_RespondActivityTaskCompletedRequest(serializedBytes: bytes)
            let token = try InMemoryToken(r.taskToken)
            try mutate { try $0.finishActivity(token, .completed(r.hasResult ? r.result : nil), identity: r.identity) }
            return Temporal_Api_Workflowservice_V1_RespondActivityTaskCompletedResponse()
        case "RespondActivityTaskFailed":
            let r = try Temporal_Api_Workflowservice_V1_RespondActivityTaskFailedRequest(serializedBytes: bytes)
            // As the frontend does: an attempt fails only with an application failure.
            guard case .applicationFailureInfo? = r.failure.failureInfo else {
                throw GRPCStatusError(code: .invalidArgument, message: "Failure must have ApplicationFailureInfo.")
            }
            let token = try InMemoryToken(r.taskToken)
            try mutate { s in
                // The failure's details are the attempt's last heartbeat (the next attempt resumes from them).
                if r.hasLastHeartbeatDetails { _ = try s.heartbeat(token, details: r.lastHeartbeatDetails) }
                try s.finishActivity(token, .failed(r.failure), identity: r.identity)
            }
            return Temporal_Api_Workflowservice_V1_RespondActivityTaskFailedResponse()
        case "RespondActivityTaskCanceled":
            let r = try Temporal_Api_Workflowservice_V1_RespondActivityTaskCanceledRequest(serializedBytes: bytes)
            let token = try InMemoryToken(r.taskToken)
            try mutate { try $0.finishActivity(token, .canceled(r.hasDetails ? r.details : Payloads()), identity: r.identity) }
            return Temporal_Api_Workflowservice_V1_RespondActivityTaskCanceledResponse()
        case "RecordActivityTaskHeartbeat":
            let r = try Temporal_Api_Workflowservice_V1_RecordActivityTaskHeartbeatRequest(serializedBytes: bytes)
            let token = try InMemoryToken(r.taskToken)
            var response = Temporal_Api_Workflowservice_V1_RecordActivityTaskHeartbeatResponse()
            response.cancelRequested = try state.withLock { try $0.heartbeat(token, details: r.hasDetails ? r.details : nil) }
            return response
        case "SignalWorkflowExecution":
            let r = try Temporal_Api_Workflowservice_V1_SignalWorkflowExecutionRequest(serializedBytes: bytes)
            try mutate { s in
                let run = try s.run(workflowID: r.workflowExecution.workflowID, runID: r.workflowExecution.runID)
                try s.signal(
                    run, name: r.signalName, input: r.hasInput ? r.input : nil, header: r.hasHeader ? r.header : nil, identity: r.identity)
            }
            return Temporal_Api_Workflowservice_V1_SignalWorkflowExecutionResponse()
        case "RequestCancelWorkflowExecution":
            let r = try Temporal_Api_Workflowservice_V1_RequestCancelWorkflowExecutionRequest(serializedBytes: bytes)
            try mutate { s in
                try s.requestCancel(
                    try s.run(
                        workflowID: r.workflowExecution.workflowID, runID: r.workflowExecution.runID,
                        firstExecutionRunID: r.firstExecutionRunID), identity: r.identity)
            }
            return Temporal_Api_Workflowservice_V1_RequestCancelWorkflowExecutionResponse()
        case "TerminateWorkflowExecution":
            let r = try Temporal_Api_Workflowservice_V1_TerminateWorkflowExecutionRequest(serializedBytes: bytes)
            try mutate { s in
                try s.terminate(
                    try s.run(
                        workflowID: r.workflowExecution.workflowID, runID: r.workflowExecution.runID,
                        firstExecutionRunID: r.firstExecutionRunID), reason: r.reason, identity: r.identity)
            }
            return Temporal_Api_Workflowservice_V1_TerminateWorkflowExecutionResponse()
        case "GetWorkflowExecutionHistory":
            let r = try Temporal_Api_Workflowservice_V1_GetWorkflowExecutionHistoryRequest(serializedBytes: bytes)
            return try await history(r, timeout: timeout)
        case "QueryWorkflow":
            let r = try Temporal_Api_Workflowservice_V1_QueryWorkflowRequest(serializedBytes: bytes)
            return try await query(r, timeout: timeout)
        case "RespondQueryTaskCompleted":
            let r = try Temporal_Api_Workflowservice_V1_RespondQueryTaskCompletedRequest(serializedBytes: bytes)
            let token = try InMemoryToken(r.taskToken)
            let waiter = waiters.withLock { $0.queries.removeValue(forKey: token.queryID ?? "") }
            waiter?.resume(.success(r))
            return Temporal_Api_Workflowservice_V1_RespondQueryTaskCompletedResponse()
        case "AddSearchAttributes":
            let r = try Temporal_Api_Operatorservice_V1_AddSearchAttributesRequest(serializedBytes: bytes)
            try mutate { s in
                var custom = s.customSearchAttributes ?? [:]
                for (name, type) in r.searchAttributes {
                    if let have = custom[name], have != type {
                        throw GRPCStatusError(code: .alreadyExists, message: "search attribute \(name) already exists with type \(have)")
                    }
                    if InMemorySearchAttributes.system.contains(name) || InMemorySearchAttributes.settablePredefined[name] != nil {
                        throw GRPCStatusError(code: .invalidArgument, message: "search attribute \(name) is reserved by the system")
                    }
                    custom[name] = type
                }
                s.customSearchAttributes = custom
            }
            return Temporal_Api_Operatorservice_V1_AddSearchAttributesResponse()
        case "ListSearchAttributes":
            var response = Temporal_Api_Operatorservice_V1_ListSearchAttributesResponse()
            response.customAttributes = state.withLock { $0.customSearchAttributes ?? [:] }
            return response
        case "ShutdownWorker":
            let r = try Temporal_Api_Workflowservice_V1_ShutdownWorkerRequest(serializedBytes: bytes)
            if !r.taskQueue.isEmpty {
                // The kinds of polls the stopping worker made (both when it does not say).
                let types = r.taskQueueTypes.isEmpty ? [.workflow, .activity] : r.taskQueueTypes
                waiters.withLock { w in
                    if types.contains(.workflow) { w.stopped.insert(InMemoryState.workflowQueue(r.taskQueue)) }
                    if types.contains(.activity) { w.stopped.insert(InMemoryState.activityQueue(r.taskQueue)) }
                }
            }
            try mutate { $0.retireStickyQueue(r.stickyTaskQueue) }
            return Temporal_Api_Workflowservice_V1_ShutdownWorkerResponse()
        default:
            throw GRPCStatusError(
                code: .unimplemented,
                message: "the in-memory test service does not implement \(rpc); test this against a dev server (temporal server start-dev)")
        }
    }

    // MARK: State changes and wake-ups

    /// Changes the state, skips time where runs wait only on timers, and hands queued tickets
    /// and closed runs to whoever waits for them.
    @discardableResult
    private func mutate<T>(_ change: (inout InMemoryState) throws -> T) throws -> T {
        // Wake-ups are handed out even when the change throws (what it did stays done).
        var value: Result<T, any Error>?
        var nextTimer: (due: Date, now: Date)?
        let deliveries = state.withLock { s -> [(Waiter, Result<any Sendable, any Error>)] in
            s.pinnedWallClock = Date()
            defer { s.pinnedWallClock = nil }
            value = Result { try change(&s) }
            s.timeOutWorkflowTasks()
            s.timeOutStickyTasks()
            s.timeOutActivities()
            s.fireDueTimers()
            let (awaited, abandoned) = waiters.withLock { w in
                (w.closes.values.contains { !$0.isEmpty }, w.abandonedQueues(at: .now))
            }
            s.skipTimeWhileAllIdle(awaited: awaited, abandonedQueues: abandoned.queues)
            let out = deliver(&s)  // starts tasks for waiting polls: their deadlines count too
            // A queue whose worker may have gone is looked at again once it would count as gone.
            let recheck = abandoned.next.map {
                s.now.addingTimeInterval(Double($0.components.seconds) + Double($0.components.attoseconds) / 1e18)
            }
            nextTimer = [
                s.nextTimerDue, s.nextWorkflowTaskDeadline, s.nextStickyDeadline, s.nextActivityDeadline, s.nextBackoffEnd, recheck,
            ].compactMap { $0 }
                .min().map { ($0, s.now) }
            return out
        }
        for (waiter, result) in deliveries { waiter.resume(result) }
        if let nextTimer { setAlarm(for: nextTimer.due, now: nextTimer.now) }
        guard let value else { throw GRPCStatusError(code: .internal, message: "in-memory state change did not run") }
        return try value.get()
    }

    /// Makes sure the state is looked at again when the next timer is due, so that it fires on
    /// time even when no call comes in meanwhile (a timer raced against a running activity).
    private func setAlarm(for due: Date, now: Date) {
        let wake = ContinuousClock.now + .seconds(max(0, due.timeIntervalSince(now)))
        alarm.withLock { a in
            guard !closed.load(ordering: .acquiring) else { return }
            if let a, a.wake <= wake { return }
            a?.task.cancel()
            a = (
                wake,
                Task { [weak self] in
                    try? await Task.sleep(until: wake, clock: .continuous)
                    guard !Task.isCancelled, let self, !self.closed.load(ordering: .acquiring) else { return }
                    self.alarm.withLock { if $0?.wake == wake { $0 = nil } }
                    _ = try? self.mutate { _ in }
                }
            )
        }
    }

    /// Matches tickets with waiting polls and closed runs with result waiters (under the state lock).
    private func deliver(_ s: inout InMemoryState) -> [(Waiter, Result<any Sendable, any Error>)] {
        waiters.withLock { w in
            var out: [(Waiter, Result<any Sendable, any Error>)] = []
            for (key, list) in w.polls where !list.isEmpty {
                var pending = list.filter { !$0.isFinished }
                while !pending.isEmpty, var tickets = s.queues[key], let next = tickets.firstIndex(where: { s.mayHandOut($0) }) {
                    let ticket = tickets.remove(at: next)
                    s.queues[key] = tickets
                    if let task = materialize(ticket, &s) {
                        out.append((pending.removeFirst(), .success(task)))
                        w.lastPolled[key] = .now
                    }
                }
                w.polls[key] = pending
            }
            for (runID, list) in w.closes where !list.isEmpty {
                if let close = s.executions[runID]?.closeEvent {
                    out += list.map { ($0, .success(close)) }
                    w.closes[runID] = []
                }
            }
            return out
        }
    }

    private func materialize(_ ticket: InMemoryTicket, _ s: inout InMemoryState) -> (any Sendable)? {
        switch ticket {
        case .workflowTask(let runID): return s.startWorkflowTask(runID)
        case .activity(let runID, let id): return s.startActivity(runID, scheduledID: id)
        case .query(let runID, let queryID, let query):
            s.releasedQueries.remove(queryID)
            return s.queryTask(runID, queryID: queryID, query: query)
        }
    }

    // MARK: Long polls

    private func poll<Response: SwiftProtobuf.Message>(_ key: String, timeout: Duration) async throws -> Response {
        let waiter = Waiter()
        let value: any Sendable = try await waiter.wait(timeout: min(timeout, .seconds(60)), empty: Response()) {
            self.waiters.withLock { w in
                w.polls[key, default: []].append(waiter)
                w.lastPolled[key] = .now
                w.stopped.remove(key)
            }
            try? mutate { _ in }  // a ticket may be queued already
        } onGiveUp: {
            self.waiters.withLock { w in
                w.lastPolled[key] = .now
                let before = w.polls[key]?.count ?? 0
                w.polls[key]?.removeAll { $0 === waiter }
                return (w.polls[key]?.count ?? 0) < before
            }
        }
        let response = (value as? Response) ?? Response()
        guard let delta = scalingHint.withLock({ $0 }) else { return response }
        if var task = response as? ActivityTask {
            task.pollerScalingDecision.pollRequestDeltaSuggestion = delta
            return (task as? Response) ?? response
        }
        if var task = response as? PollWorkflowTaskQueueResponse {
            task.pollerScalingDecision.pollRequestDeltaSuggestion = delta
            return (task as? Response) ?? response
        }
        return response
    }

    private func history(
        _ r: Temporal_Api_Workflowservice_V1_GetWorkflowExecutionHistoryRequest,
        timeout: Duration
    ) async throws -> Temporal_Api_Workflowservice_V1_GetWorkflowExecutionHistoryResponse {
        let runID = try state.withLock { try $0.run(workflowID: r.execution.workflowID, runID: r.execution.runID) }
        var response = Temporal_Api_Workflowservice_V1_GetWorkflowExecutionHistoryResponse()
        guard r.historyEventFilterType == .closeEvent else {
            response.history.events = try state.withLock { try $0.execution(runID).history }
            return response
        }
        if let close = try state.withLock({ try $0.execution(runID).closeEvent }) {
            response.history.events = [close]
            return response
        }
        guard r.waitNewEvent else { return response }
        let waiter = Waiter()
        let value = try await waiter.wait(timeout: min(timeout, .seconds(20)), empty: HistoryEvent()) {
            self.waiters.withLock { $0.closes[runID, default: []].append(waiter) }
            try? mutate { _ in }
        } onGiveUp: {
            self.waiters.withLock { w in
                let before = w.closes[runID]?.count ?? 0
                w.closes[runID]?.removeAll { $0 === waiter }
                return (w.closes[runID]?.count ?? 0) < before
            }
        }
        if let close = value as? HistoryEvent, close.eventID != 0 { response.history.events = [close] }
        return response
    }

    private func query(
        _ r: Temporal_Api_Workflowservice_V1_QueryWorkflowRequest,
        timeout: Duration
    ) async throws -> Temporal_Api_Workflowservice_V1_QueryWorkflowResponse {
        // As a server: a query whose reject condition the closed run meets is answered with
        // the run's status and never reaches a worker.
        if r.queryRejectCondition == .notOpen || r.queryRejectCondition == .notCompletedCleanly {
            let status = try state.withLock { s -> InMemoryExecution.Status in
                try s.execution(try s.run(workflowID: r.execution.workflowID, runID: r.execution.runID)).status
            }
            let rejected = r.queryRejectCondition == .notOpen ? status != .running : ![.running, .completed].contains(status)
            if rejected {
                var response = Temporal_Api_Workflowservice_V1_QueryWorkflowResponse()
                response.queryRejected.status = status.apiStatus
                return response
            }
        }
        // As a server: a run that closed before any workflow task completed has no state a
        // query could read, and a run whose workflow task keeps failing (attempt 3 on) would
        // fail the query too; both fail at once (WorkflowNotReady: FAILED_PRECONDITION).
        let notReady = try state.withLock { s -> String? in
            let e = try s.execution(try s.run(workflowID: r.execution.workflowID, runID: r.execution.runID))
            if !e.isRunning, !e.history.contains(where: { $0.eventType == .workflowTaskCompleted }) {
                return "Workflow execution closed before WorkflowTaskStarted event"
            }
            if e.isRunning, e.workflowTaskAttempt >= 3 { return "Unable to query workflow due to Workflow Task in failed state." }
            return nil
        }
        if let notReady {
            throw InMemoryState.statusError(.failedPrecondition, notReady, detail: Temporal_Api_Errordetails_V1_WorkflowNotReadyFailure())
        }
        let queryID = UUID().uuidString
        let waiter = Waiter()
        let value = try await waiter.wait(timeout: timeout, empty: nil as Temporal_Api_Workflowservice_V1_RespondQueryTaskCompletedRequest?)
        {
            self.waiters.withLock { $0.queries[queryID] = waiter }
            try mutate { s in
                let runID = try s.run(workflowID: r.execution.workflowID, runID: r.execution.runID)
                let queue = try s.execution(runID).taskQueue
                s.enqueue(.query(runID: runID, queryID: queryID, query: r.query), on: InMemoryState.workflowQueue(queue))
            }
        } onGiveUp: {
            self.waiters.withLock { $0.queries.removeValue(forKey: queryID) != nil }
        }
        guard let answer = value as? Temporal_Api_Workflowservice_V1_RespondQueryTaskCompletedRequest else {
            throw GRPCStatusError(
                code: .deadlineExceeded,
                message: "no worker answered query '\(r.query.queryType)' (is one polling the workflow's task queue?)")
        }
        guard answer.completedType == .answered else {
            // As a server: INVALID_ARGUMENT with a QueryFailedFailure detail carrying the
            // handler's failure (the client's `.queryFailed`, with the failure's type).
            var detail = Temporal_Api_Errordetails_V1_QueryFailedFailure()
            if answer.hasFailure { detail.failure = answer.failure } else { detail.failure.message = answer.errorMessage }
            throw InMemoryState.statusError(.invalidArgument, answer.errorMessage, detail: detail)
        }
        var response = Temporal_Api_Workflowservice_V1_QueryWorkflowResponse()
        if answer.hasQueryResult { response.queryResult = answer.queryResult }
        return response
    }
}

/// Long-poll waiters by what they wait for.
private struct Waiters {
    var polls: [String: [Waiter]] = [:]
    var closes: [String: [Waiter]] = [:]
    var queries: [String: Waiter] = [:]
    /// When a poll of each queue last began or ended (on the wall clock).
    var lastPolled: [String: ContinuousClock.Instant] = [:]
    /// Queues a worker said it stopped polling (ShutdownWorker), until polled again.
    var stopped: Set<String> = []

    /// How long a queue polled before may go without a poll before its worker counts as gone
    /// (a worker that stopped without ShutdownWorker; long, as a loaded machine delays polls).
    static let abandonedAfter = Duration.seconds(10)

    /// Whether `key` has a poll waiting, or had one within `abandonedAfter` (a server's sticky
    /// poller window: a sticky queue without one gets no tasks).
    func isPolled(_ key: String, at now: ContinuousClock.Instant) -> Bool {
        if polls[key]?.isEmpty == false { return true }
        guard !stopped.contains(key), let last = lastPolled[key] else { return false }
        return now - last < Self.abandonedAfter
    }

    /// The queues whose workers went away — a worker stopped polling it (ShutdownWorker), or it
    /// was polled before and not for `abandonedAfter` — with no poll waiting now, and when the
    /// next of the others would count as gone.
    func abandonedQueues(at now: ContinuousClock.Instant) -> (queues: Set<String>, next: Duration?) {
        var queues = stopped.filter { polls[$0]?.isEmpty != false }
        var next: Duration?
        for (key, last) in lastPolled where polls[key]?.isEmpty != false && !queues.contains(key) {
            let idle = now - last
            if idle >= Self.abandonedAfter {
                queues.insert(key)
            } else {
                next = min(next ?? Self.abandonedAfter, Self.abandonedAfter - idle)
            }
        }
        return (queues, next)
    }
}

/// One waiting call: resumed once, by a delivery, a timeout (with an empty answer) or
/// cancellation.
final class Waiter: Sendable {
    private enum Phase {
        case idle
        case waiting(CheckedContinuation<any Sendable, any Error>)
        case early(Result<any Sendable, any Error>)
        case done
    }
    private let phase = Mutex<Phase>(.idle)
    private let cancelled = Atomic<Bool>(false)

    /// Resumed (or about to be): a delivery must skip it.
    var isFinished: Bool {
        phase.withLock { p in
            switch p {
            case .early, .done: true
            case .idle, .waiting: false
            }
        }
    }

    func resume(_ result: Result<any Sendable, any Error>) {
        let c = phase.withLock { p -> CheckedContinuation<any Sendable, any Error>? in
            switch p {
            case .idle:
                p = .early(result)
                return nil
            case .waiting(let c):
                p = .done
                return c
            case .early, .done: return nil
            }
        }
        c?.resume(with: result)
    }

    private func attach(_ c: CheckedContinuation<any Sendable, any Error>) {
        let early = phase.withLock { p -> Result<any Sendable, any Error>? in
            if case .early(let result) = p {
                p = .done
                return result
            }
            p = .waiting(c)
            return nil
        }
        if let early { c.resume(with: early) }
    }

    /// Registers (in `register`, which may throw) and waits; after `timeout` answers `empty`.
    /// `onGiveUp` unregisters and says whether it did: when it did not, a delivery already took
    /// the waiter and answers it (so a timeout or a cancellation never swallows a task).
    func wait(
        timeout: Duration, empty: any Sendable, register: () throws -> Void,
        onGiveUp: @escaping @Sendable () -> Bool
    ) async throws -> any Sendable {
        let cancellation = GRPCStatusError(code: .cancelled, message: "call cancelled")
        let timer = Task { [self] in
            try? await Task.sleep(for: timeout)
            if !Task.isCancelled, onGiveUp() { resume(.success(empty)) }
        }
        defer { timer.cancel() }
        return try await withTaskCancellationHandler {
            try await withCheckedThrowingContinuation { (c: CheckedContinuation<any Sendable, any Error>) in
                attach(c)
                if cancelled.load(ordering: .acquiring) {
                    resume(.failure(cancellation))
                    return
                }
                do { try register() } catch {
                    _ = onGiveUp()
                    resume(.failure(error))
                    return
                }
                // Cancelled between the check above and the registration: `onCancel` found
                // nothing to unregister, so the waiter would stay registered (and take a task).
                if cancelled.load(ordering: .acquiring), onGiveUp() { resume(.failure(cancellation)) }
            }
        } onCancel: { [self] in
            cancelled.store(true, ordering: .releasing)
            if onGiveUp() { resume(.failure(cancellation)) }
        }
    }
}
