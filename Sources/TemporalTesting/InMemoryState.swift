import Foundation
import SwiftProtobuf
import Temporal
import TemporalProto

/// What a task token of the in-memory service names.
struct InMemoryToken: Codable, Hashable {
    enum Kind: String, Codable { case workflow, activity, query }
    var kind: Kind
    var runID: String
    var id: Int64 = 0
    var attempt: Int32 = 1
    var queryID: String?

    var data: Data { (try? JSONEncoder().encode(self)) ?? Data() }
    init(kind: Kind, runID: String, id: Int64 = 0, attempt: Int32 = 1, queryID: String? = nil) {
        self.kind = kind
        self.runID = runID
        self.id = id
        self.attempt = attempt
        self.queryID = queryID
    }
    init(_ data: Data) throws {
        do { self = try JSONDecoder().decode(Self.self, from: data) } catch {
            throw GRPCStatusError(code: .invalidArgument, message: "not a task token of the in-memory service")
        }
    }
}

/// Work waiting for a poller.
enum InMemoryTicket {
    case workflowTask(runID: String)
    case query(runID: String, queryID: String, query: Temporal_Api_Query_V1_WorkflowQuery)
    case activity(runID: String, scheduledID: Int64)
}

/// The whole in-memory service state, only touched under `InMemoryTemporalService`'s lock.
struct InMemoryState {
    /// Whether a worker polls this sticky queue (lately): set by the service once.
    var stickyQueuePolled: @Sendable (String) -> Bool = { _ in true }
    /// How far skipped timers moved the clock ahead of the wall clock.
    var skipped: TimeInterval = 0
    /// The service's clock: the wall clock plus what skipping added, as Temporal's test server
    /// keeps it. It never lags real time, which the worker measures activity deadlines against
    /// (a clock standing still since the service started made long tests' activities start
    /// past their deadline).
    /// One state change (`InMemoryTemporalService.mutate`) reads one wall-clock instant
    /// (`pinnedWallClock`), as a server stamps a request's events with one time: timers a
    /// workflow task starts together are due together.
    var now: Date { (pinnedWallClock ?? Date()).addingTimeInterval(skipped) }
    /// The wall clock of the state change in progress, nil between them.
    var pinnedWallClock: Date?
    var executions: [String: InMemoryExecution] = [:]
    /// Whether a failed workflow task ends its run (`InMemoryTemporalService.init`).
    var workflowTaskFailureEndsRun = false
    /// The history length from which workflow tasks suggest continuing as new (`.max`: never).
    var suggestContinueAsNewAt: Int64 = .max
    /// The namespace's custom search attributes (`InMemoryTemporalService.init`,
    /// AddSearchAttributes); nil: attributes are not checked.
    var customSearchAttributes: [String: IndexedValueType]?
    /// The current run of each workflow id.
    var currentRun: [String: String] = [:]
    /// Tickets by queue key (`workflow/<name>` or `activity/<name>`).
    var queues: [String: [InMemoryTicket]] = [:]
    /// Sticky queues of workers that stopped (ShutdownWorker).
    var retiredStickyQueues: Set<String> = []
    /// Queries held back while their run had a workflow task (`mayHandOut`) that a task's
    /// answer released: they go out whatever the run does next.
    var releasedQueries: Set<String> = []
    /// Activities that never succeed, whose policy sets no maximum and which nothing else ends
    /// (no schedule-to-close timeout, no timer in the run) stop here (time is skipped, so
    /// unbounded retries would spin): their run is terminated (`endlessRetries`).
    static let maximumActivityAttempts: Int32 = 20
    /// The same for an activity whose retries something else ends (its schedule-to-close
    /// timeout, a timer the workflow races it with): skipped time reaches it long before this
    /// (a week's schedule-to-close under the default policy is about 6,000 attempts, half a
    /// millisecond each here for an activity that fails at once; 2,000 cut it short).
    static let maximumBoundedActivityAttempts: Int32 = 100_000

    /// How many activities a run may have open at once: a server's default
    /// (`limit.numPendingActivities.error`); one more fails the workflow task.
    static let pendingActivitiesLimit = 2_000

    /// The identity this service records on what it does itself (terminations).
    static let identity = "in-memory test service"

    /// Why the run of `activity` ends now, if it is one whose policy sets no maximum and that
    /// has failed `maximumActivityAttempts` times: a server would retry it for ever (the workflow
    /// never sees the failure), which a test would wait out; nor may the workflow see a failure
    /// it never sees in production (MAXIMUM_ATTEMPTS_REACHED, which it could handle). The
    /// service terminates the run, saying why, so that the test fails at once and clearly.
    ///
    /// An activity with a schedule-to-close timeout, or in a run with a timer started, is not
    /// stopped at `maximumActivityAttempts`: its retries end by that timeout, or the workflow
    /// stops waiting for it when the timer fires, as on a server (it was stopped after 20
    /// attempts, about 22 minutes of skipped time under the default policy: the ETL's load,
    /// retried for 30 minutes, never reached its timeout here).
    static func endlessRetries(_ activity: InMemoryExecution.Activity, in run: InMemoryExecution, after failure: Failure) -> String? {
        let bounded =
            activity.attributes.scheduleToCloseTimeout.seconds > 0 || activity.attributes.scheduleToCloseTimeout.nanos > 0
            || !run.timers.isEmpty
        let limit = bounded ? maximumBoundedActivityAttempts : maximumActivityAttempts
        guard activity.attributes.retryPolicy.maximumAttempts == 0, activity.attempt >= limit else {
            return nil
        }
        let a = activity.attributes
        let prefix =
            "activity '\(a.activityType.name)' (id \(a.activityID)) failed \(activity.attempt) attempts, the last with "
            + "\"\(failure.message)\", under a retry policy without a maximum: a server would retry it "
        if bounded {
            return prefix
                + "until its schedule-to-close timeout (or until the workflow stopped waiting for it), more attempts than the "
                + "test environment makes, so it terminates the run. Fix the activity, or set the policy's maximumAttempts or "
                + "a shorter schedule-to-close timeout to test the failure path"
        }
        return prefix + "for ever and the "
            + "workflow would never see the failure, so the test environment terminates the run. Fix the activity, or set "
            + "the policy's maximumAttempts to test the failure path"
    }

    static func workflowQueue(_ name: String) -> String { "workflow/" + name }
    static func activityQueue(_ name: String) -> String { "activity/" + name }

    func execution(_ runID: String) throws -> InMemoryExecution {
        guard let e = executions[runID] else {
            throw GRPCStatusError(code: .notFound, message: "workflow run \(runID) not found")
        }
        return e
    }

    /// The run a cancel or terminate addresses: with `firstExecutionRunID` (a handle that
    /// started the run), the current run only while it is of that chain (a run of this service
    /// is its own chain); a running one of another is not found, as on a server. It reached
    /// whatever run held the id, so a stale handle cancelled a newer run.
    func run(workflowID: String, runID: String?, firstExecutionRunID: String) throws -> String {
        guard !firstExecutionRunID.isEmpty else { return try run(workflowID: workflowID, runID: runID) }
        let current = try run(workflowID: workflowID, runID: nil)
        if current != firstExecutionRunID, executions[current]?.isRunning == true {
            throw GRPCStatusError(
                code: .notFound, message: "workflow execution not found: \(workflowID) (the run started as \(firstExecutionRunID))")
        }
        return current
    }

    func run(workflowID: String, runID: String?) throws -> String {
        if let runID, !runID.isEmpty {
            // As a server: a run of another workflow id, or none, is not found.
            guard let e = executions[runID], e.workflowID == workflowID else {
                throw GRPCStatusError(code: .notFound, message: "workflow execution not found: \(workflowID) (run \(runID))")
            }
            return runID
        }
        guard let current = currentRun[workflowID] else {
            throw GRPCStatusError(code: .notFound, message: "workflow not found for ID: \(workflowID)")
        }
        return current
    }

    mutating func enqueue(_ ticket: InMemoryTicket, on key: String) {
        queues[key, default: []].append(ticket)
    }

    /// A worker stopped (ShutdownWorker): its sticky queue is gone, so its runs' tasks go to
    /// their normal queues again, with full history.
    mutating func retireStickyQueue(_ name: String) {
        guard !name.isEmpty else { return }
        retiredStickyQueues.insert(name)  // a task answered late by the stopping worker must not name it again
        for (runID, e) in executions where e.stickyQueue == name {
            executions[runID]?.stickyQueue = nil
        }
        for ticket in queues.removeValue(forKey: Self.workflowQueue(name)) ?? [] {
            guard case .workflowTask(let runID) = ticket, let e = executions[runID] else { continue }
            enqueue(ticket, on: Self.workflowQueue(e.taskQueue))
        }
    }

    // MARK: Starting

    /// Starts a run, as a server applies the id's conflict and reuse policies: a running run
    /// is returned (`useExisting`, `started` false), terminated (`terminateExisting`, or the
    /// reuse policy's `terminateIfRunning`) or refused; a closed one's id is reused unless
    /// `rejectDuplicate` (or `allowDuplicateFailedOnly` after a success) says no. A refusal is
    /// ALREADY_EXISTS with the run's id in a `WorkflowExecutionAlreadyStartedFailure`.
    mutating func start(_ r: Temporal_Api_Workflowservice_V1_StartWorkflowExecutionRequest) throws -> (runID: String, started: Bool) {
        // Options the service would accept and then not honour: a test would pass where a
        // server times the run out, retries it or delays it.
        func set(_ duration: SwiftProtobuf.Google_Protobuf_Duration) -> Bool { duration.seconds > 0 || duration.nanos > 0 }
        let unmodelled =
            [
                r.hasWorkflowExecutionTimeout && set(r.workflowExecutionTimeout) ? "an execution timeout" : nil,
                r.hasWorkflowRunTimeout && set(r.workflowRunTimeout) ? "a run timeout" : nil,
                r.hasRetryPolicy ? "a workflow retry policy" : nil, r.cronSchedule.isEmpty ? nil : "a cron schedule",
                r.hasWorkflowStartDelay && set(r.workflowStartDelay) ? "a start delay" : nil,
            ]
            .compactMap { $0 }
        if !unmodelled.isEmpty {
            throw GRPCStatusError(
                code: .invalidArgument,
                message: Self.unsupportedPrefix
                    + "\(unmodelled.joined(separator: ", ")) of a workflow: leave it out of this test, or test it against `temporal server start-dev`"
            )
        }
        if r.hasSearchAttributes, let custom = customSearchAttributes,
            let problem = InMemorySearchAttributes.problem(r.searchAttributes, custom: custom)
        {
            throw GRPCStatusError(code: .invalidArgument, message: problem)
        }
        // As the frontend refuses these combinations, whether a run is open or not.
        if r.workflowIDReusePolicy == .terminateIfRunning, r.workflowIDConflictPolicy != .unspecified {
            throw GRPCStatusError(
                code: .invalidArgument,
                message:
                    "Invalid WorkflowIDReusePolicy: WORKFLOW_ID_REUSE_POLICY_TERMINATE_IF_RUNNING cannot be used together with a WorkflowIDConflictPolicy"
            )
        }
        if r.workflowIDReusePolicy == .rejectDuplicate, r.workflowIDConflictPolicy == .terminateExisting {
            throw GRPCStatusError(
                code: .invalidArgument,
                message:
                    "Invalid WorkflowIDConflictPolicy: WORKFLOW_ID_CONFLICT_POLICY_TERMINATE_EXISTING cannot be used together with WorkflowIDReusePolicy WORKFLOW_ID_REUSE_POLICY_REJECT_DUPLICATE"
            )
        }
        if let current = currentRun[r.workflowID], let existing = executions[current] {
            // A start again with the request id that started the current run (a retry, or a
            // caller's own idempotency key): that run, whatever the policies, as a server answers.
            if !r.requestID.isEmpty, existing.startRequestID == r.requestID { return (current, true) }
            if existing.isRunning {
                switch r.workflowIDConflictPolicy {
                case .useExisting: return (current, false)
                case .terminateExisting:
                    try terminate(
                        current, reason: "terminated by a start with the conflict policy TERMINATE_EXISTING", identity: r.identity)
                case .unspecified where r.workflowIDReusePolicy == .terminateIfRunning:
                    try terminate(current, reason: "terminated by a start with the reuse policy TERMINATE_IF_RUNNING", identity: r.identity)
                default:
                    throw Self.alreadyStarted("workflow execution already started: \(r.workflowID) (run \(current))", runID: current)
                }
            } else if r.workflowIDReusePolicy == .rejectDuplicate
                || (r.workflowIDReusePolicy == .allowDuplicateFailedOnly && existing.status == .completed)
            {
                throw Self.alreadyStarted(
                    "workflow id \(r.workflowID) was already used by run \(current), and the reuse policy \(r.workflowIDReusePolicy) forbids another",
                    runID: current)
            }
        }
        let runID = UUID().uuidString.lowercased()
        var e = InMemoryExecution(workflowID: r.workflowID, runID: runID, workflowType: r.workflowType.name, taskQueue: r.taskQueue.name)
        if !r.namespace.isEmpty { e.namespace = r.namespace }
        e.startRequestID = r.requestID
        e.append(.workflowExecutionStarted, at: now) { event in
            var a = Temporal_Api_History_V1_WorkflowExecutionStartedEventAttributes()
            a.workflowType = r.workflowType
            a.taskQueue = r.taskQueue
            if r.hasInput { a.input = r.input }
            if r.hasHeader { a.header = r.header }
            a.attempt = 1
            a.firstExecutionRunID = runID
            a.originalExecutionRunID = runID
            a.identity = r.identity
            if r.hasWorkflowRunTimeout { a.workflowRunTimeout = r.workflowRunTimeout }
            a.workflowTaskTimeout = .init(rounding: .seconds(Self.workflowTaskTimeout(r)))
            if r.hasMemo { a.memo = r.memo }
            if r.hasSearchAttributes { a.searchAttributes = r.searchAttributes }
            event.workflowExecutionStartedEventAttributes = a
        }
        e.workflowTaskTimeout = Self.workflowTaskTimeout(r)
        executions[runID] = e
        currentRun[r.workflowID] = runID
        scheduleWorkflowTask(runID)
        return (runID, true)
    }

    /// ALREADY_EXISTS with the `WorkflowExecutionAlreadyStartedFailure` detail a server sends.
    static func alreadyStarted(_ message: String, runID: String) -> GRPCStatusError {
        var detail = Temporal_Api_Errordetails_V1_WorkflowExecutionAlreadyStartedFailure()
        detail.runID = runID
        return statusError(.alreadyExists, message, detail: detail)
    }

    /// A status with `detail` in its `grpc-status-details-bin` trailer, as a server sends the
    /// `temporal.api.errordetails.v1` failures the client decodes.
    static func statusError(_ code: GRPCStatusCode, _ message: String, detail: some SwiftProtobuf.Message) -> GRPCStatusError {
        var status = Google_Rpc_Status()
        status.code = Int32(code.rawValue)
        status.message = message
        if let any = try? Google_Protobuf_Any(message: detail) { status.details = [any] }
        return GRPCStatusError(
            code: code, message: message, trailers: [("grpc-status-details-bin", (try? status.serializedData()) ?? Data())])
    }

    // MARK: Workflow tasks

    /// A start's workflow task timeout as a server takes it: 10 s when unset or zero, at most
    /// 120 s.
    static func workflowTaskTimeout(_ r: Temporal_Api_Workflowservice_V1_StartWorkflowExecutionRequest) -> TimeInterval {
        let asked = TimeInterval(r.workflowTaskTimeout.seconds) + TimeInterval(r.workflowTaskTimeout.nanos) / 1e9
        return r.hasWorkflowTaskTimeout && asked > 0 ? min(asked, 120) : 10
    }

    /// Schedules a workflow task, or notes that one must follow the one in flight.
    mutating func scheduleWorkflowTask(_ runID: String) {
        guard var e = executions[runID], e.isRunning else { return }
        if e.workflowTaskScheduledID != nil {
            if e.workflowTaskStartedID != nil { e.newEventsDuringTask = true }
            executions[runID] = e
            return
        }
        let (queueName, attempt, timeout) = (e.taskQueue, e.workflowTaskAttempt, e.workflowTaskTimeout)
        e.workflowTaskScheduledID = e.append(.workflowTaskScheduled, at: now) { event in
            var a = Temporal_Api_History_V1_WorkflowTaskScheduledEventAttributes()
            a.taskQueue.name = queueName
            a.startToCloseTimeout = .init(rounding: .seconds(timeout))
            a.attempt = attempt
            event.workflowTaskScheduledEventAttributes = a
        }
        if let sticky = e.stickyQueue, !stickyQueuePolled(sticky) {
            e.stickyQueue = nil  // the server's "sticky worker unavailable": the whole history, elsewhere
        }
        let queue = e.stickyQueue ?? e.taskQueue
        if e.stickyQueue != nil, let scheduled = e.workflowTaskScheduledID {
            e.stickyDeadline = (scheduled, now.addingTimeInterval(e.stickyScheduleToStartTimeout))
        }
        executions[runID] = e
        enqueue(.workflowTask(runID: runID), on: Self.workflowQueue(queue))
    }

    /// Moves the tasks left on a sticky queue past its schedule-to-start timeout to their
    /// normal queues, as a server does (WorkflowTaskTimedOut, SCHEDULE_TO_START; stickiness
    /// cleared; attempt 1 again, with the whole history): a worker gone without a word (killed,
    /// crashed) held its runs for ever, and a test starting a second worker hung.
    mutating func timeOutStickyTasks() {
        let current = now
        for e in executions.values {
            guard let sticky = e.stickyQueue, let due = e.pendingStickyDeadline, due <= current,
                let scheduled = e.workflowTaskScheduledID, var run = executions[e.runID]
            else { continue }
            run.append(.workflowTaskTimedOut, at: current) { event in
                var a = Temporal_Api_History_V1_WorkflowTaskTimedOutEventAttributes()
                a.scheduledEventID = scheduled
                a.timeoutType = .scheduleToStart
                event.workflowTaskTimedOutEventAttributes = a
            }
            run.stickyQueue = nil
            run.stickyDeadline = nil
            run.workflowTaskScheduledID = nil
            run.workflowTaskAttempt = 1
            executions[e.runID] = run
            queues[Self.workflowQueue(sticky)]?.removeAll {
                if case .workflowTask(let runID) = $0 { runID == e.runID } else { false }
            }
            scheduleWorkflowTask(e.runID)
        }
    }

    /// When the next task left on a sticky queue times out (for the service's alarm).
    var nextStickyDeadline: Date? { executions.values.compactMap(\.pendingStickyDeadline).min() }

    /// Starts the scheduled workflow task of `runID` for a poller; nil when it is gone.
    mutating func startWorkflowTask(_ runID: String) -> PollWorkflowTaskQueueResponse? {
        guard var e = executions[runID], e.isRunning, let scheduled = e.workflowTaskScheduledID, e.workflowTaskStartedID == nil else {
            return nil
        }
        // As a server: suggested once the history reaches the limit, counting this event.
        let suggest = e.nextEventID >= suggestContinueAsNewAt
        let started = e.append(.workflowTaskStarted, at: now) { event in
            var a = Temporal_Api_History_V1_WorkflowTaskStartedEventAttributes()
            a.scheduledEventID = scheduled
            a.identity = "in-memory"
            a.suggestContinueAsNew = suggest
            event.workflowTaskStartedEventAttributes = a
        }
        e.workflowTaskStartedID = started
        e.workflowTaskDeadline = (started, now.addingTimeInterval(e.workflowTaskTimeout))
        executions[runID] = e
        var task = PollWorkflowTaskQueueResponse()
        task.taskToken = InMemoryToken(kind: .workflow, runID: runID, id: started, attempt: e.workflowTaskAttempt).data
        task.workflowExecution.workflowID = e.workflowID
        task.workflowExecution.runID = runID
        task.workflowType.name = e.workflowType
        task.previousStartedEventID = e.lastCompletedStartedID
        task.startedEventID = started
        task.attempt = e.workflowTaskAttempt
        // On a sticky queue the worker has the run cached: the events since its last task.
        let since = e.lastCompletedStartedID
        task.history.events = e.stickyQueue == nil ? e.history : e.history.filter { $0.eventID > since }
        task.workflowExecutionTaskQueue.name = e.taskQueue
        task.scheduledTime = .init(date: now)
        task.startedTime = .init(date: now)
        return task
    }

    /// A legacy query task for a poller: the whole history and the query.
    func queryTask(_ runID: String, queryID: String, query: Temporal_Api_Query_V1_WorkflowQuery) -> PollWorkflowTaskQueueResponse? {
        guard let e = executions[runID] else { return nil }
        var task = PollWorkflowTaskQueueResponse()
        task.taskToken = InMemoryToken(kind: .query, runID: runID, queryID: queryID).data
        task.workflowExecution.workflowID = e.workflowID
        task.workflowExecution.runID = runID
        task.workflowType.name = e.workflowType
        task.history.events = e.history
        task.query = query
        task.attempt = 1
        return task
    }

    /// Ends the workflow task in flight; schedules the next one when events arrived meanwhile.
    mutating func endWorkflowTask(_ runID: String) {
        guard var e = executions[runID] else { return }
        e.lastCompletedStartedID = e.workflowTaskStartedID ?? e.lastCompletedStartedID
        // Timers due while the task ran fired then, as on a server (their events buffered, so
        // before the activity outcomes that came meanwhile); the answer's cancels are applied.
        let fired = e.isRunning && bufferTimersDue(in: &e, exceptCancelledBy: [])
        e.workflowTaskScheduledID = nil
        e.workflowTaskStartedID = nil
        if e.isRunning { e.flushBuffered() } else { (e.buffered, e.bufferedOutcomes, e.bufferedOutcomeIDs) = ([], [], []) }
        let again = e.newEventsDuringTask || fired
        e.newEventsDuringTask = false
        executions[runID] = e
        if again {
            scheduleWorkflowTask(runID)
        } else {
            // The history now holds everything that arrived before the queries held back for
            // this task: they may be answered from it, even if the run asks for another task
            // at once (a local activity's heartbeat would otherwise hold them until it ends).
            // (Queries wait on the run's workflow queue only: see `queryWorkflow`.)
            for case .query(runID, let queryID, _) in queues[Self.workflowQueue(e.taskQueue)] ?? [] {
                releasedQueries.insert(queryID)
            }
        }
    }

    /// - Parameter alwaysRetry: a task the service refused because events arrived meanwhile:
    ///   not counted as a failure of the workflow's code.
    /// - Parameter refusedByService: the service failed the task for a command it refused (the
    ///   worker reported nothing): after two such failures in a row no task is scheduled until
    ///   an event comes. A server retries it at once, for ever, writing nothing (the attempts are
    ///   transient); here every attempt is written to history, and the same code is refused the
    ///   same way, so retrying would only grow the history, as fast as the worker answers.
    ///   Any other failure (one the worker reported) is retried, as a server retries it until it
    ///   passes (unless failures end runs).
    mutating func failWorkflowTask(
        _ token: InMemoryToken, _ r: Temporal_Api_Workflowservice_V1_RespondWorkflowTaskFailedRequest,
        alwaysRetry: Bool = false, refusedByService: Bool = false, thenTerminate reason: String? = nil
    ) throws {
        var e = try execution(token.runID)
        guard e.isRunning, e.workflowTaskStartedID == token.id else {
            throw GRPCStatusError(code: .notFound, message: "workflow task not found (already answered)")
        }
        let wasSticky = e.stickyQueue != nil
        e.stickyQueue = nil  // as a server does: the worker's cached run is not to be trusted
        let scheduled = e.workflowTaskScheduledID ?? 0
        e.append(.workflowTaskFailed, at: now) { event in
            var a = Temporal_Api_History_V1_WorkflowTaskFailedEventAttributes()
            a.scheduledEventID = scheduled
            a.startedEventID = token.id
            a.cause = r.cause
            a.failure = r.failure
            a.identity = r.identity
            event.workflowTaskFailedEventAttributes = a
        }
        // Timers due meanwhile fired then (buffered: before the activity outcomes).
        _ = bufferTimersDue(in: &e, exceptCancelledBy: [])
        let arrived = e.dropStartedTask()
        // As a server numbers the next attempt (as for a timeout): a task that was on a sticky
        // queue, that new events follow, or that a command refused for them (`alwaysRetry`)
        // starts again at 1; a worker reports only a first attempt's failure.
        e.workflowTaskAttempt = wasSticky || arrived || alwaysRetry ? 1 : e.workflowTaskAttempt + 1
        if let reason {
            // As a server whose size checks refused a command: the run ends with the task.
            executions[token.runID] = e
            try terminate(token.runID, reason: reason, identity: "history-service")
            return
        }
        if workflowTaskFailureEndsRun, !alwaysRetry, Self.mayPass(r.failure), e.passingFailuresRetried < Self.passingFailureRetries {
            // Tried again, as attempt 1, so that the worker reports it if it fails again.
            e.passingFailuresRetried += 1
            e.workflowTaskAttempt = 1
            executions[token.runID] = e
            scheduleWorkflowTask(token.runID)
            return
        }
        // Events that came during the refused attempt are new to the code: the next attempt
        // may pass, and it is scheduled (as a first one).
        e.serviceRefusalsInARow = refusedByService && !arrived ? e.serviceRefusalsInARow + 1 : 0
        // Left without a task: the one an event brings is a first attempt, as a server numbers
        // a task that new events precede.
        if e.serviceRefusalsInARow >= 2 { e.workflowTaskAttempt = 1 }
        executions[token.runID] = e
        if workflowTaskFailureEndsRun, !alwaysRetry {
            // A test would otherwise wait for ever: a worker reports only a first attempt's
            // failure, and later attempts time out one after another.
            try terminate(
                token.runID,
                reason:
                    "workflow task failed (\(r.cause)): \(r.failure.message); the test service ends the run, where a server would retry the task until the workflow code is fixed",
                identity: Self.identity)
            return
        }
        if e.serviceRefusalsInARow < 2 { scheduleWorkflowTask(token.runID) }
    }

    /// Whether a workflow task failure may pass on its own, so that the task is retried (as a
    /// first attempt, up to `passingFailureRetries` times) before failures end the run: a
    /// potential deadlock (a thread starved on a loaded machine can look like one), a history
    /// the worker could not read.
    static let passingFailureRetries = 2

    /// Told by the failure's type first: a worker that encrypts error messages
    /// (`FailureConverter.encodeCommonAttributes`) sends "Encoded failure" as the message. A
    /// call of the worker's that failed (a history fetch) is a `TemporalError.<kind>`.
    static func mayPass(_ failure: Failure) -> Bool {
        let type = failure.applicationFailureInfo.type
        return type == "PotentialDeadlockError" || type.hasPrefix("TemporalError.") || failure.message.hasPrefix("potential deadlock")
            || failure.message.contains("GetWorkflowExecutionHistory")
    }

    /// Times out the started workflow tasks whose worker did not answer in time, as a server
    /// does: WorkflowTaskTimedOut, what arrived meanwhile, and a new attempt on the run's normal
    /// queue (the worker's cache is not trusted). A late answer then finds no task.
    mutating func timeOutWorkflowTasks() {
        let current = now
        for e in executions.values where e.isRunning {
            guard let started = e.workflowTaskStartedID, let deadline = e.workflowTaskDeadline, deadline.startedID == started,
                deadline.at <= current, var run = executions[e.runID]
            else { continue }
            let scheduled = run.workflowTaskScheduledID ?? 0
            run.append(.workflowTaskTimedOut, at: current) { event in
                var a = Temporal_Api_History_V1_WorkflowTaskTimedOutEventAttributes()
                a.scheduledEventID = scheduled
                a.startedEventID = started
                a.timeoutType = .startToClose
                event.workflowTaskTimedOutEventAttributes = a
            }
            // As a server numbers the next attempt: a task that was on a sticky queue, or that
            // new events follow, starts again at 1 (a worker reports only a first attempt's failure).
            let wasSticky = run.stickyQueue != nil
            run.stickyQueue = nil
            _ = bufferTimersDue(in: &run, exceptCancelledBy: [])
            let arrived = run.dropStartedTask()
            run.workflowTaskAttempt = wasSticky || arrived ? 1 : run.workflowTaskAttempt + 1
            executions[e.runID] = run
            scheduleWorkflowTask(e.runID)
        }
    }

    /// Whether `ticket` may go to a poll now. A query waits while its run has a workflow task
    /// scheduled or being worked on, as a server holds it back then: answered from the history
    /// so far, it would miss what that task is about to add (a signal sent just before the
    /// query, held while the task runs) and answer from an older state.
    /// An activity's next attempt waits out its retry backoff.
    func mayHandOut(_ ticket: InMemoryTicket) -> Bool {
        switch ticket {
        case .query(let runID, let queryID, _):
            guard !releasedQueries.contains(queryID), let run = executions[runID], run.isRunning else { return true }
            return run.workflowTaskScheduledID == nil && run.workflowTaskStartedID == nil
        case .activity(let runID, let id):
            return executions[runID]?.activities[id]?.inBackoff(at: now) != true
        case .workflowTask:
            return true
        }
    }

    /// When the next started workflow task times out, nil for none.
    var nextWorkflowTaskDeadline: Date? {
        executions.values.compactMap { e -> Date? in
            guard e.isRunning, let started = e.workflowTaskStartedID, let d = e.workflowTaskDeadline, d.startedID == started else {
                return nil
            }
            return d.at
        }.min()
    }

    // MARK: Time

    /// Auto time skipping: while every run waits only on timers and retry backoffs (no workflow
    /// task, no activity attempt anywhere, but on queues whose worker went away), the clock jumps to the earliest of them and fires
    /// every timer due then (`fireDueTimers`: timers of the same time fire together, in the
    /// order they started); an attempt whose backoff ended goes to the next poll.
    /// Only while a client waits for a run's result (`awaited`), as Temporal's test server
    /// skips: until then time passes as on a server, so a test can signal or query a run before
    /// its timers fire.
    ///
    /// A run whose workflow task or activity waits on a queue whose worker went away
    /// (`abandonedQueues`: its worker stopped, or it was polled before and not for a while)
    /// does not hold time still: a run a
    /// test left behind on a stopped worker's queue held every other run's timers to the wall
    /// clock, and a test awaiting a day-long timer hung without a word. Such a run's activity
    /// times out when its deadline says (schedule-to-start, schedule-to-close), on the skipped
    /// clock, as a server fires it.
    ///
    /// Skips again while all stays idle (up to 64 jumps): a jump that only reached a left-behind
    /// run's deadline, or the end of a backoff on a stopped queue, handed nothing to a worker,
    /// and the next jump waited for the next change on the wall clock.
    mutating func skipTimeWhileAllIdle(awaited: Bool, abandonedQueues: Set<String> = []) {
        guard awaited else { return }
        var jumps = 0
        while jumps < 64, skipOnce(abandonedQueues: abandonedQueues) { jumps += 1 }
    }

    /// One jump of `skipTimeWhileAllIdle`; true when the clock moved.
    private mutating func skipOnce(abandonedQueues: Set<String>) -> Bool {
        let running = executions.values.filter(\.isRunning)
        let current = now
        func leftBehind(_ e: InMemoryExecution) -> Bool {
            // Not while a sticky task's schedule-to-start timeout is ahead: it then moves to the
            // normal queue, whose worker may be there.
            if let due = e.pendingStickyDeadline, due > current { return false }
            return e.workflowTaskStartedID == nil && abandonedQueues.contains(Self.workflowQueue(e.stickyQueue ?? e.taskQueue))
        }
        func leftBehind(_ a: InMemoryExecution.Activity) -> Bool {
            !a.dispatched && !a.inBackoff(at: current) && abandonedQueues.contains(Self.activityQueue(a.attributes.taskQueue.name))
        }
        guard
            running.allSatisfy({ e in
                (e.workflowTaskScheduledID == nil || leftBehind(e))
                    && e.activities.values.allSatisfy { $0.inSkippableBackoff(at: current) || leftBehind($0) }
            })
        else { return false }
        let backoffs = running.flatMap { $0.activities.values.filter { !leftBehind($0) }.map(\.attemptScheduledTime) }
        // A left-behind activity's timeout (schedule-to-start, schedule-to-close) is a time to
        // skip to as well, as a server fires it: raced against a timer, the timer won at its own
        // time, and alone it was waited for on the wall clock.
        let deadlines = running.flatMap { $0.activities.values.filter { leftBehind($0) }.compactMap { Self.deadline(of: $0)?.at } }
        guard let next = (running.flatMap { $0.timers.values.map(\.fireAt) } + backoffs + deadlines).min() else { return false }
        if next > current { skipped += next.timeIntervalSince(current) }
        timeOutActivities()
        fireDueTimers()
        return next > current
    }

    /// Fires the timers the clock has reached, whatever else runs (a timer raced against a
    /// running activity fires on time, as on a server), except in a run whose workflow task is
    /// being worked on: theirs fire once it is answered (an answer closing the run is refused
    /// for them: `bufferTimersDue`). A run's due timers fire together (one
    /// workflow task sees them all), by fire time and then in the order they started, as a
    /// server fires them (its timer sequence sorts by time, then event id).
    mutating func fireDueTimers() {
        let current = now
        for e in executions.values where e.isRunning && e.workflowTaskStartedID == nil {
            let due = e.timers.filter { $0.value.fireAt <= current }.sorted {
                ($0.value.fireAt, $0.value.startedEventID) < ($1.value.fireAt, $1.value.startedEventID)
            }
            for (timerID, timer) in due { fire(timerID, timer, of: e.runID) }
        }
    }

    /// When the next timer that `fireDueTimers` may fire is due (for the service's alarm), nil
    /// for none: a run's timers wait while its workflow task is being worked on (its answer
    /// looks again).
    var nextTimerDue: Date? {
        executions.values.filter { $0.isRunning && $0.workflowTaskStartedID == nil }.flatMap { $0.timers.values.map(\.fireAt) }.min()
    }

    /// Fires the timers of `e` (a run whose workflow task is in flight) that are due, except
    /// those `commands` cancel, into its buffered events, as a server fires them: written once
    /// the task is answered, before the next one is scheduled.
    /// - Returns: whether any was due.
    mutating func bufferTimersDue(
        in e: inout InMemoryExecution, exceptCancelledBy commands: [Temporal_Api_Command_V1_Command]
    ) -> Bool {
        let cancelled = Set(commands.filter { $0.commandType == .cancelTimer }.map(\.cancelTimerCommandAttributes.timerID))
        let current = now
        let due = e.timers.filter { $0.value.fireAt <= current && !cancelled.contains($0.key) }.sorted {
            ($0.value.fireAt, $0.value.startedEventID) < ($1.value.fireAt, $1.value.startedEventID)
        }
        for (timerID, timer) in due {
            e.timers[timerID] = nil
            e.buffered.append { Self.appendTimerFired(timerID, timer, to: &$0, at: current) }
        }
        return !due.isEmpty
    }

    private mutating func fire(_ timerID: String, _ timer: InMemoryExecution.Timer, of runID: String) {
        guard var run = executions[runID] else { return }
        run.timers[timerID] = nil
        Self.appendTimerFired(timerID, timer, to: &run, at: now)
        executions[runID] = run
        scheduleWorkflowTask(runID)
    }

    private static func appendTimerFired(
        _ timerID: String, _ timer: InMemoryExecution.Timer, to run: inout InMemoryExecution, at time: Date
    ) {
        run.append(.timerFired, at: time) { event in
            var a = Temporal_Api_History_V1_TimerFiredEventAttributes()
            a.timerID = timerID
            a.startedEventID = timer.startedEventID
            event.timerFiredEventAttributes = a
        }
    }
}
