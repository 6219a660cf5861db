import CoreMetrics
import Logging
import Synchronization
import Temporal
import TemporalProto
import Tracing

#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// Runs local activities for the workflow task handler: attempts in this process, retried
/// here with backoff while the backoff is short (`localRetryThreshold`); a longer backoff is
/// handed back to the workflow as a durable timer.
///
/// Each attempt holds one of `slots` (`WorkerOptions.maxConcurrentLocalActivities`) while it
/// runs. An attempt whose body does not return within `abandonAfter` of its deadline (it
/// ignores cancellation: a blocking call, a busy loop) times out without it, as Go and Core
/// time local activities out: the body is left to finish alone and its result is dropped.
struct LocalActivityExecutor: Sendable {
    let client: TemporalClient
    let activities: [String: ActivityDefinition]
    let logger: Logger
    let metricsFactory: any MetricsFactory
    let interceptors: [any WorkerInterceptor]
    /// The worker's local activity slots (`WorkerOptions.maxConcurrentLocalActivities`).
    let slots: Slots
    /// How long past its deadline an attempt's body may take to notice its cancellation.
    var abandonAfter: TimeInterval = 1
    /// Where attempts are counted and timed (`temporal_local_activity_*`); nil: nowhere.
    var instruments: WorkerInstruments? = nil

    /// Runs `request` to an outcome. Never throws: failures are outcomes.
    func run(_ request: LocalActivityRequest, workflow: WorkflowInfo) async -> LocalActivityOutcome {
        let converter = client.dataConverter
        guard let definition = activities[request.type] else {
            let known = activities.keys.sorted().joined(separator: ", ")
            let error = ApplicationError(
                "local activity type '\(request.type)' is not registered on this worker (registered: \(known.isEmpty ? "none" : known)); a local activity runs in the workflow's worker",
                type: "ActivityNotRegisteredError", nonRetryable: true)
            instruments?.localActivityEnded(
                .zero, activityType: WorkerInstruments.unregisteredType, workflowType: workflow.workflowType, succeeded: nil, failed: true,
                cancelled: false)
            return .failed(
                Self.activityFailure(converter.failure(from: error), request, retryState: .nonRetryableFailure),
                attempt: request.attempt)
        }
        let policy = request.options.retryPolicy ?? RetryPolicy()
        let deadline = request.options.overallTimeout.map { request.scheduledOnWorkerClock.addingTimeInterval($0.seconds) }
        var attempt = request.attempt
        while true {
            if Task.isCancelled {
                return .failed(
                    Self.activityFailure(
                        converter.failure(from: CancellationError()), request,
                        retryState: .cancelRequested), attempt: attempt)  // discarded by the caller
            }
            // The attempt starts (and its start-to-close time runs) once it holds a slot; the
            // wait is bounded by the schedule-to-close timeout, which counts from the schedule.
            switch await Self.acquire(slots, until: deadline) {
            case .acquired: break
            case .cancelled: continue  // the check above returns
            case .timedOut:
                logger.info(
                    "local activity timed out waiting for a slot (maxConcurrentLocalActivities)",
                    metadata: ["activity_type": .string(request.type), "attempt": .stringConvertible(attempt)])
                return .failed(
                    Self.activityFailure(Self.timeoutFailure(scheduleToClose: true), request, retryState: .timeout), attempt: attempt)
            }
            let started = Date()
            let startedOnClock = ContinuousClock.now
            let log = logger.adding([
                "workflow_id": .string(workflow.workflowID), "run_id": .string(workflow.runID),
                "activity_id": .string(request.activityID), "activity_type": .string(request.type),
                "attempt": .stringConvertible(attempt),
            ])
            let info = ActivityInfo(local: request, attempt: attempt, workflow: workflow, started: started)
            let heartbeater = Heartbeater(
                heartbeatTimeout: nil, service: client.workflowService, namespace: client.namespace,
                identity: client.identity, taskToken: Data(), logger: log)
            let context = ActivityContext(
                info: info, dataConverter: converter, logger: log, heartbeater: heartbeater,
                previousDetails: nil, metricsFactory: metricsFactory)
            // Cancelling the caller (the request was cancelled, the task ended, the worker stops)
            // cancels the attempt, and no retry follows.
            instruments?.localActivityStarted(activityType: request.type, workflowType: workflow.workflowType)
            let (result, finished) = await Self.run(
                ActivityAttempt(
                    definition: definition, input: request.input, context: context, converter: converter,
                    parent: TraceHeader.extract(request.headers) ?? ServiceContext.current ?? .topLevel, headers: request.headers,
                    interceptors: interceptors),
                deadline: info.deadline, abandonAfter: abandonAfter, log: log)
            slots.release()
            // A result that came after the deadline (a body that ignored its cancellation and
            // returned within `abandonAfter`) is a timeout, as in Go and Core, not a success; one
            // that came before it is kept, however late this task looks (a busy worker).
            let pastDeadline = info.deadline.map { $0 <= finished } ?? false
            if pastDeadline, case .success = result {
                log.warning("a local activity attempt returned after its deadline; it timed out, and its result is dropped")
            }
            if let instruments {
                // A success may carry no payloads; one whose caller was cancelled meanwhile is
                // dropped by it, so it counts as cancelled.
                let ok: Bool
                if case .success = result, !Task.isCancelled, !pastDeadline { ok = true } else { ok = false }
                // A failure its code called benign (expected) is not counted, as in Go and Core.
                var benign = false
                if case .failure(let error) = result { benign = ApplicationError.isBenign(error) }
                instruments.localActivityEnded(
                    startedOnClock.duration(to: .now), activityType: request.type, workflowType: workflow.workflowType,
                    succeeded: ok ? .seconds(Date().timeIntervalSince(request.scheduledOnWorkerClock)) : nil, failed: !ok && !benign,
                    cancelled: !ok && Task.isCancelled)
            }
            let failure: Failure
            switch result {
            case .success(let payloads) where !pastDeadline:
                return .completed(payloads, attempt: attempt)
            case .failure(is ActivityCompletesAsynchronously):
                let misuse = ApplicationError(
                    "local activity \(request.type) called completeAsynchronously(): a local activity has no task token to complete later; run it as a normal activity",
                    type: "LocalActivityCannotCompleteAsynchronously", nonRetryable: true)
                return .failed(
                    Self.activityFailure(converter.failure(from: misuse), request, retryState: .nonRetryableFailure),
                    attempt: attempt)
            case .success,
                .failure where pastDeadline:
                // Past the deadline, whatever the body made of its cancellation (its own error
                // type could otherwise match nonRetryableErrorTypes).
                failure = Self.timeoutFailure(scheduleToClose: deadline.map { $0 <= Date() } ?? false)
            case .failure(let error):
                // As a normal activity's attempt: a stray cancellation is an application failure
                // (retried), unless this attempt itself was cancelled.
                failure =
                    Task.isCancelled
                    ? converter.failure(from: error) : ActivityTaskRunner.failure(from: error, converter: converter)
            }
            let app = failure.firstApplicationError
            if app?.nonRetryable == true || policy.nonRetryableErrorTypes.contains(app?.type ?? "\u{0}") {
                return .failed(Self.activityFailure(failure, request, retryState: .nonRetryableFailure), attempt: attempt)
            }
            if let max = policy.maximumAttempts, max > 0, attempt >= max {
                return .failed(Self.activityFailure(failure, request, retryState: .maximumAttemptsReached), attempt: attempt)
            }
            let delay = app?.nextRetryDelay ?? policy.delay(afterAttempt: attempt)
            if let deadline, Date().addingTimeInterval(delay.seconds) >= deadline {
                return .failed(Self.activityFailure(failure, request, retryState: .timeout), attempt: attempt)
            }
            if delay > request.options.localRetryThreshold {
                log.log(
                    level: failure.isBenign ? .debug : .info,
                    "local activity attempt failed; retrying after a \(delay) timer: \(failure.message)")
                return .backoff(delay, nextAttempt: attempt + 1, failure: failure)
            }
            log.debug("local activity attempt failed; retrying in \(delay): \(failure.message)")
            do {
                try await Task.sleep(for: delay)
            } catch {
                return .failed(Self.activityFailure(failure, request, retryState: .cancelRequested), attempt: attempt)  // discarded
            }
            attempt += 1
        }
    }

    /// Runs `attempt` in a task of its own and returns its result, or a `CancellationError` once
    /// `abandonAfter` has passed since `deadline` (the attempt cancelled its body at the deadline,
    /// and the body ignores it) or since the caller was cancelled: the body is then left to
    /// finish alone, its result dropped, so that the workflow waits for no body past its timeout.
    /// Also returns when the body returned (when it was given up on, for one that did not).
    static func run(_ attempt: ActivityAttempt, deadline: Date?, abandonAfter: TimeInterval, log: Logger) async -> (
        Result<Payloads, any Error>, finished: Date
    ) {
        let ended = OneShotEvent()
        let result = Mutex<(Result<Payloads, any Error>, Date)?>(nil)
        let task = Task {
            let outcome = await attempt.run()
            result.withLock { $0 = (outcome, Date()) }
            ended.fire()
        }
        await withTaskCancellationHandler {
            await OneShotEvent.first(of: [ended], deadline: deadline.map { $0.addingTimeInterval(abandonAfter) })
        } onCancel: {
            task.cancel()
        }
        if let outcome = result.withLock({ $0 }) { return outcome }
        task.cancel()
        if Task.isCancelled {
            // The caller went away (the request was cancelled, the task given up, a hard stop):
            // the body gets as long to notice, holding its slot meanwhile (an unstructured wait,
            // which the caller's cancellation does not end).
            await Task { _ = await ended.wait(timeout: .seconds(abandonAfter)) }.value
        } else {
            log.warning(
                "a local activity attempt did not stop at its timeout: its body ignores cancellation; the attempt times out without it, and whatever it returns later is dropped"
            )
        }
        return (.failure(CancellationError()), Date())
    }

    enum SlotWait { case acquired, cancelled, timedOut }

    /// Waits for one of `slots` until `deadline` (for ever without one): `.timedOut` when the
    /// deadline passed first, `.cancelled` when the task was cancelled meanwhile. A slot taken
    /// at the same moment as the deadline is kept (the attempt's own deadline then ends it).
    static func acquire(_ slots: Slots, until deadline: Date?) async -> SlotWait {
        guard let deadline else { return await slots.acquire() ? .acquired : .cancelled }
        if slots.tryAcquire() { return .acquired }
        enum Outcome {
            case slot(Bool)
            case deadline, stopped
        }
        return await withTaskGroup(of: Outcome.self) { group in
            group.addTask { .slot(await slots.acquire()) }
            group.addTask {
                do {
                    try await Task.sleep(for: .seconds(max(0, deadline.timeIntervalSinceNow)))
                    return .deadline
                } catch {
                    return .stopped
                }
            }
            var (acquired, timedOut) = (false, false)
            for await outcome in group {
                switch outcome {
                case .slot(let got): acquired = got
                case .deadline: timedOut = true
                case .stopped: break
                }
                group.cancelAll()
            }
            return acquired ? .acquired : timedOut ? .timedOut : .cancelled
        }
    }

    static func timeoutFailure(scheduleToClose: Bool) -> Failure {
        var f = Failure()
        f.message = scheduleToClose ? "local activity timed out (schedule to close)" : "local activity attempt timed out (start to close)"
        f.source = "SwiftSDK"
        var info = Temporal_Api_Failure_V1_TimeoutFailureInfo()
        info.timeoutType = scheduleToClose ? .scheduleToClose : .startToClose
        f.timeoutFailureInfo = info
        return f
    }

    /// The failure the workflow sees: `ActivityFailureInfo` naming the local activity, caused by
    /// the last attempt's failure.
    static func activityFailure(_ cause: Failure, _ request: LocalActivityRequest, retryState: Temporal_Api_Enums_V1_RetryState) -> Failure
    {
        var f = Failure()
        f.message = "local activity \(request.type) failed"
        f.source = "SwiftSDK"
        var info = Temporal_Api_Failure_V1_ActivityFailureInfo()
        info.activityID = request.activityID
        info.activityType.name = request.type
        info.retryState = retryState
        f.activityFailureInfo = info
        f.cause = cause
        return f
    }
}
