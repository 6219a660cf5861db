import Foundation
import SwiftProtobuf
import Temporal
import TemporalProto

extension InMemoryState {
    // MARK: Completing a workflow task

    /// Records `commands` of the workflow task `token` names, in order, as a server would.
    /// - Returns: the activities started eagerly (asked for with `request_eager_execution` on
    ///   the workflow's own task queue), for the response.
    /// - Throws: `GRPCStatusError` INVALID_ARGUMENT for a command this service does not model.
    @discardableResult
    mutating func completeWorkflowTask(_ token: InMemoryToken, _ r: Temporal_Api_Workflowservice_V1_RespondWorkflowTaskCompletedRequest)
        throws -> [ActivityTask]
    {
        var e = try execution(token.runID)
        guard e.isRunning, e.workflowTaskStartedID == token.id else {
            throw GRPCStatusError(code: .notFound, message: "workflow task not found (already answered, or the run closed)")
        }
        // As a server does: a task that closes the run while new events (a signal) arrived is
        // refused, and a new task brings them to the code.
        let closing: Set<Temporal_Api_Enums_V1_CommandType> = [
            .completeWorkflowExecution, .failWorkflowExecution,
            .cancelWorkflowExecution, .continueAsNewWorkflowExecution,
        ]
        // As the server's command checker does: nothing may follow the command that closes
        // the run (it refuses the whole answer and records nothing).
        if let close = r.commands.firstIndex(where: { closing.contains($0.commandType) }), close != r.commands.count - 1 {
            throw GRPCStatusError(
                code: .invalidArgument,
                message:
                    "invalid command sequence: \(r.commands.map { "\($0.commandType)" }), command \(r.commands[close].commandType) must be the last command"
            )
        }
        // A timer due meanwhile fired there too (its event buffered), unless this answer
        // cancels it (the server then drops the buffered event).
        if r.commands.contains(where: { closing.contains($0.commandType) }),
            bufferTimersDue(in: &e, exceptCancelledBy: r.commands) || e.newEventsDuringTask
        {
            executions[token.runID] = e
            var failed = Temporal_Api_Workflowservice_V1_RespondWorkflowTaskFailedRequest()
            failed.cause = .unhandledCommand
            failed.failure.message = "UnhandledCommand: new events arrived while the workflow task ran"
            failed.identity = r.identity
            try failWorkflowTask(token, failed, alwaysRetry: true)
            throw GRPCStatusError(code: .invalidArgument, message: "UnhandledCommand: new events arrived while the workflow task ran")
        }
        let scheduled = e.workflowTaskScheduledID ?? 0
        let completed = e.append(.workflowTaskCompleted, at: now) { event in
            var a = Temporal_Api_History_V1_WorkflowTaskCompletedEventAttributes()
            a.scheduledEventID = scheduled
            a.startedEventID = token.id
            a.identity = r.identity
            if r.hasSdkMetadata { a.sdkMetadata = r.sdkMetadata }  // the SDK's flags, as the server keeps them
            event.workflowTaskCompletedEventAttributes = a
        }
        e.workflowTaskAttempt = 1
        var newActivities: [Int64] = []
        do {
            for command in r.commands {
                guard e.isRunning else { break }
                try apply(command, to: &e, completed: completed, newActivities: &newActivities)
            }
        } catch let refused as RefusedCommand {
            // As a server does with a command whose attributes it refuses: INVALID_ARGUMENT, and
            // the task fails with the BAD_* cause in history.
            var failed = Temporal_Api_Workflowservice_V1_RespondWorkflowTaskFailedRequest()
            failed.cause = refused.cause
            failed.failure.message = refused.message
            failed.identity = r.identity
            try failWorkflowTask(
                token, failed, refusedByService: true, thenTerminate: refused.terminates ? refused.terminationReason : nil)
            throw GRPCStatusError(code: .invalidArgument, message: refused.message)
        } catch let error as GRPCStatusError {
            // As a server does with a command it refuses: the task fails, with the reason in history.
            var failed = Temporal_Api_Workflowservice_V1_RespondWorkflowTaskFailedRequest()
            failed.cause = .unhandledCommand
            failed.failure.message = error.message
            failed.identity = r.identity
            try failWorkflowTask(token, failed, refusedByService: true)
            if error.message.hasPrefix(Self.unsupportedPrefix), (try? execution(token.runID))?.isRunning == true {
                // A server would run it; retrying cannot help here, and a run left waiting would
                // hang whoever awaits its result. It ends, saying why.
                try terminate(token.runID, reason: error.message, identity: Self.identity)
            }
            throw error
        }
        e.serviceRefusalsInARow = 0
        let sticky = r.stickyAttributes.workerTaskQueue.name
        e.stickyQueue = r.hasStickyAttributes && !sticky.isEmpty && !retiredStickyQueues.contains(sticky) ? sticky : nil
        if e.stickyQueue != nil {
            let timeout = r.stickyAttributes.scheduleToStartTimeout.timeInterval
            e.stickyScheduleToStartTimeout = timeout > 0 ? timeout : 5
        }
        executions[token.runID] = e
        var eager: [ActivityTask] = []
        for id in newActivities {
            let attributes = e.activities[id]?.attributes
            let queue = attributes?.taskQueue.name ?? e.taskQueue
            if attributes?.requestEagerExecution == true, queue == e.taskQueue, let task = startActivity(token.runID, scheduledID: id) {
                eager.append(task)
            } else {
                enqueue(.activity(runID: token.runID, scheduledID: id), on: Self.activityQueue(queue))
            }
        }
        endWorkflowTask(token.runID)
        if r.forceCreateNewWorkflowTask { scheduleWorkflowTask(token.runID) }
        return eager
    }

    private mutating func apply(
        _ command: Temporal_Api_Command_V1_Command, to e: inout InMemoryExecution, completed: Int64,
        newActivities: inout [Int64]
    ) throws {
        let now = self.now
        switch command.attributes {
        case .scheduleActivityTaskCommandAttributes(var a)?:
            // The server keeps activity ids unique among the run's open activities.
            if e.activities.values.contains(where: { $0.attributes.activityID == a.activityID }) {
                throw RefusedCommand(
                    cause: .scheduleActivityDuplicateID,
                    message: "ScheduleActivityTask: activity id '\(a.activityID)' is already used by an open activity of this run")
            }
            if a.taskQueue.name.isEmpty { a.taskQueue.name = e.taskQueue }
            // The server's per-workflow limit (limit.numPendingActivities.error): the task fails,
            // and every retry until fewer are open; a fan-out over more is stuck there.
            if e.activities.count >= Self.pendingActivitiesLimit {
                throw RefusedCommand(
                    cause: .pendingActivitiesLimitExceeded,
                    message:
                        "the number of pending activities, \(e.activities.count), has reached the per-workflow limit of \(Self.pendingActivitiesLimit)"
                )
            }
            if a.hasRetryPolicy, let problem = Self.retryPolicyProblem(a.retryPolicy) {
                throw RefusedCommand(cause: .badScheduleActivityAttributes, message: "ScheduleActivityTask: \(problem)")
            }
            if Self.size(a.input) > Self.blobSizeLimit {
                throw RefusedCommand.tooLarge(
                    .badScheduleActivityAttributes, "ScheduleActivityTaskCommandAttributes.Input exceeds size limit.")
            }
            let attributes = a
            let id = e.append(.activityTaskScheduled, at: now) { event in
                var s = Temporal_Api_History_V1_ActivityTaskScheduledEventAttributes()
                s.activityID = attributes.activityID
                s.activityType = attributes.activityType
                s.taskQueue = attributes.taskQueue
                if attributes.hasHeader { s.header = attributes.header }
                if attributes.hasInput { s.input = attributes.input }
                if attributes.hasScheduleToCloseTimeout { s.scheduleToCloseTimeout = attributes.scheduleToCloseTimeout }
                if attributes.hasStartToCloseTimeout { s.startToCloseTimeout = attributes.startToCloseTimeout }
                if attributes.hasHeartbeatTimeout { s.heartbeatTimeout = attributes.heartbeatTimeout }
                if attributes.hasRetryPolicy { s.retryPolicy = attributes.retryPolicy }
                s.workflowTaskCompletedEventID = completed
                event.activityTaskScheduledEventAttributes = s
            }
            e.activities[id] = .init(scheduledEventID: id, attributes: attributes, scheduledTime: now, attemptScheduledTime: now)
            newActivities.append(id)
        case .requestCancelActivityTaskCommandAttributes(let a)?:
            // As the server: an activity neither pending nor ended while the task ran, or
            // one whose cancel was asked for already, is a bad command (every attempt of the
            // task fails on it: a worker that sends one is stuck on a server).
            let pending = e.activities[a.scheduledEventID]
            guard pending.map({ !$0.cancelRequested }) ?? e.bufferedOutcomeIDs.contains(a.scheduledEventID) else {
                throw RefusedCommand(
                    cause: .badRequestCancelActivityAttributes,
                    message: "RequestCancelActivityTask: "
                        + (pending == nil
                            ? "no pending activity was scheduled by event \(a.scheduledEventID)"
                            : "the activity scheduled by event \(a.scheduledEventID) was asked to cancel already")
                        + " (ScheduledEventID: \(a.scheduledEventID))")
            }
            let requested = e.append(.activityTaskCancelRequested, at: now) { event in
                var c = Temporal_Api_History_V1_ActivityTaskCancelRequestedEventAttributes()
                c.scheduledEventID = a.scheduledEventID
                c.workflowTaskCompletedEventID = completed
                event.activityTaskCancelRequestedEventAttributes = c
            }
            guard var activity = e.activities[a.scheduledEventID] else { return }
            if activity.dispatched {
                activity.cancelRequested = true  // the activity learns it from its next heartbeat
                e.activities[a.scheduledEventID] = activity
            } else {
                e.activities[a.scheduledEventID] = nil
                e.bufferedOutcomeIDs.insert(a.scheduledEventID)  // a second cancel in this answer is taken, as on a server
                e.append(.activityTaskCanceled, at: now) { event in
                    var c = Temporal_Api_History_V1_ActivityTaskCanceledEventAttributes()
                    c.scheduledEventID = a.scheduledEventID
                    c.latestCancelRequestedEventID = requested
                    event.activityTaskCanceledEventAttributes = c
                }
                e.newEventsDuringTask = true
            }
        case .startTimerCommandAttributes(let a)?:
            // The server keeps timer ids unique among the run's live timers.
            if e.timers[a.timerID] != nil {
                throw RefusedCommand(
                    cause: .startTimerDuplicateID,
                    message: "StartTimer: timer id '\(a.timerID)' is already used by a live timer of this run")
            }
            let id = e.append(.timerStarted, at: now) { event in
                var t = Temporal_Api_History_V1_TimerStartedEventAttributes()
                t.timerID = a.timerID
                t.startToFireTimeout = a.startToFireTimeout
                t.workflowTaskCompletedEventID = completed
                event.timerStartedEventAttributes = t
            }
            let seconds = Double(a.startToFireTimeout.seconds) + Double(a.startToFireTimeout.nanos) / 1e9
            e.timers[a.timerID] = .init(startedEventID: id, fireAt: now.addingTimeInterval(seconds))
        case .cancelTimerCommandAttributes(let a)?:
            // As the server: a timer neither live nor fired while the task ran (in memory a
            // due timer is live until the answer) is a bad command.
            guard let timer = e.timers.removeValue(forKey: a.timerID) else {
                throw RefusedCommand(
                    cause: .badCancelTimerAttributes,
                    message: "CancelTimer: no live timer has id '\(a.timerID)' (TimerID: \(a.timerID))")
            }
            e.append(.timerCanceled, at: now) { event in
                var t = Temporal_Api_History_V1_TimerCanceledEventAttributes()
                t.timerID = a.timerID
                t.startedEventID = timer.startedEventID
                t.workflowTaskCompletedEventID = completed
                event.timerCanceledEventAttributes = t
            }
        case .recordMarkerCommandAttributes(let a)?:
            // A local activity's result is a marker's details.
            if a.details.reduce(0, { $0 + $1.key.utf8.count + Self.size($1.value) }) > Self.blobSizeLimit {
                throw RefusedCommand.tooLarge(.badRecordMarkerAttributes, "RecordMarkerCommandAttributes.Details exceeds size limit.")
            }
            e.append(.markerRecorded, at: now) { event in
                var m = Temporal_Api_History_V1_MarkerRecordedEventAttributes()
                m.markerName = a.markerName
                m.details = a.details
                if a.hasHeader { m.header = a.header }
                if a.hasFailure { m.failure = a.failure }
                m.workflowTaskCompletedEventID = completed
                event.markerRecordedEventAttributes = m
            }
        case .upsertWorkflowSearchAttributesCommandAttributes(let a)?:
            if let custom = customSearchAttributes, let problem = InMemorySearchAttributes.problem(a.searchAttributes, custom: custom) {
                // As a server: the task fails with BAD_SEARCH_ATTRIBUTES.
                throw RefusedCommand(cause: .badSearchAttributes, message: problem)
            }
            if let problem = Self.searchAttributeSizeProblem(a.searchAttributes, current: e) {
                throw RefusedCommand.tooLarge(.badSearchAttributes, problem)
            }
            e.append(.upsertWorkflowSearchAttributes, at: now) { event in
                var u = Temporal_Api_History_V1_UpsertWorkflowSearchAttributesEventAttributes()
                u.searchAttributes = a.searchAttributes
                u.workflowTaskCompletedEventID = completed
                event.upsertWorkflowSearchAttributesEventAttributes = u
            }
        case .completeWorkflowExecutionCommandAttributes(let a)?:
            if Self.size(a.result) > Self.blobSizeLimit {
                // The server's cause for it (not a completion cause), copied as it is.
                throw RefusedCommand.tooLarge(
                    .badScheduleActivityAttributes, "CompleteWorkflowExecutionCommandAttributes.Result exceeds size limit.")
            }
            e.append(.workflowExecutionCompleted, at: now) { event in
                var c = Temporal_Api_History_V1_WorkflowExecutionCompletedEventAttributes()
                if a.hasResult { c.result = a.result }
                c.workflowTaskCompletedEventID = completed
                event.workflowExecutionCompletedEventAttributes = c
            }
            close(&e, .completed)
        case .failWorkflowExecutionCommandAttributes(let a)?:
            if Self.size(a.failure) > Self.blobSizeLimit {
                throw RefusedCommand.tooLarge(
                    .badFailWorkflowExecutionAttributes, "FailWorkflowExecutionCommandAttributes.Failure exceeds size limit.")
            }
            e.append(.workflowExecutionFailed, at: now) { event in
                var f = Temporal_Api_History_V1_WorkflowExecutionFailedEventAttributes()
                f.failure = a.failure
                f.retryState = .retryPolicyNotSet
                f.workflowTaskCompletedEventID = completed
                event.workflowExecutionFailedEventAttributes = f
            }
            close(&e, .failed)
        case .cancelWorkflowExecutionCommandAttributes(let a)?:
            e.append(.workflowExecutionCanceled, at: now) { event in
                var c = Temporal_Api_History_V1_WorkflowExecutionCanceledEventAttributes()
                if a.hasDetails { c.details = a.details }
                c.workflowTaskCompletedEventID = completed
                event.workflowExecutionCanceledEventAttributes = c
            }
            close(&e, .canceled)
        default:
            throw GRPCStatusError(
                code: .invalidArgument,
                message: Self.unsupportedPrefix + "\(command.commandType) commands "
                    + "(it runs activities, local activities, timers, signals, queries, search attributes and completions); "
                    + "test this workflow against a dev server (temporal server start-dev)")
        }
    }

    /// How the refusal of a command this service does not model starts.
    static let unsupportedPrefix = "the in-memory test service does not model "

    /// What a server's retry policy check refuses in `policy` (it fails the workflow task with
    /// BAD_SCHEDULE_ACTIVITY_ATTRIBUTES), nil when it is valid.
    static func retryPolicyProblem(_ policy: Temporal_Api_Common_V1_RetryPolicy) -> String? {
        // As a server: one attempt means no retries, and the rest is not checked.
        if policy.maximumAttempts == 1 { return nil }
        // As a server: its defaults first (initial 1 s; maximum 100 initial intervals).
        let initial = policy.hasInitialInterval && policy.initialInterval.timeInterval != 0 ? policy.initialInterval.timeInterval : 1
        let maximum = policy.hasMaximumInterval ? policy.maximumInterval.timeInterval : 0
        if initial < 0 { return "the retry policy's initial interval is negative" }
        if policy.backoffCoefficient != 0, policy.backoffCoefficient < 1 {
            return "the retry policy's backoff coefficient is \(policy.backoffCoefficient): it may not be less than 1"
        }
        if maximum < 0 { return "the retry policy's maximum interval is negative" }
        if maximum > 0, maximum < initial { return "the retry policy's maximum interval is less than its initial interval" }
        if policy.maximumAttempts < 0 { return "the retry policy's maximum attempts is negative" }
        let timeouts = ["StartToClose", "ScheduleToStart", "ScheduleToClose", "Heartbeat"].map { "TemporalTimeout:" + $0 }
        if let bad = policy.nonRetryableErrorTypes.first(where: { $0.hasPrefix("TemporalTimeout:") && !timeouts.contains($0) }) {
            return "the retry policy's non-retryable error type '\(bad)' names no timeout (\(timeouts.joined(separator: ", ")))"
        }
        return nil
    }

    /// A command the server refuses for its attributes, with the cause it writes.
    struct RefusedCommand: Error {
        var cause: Temporal_Api_Enums_V1_WorkflowTaskFailedCause
        var message: String
        /// The server terminates the run after failing the task (a payload over its size
        /// limits: no retry of the same code can pass).
        var terminates = false

        /// A payload or search attribute over the server's size limits (`workflowSizeChecker`),
        /// which terminates the run.
        static func tooLarge(_ cause: Temporal_Api_Enums_V1_WorkflowTaskFailedCause, _ message: String) -> RefusedCommand {
            RefusedCommand(cause: cause, message: message, terminates: true)
        }

        /// The reason the server's termination records: the cause's name, then the message.
        var terminationReason: String {
            let name = "\(cause)"
            return name.prefix(1).uppercased() + name.dropFirst() + ": " + message
        }
    }

    mutating func close(_ e: inout InMemoryExecution, _ status: InMemoryExecution.Status) {
        e.status = status
        e.activities = [:]
        e.timers = [:]
    }

    // MARK: Activities

    /// Dispatches activity `scheduledID` of `runID` to a poller; nil when it is gone.
    mutating func startActivity(_ runID: String, scheduledID: Int64) -> ActivityTask? {
        guard var e = executions[runID], e.isRunning, var activity = e.activities[scheduledID], !activity.dispatched else { return nil }
        activity.dispatched = true
        activity.startedTime = now
        e.activities[scheduledID] = activity
        executions[runID] = e
        let a = activity.attributes
        var task = ActivityTask()
        task.taskToken = InMemoryToken(kind: .activity, runID: runID, id: scheduledID, attempt: activity.attempt).data
        task.workflowNamespace = e.namespace
        task.workflowType.name = e.workflowType
        task.workflowExecution.workflowID = e.workflowID
        task.workflowExecution.runID = runID
        task.activityType = a.activityType
        task.activityID = a.activityID
        if a.hasHeader { task.header = a.header }
        if a.hasInput { task.input = a.input }
        if let details = activity.heartbeatDetails { task.heartbeatDetails = details }
        // On the worker's clock: it counts the attempt's deadlines from these against its own
        // (time skipped before the attempt, by a timer or a backoff, would make them late; no
        // time is skipped while an attempt runs).
        task.scheduledTime = .init(date: activity.scheduledTime - skipped)
        task.currentAttemptScheduledTime = .init(date: activity.attemptScheduledTime - skipped)
        task.startedTime = .init(date: now - skipped)
        task.attempt = activity.attempt
        if a.hasScheduleToCloseTimeout { task.scheduleToCloseTimeout = a.scheduleToCloseTimeout }
        task.startToCloseTimeout = a.hasStartToCloseTimeout ? a.startToCloseTimeout : a.scheduleToCloseTimeout
        if a.hasHeartbeatTimeout { task.heartbeatTimeout = a.heartbeatTimeout }
        // As a server gives it to the worker: its defaults filled in.
        task.retryPolicy = RetryPolicy(proto: a.retryPolicy).withServerDefaults.proto
        return task
    }

    /// The activity a token names, while it is outstanding.
    func activity(_ token: InMemoryToken) throws -> InMemoryExecution.Activity {
        guard let e = executions[token.runID], let activity = e.activities[token.id], activity.attempt == token.attempt else {
            throw GRPCStatusError(code: .notFound, message: "activity task not found (already answered, timed out or the run closed)")
        }
        return activity
    }

    mutating func heartbeat(_ token: InMemoryToken, details: Payloads?) throws -> Bool {
        timeOutActivities()  // an attempt past its deadline is over, whoever asks first
        var activity = try activity(token)
        // Stored whole, as a server stores it: a heartbeat without details clears them.
        activity.heartbeatDetails = details
        activity.lastHeartbeat = now
        executions[token.runID]?.activities[token.id] = activity
        return activity.cancelRequested
    }

    /// Records how an attempt ended: completed, canceled, or failed — then retried (with the
    /// retry policy, without waiting) or recorded as failed.
    enum AttemptOutcome {
        case completed(Payloads?)
        case failed(Failure)
        case canceled(Payloads)
    }

    /// A server's limit on one payload blob (`limit.blobSize.error`, 2 MiB by default).
    static let blobSizeLimit = 2 * 1024 * 1024
    /// A server's limits on search attributes: each value's data, and the whole map
    /// (`frontend.searchAttributesSizeOfValueLimit`, `…TotalSizeLimit`).
    static let searchAttributeValueLimit = 2 * 1024
    static let searchAttributesTotalLimit = 40 * 1024

    /// A message's encoded size (as the server measures: `proto.Size`).
    static func size(_ message: some SwiftProtobuf.Message) -> Int { (try? message.serializedBytes() as [UInt8])?.count ?? 0 }

    /// What the server's size checks refuse in an upsert of `upsert` on run `e`: the upsert's
    /// payloads over the blob limit, a value over 2 KiB, or the run's attributes with the
    /// upsert merged in over 40 KiB. Nil when they pass.
    static func searchAttributeSizeProblem(_ upsert: Temporal_Api_Common_V1_SearchAttributes, current e: InMemoryExecution) -> String? {
        if upsert.indexedFields.reduce(0, { $0 + $1.key.utf8.count + size($1.value) }) > blobSizeLimit {
            return "UpsertWorkflowSearchAttributesCommandAttributes exceeds size limit."
        }
        var merged = Temporal_Api_Common_V1_SearchAttributes()
        for event in e.history {
            if event.eventType == .workflowExecutionStarted {
                merged.indexedFields.merge(event.workflowExecutionStartedEventAttributes.searchAttributes.indexedFields) { $1 }
            } else if event.eventType == .upsertWorkflowSearchAttributes {
                merged.indexedFields.merge(event.upsertWorkflowSearchAttributesEventAttributes.searchAttributes.indexedFields) { $1 }
            }
        }
        merged.indexedFields.merge(upsert.indexedFields) { $1 }
        // An unset attribute (a null value) is removed, as the server removes it.
        merged.indexedFields = merged.indexedFields.filter { !SearchAttributeEncoding.isUnset($0.value) }
        for (name, payload) in merged.indexedFields.sorted(by: { $0.key < $1.key }) where payload.data.count > searchAttributeValueLimit {
            return "search attribute \(name) value size \(payload.data.count) exceeds size limit \(searchAttributeValueLimit)"
        }
        let total = size(merged)
        if total > searchAttributesTotalLimit {
            return "total size of search attributes \(total) exceeds size limit \(searchAttributesTotalLimit)"
        }
        return nil
    }

    mutating func finishActivity(_ token: InMemoryToken, _ answer: AttemptOutcome, identity: String) throws {
        var outcome = answer
        if case .completed(let payloads?) = answer, (try? payloads.serializedData().count) ?? 0 > Self.blobSizeLimit {
            // As the frontend does: a result over the limit fails the activity, for good.
            var failure = Failure()
            failure.message = "Complete result exceeds size limit."
            var info = Temporal_Api_Failure_V1_ServerFailureInfo()
            info.nonRetryable = true
            failure.serverFailureInfo = info
            outcome = .failed(failure)
        }
        let outcomeToWrite = outcome
        timeOutActivities()  // an answer after the attempt's deadline finds it timed out
        let activity = try activity(token)
        if case .canceled = outcome, !activity.cancelRequested {
            // As a server: only an activity whose cancellation the workflow asked for may end so.
            throw GRPCStatusError(
                code: .invalidArgument, message: "unable to mark activity as canceled without activity being request canceled")
        }
        var e = try execution(token.runID)
        var retryState = Temporal_Api_Enums_V1_RetryState.unspecified
        if case .failed(let failure) = outcome {
            retryState = self.retryState(after: activity, failure)
            if retryState == .inProgress, let reason = Self.endlessRetries(activity, in: e, after: failure) {
                try terminate(token.runID, reason: reason, identity: Self.identity)
                return
            }
            if retryState == .inProgress {
                scheduleNextAttempt(of: activity, token.id, in: &e, after: failure, delay: Self.backoff(after: activity, failure))
                return
            }
        }
        e.activities[token.id] = nil
        let (time, attempt, finalState) = (now, activity.attempt, retryState)
        // Written with the outcome, but dated when the attempt started, as the server dates it
        // (ActivityInfo's started time): an activity's duration read from history was zero.
        let startedAt = activity.startedTime ?? time
        e.appendFromOutside(activityOutcome: token.id) { e in
            let started = e.append(.activityTaskStarted, at: startedAt) { event in
                var s = Temporal_Api_History_V1_ActivityTaskStartedEventAttributes()
                s.scheduledEventID = token.id
                s.identity = identity
                s.attempt = attempt
                if let last = activity.lastFailure { s.lastFailure = last }
                event.activityTaskStartedEventAttributes = s
            }
            switch outcomeToWrite {
            case .canceled(let canceled):
                e.append(.activityTaskCanceled, at: time) { event in
                    var c = Temporal_Api_History_V1_ActivityTaskCanceledEventAttributes()
                    c.details = canceled
                    c.scheduledEventID = token.id
                    c.startedEventID = started
                    c.identity = identity
                    event.activityTaskCanceledEventAttributes = c
                }
            case .completed(let payloads):
                e.append(.activityTaskCompleted, at: time) { event in
                    var c = Temporal_Api_History_V1_ActivityTaskCompletedEventAttributes()
                    if let payloads { c.result = payloads }
                    c.scheduledEventID = token.id
                    c.startedEventID = started
                    c.identity = identity
                    event.activityTaskCompletedEventAttributes = c
                }
            case .failed(let failure):
                e.append(.activityTaskFailed, at: time) { event in
                    var f = Temporal_Api_History_V1_ActivityTaskFailedEventAttributes()
                    f.failure = failure
                    f.scheduledEventID = token.id
                    f.startedEventID = started
                    f.identity = identity
                    f.retryState = finalState
                    event.activityTaskFailedEventAttributes = f
                }
            }
        }
        executions[token.runID] = e
        scheduleWorkflowTask(token.runID)
    }

    /// Queues the next attempt of `activity` (id `id` of run `e`), which it writes back: handed
    /// out once `delay` (its retry backoff) has passed, with `failure` as its last failure
    /// (`timedOut`: a timeout of this service's, whose attempt may still be running).
    mutating func scheduleNextAttempt(
        of activity: InMemoryExecution.Activity, _ id: Int64, in e: inout InMemoryExecution, after failure: Failure,
        timedOut: Bool = false, delay: TimeInterval
    ) {
        var next = activity
        next.attempt += 1
        next.dispatched = false
        next.startedTime = nil
        next.lastHeartbeat = nil
        next.lastFailure = failure
        next.timedOutAttemptStopsBy = timedOut ? now + InMemoryExecution.Activity.timedOutAttemptGrace : nil
        next.attemptScheduledTime = now + max(0, delay)
        e.activities[id] = next
        executions[e.runID] = e
        enqueue(.activity(runID: e.runID, scheduledID: id), on: Self.activityQueue(activity.attributes.taskQueue.name))
    }

    /// `.inProgress` when the activity gets another attempt after failing with `failure`, else
    /// why not, as a server writes it: an activity whose cancellation was asked for is not
    /// tried again (CANCEL_REQUESTED), nor a non-retryable failure, nor one past its attempts or
    /// its schedule-to-close time once its backoff is waited (TIMEOUT).
    private func retryState(after activity: InMemoryExecution.Activity, _ failure: Failure) -> Temporal_Api_Enums_V1_RetryState {
        if activity.cancelRequested { return .cancelRequested }
        let policy = activity.attributes.retryPolicy
        if let app = Self.application(failure), app.nonRetryable || policy.nonRetryableErrorTypes.contains(app.type) {
            return .nonRetryableFailure
        }
        if case .serverFailureInfo(let server)? = failure.failureInfo, server.nonRetryable { return .nonRetryableFailure }
        if policy.maximumAttempts > 0, activity.attempt >= policy.maximumAttempts { return .maximumAttemptsReached }
        return Self.retryFitsSchedule(activity, at: now, delay: Self.backoff(after: activity, failure)) ? .inProgress : .timeout
    }

    static func application(_ failure: Failure) -> Temporal_Api_Failure_V1_ApplicationFailureInfo? {
        if case .applicationFailureInfo(let app)? = failure.failureInfo { return app }
        return nil
    }

    // MARK: Signals, cancellation, termination

    mutating func signal(_ runID: String, name: String, input: Payloads?, header: Temporal_Api_Common_V1_Header?, identity: String) throws {
        var e = try execution(runID)
        guard e.isRunning else { throw GRPCStatusError(code: .notFound, message: "workflow execution already completed") }
        let time = now
        e.appendFromOutside { e in
            e.append(.workflowExecutionSignaled, at: time) { event in
                var s = Temporal_Api_History_V1_WorkflowExecutionSignaledEventAttributes()
                s.signalName = name
                if let input { s.input = input }
                if let header { s.header = header }
                s.identity = identity
                event.workflowExecutionSignaledEventAttributes = s
            }
        }
        executions[runID] = e
        scheduleWorkflowTask(runID)
    }

    mutating func requestCancel(_ runID: String, identity: String) throws {
        var e = try execution(runID)
        // As a server: asking a closed run to cancel succeeds and does nothing, and so does
        // asking again (cancellation is idempotent: one request in history, one task).
        guard e.isRunning, !e.cancelRequested else { return }
        e.cancelRequested = true
        let time = now
        e.appendFromOutside { e in
            e.append(.workflowExecutionCancelRequested, at: time) { event in
                var c = Temporal_Api_History_V1_WorkflowExecutionCancelRequestedEventAttributes()
                c.identity = identity
                event.workflowExecutionCancelRequestedEventAttributes = c
            }
        }
        executions[runID] = e
        scheduleWorkflowTask(runID)
    }

    mutating func terminate(_ runID: String, reason: String, identity: String) throws {
        var e = try execution(runID)
        guard e.isRunning else { throw GRPCStatusError(code: .notFound, message: "workflow execution already completed") }
        // As a server does: the task in flight fails (its answer will find the run closed),
        // and what arrived meanwhile is written before the run closes.
        if let started = e.workflowTaskStartedID {
            let scheduled = e.workflowTaskScheduledID ?? 0
            e.append(.workflowTaskFailed, at: now) { event in
                var a = Temporal_Api_History_V1_WorkflowTaskFailedEventAttributes()
                a.scheduledEventID = scheduled
                a.startedEventID = started
                a.cause = .forceCloseCommand
                a.identity = identity
                event.workflowTaskFailedEventAttributes = a
            }
            e.dropStartedTask()
        }
        e.append(.workflowExecutionTerminated, at: now) { event in
            var t = Temporal_Api_History_V1_WorkflowExecutionTerminatedEventAttributes()
            t.reason = reason
            t.identity = identity
            event.workflowExecutionTerminatedEventAttributes = t
        }
        close(&e, .terminated)
        executions[runID] = e
    }
}

typealias PollWorkflowTaskQueueResponse = Temporal_Api_Workflowservice_V1_PollWorkflowTaskQueueResponse
typealias ActivityTask = Temporal_Api_Workflowservice_V1_PollActivityTaskQueueResponse
