import Foundation
import Logging
import Synchronization
import Temporal
import TemporalProto

/// One workflow run in memory: its state machines, its workflow code (suspended on the run's
/// `DeterministicExecutor`), and the commands produced but not yet matched with history.
///
/// `process(events:liveStartedEventID:)` splits history into workflow-task activations
/// (protocol reference §8.2), applies each activation's events, runs workflow code until every
/// coroutine is suspended, and matches produced commands, in order, against the command events
/// recorded after each WorkflowTaskCompleted (§8.3).
///
/// Concurrency: `@unchecked Sendable` because workflow coroutines (which reach this object
/// through `WorkflowContext`) and the driver touch the same state, but never at the same
/// time: coroutines only run inside `executor.runUntilIdle()`, which the driver calls
/// synchronously, and the worker hands a run to one task at a time (see `RunCache`). The
/// compiler cannot see this confinement, hence the unchecked conformance.
final class WorkflowRun: @unchecked Sendable {
    enum Outcome {
        case completed(Payloads)
        case failed(Failure)
        case canceled
        case continuedAsNew(ContinueAsNewError)
    }

    private enum CommandKey: Equatable {
        case activity(Int), cancelActivity(Int), timer(Int), cancelTimer(Int), marker(String), signal(Int), close
    }

    private struct PendingCommand {
        let key: CommandKey
        var command: Command
        var sent = false
    }

    private enum Phase { case accumulating, awaitingCompletion, matching }

    // MARK: Identity and services

    let definition: WorkflowDefinition
    let converter: DataConverter
    let executor = DeterministicExecutor()
    private(set) var info: WorkflowInfo
    let replayFlag = ReplayFlag()
    let logger: Logger
    private(set) lazy var context = WorkflowContext(run: self)

    // MARK: Workflow-visible state

    private(set) var now = Date(timeIntervalSince1970: 0)
    var isReplaying: Bool { replayFlag.value }
    var random = DeterministicRandom(seed: 0)
    private(set) var cancelRequested = false
    /// Events in history up to the current workflow task (its WorkflowTaskStarted id).
    private(set) var historyLength: Int64 = 0
    /// The server suggests continuing as new (history too long or too large).
    private(set) var continueAsNewSuggested = false

    // MARK: Commands and machines

    private var commands: [PendingCommand] = []
    private var activitySeq = 0
    private var activities: [Int: ActivityStateMachine] = [:]
    private var activityCancellation: [Int: ActivityCancellationType] = [:]
    private var activityBySchedule: [Int64: Int] = [:]
    private var activityWaiters: [Int: CheckedContinuation<Payloads?, any Error>] = [:]
    private var activityResults: [Int: Result<Payloads?, any Error>] = [:]
    private var timerSeq = 0
    private var timers: [Int: TimerStateMachine] = [:]
    private var timerByStarted: [Int64: Int] = [:]
    private var timerWaiters: [Int: CheckedContinuation<Void, any Error>] = [:]
    private var timerResults: [Int: Result<Void, any Error>] = [:]
    private var signalSeq = 0
    private var outgoingSignals: [Int: SignalExternalStateMachine] = [:]
    private var signalByInitiated: [Int64: Int] = [:]
    private var signalWaiters: [Int: CheckedContinuation<Void, any Error>] = [:]
    private var signalResults: [Int: Result<Void, any Error>] = [:]
    private var patches: [String: Bool] = [:]
    private var patchMachines: [String: PatchMarkerStateMachine] = [:]
    private var knownPatches: Set<String> = []

    // MARK: Signals, queries, conditions

    private var signalHandlers: [String: (Payloads?) -> Void] = [:]
    private var bufferedSignals: [(name: String, input: Payloads?)] = []
    private var queryHandlers: [String: (Payloads?) throws -> Payloads] = [:]
    private var conditionSeq = 0
    private var conditions: [(id: Int, predicate: () -> Bool, continuation: CheckedContinuation<Void, any Error>)] = []

    // MARK: Lifecycle

    private var rootTask: Task<Void, Never>?
    private(set) var outcome: Outcome?
    private var taskFailure: (any Error)?
    /// The last WorkflowTaskStarted event processed.
    private(set) var lastStartedEventID: Int64 = 0
    /// The last event processed.
    private(set) var lastEventID: Int64 = 0
    private var phase = Phase.accumulating
    private var pendingEvents: [HistoryEvent] = []

    /// - Parameters:
    ///   - info: identity of the run; completed from the start event.
    init(definition: WorkflowDefinition, info: WorkflowInfo, converter: DataConverter, logger: Logger) {
        self.definition = definition
        self.info = info
        self.converter = converter
        let flag = replayFlag
        var log = Logger(label: logger.label) { _ in ReplayAwareLogHandler(base: logger.handler, flag: flag) }
        log[metadataKey: "workflowID"] = .string(info.workflowID)
        log[metadataKey: "runID"] = .string(info.runID)
        log[metadataKey: "workflowType"] = .string(info.workflowType)
        self.logger = log
    }

    deinit {
        rootTask?.cancel()
    }

    /// Whether a closing command (complete, fail, cancel, continue-as-new) was produced.
    var isClosed: Bool { outcome != nil }

    // MARK: - History processing

    /// Applies `events` (contiguous, continuing from `lastEventID`), runs workflow code for each
    /// workflow-task activation and checks determinism.
    ///
    /// - Parameter liveStartedEventID: the WorkflowTaskStarted id of the task being answered:
    ///   activations before it are replays. nil replays everything (replayer, query tasks).
    /// - Returns: the new commands to send.
    /// - Throws: `NondeterminismError`, `WorkflowTaskFailure` (workflow code threw), `HistoryError`.
    func process(events: [HistoryEvent], liveStartedEventID: Int64?) throws -> [Command] {
        for event in events where event.eventType == .markerRecorded {
            if let id = PatchMarkerStateMachine.patchID(of: event) { knownPatches.insert(id) }
        }
        var index = 0
        while index < events.count {
            let event = events[index]
            index += 1
            if event.eventID <= lastEventID { continue } // already applied (overlapping pages)
            if lastEventID != 0, event.eventID != lastEventID + 1 {
                throw HistoryError("history gap: event \(event.eventID) follows event \(lastEventID)", staleCache: true)
            }
            lastEventID = event.eventID
            switch event.eventType {
            case .workflowTaskScheduled:
                continue
            case .workflowTaskFailed, .workflowTaskTimedOut:
                if phase == .awaitingCompletion {
                    // The task we answered never took effect; our state ran ahead of history.
                    throw HistoryError("workflow task \(lastStartedEventID) \(event.eventType)", staleCache: true)
                }
            case .workflowTaskCompleted:
                if phase == .awaitingCompletion { phase = .matching }
            case .workflowTaskStarted:
                let next = index < events.count ? events[index] : nil
                if let next, next.eventType != .workflowTaskCompleted { continue } // this task failed or timed out
                try requireAllCommandsMatched(at: event.eventID)
                let replaying = liveStartedEventID.map { event.eventID < $0 } ?? true
                try activate(started: event, replaying: replaying)
                phase = .awaitingCompletion
            default:
                if event.isCommandEvent {
                    guard phase == .matching else {
                        throw NondeterminismError(historyEvent: event.summary, command: nil, eventID: event.eventID,
                                                  detail: "a command event outside a completed workflow task")
                    }
                    try match(event)
                } else {
                    pendingEvents.append(event)
                }
            }
        }
        if liveStartedEventID == nil, phase == .matching, isClosed {
            try requireAllCommandsMatched(at: lastEventID)
        }
        var out: [Command] = []
        for i in commands.indices where !commands[i].sent {
            commands[i].sent = true
            out.append(commands[i].command)
        }
        return out
    }

    /// After replaying a whole history (replayer): commands the code produced that history lacks.
    func unmatchedCommands() -> [String] { commands.map(\.command.summary) }

    private func activate(started: HistoryEvent, replaying: Bool) throws {
        replayFlag.value = replaying
        now = started.eventTime.date
        lastStartedEventID = started.eventID
        historyLength = started.eventID
        continueAsNewSuggested = started.workflowTaskStartedEventAttributes.suggestContinueAsNew
        let batch = pendingEvents
        pendingEvents = []
        for event in batch {
            do {
                try apply(event)
            } catch let error as StateMachineError {
                throw NondeterminismError(historyEvent: event.summary, command: nil, eventID: event.eventID,
                                          detail: error.description)
            }
        }
        runUntilBlocked()
        if let failure = taskFailure { throw WorkflowTaskFailure(failure) }
    }

    /// Runs workflow code until every coroutine waits on something only history can resolve.
    private func runUntilBlocked() {
        executor.runUntilIdle()
        while let index = conditions.firstIndex(where: { $0.predicate() }) {
            let waiter = conditions.remove(at: index)
            waiter.continuation.resume()
            executor.runUntilIdle()
        }
    }

    private func requireAllCommandsMatched(at eventID: Int64) throws {
        if let extra = commands.first {
            throw NondeterminismError(historyEvent: nil, command: extra.command.summary, eventID: eventID,
                                      detail: "the workflow produced a command that history does not have")
        }
    }

    private func match(_ event: HistoryEvent) throws {
        guard let first = commands.first else {
            throw NondeterminismError(historyEvent: event.summary, command: nil, eventID: event.eventID,
                                      detail: "history has a command the workflow did not produce")
        }
        guard first.command.matches(event) else {
            throw NondeterminismError(historyEvent: event.summary, command: first.command.summary, eventID: event.eventID)
        }
        commands.removeFirst()
        do {
            try recorded(first.key, event)
        } catch let error as StateMachineError {
            throw NondeterminismError(historyEvent: event.summary, command: first.command.summary,
                                      eventID: event.eventID, detail: error.description)
        }
    }

    private func recorded(_ key: CommandKey, _ event: HistoryEvent) throws {
        switch key {
        case .activity(let seq):
            try activities[seq]?.scheduled(eventID: event.eventID)
            activityBySchedule[event.eventID] = seq
        case .cancelActivity(let seq):
            try activities[seq]?.cancelRecorded()
        case .timer(let seq):
            try timers[seq]?.started(eventID: event.eventID)
            timerByStarted[event.eventID] = seq
        case .cancelTimer(let seq):
            try timers[seq]?.canceled()
        case .marker(let id):
            try patchMachines[id]?.recorded(event)
        case .signal(let seq):
            try outgoingSignals[seq]?.initiated(eventID: event.eventID)
            signalByInitiated[event.eventID] = seq
        case .close:
            break
        }
    }

    // MARK: - Applying events

    private func apply(_ event: HistoryEvent) throws {
        switch event.attributes {
        case .workflowExecutionStartedEventAttributes(let a)?:
            start(a, event: event)
        case .workflowExecutionSignaledEventAttributes(let a)?:
            deliverSignal(a.signalName, a.hasInput ? a.input : nil)
        case .workflowExecutionCancelRequestedEventAttributes?:
            cancelRequested = true
            rootTask?.cancel()
        case .activityTaskStartedEventAttributes(let a)?:
            try applyActivity(event, scheduledEventID: a.scheduledEventID)
        case .activityTaskCompletedEventAttributes(let a)?:
            try applyActivity(event, scheduledEventID: a.scheduledEventID)
        case .activityTaskFailedEventAttributes(let a)?:
            try applyActivity(event, scheduledEventID: a.scheduledEventID)
        case .activityTaskTimedOutEventAttributes(let a)?:
            try applyActivity(event, scheduledEventID: a.scheduledEventID)
        case .activityTaskCanceledEventAttributes(let a)?:
            try applyActivity(event, scheduledEventID: a.scheduledEventID)
        case .timerFiredEventAttributes(let a)?:
            guard let seq = timerByStarted[a.startedEventID], var timer = timers[seq] else {
                throw HistoryError("TimerFired for unknown timer \(a.timerID) (started event \(a.startedEventID))")
            }
            if timer.state == .cancelPending || timer.state == .abandoned { return }
            try timer.fired()
            timers[seq] = timer
            resolveTimer(seq, .success(()))
        case .externalWorkflowExecutionSignaledEventAttributes(let a)?:
            try applyOutgoingSignal(event, initiatedEventID: a.initiatedEventID)
        case .signalExternalWorkflowExecutionFailedEventAttributes(let a)?:
            try applyOutgoingSignal(event, initiatedEventID: a.initiatedEventID)
        case .workflowExecutionTerminatedEventAttributes?, .workflowExecutionTimedOutEventAttributes?,
             .workflowPropertiesModifiedExternallyEventAttributes?, .activityPropertiesModifiedExternallyEventAttributes?,
             .workflowExecutionPausedEventAttributes?, .workflowExecutionUnpausedEventAttributes?:
            break
        default:
            if event.workerMayIgnore { return }
            throw HistoryError("unsupported history event \(event.eventType) (event \(event.eventID))")
        }
    }

    private func start(_ a: Temporal_Api_History_V1_WorkflowExecutionStartedEventAttributes, event: HistoryEvent) {
        info.attempt = Int(max(1, a.attempt))
        if !a.continuedExecutionRunID.isEmpty { info.continuedRunID = a.continuedExecutionRunID }
        info.firstExecutionRunID = a.firstExecutionRunID
        info.originalExecutionRunID = a.originalExecutionRunID.isEmpty ? info.runID : a.originalExecutionRunID
        info.startTime = event.eventTime.date
        if a.hasWorkflowRunTimeout { info.runTimeout = swiftDuration(a.workflowRunTimeout) }
        if a.hasWorkflowTaskTimeout { info.taskTimeout = swiftDuration(a.workflowTaskTimeout) }
        if !a.taskQueue.name.isEmpty { info.taskQueue = a.taskQueue.name }
        random = DeterministicRandom(seed: info.originalExecutionRunID)
        rootTask = definition.start(self, a.hasInput ? a.input : nil)
        if cancelRequested { rootTask?.cancel() }
    }

    private func applyActivity(_ event: HistoryEvent, scheduledEventID: Int64) throws {
        guard let seq = activityBySchedule[scheduledEventID], var machine = activities[seq] else {
            throw HistoryError("\(event.eventType) for unknown activity (scheduled event \(scheduledEventID))")
        }
        if machine.acceptsLateEvents { return }
        let resolution = try machine.handle(event)
        activities[seq] = machine
        switch resolution {
        case nil: break
        case .completed(let payloads)?: resolveActivity(seq, .success(payloads))
        case .failed(let failure)?: resolveActivity(seq, .failure(ActivityError(failure: failure)))
        case .canceled?: resolveActivity(seq, .failure(CancellationError()))
        }
    }

    // MARK: - Finishing

    /// Called by the root task when `run` returned or threw.
    func finish(with error: any Error) {
        switch error {
        case let request as ContinueAsNewError:
            finish(.continuedAsNew(request))
        case is CancellationError where cancelRequested:
            finish(.canceled)
        case let app as ApplicationError:
            finish(.failed(converter.failureConverter.failure(from: app)))
        case let activity as ActivityError:
            finish(.failed(activity.failure))
        case let temporal as TemporalError where temporal.failure != nil:
            finish(.failed(converter.failureConverter.failure(from: temporal)))
        case is CancellationError:
            finish(.failed(converter.failureConverter.failure(from: error)))
        default:
            taskFailure = error
        }
    }

    func finish(_ outcome: Outcome) {
        guard self.outcome == nil else { return }
        self.outcome = outcome
        var c = Command()
        switch outcome {
        case .completed(let payloads):
            c.commandType = .completeWorkflowExecution
            var a = Temporal_Api_Command_V1_CompleteWorkflowExecutionCommandAttributes()
            a.result = payloads
            c.completeWorkflowExecutionCommandAttributes = a
        case .failed(let failure):
            c.commandType = .failWorkflowExecution
            var a = Temporal_Api_Command_V1_FailWorkflowExecutionCommandAttributes()
            a.failure = failure
            c.failWorkflowExecutionCommandAttributes = a
        case .canceled:
            c.commandType = .cancelWorkflowExecution
            c.cancelWorkflowExecutionCommandAttributes = Temporal_Api_Command_V1_CancelWorkflowExecutionCommandAttributes()
        case .continuedAsNew(let request):
            c.commandType = .continueAsNewWorkflowExecution
            var a = Temporal_Api_Command_V1_ContinueAsNewWorkflowExecutionCommandAttributes()
            a.workflowType.name = request.workflowType ?? info.workflowType
            a.taskQueue.name = request.taskQueue ?? info.taskQueue
            a.taskQueue.kind = .normal
            if let input = request.input { a.input = input }
            if let t = request.runTimeout { a.workflowRunTimeout = .init(duration: t) }
            if let t = request.taskTimeout { a.workflowTaskTimeout = .init(duration: t) }
            c.continueAsNewWorkflowExecutionCommandAttributes = a
        }
        commands.append(PendingCommand(key: .close, command: c))
    }

    // MARK: - Activities (called by WorkflowContext)

    func scheduleActivity(type: String, input: Payloads?, options: ActivityOptions) throws -> Int {
        guard options.startToCloseTimeout != nil || options.scheduleToCloseTimeout != nil else {
            throw WorkflowUsageError("activity '\(type)' needs startToCloseTimeout or scheduleToCloseTimeout")
        }
        activitySeq += 1
        let seq = activitySeq
        var a = Temporal_Api_Command_V1_ScheduleActivityTaskCommandAttributes()
        a.activityID = options.activityID ?? "\(seq)"
        a.activityType.name = type
        a.taskQueue.name = options.taskQueue ?? info.taskQueue
        a.taskQueue.kind = .normal
        if let input { a.input = input }
        if let t = options.scheduleToCloseTimeout { a.scheduleToCloseTimeout = .init(duration: t) }
        if let t = options.scheduleToStartTimeout { a.scheduleToStartTimeout = .init(duration: t) }
        if let t = options.startToCloseTimeout { a.startToCloseTimeout = .init(duration: t) }
        if let t = options.heartbeatTimeout { a.heartbeatTimeout = .init(duration: t) }
        if let p = options.retryPolicy { a.retryPolicy = p.proto }
        var c = Command()
        c.commandType = .scheduleActivityTask
        c.scheduleActivityTaskCommandAttributes = a
        activities[seq] = ActivityStateMachine(activityID: a.activityID, activityType: type)
        activityCancellation[seq] = options.cancellationType
        commands.append(PendingCommand(key: .activity(seq), command: c))
        return seq
    }

    func awaitActivity(_ seq: Int, _ continuation: CheckedContinuation<Payloads?, any Error>) {
        if let result = activityResults.removeValue(forKey: seq) {
            continuation.resume(with: result)
        } else {
            activityWaiters[seq] = continuation
        }
    }

    private func resolveActivity(_ seq: Int, _ result: Result<Payloads?, any Error>) {
        if let waiter = activityWaiters.removeValue(forKey: seq) {
            waiter.resume(with: result)
        } else {
            activityResults[seq] = result
        }
    }

    /// Cancellation of the task awaiting activity `seq`.
    func cancelActivity(_ seq: Int) {
        guard var machine = activities[seq], !machine.isResolved else { return }
        if machine.state == .created {
            commands.removeAll { $0.key == .activity(seq) && !$0.sent }
            try? machine.abandonBeforeSent()
            activities[seq] = machine
            resolveActivity(seq, .failure(CancellationError()))
            return
        }
        let type = activityCancellation[seq] ?? .tryCancel
        if type != .abandon {
            var a = Temporal_Api_Command_V1_RequestCancelActivityTaskCommandAttributes()
            a.scheduledEventID = machine.scheduledEventID
            var c = Command()
            c.commandType = .requestCancelActivityTask
            c.requestCancelActivityTaskCommandAttributes = a
            commands.append(PendingCommand(key: .cancelActivity(seq), command: c))
        }
        if type != .waitCancellationCompleted {
            machine.resolveLocally()
            activities[seq] = machine
            resolveActivity(seq, .failure(CancellationError()))
        }
    }

    // MARK: - Timers

    func startTimer(_ duration: Duration) -> Int {
        timerSeq += 1
        let seq = timerSeq
        var a = Temporal_Api_Command_V1_StartTimerCommandAttributes()
        a.timerID = "\(seq)"
        a.startToFireTimeout = .init(duration: duration)
        var c = Command()
        c.commandType = .startTimer
        c.startTimerCommandAttributes = a
        timers[seq] = TimerStateMachine(timerID: a.timerID)
        commands.append(PendingCommand(key: .timer(seq), command: c))
        return seq
    }

    func awaitTimer(_ seq: Int, _ continuation: CheckedContinuation<Void, any Error>) {
        if let result = timerResults.removeValue(forKey: seq) {
            continuation.resume(with: result)
        } else {
            timerWaiters[seq] = continuation
        }
    }

    private func resolveTimer(_ seq: Int, _ result: Result<Void, any Error>) {
        if let waiter = timerWaiters.removeValue(forKey: seq) {
            waiter.resume(with: result)
        } else {
            timerResults[seq] = result
        }
    }

    /// Whether timer `seq` fired (for `condition(timeout:)`).
    func timerFired(_ seq: Int) -> Bool { timers[seq]?.state == .fired }

    func cancelTimer(_ seq: Int) {
        guard var timer = timers[seq], !timer.isResolved else { return }
        guard let sendCancel = try? timer.cancel() else { return }
        timers[seq] = timer
        if sendCancel {
            var a = Temporal_Api_Command_V1_CancelTimerCommandAttributes()
            a.timerID = timer.timerID
            var c = Command()
            c.commandType = .cancelTimer
            c.cancelTimerCommandAttributes = a
            commands.append(PendingCommand(key: .cancelTimer(seq), command: c))
        } else {
            commands.removeAll { $0.key == .timer(seq) && !$0.sent }
        }
        resolveTimer(seq, .failure(CancellationError()))
    }

    // MARK: - Signals to other workflows

    func signalExternal(workflowID: String, runID: String?, name: String, input: Payloads?) -> Int {
        signalSeq += 1
        let seq = signalSeq
        var a = Temporal_Api_Command_V1_SignalExternalWorkflowExecutionCommandAttributes()
        a.execution.workflowID = workflowID
        a.execution.runID = runID ?? ""
        a.signalName = name
        if let input { a.input = input }
        var c = Command()
        c.commandType = .signalExternalWorkflowExecution
        c.signalExternalWorkflowExecutionCommandAttributes = a
        outgoingSignals[seq] = SignalExternalStateMachine(workflowID: workflowID, signalName: name)
        commands.append(PendingCommand(key: .signal(seq), command: c))
        return seq
    }

    func awaitSignalExternal(_ seq: Int, _ continuation: CheckedContinuation<Void, any Error>) {
        if let result = signalResults.removeValue(forKey: seq) {
            continuation.resume(with: result)
        } else {
            signalWaiters[seq] = continuation
        }
    }

    private func resolveSignalExternal(_ seq: Int, _ result: Result<Void, any Error>) {
        if let waiter = signalWaiters.removeValue(forKey: seq) {
            waiter.resume(with: result)
        } else {
            signalResults[seq] = result
        }
    }

    func cancelSignalExternal(_ seq: Int) {
        guard var machine = outgoingSignals[seq], machine.cancelBeforeSent() else { return }
        outgoingSignals[seq] = machine
        commands.removeAll { $0.key == .signal(seq) && !$0.sent }
        resolveSignalExternal(seq, .failure(CancellationError()))
    }

    private func applyOutgoingSignal(_ event: HistoryEvent, initiatedEventID: Int64) throws {
        guard let seq = signalByInitiated[initiatedEventID], var machine = outgoingSignals[seq] else {
            throw HistoryError("\(event.eventType) for unknown signal (initiated event \(initiatedEventID))")
        }
        let resolution = try machine.handle(event)
        outgoingSignals[seq] = machine
        switch resolution {
        case .signaled:
            resolveSignalExternal(seq, .success(()))
        case .failed(let cause):
            resolveSignalExternal(seq, .failure(ApplicationError("signal '\(machine.signalName)' to workflow '\(machine.workflowID)' failed: \(cause)",
                                                                 type: "SignalExternalWorkflowFailed")))
        }
    }

    // MARK: - Patches

    func patched(_ id: String) -> Bool {
        if let known = patches[id] { return known }
        let value = isReplaying ? knownPatches.contains(id) : true
        patches[id] = value
        if value {
            let machine = PatchMarkerStateMachine(patchID: id)
            patchMachines[id] = machine
            commands.append(PendingCommand(key: .marker(id), command: machine.command()))
        }
        return value
    }

    // MARK: - Signals

    func setSignalHandler(_ name: String, _ handler: @escaping (Payloads?) -> Void) {
        signalHandlers[name] = handler
        var remaining: [(name: String, input: Payloads?)] = []
        let buffered = bufferedSignals
        bufferedSignals = []
        for signal in buffered {
            if signal.name == name { handler(signal.input) } else { remaining.append(signal) }
        }
        bufferedSignals.insert(contentsOf: remaining, at: 0)
    }

    private func deliverSignal(_ name: String, _ input: Payloads?) {
        if let handler = signalHandlers[name] {
            handler(input)
        } else {
            bufferedSignals.append((name, input))
        }
    }

    // MARK: - Queries

    func setQueryHandler(_ name: String, _ handler: @escaping (Payloads?) throws -> Payloads) {
        queryHandlers[name] = handler
    }

    /// Answers a query from the current state (never changes it).
    func query(_ name: String, args: Payloads?) throws -> Payloads {
        if name == "__stack_trace" { return try converter.toPayloads("") }
        guard let handler = queryHandlers[name] else {
            let known = queryHandlers.keys.sorted().joined(separator: ", ")
            throw QueryError("unknown query type '\(name)' (known: \(known.isEmpty ? "none" : known))")
        }
        return try handler(args)
    }

    // MARK: - Conditions

    func addCondition(_ predicate: @escaping () -> Bool, _ continuation: CheckedContinuation<Void, any Error>) -> Int {
        conditionSeq += 1
        conditions.append((conditionSeq, predicate, continuation))
        return conditionSeq
    }

    func cancelCondition(_ id: Int) {
        guard let index = conditions.firstIndex(where: { $0.id == id }) else { return }
        conditions.remove(at: index).continuation.resume(throwing: CancellationError())
    }

    /// Next condition id, known before `addCondition` (for cancellation handlers).
    var nextConditionID: Int { conditionSeq + 1 }

    /// Ends the run's coroutines (eviction): cancels the root task and drains it so nothing leaks.
    func tearDown() {
        rootTask?.cancel()
        for (_, w) in activityWaiters { w.resume(throwing: CancellationError()) }
        activityWaiters = [:]
        for (_, w) in timerWaiters { w.resume(throwing: CancellationError()) }
        timerWaiters = [:]
        for c in conditions { c.continuation.resume(throwing: CancellationError()) }
        conditions = []
        executor.runUntilIdle()
    }
}

/// Whether the run is replaying; read by the replay-aware log handler from any thread.
final class ReplayFlag: Sendable {
    private let storage = Atomic<Bool>(true)
    var value: Bool {
        get { storage.load(ordering: .relaxed) }
        set { storage.store(newValue, ordering: .relaxed) }
    }
}
