import Logging
import Temporal
import TemporalProto

#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

typealias PollWorkflowTaskResponse = Temporal_Api_Workflowservice_V1_PollWorkflowTaskQueueResponse
typealias ActivityTask = Temporal_Api_Workflowservice_V1_PollActivityTaskQueueResponse

/// Handles one polled workflow task (protocol reference §8.1): gathers history, finds or
/// rebuilds the run, replays and executes it, and responds — completed with commands (and
/// query answers, sticky attributes, eager activity requests), or failed on attempt 1.
struct WorkflowTaskHandler: Sendable {
    let client: TemporalClient
    let taskQueue: String
    let identity: String
    let definitions: [String: WorkflowDefinition]
    let cache: RunCache?
    /// Holds back a task of a run while another task of it is in progress.
    let runGate: RunTaskGate
    let stickyQueue: String?
    let options: WorkerOptions
    /// This worker's deployment as answers carry it (`options.deployment`, built once).
    let deployment: Temporal_Api_Deployment_V1_WorkerDeploymentOptions?
    let instruments: WorkerInstruments
    let activitySlots: Slots?
    /// Runs local activities (with the worker's registered activities).
    let localActivities: LocalActivityExecutor
    let logger: Logger
    /// True once the worker is shutting down: no eager activities, no sticky attributes.
    let isStopping: @Sendable () -> Bool
    /// Whether a task running local activities must be given up: the worker's grace period
    /// is over (until then the local activities may finish and the task be answered).
    let mustGiveUp: @Sendable () -> Bool
    /// Runs a local activity's execution in the worker's activity group (false once that group
    /// is closed): a workflow task waits for outcomes, never for an abandoned execution.
    let spawnLocalActivity: @Sendable (@escaping @Sendable () async -> Void) -> Bool

    var fetcher: HistoryFetcher { HistoryFetcher(client: client) }

    /// What handling a workflow task leaves to its caller.
    struct Outcome {
        /// Activity tasks dispatched eagerly in the answer's response, each holding a reserved slot.
        var eagerActivities: [ActivityTask] = []
        /// The run's next task, which the server started and returned in the answer's response
        /// (new events arrived while this one ran): handle it next, in the same slot, with no poll.
        var next: PollWorkflowTaskResponse?
    }

    /// Processes `task` (`Outcome`).
    func handle(_ task: PollWorkflowTaskResponse) async -> Outcome {
        if task.hasQuery {
            await handleLegacyQuery(task)
            return Outcome()
        }
        let clock = ContinuousClock()
        let wallStart = clock.now
        var cpu: Duration = .zero
        let log = logger.adding([
            "workflow_id": .string(task.workflowExecution.workflowID), "run_id": .string(task.workflowExecution.runID),
            "workflow_type": .string(task.workflowType.name), "task_queue": .string(taskQueue),
        ])
        let runID = task.workflowExecution.runID
        // A type this worker does not run is labelled as one: the wire's names are anyone's
        // (a typo, generated names), and each would add series for good.
        let workflowType =
            definitions[task.workflowType.name] == nil ? WorkerInstruments.unregisteredType : task.workflowType.name
        if let latency = Self.scheduleToStart(task) {
            instruments.workflowTaskScheduleToStart(latency, workflowType: workflowType)
        }

        guard let definition = definitions[task.workflowType.name] else {
            let known = definitions.keys.sorted().joined(separator: ", ")
            await fail(
                task, cause: .workflowWorkerUnhandledFailure,
                error: WorkflowUsageError(
                    "workflow type '\(task.workflowType.name)' is not registered on this worker (registered: \(known))"),
                log: log)
            instruments.workflowTaskHandled(cpu: cpu, wall: clock.now - wallStart, cacheHit: false, failed: true)
            instruments.workflowTaskFailed(workflowType: workflowType, reason: "WorkflowError")
            return Outcome()
        }

        // A task the server handed out while this worker still processes the run's previous
        // one (which timed out) waits for it: never two tasks of one run at once.
        if !runGate.tryEnter(runID) {
            log.debug("a task of this run is still in progress (it timed out on the server); this one waits for it")
            guard await runGate.enterWaiting(runID) else {
                log.debug("a newer task of this run arrived while this one waited; this one is stale and is dropped")
                return Outcome()
            }
        }
        defer { runGate.leave(runID) }

        var run: WorkflowRun?
        var cacheHit = false
        // A sticky cache miss, as Go counts one: a task with part of the history whose run is
        // not cached (or no longer matches it). A run's first task, or a full history sent
        // to the normal queue, is neither a hit nor a miss.
        var cacheMiss = task.history.events.first.map { $0.eventID != 1 } ?? false
        // Counted however the task ends (answered, failed, given up).
        defer { if cache != nil, cacheHit || cacheMiss { instruments.stickyCache(hit: cacheHit) } }
        var commands: [Command] = []
        do {
            var events = task.history.events
            if !task.nextPageToken.isEmpty {
                events += try await fetcher.remainingPages(execution: task.workflowExecution, token: task.nextPageToken)
            }
            var cached = cache?.checkout(runID)
            if let c = cached, events.first?.eventID != c.nextTaskFirstEventID {
                retire(c)
                cached = nil
                cacheMiss = true
            }
            if let c = cached {
                let taskEvents = events
                do {
                    let (produced, used) = try await onWorkflowThread(c, task: task) {
                        try c.process(events: taskEvents, liveStartedEventID: task.startedEventID, messages: task.messages)
                    }
                    commands = produced
                    cpu += used
                    run = c
                    cacheHit = true
                } catch let error as HistoryError where error.staleCache {
                    log.debug("cached run is stale (\(error)); replaying from event 1")
                    retire(c)
                    cacheMiss = true
                } catch {
                    if error is PotentialDeadlockError { cache?.forget(c) } else { retire(c) }
                    throw error
                }
            }
            if run == nil {
                if events.first?.eventID != 1 {
                    let full = try await fetcher.fullHistory(execution: task.workflowExecution, upTo: task.startedEventID)
                    let last = full.last?.eventID ?? 0
                    events = full + events.filter { $0.eventID > last }
                }
                let fresh = makeRun(definition, task: task)
                run = fresh
                let history = events
                let (produced, used) = try await onWorkflowThread(fresh, task: task) {
                    try fresh.process(events: history, liveStartedEventID: task.startedEventID, messages: task.messages)
                }
                commands = produced
                cpu += used
                if let replayed = fresh.replayLatency { instruments.workflowTaskReplay(replayed, workflowType: workflowType) }
            }
        } catch {
            // A deadlocked run is still running on its thread: it is dropped, never touched.
            if error is PotentialDeadlockError { run.map { cache?.forget($0) } } else { run.map(retire) }
            let cause: Temporal_Api_Enums_V1_WorkflowTaskFailedCause =
                error is NondeterminismError
                ? .nonDeterministicError : .workflowWorkerUnhandledFailure
            let reported = (error as? WorkflowTaskFailure)?.underlying ?? error
            instruments.workflowTaskExecution(clock.now - wallStart, workflowType: workflowType)
            instruments.workflowTaskFailed(
                workflowType: workflowType,
                reason: cause == .nonDeterministicError ? "NonDeterminismError" : "WorkflowError")
            await fail(task, cause: cause, error: reported, log: log)
            instruments.workflowTaskHandled(cpu: cpu, wall: clock.now - wallStart, cacheHit: cacheHit, failed: true)
            return Outcome()
        }
        guard let run else { return Outcome() }

        // Local activities run here, inside the task; the task is answered once they are all
        // done (or heartbeated with a new task if they take long).
        var task = task
        var messages = run.outgoingMessages
        var localAttempts = 0  // local activities' attempts after a first, since the last heartbeat
        if run.hasPendingLocalActivities {
            do {
                (commands, messages, localAttempts) = try await runLocalActivities(
                    run, task: &task, commands: commands, messages: messages,
                    startedAt: wallStart, log: log)
            } catch {
                if error is PotentialDeadlockError || error is AnsweredWhileStuck { cache?.forget(run) } else { retire(run) }
                instruments.workflowTaskExecution(clock.now - wallStart, workflowType: workflowType)
                if let tooLarge = (error as? HeartbeatFailure)?.tooLarge {
                    // As for a final answer (below): every attempt would be refused the same way.
                    instruments.workflowTaskFailed(workflowType: workflowType, reason: "PayloadsTooLarge")
                    await fail(task, cause: .payloadsTooLarge, error: tooLarge, log: log)
                } else if let heartbeat = error as? HeartbeatFailure, heartbeat.fetching {
                    // As a failed history fetch of a polled task: the returned task is failed
                    // (it would wait out its timeout), and runs again from the full history.
                    instruments.workflowTaskFailed(workflowType: workflowType, reason: "WorkflowError")
                    await fail(task, cause: .workflowWorkerUnhandledFailure, error: heartbeat.underlying, log: log)
                } else if let heartbeat = error as? HeartbeatFailure {
                    let ran = clock.now - wallStart
                    // NOT_FOUND "workflow task heartbeat timeout" (the limit is the namespace's:
                    // 30 minutes unless configured otherwise), told apart from the other
                    // NOT_FOUNDs (the run closed, the task timed out) by its words alone.
                    if heartbeat.sending, let refused = heartbeat.underlying as? TemporalError, refused.code == .notFound,
                        refused.message.contains("heartbeat timeout")
                    {
                        // The server's limit on a task's heartbeats: the local activities start
                        // again on the next attempt, and so on for ever, without a word.
                        log.warning(
                            "the server ended this workflow task after \(Int(ran / .seconds(1))) s of heartbeats (the server's limit: 30 minutes by default, history.workflowTaskHeartbeatTimeout): local activities that run this long start again on every attempt and never finish; run them as activities"
                        )
                    } else if !heartbeat.sending
                        || !reportRefusal(heartbeat.underlying, of: "heartbeat", workflowType: workflowType, log: log)
                    {
                        log.debug("workflow task heartbeat failed: \(heartbeat.underlying); the run replays next time")
                    }
                } else if error is AnsweredWhileStuck {
                    log.debug("the run's thread is blocked in a query handler; the run is dropped, its next task replays it")
                } else {
                    let cause: Temporal_Api_Enums_V1_WorkflowTaskFailedCause =
                        error is NondeterminismError
                        ? .nonDeterministicError : .workflowWorkerUnhandledFailure
                    instruments.workflowTaskFailed(
                        workflowType: workflowType,
                        reason: cause == .nonDeterministicError ? "NonDeterminismError" : "WorkflowError")
                    await fail(task, cause: cause, error: (error as? WorkflowTaskFailure)?.underlying ?? error, log: log)
                }
                instruments.workflowTaskHandled(cpu: cpu, wall: clock.now - wallStart, cacheHit: cacheHit, failed: true)
                return Outcome()
            }
        }

        // What the answer needs from the run, read before its query handlers run: one that
        // blocks leaves the run in use by its thread.
        let (runClosed, eagerDisabled, sdkMetadata) = (
            run.closeSent, run.eagerExecutionDisabled, run.sdkFlags.completionMetadata
        )
        let (closed, closedBenign, runStart) = (run.closeMetric, run.closedBenign, run.info.startTime)
        // No code of the run runs before the answer now: its commands are the server's.
        run.markAnswered()
        // Queries that came with the task: a handler that blocks fails its queries and costs the
        // run its place in the cache (its thread is stuck), not the task's commands.
        var queryResults: [String: Temporal_Api_Query_V1_WorkflowQueryResult] = [:]
        var abandoned = false
        do {
            queryResults = try await answerQueries(run, task: task)
        } catch {
            abandoned = error is PotentialDeadlockError  // its thread is stuck: never touch the run again
            log.warning("\(error)")
            queryResults = task.queries.mapValues { _ in failedQuery(error) }
        }
        let cpuStart = WorkerMetrics.threadCPU()
        var request = Temporal_Api_Workflowservice_V1_RespondWorkflowTaskCompletedRequest()
        request.taskToken = task.taskToken
        request.identity = identity
        request.namespace = client.namespace
        stampDeployment(&request, definition)
        if localAttempts > 0 { request.meteringMetadata.nonfirstLocalActivityExecutionAttempts = UInt32(clamping: localAttempts) }
        var reserved = 0
        // While stopping: take no eager activities (they could start after the activity drain)
        // and do not point the run at a sticky queue that ShutdownWorker has just retired.
        let stopping = isStopping()
        request.commands = commands.map { command in
            var c = command
            if case .scheduleActivityTaskCommandAttributes(var a)? = c.attributes {
                let eager =
                    options.requestsEagerActivities && !stopping && reserved < Self.maxEagerActivitiesPerTask
                    && a.taskQueue.name == taskQueue
                    && !eagerDisabled.contains(a.activityID) && (activitySlots?.tryAcquire() ?? false)
                if eager { reserved += 1 }
                a.requestEagerExecution = eager
                c.scheduleActivityTaskCommandAttributes = a
            }
            return c
        }
        request.messages = messages
        request.queryResults = queryResults
        if !abandoned, !runClosed, !stopping, let sticky = stickyAttributes {
            request.stickyAttributes = sticky
            // Events that arrive while this task runs (a signal, an update, an activity's
            // result) make the server start the next task at once: it comes back in the
            // response, to run on the cached run in this slot, instead of through matching and
            // a poll (which could also find the run not yet back in the cache), as Go and Core
            // ask for it.
            request.returnNewWorkflowTask = true
        }
        // Recorded in history, so that replay makes the choices this task made (`SDKFlag`).
        request.sdkMetadata = sdkMetadata
        // A task an update brought that ends up rejecting it is dropped from history even when
        // events came before it (the previous task's commands'), as Go and Core ask: without
        // this the server kept it (three events) whenever the previous task made a command, so
        // a rejected update left a trace and a stream of them grew the history. The dropped
        // task's answer says so (`resetHistoryEventID`): the run rewinds past its two events.
        request.capabilities.discardSpeculativeWorkflowTaskWithEvents = true
        cpu += WorkerMetrics.threadCPU() - cpuStart
        instruments.workflowTaskExecution(clock.now - wallStart, workflowType: workflowType)

        var eagerTasks: [ActivityTask] = []
        var next: PollWorkflowTaskResponse?
        var failed = false
        do {
            let response = try await respondCompleted(&request, log: log)
            eagerTasks = Array(response.activityTasks.prefix(reserved))
            if response.activityTasks.count > reserved {
                // A server that breaks the protocol: the extra tasks have no slot and wait for their timeouts.
                log.error(
                    "the server handed back more eager activity tasks than requested; the extra ones are not run and will time out",
                    metadata: ["requested": "\(reserved)", "received": "\(response.activityTasks.count)"])
            }
            if let closed {
                instruments.workflowClosed(
                    closed, workflowType: workflowType, endToEnd: runStart.map { .seconds(Date().timeIntervalSince($0)) },
                    counted: !closedBenign)
            }
            // A speculative task (an update that we rejected) the server dropped: rewind the run
            // past its two events, or replay from scratch next time if that is not possible.
            if abandoned {
                log.debug("the run's thread is blocked in a query handler; the run is dropped")
                cache?.forget(run)
            } else if response.resetHistoryEventID != 0, !run.rewindSpeculativeTask(toStartedEventID: response.resetHistoryEventID) {
                log.debug("speculative workflow task dropped (reset to event \(response.resetHistoryEventID)); evicting the run")
                retire(run)
            } else if let cache, !run.closeSent {
                cache.checkin(runID, run)
            } else {
                retire(run)
            }
            if response.hasWorkflowTask, !response.workflowTask.taskToken.isEmpty { next = response.workflowTask }
        } catch {
            if abandoned { cache?.forget(run) } else { retire(run) }
            failed = true
            if let tooLarge = WorkflowTaskAnswerTooLarge(refusing: request, with: error) {
                // Over a message-size limit (the server's gRPC limit, 4 MiB by default, or a
                // proxy's): the same answer would be refused on every attempt. Say so in the
                // run's history, as Core and the Python SDK do (PAYLOADS_TOO_LARGE keeps the run
                // open for a fixed worker; Go's GRPC_MESSAGE_TOO_LARGE has the server terminate
                // it): the task used to time out again and again with nothing above debug.
                instruments.workflowTaskFailed(workflowType: workflowType, reason: "PayloadsTooLarge")
                await fail(task, cause: .payloadsTooLarge, error: tooLarge, log: log)
            } else if !reportRefusal(error, of: "answer", workflowType: workflowType, log: log) {
                // UNHANDLED_COMMAND (a new event raced our completion), NOT_FOUND (task gone), …:
                // our state is ahead of history; replay from event 1 next time.
                log.debug("RespondWorkflowTaskCompleted failed: \(error)")
            }
        }
        for _ in eagerTasks.count..<max(reserved, eagerTasks.count) { activitySlots?.release() }
        instruments.workflowTaskHandled(cpu: cpu, wall: clock.now - wallStart, cacheHit: cacheHit, failed: failed)
        return Outcome(eagerActivities: eagerTasks, next: next)
    }

    /// Sends `request`; when it is refused for its size while it answers queries that came
    /// with the task, sends it again with those answers replaced by failures saying so, as the
    /// commands alone may fit: the answers failed the task, which the server retried with the
    /// same queries attached, each retry refused too, until the queries' deadline dropped them.
    func respondCompleted(
        _ request: inout Temporal_Api_Workflowservice_V1_RespondWorkflowTaskCompletedRequest, log: Logger
    ) async throws -> Temporal_Api_Workflowservice_V1_RespondWorkflowTaskCompletedResponse {
        do {
            return try await client.workflowService.respondWorkflowTaskCompleted(request)
        } catch {
            guard request.queryResults.values.contains(where: { $0.resultType == .answered }),
                let refusal = SizeRefusal(error, of: request)
            else { throw error }
            log.warning(
                "the task's answer with its queries' answers is larger than the server accepts; answering that the queries failed",
                metadata: ["bytes": "\(refusal.bytes)"])
            request.queryResults = request.queryResults.mapValues { result in
                guard result.resultType == .answered else { return result }
                let bytes = result.answer.payloads.reduce(0) { $0 + $1.data.count }
                return failedQuery(Self.answerTooLarge("the answer (\(bytes) bytes) with the workflow task's", refusal))
            }
            return try await client.workflowService.respondWorkflowTaskCompleted(request)
        }
    }

    /// Logs a workflow task answer (or heartbeat) the server refused for what it holds
    /// (INVALID_ARGUMENT, FAILED_PRECONDITION: an unregistered search attribute, a bad command
    /// attribute) at warning, and counts it as a failed task; false for other errors. The
    /// server records the cause in history on the first attempt only and then lets each retry
    /// time out, so without this the workflow stalled with nothing above debug in the log.
    private func reportRefusal(_ error: any Error, of what: String, workflowType: String, log: Logger) -> Bool {
        guard let refused = error as? TemporalError, refused.code == .invalidArgument || refused.code == .failedPrecondition,
            // A new event (a signal, an update) raced a completion that closes the run: the
            // server failed the task with UNHANDLED_COMMAND and answers INVALID_ARGUMENT
            // "UnhandledCommand"; the next task brings the event. Not a refusal to report.
            !refused.message.contains("UnhandledCommand")
        else { return false }
        instruments.workflowTaskFailed(workflowType: workflowType, reason: "AnswerRefused")
        log.warning(
            "the server refused the workflow task's \(what) (\(refused.code)): \(refused.message). The task is retried after its timeout and refused again until the workflow code or the namespace changes (for example, register a search attribute the workflow upserts); the workflow's history names the cause"
        )
        return true
    }

    /// Activities one workflow task asks to run eagerly, at most (Go's and Core's default): the
    /// rest of a fan-out goes through the task queue, to whichever worker has capacity.
    static let maxEagerActivitiesPerTask = 3

    /// started − scheduled of the task: the poll response's times, else those of the
    /// WorkflowTaskScheduled/Started events in the polled history.
    static func scheduleToStart(_ task: PollWorkflowTaskResponse) -> Duration? {
        if task.hasScheduledTime, task.hasStartedTime {
            return .seconds(task.startedTime.date.timeIntervalSince(task.scheduledTime.date))
        }
        let events = task.history.events
        guard let started = events.last(where: { $0.eventID == task.startedEventID }), started.hasEventTime,
            let scheduled = events.last(where: { $0.eventID == started.workflowTaskStartedEventAttributes.scheduledEventID }),
            scheduled.hasEventTime
        else { return nil }
        return .seconds(started.eventTime.date.timeIntervalSince(scheduled.eventTime.date))
    }

    /// Names this worker's deployment in a completion and, on a versioned worker, how the run
    /// moves between versions (without it the server leaves the run unversioned; it refuses a
    /// behaviour from an unversioned worker, which sends none).
    func stampDeployment(
        _ request: inout Temporal_Api_Workflowservice_V1_RespondWorkflowTaskCompletedRequest, _ definition: WorkflowDefinition
    ) {
        guard let deployment else { return }
        request.deploymentOptions = deployment
        if let behavior = options.deployment?.behavior(of: definition) { request.versioningBehavior = behavior.proto }
    }

    private func makeRun(_ definition: WorkflowDefinition, task: PollWorkflowTaskResponse) -> WorkflowRun {
        let info = WorkflowInfo(
            namespace: client.namespace, workflowID: task.workflowExecution.workflowID,
            runID: task.workflowExecution.runID, workflowType: task.workflowType.name,
            taskQueue: taskQueue, attempt: 1, continuedRunID: nil, firstExecutionRunID: "",
            originalExecutionRunID: task.workflowExecution.runID, startTime: nil)
        let run = WorkflowRun(
            definition: definition, info: info, converter: client.dataConverter, logger: logger,
            interceptors: options.interceptors)
        // A server that does not keep the SDK's flags: behave as histories without them.
        run.sdkFlags.liveTasksUseFlags = client.systemInfo?.capabilities.sdkMetadata ?? false
        return run
    }

    /// Runs workflow code of `run` on a workflow thread, watched for deadlocks
    /// (`WorkerOptions.deadlockDetectionTimeout`), or here when detection is off; with the
    /// thread CPU time it took.
    func onWorkflowThread<T: Sendable>(
        _ run: WorkflowRun, task: PollWorkflowTaskResponse,
        _ body: @escaping @Sendable () throws -> T
    ) async throws -> (T, Duration) {
        let measured: @Sendable () throws -> (T, Duration) = {
            let start = WorkerMetrics.threadCPU()
            let value = try body()
            return (value, WorkerMetrics.threadCPU() - start)
        }
        guard let timeout = options.deadlockDetectionTimeout else { return try measured() }
        let (type, id, runID, event) = (
            task.workflowType.name, task.workflowExecution.workflowID,
            task.workflowExecution.runID, task.startedEventID
        )
        let logger = logger
        return try await WorkflowThreads.shared.run(
            timeout: timeout, clock: run.executor.clock,
            describe: {
                "workflow \(type) (id \(id), run \(runID)) in the workflow task started at event \(event)"
            },
            // Given up as deadlocked, the run is dropped by every path (never touched again):
            // once its code returns, it is ended, or its suspended code, waiters and root task
            // stayed in memory for good (one copy per task attempt the detector failed).
            lateReturn: { WorkflowRun.retire([run], deadlockTimeout: timeout, logger: logger) }, measured)
    }

    /// Ends a run no longer wanted (see `WorkflowRun.retire`): off this thread, watched for
    /// deadlocks, when the worker watches for them.
    func retire(_ run: WorkflowRun) {
        cache?.forget(run)
        WorkflowRun.retire([run], deadlockTimeout: options.deadlockDetectionTimeout, logger: logger)
    }

    /// Answers the queries that came with `task`, on the run's workflow thread, watched for
    /// deadlocks like the rest of its code.
    /// - Throws: `PotentialDeadlockError` when a query handler blocks (the run is then stuck).
    func answerQueries(_ run: WorkflowRun, task: PollWorkflowTaskResponse) async throws
        -> [String: Temporal_Api_Query_V1_WorkflowQueryResult]
    {
        let queries = task.queries
        guard !queries.isEmpty else { return [:] }
        return try await onWorkflowThread(run, task: task) { queries.mapValues { answer(run, $0) } }.0
    }

    private func answer(_ run: WorkflowRun, _ query: Temporal_Api_Query_V1_WorkflowQuery) -> Temporal_Api_Query_V1_WorkflowQueryResult {
        do {
            var result = Temporal_Api_Query_V1_WorkflowQueryResult()
            result.answer = try run.query(query.queryType, args: query.hasQueryArgs ? query.queryArgs : nil, headers: query.header.fields)
            result.resultType = .answered
            return result
        } catch {
            return failedQuery(error)
        }
    }

    /// The error of a query whose answer (`what`) the server refused for its size.
    static func answerTooLarge(_ what: String, _ refusal: SizeRefusal) -> ApplicationError {
        ApplicationError(
            "\(what) is larger than the server accepts (\(refusal.words)): answer with less, or with a reference to the data",
            type: "QueryResultTooLarge", nonRetryable: true)
    }

    /// A failed query's `error_message` (the querying client's status message): the error, or
    /// "Encoded failure" when the failure's attributes are encoded (the client decodes them).
    private func queryErrorMessage(_ error: any Error, _ failure: Failure) -> String {
        failure.hasEncodedAttributes ? failure.message : "\(error)"
    }

    func failedQuery(_ error: any Error) -> Temporal_Api_Query_V1_WorkflowQueryResult {
        var result = Temporal_Api_Query_V1_WorkflowQueryResult()
        result.resultType = .failed
        result.failure = client.dataConverter.failure(from: error)
        result.errorMessage = queryErrorMessage(error, result.failure)
        return result
    }

    private func fail(
        _ task: PollWorkflowTaskResponse, cause: Temporal_Api_Enums_V1_WorkflowTaskFailedCause,
        error: any Error, log: Logger
    ) async {
        guard task.attempt <= 1 else {
            log.debug("workflow task attempt \(task.attempt) failed again (not reported): \(error)")
            return
        }
        log.warning("workflow task failed (\(cause)): \(error)")
        var r = Temporal_Api_Workflowservice_V1_RespondWorkflowTaskFailedRequest()
        r.taskToken = task.taskToken
        r.cause = cause
        var failure = client.dataConverter.failureConverter.failure(from: error)
        failure.message = "\(error)"
        r.failure = client.dataConverter.sealingCommonAttributes(failure)
        r.identity = identity
        r.namespace = client.namespace
        if let deployment { r.deploymentOptions = deployment }
        do {
            _ = try await client.workflowService.respondWorkflowTaskFailed(r)
        } catch {
            log.debug("RespondWorkflowTaskFailed failed: \(error)")
        }
    }

    // MARK: Legacy queries

    /// Whether a cached run whose last workflow task started at `lastStartedEventID` can answer
    /// a query that came with `history`: when the history has no later workflow task (the
    /// events after it, if any, are its own commands' or wait for the next task, which a replay
    /// would not apply either); without history (a sticky query), when the run has seen the
    /// last workflow task the server started (`previousStartedEventID`: a copy behind it, put
    /// back by a query that held it while a task ran on a replayed copy, answered from old state).
    static func cachedRunIsCurrent(lastStartedEventID: Int64, history: [HistoryEvent], previousStartedEventID: Int64 = 0) -> Bool {
        guard history.first?.eventID == 1 else { return previousStartedEventID <= lastStartedEventID }
        let lastStarted = history.last { $0.eventType == .workflowTaskStarted }?.eventID ?? 0
        return lastStarted <= lastStartedEventID
    }

    /// Whether `history` holds, after its last completed workflow task, an event that is not
    /// that task's commands' nor a workflow task's own, nor the run's termination or time-out:
    /// one whose effect on the code no task has applied yet.
    static func hasEventsAfterItsLastTask(_ history: [HistoryEvent]) -> Bool {
        let lastCompleted = history.lastIndex { $0.eventType == .workflowTaskCompleted } ?? -1
        return history[(lastCompleted + 1)...].contains { !$0.isCommandEvent && !quietEvents.contains($0.eventType) }
    }

    /// Events that wake no workflow code (`hasEventsAfterItsLastTask`).
    static let quietEvents: Set<Temporal_Api_Enums_V1_EventType> = [
        .workflowTaskScheduled, .workflowTaskStarted, .workflowTaskFailed, .workflowTaskTimedOut, .workflowTaskCompleted,
        .workflowExecutionTerminated, .workflowExecutionTimedOut, .activityTaskStarted, .workflowExecutionOptionsUpdated,
        .workflowPropertiesModifiedExternally, .workflowExecutionPaused, .workflowExecutionUnpaused,
    ]

    /// Takes the run's gate for a query: at once, or once the task holding it leaves, within a
    /// second; false if not (the query goes on without it, as before). Looked at again after 1,
    /// 2, 4 … ms, then every 20 ms (a task usually leaves within milliseconds; it woke every
    /// millisecond, a thousand times while a slow task held the run).
    private func enterForQuery(_ runID: String) async -> Bool {
        if runGate.tryEnter(runID) { return true }
        let clock = ContinuousClock()
        let deadline = clock.now + .seconds(1)
        var wait = Duration.milliseconds(1)
        while clock.now < deadline {
            do { try await Task.sleep(for: wait) } catch { return false }  // cancelled: no spinning
            if runGate.tryEnter(runID) { return true }
            wait = min(wait * 2, .milliseconds(20))
        }
        return false
    }

    private func handleLegacyQuery(_ task: PollWorkflowTaskResponse) async {
        instruments.queryTask()
        var request = Temporal_Api_Workflowservice_V1_RespondQueryTaskCompletedRequest()
        request.taskToken = task.taskToken
        request.namespace = client.namespace
        let runID = task.workflowExecution.runID
        do {
            let result: Payloads
            // A query from the normal queue comes with the whole history: the cached run answers
            // only if it has seen every workflow task of it (another worker may have run later
            // ones); a sticky query comes without history, for the cached run to answer.
            var events = task.history.events
            if !task.nextPageToken.isEmpty {
                events += try await fetcher.remainingPages(execution: task.workflowExecution, token: task.nextPageToken)
            }
            // The run's task may still be finishing here: the server sends a query it held
            // back once the task's answer reached it, while the worker still handles the reply
            // (and puts the run back in the cache). The query waits for that task, a second at
            // most, and holds the run while it uses it, as Go locks the run and Core holds the
            // query back: it found the run checked out and replayed the whole history, and a
            // task arriving meanwhile found it missing and did the same.
            // Not with deadlock detection off: a handler blocked for good would hold the run's
            // tasks for good.
            var holdsRun = cache != nil && options.deadlockDetectionTimeout != nil ? await enterForQuery(runID) : false
            defer { if holdsRun { runGate.leave(runID) } }
            /// A replay does not need the run's tasks to wait.
            func letTheRunGo() {
                if holdsRun { runGate.leave(runID) }
                holdsRun = false
            }
            var cached = cache?.checkout(runID)
            if let c = cached,
                !Self.cachedRunIsCurrent(
                    lastStartedEventID: c.lastStartedEventID, history: events, previousStartedEventID: task.previousStartedEventID)
            {
                retire(c)  // behind the server's history: a task would replay it anyway
                cached = nil
            }
            // A history whose last workflow task is followed by events that wake code (a signal or
            // an activity's result before the run was terminated) is answered by a replay that
            // applies them (`applyTrailingEventsForQuery`), which the cached run must not do: its
            // next task would find them applied already. The cached run stays cached.
            if let c = cached, events.first?.eventID == 1, Self.hasEventsAfterItsLastTask(events) {
                cache?.checkin(runID, c)
                cached = nil
            }
            if cached == nil { letTheRunGo() }
            if let cached {
                let query = task.query
                do {
                    (result, _) = try await onWorkflowThread(cached, task: task) {
                        try cached.query(query.queryType, args: query.hasQueryArgs ? query.queryArgs : nil, headers: query.header.fields)
                    }
                    cache?.checkin(runID, cached)
                } catch let error as PotentialDeadlockError {
                    logger.warning("\(error)")
                    cache?.forget(cached)
                    throw error  // the run's thread is stuck in the handler: the run stays out of the cache
                } catch {
                    cache?.checkin(runID, cached)
                    throw error
                }
            } else {
                guard let definition = definitions[task.workflowType.name] else {
                    throw QueryError("workflow type '\(task.workflowType.name)' is not registered on this worker")
                }
                if events.first?.eventID != 1 {
                    events = try await fetcher.fullHistory(execution: task.workflowExecution, upTo: nil)
                }
                instruments.queryReplay()
                let run = makeRun(definition, task: task)
                let history = events
                (result, _) = try await onWorkflowThread(run, task: task) {
                    defer { run.tearDown() }  // already on the run's workflow thread
                    _ = try run.process(events: history, liveStartedEventID: nil)
                    try run.applyTrailingEventsForQuery()
                    return try run.query(
                        task.query.queryType, args: task.query.hasQueryArgs ? task.query.queryArgs : nil,
                        headers: task.query.header.fields)
                }
            }
            request.completedType = .answered
            request.queryResult = result
        } catch {
            request.completedType = .failed
            request.failure = client.dataConverter.failure(from: error)
            request.errorMessage = queryErrorMessage(error, request.failure)
        }
        do {
            _ = try await client.workflowService.respondQueryTaskCompleted(request)
        } catch {
            // An answer refused for its size is refused however often it is sent: answer that
            // the query failed, saying why, as Go and Core do (the caller waited for its own
            // deadline and got DEADLINE_EXCEEDED).
            guard request.completedType == .answered, let refusal = SizeRefusal(error, of: request) else {
                logger.debug("RespondQueryTaskCompleted failed: \(error)")
                return
            }
            logger.warning(
                "a query's answer is larger than the server accepts; answering that the query failed",
                metadata: ["query": "\(task.query.queryType)", "bytes": "\(refusal.bytes)"])
            let failed = failedQuery(Self.answerTooLarge("the answer to query '\(task.query.queryType)' (\(refusal.bytes) bytes)", refusal))
            request.completedType = .failed
            request.clearQueryResult()
            request.errorMessage = failed.errorMessage
            request.failure = failed.failure
            do {
                _ = try await client.workflowService.respondQueryTaskCompleted(request)
            } catch {
                logger.debug("RespondQueryTaskCompleted failed: \(error)")
            }
        }
    }
}

/// A workflow task's answer the server (or a proxy) refused as too large: its commands'
/// payloads together exceed a message-size limit.
struct WorkflowTaskAnswerTooLarge: Error, CustomStringConvertible {
    let bytes: Int
    let commands: Int
    let refusal: String

    /// `error`, the failure of RespondWorkflowTaskCompleted `request` (a final answer or a
    /// heartbeat), when it refused the request for its size (`SizeRefusal`); nil for any other
    /// failure.
    init?(refusing request: Temporal_Api_Workflowservice_V1_RespondWorkflowTaskCompletedRequest, with error: any Error) {
        guard let refused = SizeRefusal(error, of: request) else { return nil }
        (bytes, commands, refusal) = (refused.bytes, request.commands.count, refused.words)
    }

    var description: String {
        "the workflow task's answer (\(bytes) bytes, \(commands) commands) is larger than the server accepts (\(refusal)); "
            + "the same answer is refused on every attempt: schedule fewer activities or children per task, or pass smaller "
            + "inputs (a reference to the data rather than the data), then deploy the fixed worker"
    }
}
