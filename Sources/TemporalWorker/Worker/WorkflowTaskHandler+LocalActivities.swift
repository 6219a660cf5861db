import Logging
import Temporal
import TemporalProto

#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// Local activities and sticky attributes: the parts of answering a workflow task that run
/// after its history was processed.
extension WorkflowTaskHandler {
    /// Where the server should send this run's next tasks: our sticky queue (nil without a cache).
    var stickyAttributes: Temporal_Api_Taskqueue_V1_StickyExecutionAttributes? {
        guard let stickyQueue, cache != nil else { return nil }
        var sticky = Temporal_Api_Taskqueue_V1_StickyExecutionAttributes()
        sticky.workerTaskQueue.name = stickyQueue
        sticky.workerTaskQueue.kind = .sticky
        sticky.workerTaskQueue.normalName = taskQueue
        sticky.scheduleToStartTimeout = .init(duration: options.stickyScheduleToStartTimeout)
        return sticky
    }

    /// A query handler blocked while a heartbeat answered the task's queries: the heartbeat
    /// went out with those queries failed and the commands so far (the local activities that
    /// finished are recorded), asking for no task back. The run's thread is stuck, so the run is
    /// dropped, never touched again; the server's next task replays it elsewhere.
    struct AnsweredWhileStuck: Error {}

    /// A workflow task heartbeat (while local activities run) could not be sent.
    struct HeartbeatFailure: Error {
        let underlying: any Error
        /// The heartbeat's refusal for its size, when it was that.
        var tooLarge: WorkflowTaskAnswerTooLarge? = nil
        /// Whether the heartbeat itself failed (not the history fetch of the task it returned).
        var sending = false
        /// Whether the history of the task the heartbeat returned could not be read: that task
        /// (started on the server) is failed, so that it runs again at once, not after its timeout.
        var fetching = false
    }

    /// Runs the run's local activities until none is pending: each outcome is recorded (a
    /// marker) and the code resumed, which may ask for more. When they take longer than 80 % of
    /// the workflow task timeout (counted from when the task was picked up), the commands so
    /// far are sent with a request for a new task, which the server returns at once and which
    /// is then the task being answered (Go's workflow task heartbeat), so the task never times
    /// out under a long local activity. A request the code cancels, and every request once the
    /// run closed, stops holding the task (its execution is cancelled). A stopping worker lets
    /// them finish within its grace period; once that is over it cancels them and gives the
    /// task up (it times out and runs again elsewhere).
    /// - Parameter task: the task being answered; replaced by each heartbeat's new task.
    /// - Returns: the commands and messages to answer `task` with, and how many attempts after
    ///   an activity's first ran since the last heartbeat (the answer's metering metadata, as Go
    ///   and Core report them: Temporal Cloud counts them).
    func runLocalActivities(
        _ run: WorkflowRun, task: inout PollWorkflowTaskResponse, commands: [Command],
        messages: [ProtocolMessage], startedAt: ContinuousClock.Instant, log: Logger
    ) async throws
        -> ([Command], [ProtocolMessage], nonFirstAttempts: Int)
    {
        var commands = commands
        var messages = messages
        // The attempt each execution began with, and the attempts after a first that ran.
        var firstAttempts: [Int: Int] = [:]
        var nonFirstAttempts = 0
        let (outcomes, sink) = AsyncStream.makeStream(of: (seq: Int, outcome: LocalActivityOutcome)?.self)
        defer { sink.finish() }
        /// Executions running, each with the event that abandons (cancels) it.
        var active: [Int: OneShotEvent] = [:]
        // However this ends, the executions still running are no longer wanted.
        defer { for abandon in active.values { abandon.fire() } }
        // The executions run in the worker's activity group (this task waits for outcomes, not
        // for an abandoned execution to notice its cancellation); a 200 ms ticker is a child of
        // this task's group, which it leaves once the ticker ended.
        return try await withThrowingDiscardingTaskGroup { group in
            func launch() {
                for request in run.takeLocalActivitiesToRun() {
                    let info = run.info
                    let abandon = OneShotEvent()
                    active[request.seq] = abandon
                    firstAttempts[request.seq] = request.attempt
                    let execution: @Sendable () async -> Void = { [localActivities] in
                        // The execution, until it ends or is abandoned (then it is cancelled).
                        await withTaskGroup(of: Void.self) { race in
                            race.addTask { sink.yield((request.seq, await localActivities.run(request, workflow: info))) }
                            race.addTask { await abandon.wait() }
                            await race.next()
                            race.cancelAll()
                        }
                    }
                    if !spawnLocalActivity(execution) { group.addTask(operation: execution) }
                }
            }
            /// Stops executions whose request is gone (cancelled by the code, or the run closed).
            func dropAbandoned() {
                for (seq, abandon) in active where !run.isLocalActivityPending(seq) {
                    abandon.fire()
                    active[seq] = nil
                }
            }
            let clock = ContinuousClock()
            // Sent by 80 % of the task timeout, as Core and Go send them: two of the ticker's
            // steps are taken off (a heartbeat waits for a tick, which a loaded machine delays),
            // and each period counts from the sending of the last heartbeat (the server's timer
            // for the task it returns starts before the answer comes back). Counted from the
            // answer's arrival, on a tick, a 1 s task's heartbeats went out 1.000–1.003 s apart
            // and lost the race with the server's timer.
            let tick = Duration.milliseconds(200)
            let period = max(tick, (run.info.taskTimeout ?? .seconds(10)) * 0.8 - tick * 2)
            var heartbeatAt = startedAt + period
            group.addTask {
                while !Task.isCancelled {
                    try? await Task.sleep(for: tick)
                    if !Task.isCancelled { sink.yield(nil) }
                }
            }
            defer { group.cancelAll() }
            launch()
            var iterator = outcomes.makeAsyncIterator()
            while !active.isEmpty, let next = await iterator.next() {
                if let (seq, outcome) = next {
                    guard active.removeValue(forKey: seq) != nil else { continue }  // abandoned meanwhile
                    let first = firstAttempts.removeValue(forKey: seq) ?? outcome.attempt
                    nonFirstAttempts += max(0, outcome.attempt - max(first, 2) + 1)
                    _ = try await onWorkflowThread(run, task: task) { try run.completeLocalActivity(seq, outcome) }
                    // Read again, not appended to: the code may have dropped a command of this
                    // answer (a timer or activity it cancelled before it was ever sent).
                    commands = run.commandsToAnswer()
                    messages += run.outgoingMessages
                    dropAbandoned()
                    launch()
                    continue
                }
                if mustGiveUp() {
                    throw HeartbeatFailure(underlying: WorkerStoppingError())
                }
                guard clock.now >= heartbeatAt else { continue }
                // Heartbeat: answer with what there is, and continue on the task the server returns.
                var request = Temporal_Api_Workflowservice_V1_RespondWorkflowTaskCompletedRequest()
                request.taskToken = task.taskToken
                request.identity = identity
                request.namespace = client.namespace
                stampDeployment(&request, run.definition)
                run.markAnswered()
                request.commands = commands
                request.messages = messages
                // Read before the queries run: a handler that blocks leaves the run in use.
                request.sdkMetadata = run.sdkFlags.completionMetadata
                var stuck = false
                do {
                    request.queryResults = try await answerQueries(run, task: task)
                } catch {
                    // As for a final answer: the queries fail, the commands still go (and when
                    // a handler blocked, the run's thread is stuck: no task comes back to it).
                    log.warning("\(error)")
                    stuck = error is PotentialDeadlockError
                    request.queryResults = task.queries.mapValues { _ in failedQuery(error) }
                }
                if nonFirstAttempts > 0 {
                    request.meteringMetadata.nonfirstLocalActivityExecutionAttempts = UInt32(clamping: nonFirstAttempts)
                    nonFirstAttempts = 0
                }
                request.forceCreateNewWorkflowTask = true
                request.returnNewWorkflowTask = !stuck
                if !stuck, !isStopping(), let sticky = stickyAttributes { request.stickyAttributes = sticky }
                let response: Temporal_Api_Workflowservice_V1_RespondWorkflowTaskCompletedResponse
                let sentAt = clock.now
                do {
                    response = try await respondCompleted(&request, log: log)
                } catch {
                    if stuck { throw AnsweredWhileStuck() }  // the task times out instead
                    throw HeartbeatFailure(
                        underlying: error, tooLarge: WorkflowTaskAnswerTooLarge(refusing: request, with: error), sending: true)
                }
                if stuck { throw AnsweredWhileStuck() }
                guard response.hasWorkflowTask, !response.workflowTask.taskToken.isEmpty else {
                    throw HeartbeatFailure(underlying: WorkflowUsageError("the server returned no new workflow task to a heartbeat"))
                }
                log.debug("workflow task heartbeat while local activities run")
                task = response.workflowTask
                heartbeatAt = sentAt + period
                var events = task.history.events
                if !task.nextPageToken.isEmpty {
                    do {
                        events += try await fetcher.remainingPages(execution: task.workflowExecution, token: task.nextPageToken)
                    } catch {
                        throw HeartbeatFailure(underlying: error, fetching: true)
                    }
                }
                let (history, next) = (events, task)
                commands = try await onWorkflowThread(run, task: next) {
                    try run.process(events: history, liveStartedEventID: next.startedEventID, messages: next.messages)
                }.0
                messages = run.outgoingMessages
                dropAbandoned()
                launch()
            }
            return (commands, messages, nonFirstAttempts)
        }
    }

    /// The worker stops while local activities run: the task is given up.
    struct WorkerStoppingError: Error, CustomStringConvertible {
        var description: String { "the worker is stopping" }
    }
}
