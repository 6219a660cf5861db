import CoreMetrics
import Logging
import SwiftProtobuf
import Temporal
import TemporalProto
import Tracing

// URLError (the networking APIs' errors) is Foundation's, not FoundationEssentials'.
import struct Foundation.URLError

#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// Runs one activity task: dispatches on the activity type, executes the body as a Swift task
/// (heartbeats, local deadline, cancellation), and reports the outcome with exactly one of
/// RespondActivityTaskCompleted / Failed / Canceled.
struct ActivityTaskRunner: Sendable {
    let client: TemporalClient
    let taskQueue: String
    /// The worker's identity (`WorkerOptions.identity`), reported in every activity RPC.
    let identity: String
    /// Heartbeat throttling (`WorkerOptions.maxHeartbeatThrottleInterval` and
    /// `defaultHeartbeatThrottleInterval`).
    let maxHeartbeatThrottle: Duration
    let defaultHeartbeatThrottle: Duration
    let activities: [String: ActivityDefinition]
    let logger: Logger
    let instruments: WorkerInstruments
    let interceptors: [any WorkerInterceptor]
    /// This worker's deployment, named in every answer (`WorkerOptions.deployment`).
    var deployment: Temporal_Api_Deployment_V1_WorkerDeploymentOptions?

    /// Runs `task`, which the worker received at `received` (its deadline and heartbeat clock
    /// count from then, not from after a rate limit's wait).
    func execute(
        _ task: Temporal_Api_Workflowservice_V1_PollActivityTaskQueueResponse, received: ActivityTaskArrival = .now,
        shutdown: ShutdownSignal
    ) async {
        let info = ActivityInfo(task: task, namespace: client.namespace, taskQueue: taskQueue, received: received.date)
        // Every activity log line (the body's `context.logger` included) names the attempt.
        let log = logger.adding([
            "namespace": .string(info.namespace), "task_queue": .string(info.taskQueue), "workflow_id": .string(info.workflowID),
            "run_id": .string(info.workflowRunID), "workflow_type": .string(info.workflowType),
            "activity_id": .string(info.activityID), "activity_type": .string(info.activityType),
            "attempt": .stringConvertible(info.attempt),
        ])
        let service = client.workflowService
        // An unregistered type is labelled as one (`WorkerInstruments.unregisteredType`).
        let typeLabel = activities[info.activityType] == nil ? WorkerInstruments.unregisteredType : info.activityType
        if let started = info.startedTime, let scheduled = info.currentAttemptScheduledTime ?? info.scheduledTime {
            instruments.activityScheduleToStart(
                .seconds(started.timeIntervalSince(scheduled)), activityType: typeLabel, workflowType: info.workflowType)
        }
        guard let definition = activities[info.activityType] else {
            instruments.activityFailed(activityType: typeLabel, workflowType: info.workflowType)
            instruments.unregisteredActivity()
            let known = activities.keys.sorted().joined(separator: ", ")
            let error = ApplicationError(
                "activity type '\(info.activityType)' is not registered on this worker (registered: \(known))",
                type: "ActivityNotRegisteredError")
            await respondFailed(info, failure: client.dataConverter.failure(from: error), details: nil, log: log)
            return
        }
        let heartbeater = Heartbeater(
            heartbeatTimeout: info.heartbeatTimeout, maxThrottle: maxHeartbeatThrottle,
            defaultThrottle: defaultHeartbeatThrottle, service: service, namespace: client.namespace,
            identity: identity, taskToken: task.taskToken, logger: log, workerStopping: shutdown.stopping,
            began: received.instant)
        let context = ActivityContext(
            info: info, dataConverter: client.dataConverter, logger: log, heartbeater: heartbeater,
            previousDetails: task.hasHeartbeatDetails ? task.heartbeatDetails : nil,
            metricsFactory: instruments.factory, workerStopping: shutdown.stopping)
        let clock = ContinuousClock()
        let executionStart = clock.now
        // The span of this attempt, a child of the workflow's StartActivity span (its context
        // came in the activity's header); the body's own spans (HTTP, store) nest under it.
        let attempt = ActivityAttempt(
            definition: definition, input: task.hasInput ? task.input : nil, context: context,
            converter: client.dataConverter,
            parent: TraceHeader.extract(task.header.fields) ?? .topLevel,
            headers: task.header.fields, interceptors: interceptors)
        // A failure carries the latest details itself; a completion supersedes them (dropped,
        // as Go and Core drop them: one RPC less before the answer); a cancellation and an
        // asynchronous completion send them first.
        let result = await attempt.run(stop: shutdown.hardStopped) { [heartbeater] result in
            switch result {
            case .success: false
            case .failure(let error):
                error is ActivityCompletesAsynchronously
                    || (Self.isCancellation(error) && Self.answersCancelled(heartbeater.stopReason))
            }
        }
        instruments.activityExecution(clock.now - executionStart, activityType: info.activityType, workflowType: info.workflowType)
        switch result {
        case .success(let payloads):
            let finished = Date()
            var r = Temporal_Api_Workflowservice_V1_RespondActivityTaskCompletedRequest()
            if let deployment { r.deploymentOptions = deployment }
            r.taskToken = task.taskToken
            r.result = payloads
            r.identity = identity
            r.namespace = client.namespace
            let answer = await respond(
                "RespondActivityTaskCompleted", log, request: r, { _ = try await service.respondActivityTaskCompleted(r) })
            let refused = answer.refusal
            // Counted as a success only when the server took it (as Go counts it): an attempt it
            // had timed out (NOT_FOUND) is not one.
            if answer.accepted, let scheduled = info.scheduledTime {
                instruments.activitySucceeded(
                    endToEnd: .seconds(finished.timeIntervalSince(scheduled)), activityType: info.activityType,
                    workflowType: info.workflowType)
            }
            if let refused {
                // The same result is refused however often it is sent: fail the activity saying
                // so, not retryable (as the server fails a result over its 2 MB blob limit),
                // instead of leaving the attempt to time out again and again.
                let (bytes, refusal) = (refused.bytes, refused.words)
                instruments.activityFailed(activityType: info.activityType, workflowType: info.workflowType)
                log.error("the activity's result (\(bytes) bytes) is larger than the server accepts (\(refusal)); failing the activity")
                let failure = client.dataConverter.failure(
                    from: ApplicationError(
                        "the activity's result (\(bytes) bytes) is larger than the server accepts (\(refusal)): return a reference to "
                            + "the data (a file, a row's key, an object's URL) rather than the data, or less of it per activity",
                        type: "ActivityResultTooLarge", nonRetryable: true))
                await respondFailed(info, failure: failure, details: nil, log: log)
            }
        case .failure(let error) where error is ActivityCompletesAsynchronously:
            // Someone else answers (AsyncActivityHandle); a pending heartbeat still goes out.
            log.debug("activity completes asynchronously; not responding")
        case .failure(let error) where Self.isCancellation(error) && Self.answersCancelled(heartbeater.stopReason):
            // Held back when the attempt ended, the cancel request not seen yet (a heartbeat in
            // flight then brought it): sent now, as a cancellation sends them first.
            if !shutdown.isHardStopped { await heartbeater.sendHeldBack() }
            instruments.activityCancelled(activityType: info.activityType, workflowType: info.workflowType)
            var r = Temporal_Api_Workflowservice_V1_RespondActivityTaskCanceledRequest()
            if let deployment { r.deploymentOptions = deployment }
            r.taskToken = task.taskToken
            r.identity = identity
            r.namespace = client.namespace
            await respond("RespondActivityTaskCanceled", log) { _ = try await service.respondActivityTaskCanceled(r) }
        case .failure(let error):
            // A failure its code called benign (expected) is not counted, as in Go and Core.
            if !ApplicationError.isBenign(error) {
                instruments.activityFailed(activityType: info.activityType, workflowType: info.workflowType)
            }
            var failure: Failure
            if Self.isCancellation(error), let reason = heartbeater.stopReason, reason == .paused || reason == .reset {
                // The server refuses "cancelled" for an activity nobody asked to cancel; a failure
                // ends the attempt at once, and the server runs it again (unpaused, or from attempt 1).
                failure = client.dataConverter.failure(
                    from: reason == .paused
                        ? ApplicationError("activity paused", type: "ActivityPaused")
                        : ApplicationError("activity reset", type: "ActivityReset"))
            } else if Self.isCancellation(error), shutdown.isHardStopped {
                failure = client.dataConverter.failure(
                    from: ApplicationError("worker shutting down", type: "WorkerShutdown"))
            } else if heartbeater.stopReason == .heartbeatTimedOut {
                // As past the deadline: the server timed the attempt out (its heartbeat timer
                // fired before this one), and runs it again; an answer would find it gone.
                log.warning(
                    "activity attempt recorded no heartbeat for longer than its heartbeat timeout; stopped it, leaving the timeout to the server",
                    metadata: ["heartbeat_timeout": "\(info.heartbeatTimeout.map { "\($0)" } ?? "")"])
                return
            } else if let deadline = info.deadline, deadline <= Date() {
                // The server times the attempt out itself (as sdk-go, send nothing): a failure
                // sent now could beat the server's timer and be recorded instead of the timeout,
                // a non-retryable one ending the activity. Whatever the body made of its
                // cancellation (sdk-go checks the context, not the error; local activities too).
                log.info(
                    "activity attempt passed its deadline; leaving the timeout to the server",
                    metadata: ["error": "\(type(of: error))"])
                return
            } else if Self.isCancellation(error), heartbeater.stopReason == .attemptGone {
                // Retryable: if the server has not timed the attempt out yet, it runs it again.
                failure = client.dataConverter.failure(
                    from: ApplicationError(
                        "the attempt stopped: the server no longer knows it, or no heartbeat reached the server for longer than the heartbeat timeout",
                        type: "ActivityAttemptGone"))
            } else {
                failure = Self.failure(from: error, converter: client.dataConverter)
            }
            await respondFailed(info, failure: failure, details: heartbeater.latestDetails, log: log)
        }
    }

    /// The failure an attempt that threw `error` answers with, the details of an
    /// `ApplicationError` made without codecs sealed (one thrown from a callback on another
    /// queue was made with `.default`, and went to the history in the clear); details the codecs
    /// refuse are left out, saying so, never sent as they are.
    static func failure(from error: any Error, converter: DataConverter) -> Failure {
        do {
            return try converter.activityFailureSealingDetails(from: error)
        } catch let codecError {
            var failure = converter.failureConverter.activityFailure(from: error)
            if case .applicationFailureInfo(var info)? = failure.failureInfo {
                info.details.payloads = []
                failure.applicationFailureInfo = info
            }
            failure.message += " (its details are left out: the payload codecs refused them: \(codecError))"
            return converter.sealingCommonAttributes(failure)
        }
    }

    /// Whether `error` is how a body reports that its task was cancelled: Swift's
    /// `CancellationError`, or what Foundation's networking and file APIs throw for it
    /// (`URLError.cancelled`, `CocoaError.userCancelled`), as Go takes any error that wraps
    /// `context.Canceled`. A cancelled attempt whose HTTP call threw URLError was answered as
    /// failed, and the workflow waiting for its cancellation got an activity failure.
    static func isCancellation(_ error: any Error) -> Bool {
        if error is CancellationError { return true }
        if let url = error as? URLError, url.code == .cancelled { return true }
        if let cocoa = error as? CocoaError, cocoa.code == .userCancelled { return true }
        return false
    }

    /// Whether an attempt stopped for `reason` answers "cancelled": only when the workflow asked
    /// for it. The server refuses "cancelled" for any other attempt (paused, reset, or one this
    /// worker believes gone because its heartbeats stopped reaching the server, which the
    /// server may not have timed out yet), so those answer "failed", as Go does.
    static func answersCancelled(_ reason: ActivityStopReason?) -> Bool {
        reason == .cancelRequested
    }

    private func respondFailed(_ info: ActivityInfo, failure: Failure, details: Payloads?, log: Logger) async {
        var r = Temporal_Api_Workflowservice_V1_RespondActivityTaskFailedRequest()
        if let deployment { r.deploymentOptions = deployment }
        r.taskToken = info.taskToken
        r.failure = failure
        r.identity = identity
        r.namespace = client.namespace
        if let details { r.lastHeartbeatDetails = details }
        let service = client.workflowService
        guard
            let refused = await respond(
                "RespondActivityTaskFailed", log, request: r, { _ = try await service.respondActivityTaskFailed(r) }
            ).refusal
        else { return }
        // Too large (huge details, a long cause chain): the failure's message, type and
        // retryability go, cut to a size the server takes, as the server cuts a failure over
        // its blob limit; its details, stack trace, causes and the heartbeat details do not.
        let (bytes, refusal) = (refused.bytes, refused.words)
        log.warning(
            "RespondActivityTaskFailed (\(bytes) bytes) was refused as too large (\(refusal)); sending the failure without its details")
        // Cut from the message itself, not from "Encoded failure", and sealed again.
        let converter = client.dataConverter
        r.failure = converter.sealingCommonAttributes(
            Self.trimmed(converter.decodingEncodedAttributes(failure), bytes: bytes, refusal: refusal))
        r.clearLastHeartbeatDetails()
        await respond("RespondActivityTaskFailed", log) { _ = try await service.respondActivityTaskFailed(r) }
    }

    /// `failure` without its details, stack trace and causes, its message cut to 4 KiB and
    /// saying why: what is left of a failure too large to send.
    static func trimmed(_ failure: Failure, bytes: Int, refusal: String) -> Failure {
        var trimmed = Failure()
        trimmed.source = failure.source
        trimmed.message =
            "\(failure.message.prefix(4_096)) (the failure, \(bytes) bytes with its details, stack trace and causes, was larger "
            + "than the server accepts (\(refusal)); they are left out)"
        if case .applicationFailureInfo(var info)? = failure.failureInfo {
            info.clearDetails()
            trimmed.applicationFailureInfo = info
        } else {
            var info = Temporal_Api_Failure_V1_ApplicationFailureInfo()
            info.type = "FailureTooLarge"
            trimmed.applicationFailureInfo = info
        }
        return trimmed
    }

    /// Answers a task this worker will not run (it arrived after the worker stopped taking
    /// activities) as failed, retryably (`WorkerShutdown`), so that the server runs it again at
    /// once instead of after its start-to-close timeout.
    func refuse(_ task: Temporal_Api_Workflowservice_V1_PollActivityTaskQueueResponse) async {
        let info = ActivityInfo(task: task, namespace: client.namespace, taskQueue: taskQueue)
        let failure = client.dataConverter.failure(
            from: ApplicationError("the worker was shutting down when the task arrived", type: "WorkerShutdown"))
        await respondFailed(info, failure: failure, details: nil, log: logger)
    }

    /// Sends an answer. Says whether the server took it, and the refusal's words when it
    /// refused the request for its size (`SizeRefusal`, checked only with `request`), for the
    /// caller to send a smaller answer; other failures (an attempt no longer current, an
    /// outage past the client's retries) are logged.
    @discardableResult
    private func respond(
        _ rpc: String, _ log: Logger, request: (any SwiftProtobuf.Message)? = nil, _ call: () async throws -> Void
    ) async -> (accepted: Bool, refusal: SizeRefusal?) {
        do {
            try await call()
            return (true, nil)
        } catch let error as TemporalError where error.code == .notFound {
            log.info("\(rpc): the attempt is no longer current (timed out or workflow closed)")
        } catch {
            if let request, let refusal = SizeRefusal(error, of: request) { return (false, refusal) }
            log.error("\(rpc) failed: \(error)")
        }
        return (false, nil)
    }
}

/// When an activity task reached the worker, on both clocks.
struct ActivityTaskArrival: Sendable {
    /// Wall clock: the attempt's deadline counts from it (`ActivityInfo.deadline`).
    var date: Date
    /// Monotonic: the heartbeat timeout counts from it.
    var instant: ContinuousClock.Instant

    /// Now.
    static var now: ActivityTaskArrival { ActivityTaskArrival(date: Date(), instant: .now) }
}
