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
/// synchronously (on a `WorkflowThreads` thread when deadlock detection is on; a run the
/// detector gave up on is never touched again), and the worker hands a run to one task at a
/// time (see `RunCache`). The
/// compiler cannot see this confinement, hence the unchecked conformance.
///
/// The command-specific parts live in extensions: `+Activities`, `+Timers`, `+ExternalSignals`, `+ChildWorkflows`,
/// `+Patches`, `+Handlers` (signals, queries, conditions), `+Updates`, `+Properties` and `+Finishing`.
final class WorkflowRun: @unchecked Sendable {
    enum Outcome {
        case completed(Payloads)
        case failed(Failure)
        case canceled
        case continuedAsNew(ContinueAsNewError)
    }

    enum CommandKey: Equatable {
        case activity(Int)
        case cancelActivity(Int)
        case timer(Int)
        case cancelTimer(Int)
        case marker(String)
        case signal(Int)
        case child(Int)
        case cancelChild(Int)
        case cancelExternal(Int)
        case updateAccepted(String)
        case updateCompleted(String)
        case properties
        case localActivity(Int)
        case close
    }

    struct PendingCommand {
        let key: CommandKey
        var command: Command
        /// Handed out by `takeNewCommands` (part of the answer being built).
        var sent = false
        /// In an answer being sent to the server (or, on replay, in a completed task): from
        /// then on the command is the server's, and dropping it is no longer possible. Until then,
        /// code that runs before the answer (local activities finishing within the task) may
        /// still drop it.
        var onServer = false
        /// The protocol message a `PROTOCOL_MESSAGE` command points at (update acceptances and responses).
        var message: ProtocolMessage? = nil
    }

    enum Phase { case accumulating, awaitingCompletion, matching }

    // MARK: Identity and services

    let definition: WorkflowDefinition
    let converter: DataConverter
    /// The worker's interceptors (`WorkerOptions.interceptors`).
    let interceptors: [any WorkerInterceptor]
    /// Debug builds check that workflow code touches the run only while it is driven.
    let confinement = Confinement()
    /// The start event's header, for `executeWorkflow` interceptors.
    var startHeaders: [String: Payload] = [:]
    let executor = DeterministicExecutor()
    var info: WorkflowInfo
    let replayFlag = ReplayFlag()
    let logger: Logger

    // MARK: Workflow-visible state

    var now = Date(timeIntervalSince1970: 0)
    /// The current task's start: its event time, and when this worker activated it.
    private var taskStart = (event: Date(timeIntervalSince1970: 0), local: ContinuousClock.now)

    /// The server's time now, as far as this task can tell: the task's start event time plus
    /// the time elapsed here since (no dependence on the worker's wall clock).
    func taskClock() -> Date {
        taskStart.event.addingTimeInterval((ContinuousClock.now - taskStart.local).seconds)
    }
    var isReplaying: Bool { replayFlag.value }
    /// How long the last `process` replayed before its live activation: nil unless it rebuilt
    /// the run from event 1 through at least one completed task.
    private(set) var replayLatency: Duration?
    var random = DeterministicRandom(seed: 0)
    /// What randomness and default child ids derive from: the original execution's run id,
    /// then, after a reset, the new run's id (as Go reseeds on RESET_WORKFLOW).
    var seedSource = ""
    var cancelRequested = false
    /// Events in history up to the current workflow task (its WorkflowTaskStarted id).
    var historyLength: Int64 = 0
    /// The server suggests continuing as new (history too long or too large).
    var continueAsNewSuggested = false

    // MARK: Commands and machines

    var commands: [PendingCommand] = []
    // One table per kind of awaited command (see `CommandTable`); one awaiter each, except a
    // child's result, which several handles may ask for.
    var activities = CommandTable<ActivityStateMachine, Payloads?>()
    var timers = CommandTable<TimerStateMachine, Void>()
    var outgoingSignals = CommandTable<SignalExternalStateMachine, Void>()
    var outgoingCancels = CommandTable<CancelExternalStateMachine, Void>()
    var children = CommandTable<ChildWorkflowStateMachine, Payloads?>(keepsResults: true)
    /// A child's first run id, once it started (awaited by `startChildWorkflow`).
    var childStarts = PendingResults<String>()
    var patches = PatchTable()
    /// Behaviour changes recorded in history (see `SDKFlag`).
    var sdkFlags = SDKFlags()
    /// Activity ids scheduled with `ActivityOptions.disableEagerExecution`: never requested eagerly.
    var eagerExecutionDisabled: Set<String> = []

    // MARK: Signals, queries, conditions

    var handlers = RunHandlers()
    /// The channel `signalChannel(name)` made for each name (`SDKFlag.oneSignalChannelPerName`).
    var signalChannels: [String: AnyObject] = [:]
    var conditions = RunConditions()
    /// Set while a validator or a query handler runs (`readOnly(_:_:)`).
    var readOnly: ReadOnlyScope?

    // MARK: Local activities

    var localActivities = LocalActivityTable()

    // MARK: Updates

    /// Rejection messages for the task being answered (they have no command).
    var rejections: [ProtocolMessage] = []
    /// Protocol messages of the commands returned by the last `process` call.
    var outgoingMessages: [ProtocolMessage] = []
    /// Set by `tearDown`: nothing the run's coroutines do afterwards is sent.
    var tornDown = false
    /// Set when a dropped speculative task was rewound: the next task starts after this id.
    var rewoundToStartedEventID: Int64?
    /// The trace this run belongs to: the starter's context from the start event's header
    /// (deterministic), or the RunWorkflow span's once this worker created one.
    var traceContext: ServiceContext = .topLevel
    /// A run rebuilt from its history (its start replayed) makes its RunWorkflow span at its
    /// first live activation (`WorkflowRun+Tracing`).
    var runSpanPending = false

    // MARK: Lifecycle

    var rootTask: Task<Void, Never>?
    var outcome: Outcome?
    /// The close command of `outcome`, held until the children's cancel requests are delivered
    /// (`SDKFlag.closeAfterChildCancelsDelivered`).
    var heldClose: PendingCommand?
    /// The warnings about what the run left behind were given (`warnAboutWhatIsLeft`).
    var endWarningsGiven = false
    var taskFailure: (any Error)?
    /// The last WorkflowTaskStarted event processed.
    var lastStartedEventID: Int64 = 0
    /// The last event processed.
    var lastEventID: Int64 = 0
    var phase = Phase.accumulating
    var pendingEvents: [HistoryEvent] = []

    /// - Parameters:
    ///   - info: identity of the run; completed from the start event.
    init(
        definition: WorkflowDefinition, info: WorkflowInfo, converter: DataConverter, logger: Logger,
        interceptors: [any WorkerInterceptor] = []
    ) {
        self.definition = definition
        self.interceptors = interceptors
        self.info = info
        self.converter = converter
        let flag = replayFlag
        // The same keys as activity loggers (and the metric dimensions), so that one filter finds a run.
        let context = ContextLogHandler(
            base: logger.handler,
            context: [
                "namespace": .string(info.namespace), "task_queue": .string(info.taskQueue), "workflow_id": .string(info.workflowID),
                "run_id": .string(info.runID), "workflow_type": .string(info.workflowType),
            ])
        self.logger = Logger(label: logger.label) { _ in ReplayAwareLogHandler(base: context, flag: flag) }
    }

    deinit {
        rootTask?.cancel()
    }

    /// Whether a closing command (complete, fail, cancel, continue-as-new) was produced.
    var isClosed: Bool { outcome != nil }

    /// How the run closed, as the worker's metrics name it (`completed`, `failed`, `canceled`,
    /// `continue_as_new`), or nil while it is open.
    var closeMetric: String? {
        guard heldClose == nil else { return nil }
        return switch outcome {
        case .completed?: "completed"
        case .failed?: "failed"
        case .canceled?: "canceled"
        case .continuedAsNew?: "continue_as_new"
        case nil: nil
        }
    }

    /// Whether the run failed with a failure its code called benign (expected): not counted as
    /// a failed workflow, as in Go.
    var closedBenign: Bool {
        if case .failed(let failure)? = outcome { return failure.isBenign }
        return false
    }

    // MARK: - History processing

    /// Applies `events` (contiguous, continuing from `lastEventID`), runs workflow code for each
    /// workflow-task activation and checks determinism.
    ///
    /// - Parameter liveStartedEventID: the WorkflowTaskStarted id of the task being answered:
    ///   activations before it are replays. nil replays everything (replayer, query tasks).
    /// - Parameter messages: the task's protocol messages (update requests), handed to the
    ///   handlers in the live activation.
    /// - Returns: the new commands to send; their protocol messages (and rejections) are in
    ///   `outgoingMessages`.
    /// - Throws: `NondeterminismError`, `WorkflowTaskFailure` (workflow code threw), `HistoryError`.
    func process(events: [HistoryEvent], liveStartedEventID: Int64?, messages: [ProtocolMessage] = []) throws -> [Command] {
        try confinement.drive { try driveProcess(events: events, liveStartedEventID: liveStartedEventID, messages: messages) }
    }

    private func driveProcess(events: [HistoryEvent], liveStartedEventID: Int64?, messages: [ProtocolMessage]) throws -> [Command] {
        rewoundToStartedEventID = nil
        // Only a run rebuilt from event 1 for a live task replays and then runs live: the whole
        // rebuild is timed, from here to its live activation (a cached run's task, the replayer
        // and a query's replay are not). Core times only the last replayed task's events, and
        // sticky tasks too, so its counts differ.
        replayLatency = nil
        let replayStart = lastEventID == 0 && liveStartedEventID != nil ? ContinuousClock.now : nil
        var replayed = false
        var index = 0
        while index < events.count {
            let event = events[index]
            index += 1
            if event.eventID <= lastEventID { continue }  // already applied (overlapping pages)
            if lastEventID != 0, event.eventID != lastEventID + 1 {
                throw HistoryError("history gap: event \(event.eventID) follows event \(lastEventID)", staleCache: true)
            }
            if lastEventID == 0, event.eventID != 1 || event.eventType != .workflowExecutionStarted {
                // A fresh run needs its history from the start: without it the code would
                // answer a live task with nothing and the workflow would stall.
                throw HistoryError(
                    "the history does not start with WorkflowExecutionStarted as event 1 (it starts with event \(event.eventID), \(event.eventType))"
                )
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
                // A reset: the run continues as a new run from here, and must not draw the same
                // numbers, UUIDs and child ids as the run it was reset from.
                if case .workflowTaskFailedEventAttributes(let failed)? = event.attributes, failed.cause == .resetWorkflow,
                    !failed.newRunID.isEmpty
                {
                    seedSource = failed.newRunID
                    random = DeterministicRandom(seed: seedSource)
                }
            case .workflowTaskCompleted:
                try sdkFlags.noteCompleted(event)
                if phase == .awaitingCompletion { phase = .matching }
            case .workflowTaskStarted:
                let next = index < events.count ? events[index] : nil
                if let next, next.eventType != .workflowTaskCompleted { continue }  // this task failed or timed out
                try requireAllCommandsMatched(at: event.eventID)
                let replaying = liveStartedEventID.map { event.eventID < $0 } ?? true
                if replaying {
                    replayed = true
                } else if replayed, let replayStart {
                    replayLatency = ContinuousClock.now - replayStart
                }
                sdkFlags.beginTask(completion: replaying ? next : nil)
                let updates = updateDeliveries(live: !replaying, messages: messages, events: events, from: index)
                let markers = replaying ? Self.localActivityMarkers(in: events, from: index) : []
                // The patches this task's commands record are known to its code, not before.
                if replaying { for id in Self.patchMarkers(in: events, from: index) { patches.noteMarkerInHistory(id) } }
                try activate(started: event, replaying: replaying, updates: updates, localMarkers: markers)
                phase = .awaitingCompletion
            default:
                if event.isCommandEvent {
                    guard phase == .matching else {
                        throw NondeterminismError(
                            historyEvent: event.summary, command: nil, eventID: event.eventID,
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
        // A history cut short (a page loop or a proxy that stopped early) would be answered as
        // if its last task were live, sending again commands that history already holds, or
        // nothing at all: refuse it, as Go does ("premature end of stream"). A cached run then
        // replays from a full history; a fresh one fails the task, which the server retries.
        if let live = liveStartedEventID, lastStartedEventID != live {
            throw HistoryError(
                "the history ends at event \(lastEventID), before the task's WorkflowTaskStarted (event \(live))", staleCache: true)
        }
        return takeNewCommands()
    }

    /// For a query answered from a history replayed for it (a legacy query task: a closed run,
    /// or one with no workflow task outstanding): applies the events after the last completed
    /// workflow task (an activity's result or a signal that came before the run was terminated
    /// or timed out) and runs the code they wake, as Go runs code on a history's last event,
    /// so that the answer is the state those events made. What the code then asks for goes
    /// nowhere (no task follows) and is checked against nothing: only for a run that answers
    /// this query and is then torn down. Confined as `process` is (workflow code runs).
    /// (Not for the replayer: replayed, a trailing task takes the old side of every patch, so
    /// a build that fixed the bug it failed on behind a patch would fail the replay.)
    func applyTrailingEventsForQuery() throws {
        guard !pendingEvents.isEmpty, !isClosed, let last = pendingEvents.last else { return }
        try confinement.drive {
            try activate(started: last, replaying: true)
            _ = takeNewCommands()
        }
    }

    /// The commands not sent yet (now marked sent); their protocol messages, and the
    /// rejections, go to `outgoingMessages`.
    func takeNewCommands() -> [Command] {
        var out: [Command] = []
        var sent: [PendingCommand] = []
        for i in commands.indices where !commands[i].sent {
            commands[i].sent = true
            if isReplaying { commands[i].onServer = true }
            out.append(commands[i].command)
            sent.append(commands[i])
        }
        outgoingMessages = takeOutgoingMessages(for: sent)
        return out
    }

    /// The commands of the answer being built: handed out, not yet sent to the server, in
    /// order. Local activities that finish within the task can drop some of them (a timer or
    /// an activity the code cancels before it was ever sent), so the answer is read from here.
    func commandsToAnswer() -> [Command] {
        commands.filter { $0.sent && !$0.onServer }.map(\.command)
    }

    /// The answer with `commandsToAnswer()` is going to the server: its commands can no longer
    /// be dropped.
    func markAnswered() {
        for i in commands.indices where commands[i].sent { commands[i].onServer = true }
    }

    /// After replaying a whole history (replayer): commands the code produced that history lacks.
    func unmatchedCommands() -> [String] { commands.map(\.command.summary) }

    func activate(started: HistoryEvent, replaying: Bool, updates: [UpdateDelivery] = [], localMarkers: [HistoryEvent] = []) throws {
        replayFlag.value = replaying
        if !replaying, runSpanPending { startRunSpan() }
        now = started.eventTime.date
        taskStart = (now, .now)
        lastStartedEventID = started.eventID
        historyLength = started.eventID
        continueAsNewSuggested = started.workflowTaskStartedEventAttributes.suggestContinueAsNew
        let batch = pendingEvents
        pendingEvents = []
        let updatesFirst = sdkFlags.uses(.updatesBeforeWorkflowCode)
        if updatesFirst {
            // The start (signal-with-start), signals and updates before the events that wake
            // code; an update whose handler is not registered yet waits for code of this
            // activation to register it (`SDKFlag.updatesBeforeWorkflowCode`).
            let early = batch.filter { $0.eventType == .workflowExecutionStarted || $0.eventType == .workflowExecutionSignaled }
            try apply(early)
            deliverUpdates(updates, replaying: replaying, holdUnknown: true)
            try apply(batch.filter { $0.eventType != .workflowExecutionStarted && $0.eventType != .workflowExecutionSignaled })
        } else {
            try apply(batch)
        }
        runUntilBlocked()
        // Histories from before the flag: updates after the activation's events and the code
        // they woke.
        if !updatesFirst, !updates.isEmpty {
            deliverUpdates(updates, replaying: replaying)
            runUntilBlocked()
        }
        // Replay: local activities finished in this task, in the order the worker saw them finish.
        if !localMarkers.isEmpty { try applyLocalActivityMarkers(localMarkers) }
        rejectHeldUpdates()
        warnAboutWhatIsLeft()
        settleCommandOrder()
        if let failure = taskFailure { throw WorkflowTaskFailure(failure) }
    }

    /// Puts the commands of an activation in the order sent and replayed: cancellations in
    /// sequence order, then the close last (see each step).
    func settleCommandOrder() {
        releaseHeldClose()
        canonicalizeCancellationOrder()
        keepCloseLast()
    }

    /// Applies events in order; a state machine's refusal is nondeterminism.
    private func apply(_ events: [HistoryEvent]) throws {
        for event in events {
            do {
                try apply(event)
            } catch let error as StateMachineError {
                throw NondeterminismError(
                    historyEvent: event.summary, command: nil, eventID: event.eventID,
                    detail: error.description)
            }
        }
    }

    /// Cancelling a task cancels its child tasks in an order the Swift runtime chooses (an
    /// implementation detail), and each cancellation handler appends its cancel command. So a
    /// run of consecutive new cancel commands is put in sequence order — the same order on
    /// every execution and every toolchain, which replay relies on.
    func canonicalizeCancellationOrder() {
        func rank(_ key: CommandKey) -> (Int, Int)? {
            switch key {
            case .cancelTimer(let seq): (0, seq)
            case .cancelActivity(let seq): (1, seq)
            case .cancelChild(let seq): (2, seq)
            default: nil
            }
        }
        var start = commands.startIndex
        while start < commands.endIndex {
            guard !commands[start].sent, rank(commands[start].key) != nil else {
                start += 1
                continue
            }
            var end = start
            while end < commands.endIndex, !commands[end].sent, rank(commands[end].key) != nil { end += 1 }
            if end - start > 1 {
                let sorted = commands[start..<end].sorted { a, b in
                    let (x, y) = (rank(a.key) ?? (0, 0), rank(b.key) ?? (0, 0))
                    return x.0 != y.0 ? x.0 < y.0 : x.1 < y.1
                }
                commands.replaceSubrange(start..<end, with: sorted)
            }
            start = end
        }
    }

    /// Runs workflow code until every coroutine waits on something only history can resolve.
    /// Timed as one pass, conditions and all (coroutines waking each other through conditions
    /// without end are a deadlock too).
    func runUntilBlocked() {
        executor.clock.passTiming {
            executor.runUntilIdle()
            while !executor.clock.givenUp, !conditions.waiting.isEmpty,
                let index = runWorkflowCode({ conditions.waiting.firstIndex(where: { $0.predicate() }) })
            {
                let waiter = conditions.waiting.remove(at: index)
                waiter.continuation.resume()
                executor.runUntilIdle()
            }
        }
    }

    func requireAllCommandsMatched(at eventID: Int64) throws {
        if let extra = commands.first {
            throw NondeterminismError(
                historyEvent: nil, command: extra.command.summary, eventID: eventID,
                detail: "the workflow produced a command that history does not have")
        }
    }

    func match(_ event: HistoryEvent) throws {
        // A retired patch (`deprecatePatch`, then the call removed): its marker has no command.
        if let id = PatchMarkerStateMachine.patchID(of: event), PatchMarkerStateMachine.isDeprecated(event),
            commands.first?.key != .marker(id)
        {
            return
        }
        guard let first = commands.first else {
            throw NondeterminismError(
                historyEvent: event.summary, command: nil, eventID: event.eventID,
                detail: "history has a command the workflow did not produce")
        }
        guard first.command.matches(event), Self.updateEvent(event, matches: first.key) else {
            throw NondeterminismError(historyEvent: event.summary, command: first.command.summary, eventID: event.eventID)
        }
        commands.removeFirst()
        do {
            try recorded(first.key, event)
        } catch let error as StateMachineError {
            throw NondeterminismError(
                historyEvent: event.summary, command: first.command.summary,
                eventID: event.eventID, detail: error.description)
        }
    }

    func recorded(_ key: CommandKey, _ event: HistoryEvent) throws {
        let id = event.eventID
        switch key {
        case .activity(let seq):
            try activities.record(seq, by: id) { try $0.scheduled(eventID: id) }
        case .cancelActivity(let seq):
            try activities[seq]?.cancelRecorded()
        case .timer(let seq):
            try timers.record(seq, by: id) { try $0.started(eventID: id) }
        case .cancelTimer(let seq):
            try timers[seq]?.canceled()
        case .marker(let id):
            try patches[machine: id]?.recorded(event)
        case .signal(let seq):
            try outgoingSignals.record(seq, by: id) { try $0.initiated(eventID: id) }
        case .child(let seq):
            try children.record(seq, by: id) { try $0.initiated(eventID: id) }
        case .cancelChild(let seq):
            try children.record(seq, by: id) { try $0.cancelInitiated() }
        case .cancelExternal(let seq):
            try outgoingCancels.record(seq, by: id) { try $0.initiated() }
        case .updateAccepted, .updateCompleted, .properties, .localActivity, .close:
            break
        }
    }

    // MARK: - Applying events

    func apply(_ event: HistoryEvent) throws {
        switch event.attributes {
        case .workflowExecutionStartedEventAttributes(let a)?:
            start(a, event: event)
        case .workflowExecutionSignaledEventAttributes(let a)?:
            deliverSignal(a.signalName, a.hasInput ? a.input : nil, headers: a.header.fields)
        case .workflowExecutionCancelRequestedEventAttributes?:
            cancelRequested = true
            rootTask?.cancel()
            if !handlers.updateTasks.isEmpty, sdkFlags.tryUse(.cancelUpdatesWithWorkflow) {
                handlers.updateTasks.cancelAll()
            }
            cancelChildrenWithWorkflow()
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
            try applyTimerFired(a)
        case .externalWorkflowExecutionSignaledEventAttributes(let a)?:
            try applyOutgoingSignal(event, initiatedEventID: a.initiatedEventID)
        case .signalExternalWorkflowExecutionFailedEventAttributes(let a)?:
            try applyOutgoingSignal(event, initiatedEventID: a.initiatedEventID)
        case .startChildWorkflowExecutionFailedEventAttributes(let a)?:
            try applyChild(event, initiatedEventID: a.initiatedEventID)
        case .childWorkflowExecutionStartedEventAttributes(let a)?:
            try applyChild(event, initiatedEventID: a.initiatedEventID)
        case .childWorkflowExecutionCompletedEventAttributes(let a)?:
            try applyChild(event, initiatedEventID: a.initiatedEventID)
        case .childWorkflowExecutionFailedEventAttributes(let a)?:
            try applyChild(event, initiatedEventID: a.initiatedEventID)
        case .childWorkflowExecutionCanceledEventAttributes(let a)?:
            try applyChild(event, initiatedEventID: a.initiatedEventID)
        case .childWorkflowExecutionTimedOutEventAttributes(let a)?:
            try applyChild(event, initiatedEventID: a.initiatedEventID)
        case .childWorkflowExecutionTerminatedEventAttributes(let a)?:
            try applyChild(event, initiatedEventID: a.initiatedEventID)
        case .externalWorkflowExecutionCancelRequestedEventAttributes(let a)?:
            try applyCancelOutcome(event, initiatedEventID: a.initiatedEventID)
        case .requestCancelExternalWorkflowExecutionFailedEventAttributes(let a)?:
            try applyCancelOutcome(event, initiatedEventID: a.initiatedEventID)
        case .workflowExecutionUpdateAdmittedEventAttributes?, .workflowExecutionUpdateRejectedEventAttributes?:
            break  // admitted: delivered with its activation (see `updateDeliveries`); rejected: old servers' record
        case .workflowExecutionTerminatedEventAttributes?, .workflowExecutionTimedOutEventAttributes?,
            .workflowPropertiesModifiedExternallyEventAttributes?, .activityPropertiesModifiedExternallyEventAttributes?,
            .workflowExecutionPausedEventAttributes?, .workflowExecutionUnpausedEventAttributes?:
            break
        default:
            if event.workerMayIgnore { return }
            // Changes of the execution's options (a versioning override, a request id or
            // callback attached, a priority): nothing workflow code sees, and servers before
            // `worker_may_ignore` did not mark them (a run stuck on "unsupported" for good).
            if event.eventType == .workflowExecutionOptionsUpdated { return }
            throw HistoryError("unsupported history event \(event.eventType) (event \(event.eventID))")
        }
    }

    func start(_ a: Temporal_Api_History_V1_WorkflowExecutionStartedEventAttributes, event: HistoryEvent) {
        info.attempt = Int(max(1, a.attempt))
        if !a.continuedExecutionRunID.isEmpty { info.continuedRunID = a.continuedExecutionRunID }
        info.firstExecutionRunID = a.firstExecutionRunID
        info.originalExecutionRunID = a.originalExecutionRunID.isEmpty ? info.runID : a.originalExecutionRunID
        info.startTime = event.eventTime.date
        if a.hasWorkflowRunTimeout { info.runTimeout = swiftDuration(a.workflowRunTimeout) }
        if a.hasWorkflowTaskTimeout { info.taskTimeout = swiftDuration(a.workflowTaskTimeout) }
        if a.hasWorkflowExecutionTimeout, a.workflowExecutionTimeout.seconds > 0 || a.workflowExecutionTimeout.nanos > 0 {
            info.executionTimeout = swiftDuration(a.workflowExecutionTimeout)
        }
        if a.hasWorkflowExecutionExpirationTime { info.executionExpirationTime = a.workflowExecutionExpirationTime.date }
        if !a.cronSchedule.isEmpty { info.cronSchedule = a.cronSchedule }
        if a.hasContinuedFailure { info.continuedFailure = a.continuedFailure }
        if a.hasParentWorkflowExecution, !a.parentWorkflowExecution.workflowID.isEmpty {
            info.parent = WorkflowExecutionReference(
                namespace: a.parentWorkflowNamespace, workflowID: a.parentWorkflowExecution.workflowID,
                runID: a.parentWorkflowExecution.runID)
        }
        if a.hasRootWorkflowExecution, !a.rootWorkflowExecution.workflowID.isEmpty,
            a.rootWorkflowExecution.workflowID != info.workflowID || a.rootWorkflowExecution.runID != info.runID
        {
            info.root = WorkflowExecutionReference(
                namespace: "", workflowID: a.rootWorkflowExecution.workflowID, runID: a.rootWorkflowExecution.runID)
        }
        if !a.taskQueue.name.isEmpty { info.taskQueue = a.taskQueue.name }
        // Not an attribute a start carried unset (a JSON `null` an older release's unset left on a
        // server before 1.32): a continue-as-new would carry it on.
        info.searchAttributes = a.searchAttributes.indexedFields.filter { !SearchAttributeEncoding.isUnset($0.value) }
        info.memo = a.memo.fields
        if a.hasRetryPolicy { info.retryPolicy = RetryPolicy(proto: a.retryPolicy) }
        if a.hasLastCompletionResult, !a.lastCompletionResult.payloads.isEmpty { info.lastCompletionResult = a.lastCompletionResult }
        // The start is applied at the run's first activation, after any reset to the first
        // workflow task (WorkflowTaskFailed, RESET_WORKFLOW) seeded the run with its new id
        // (`SDKFlag.resetSeedKeptAtFirstTask`: runs reset before it replay as they ran).
        if seedSource.isEmpty || !sdkFlags.tryUse(.resetSeedKeptAtFirstTask) {
            seedSource = info.originalExecutionRunID
            random = DeterministicRandom(seed: seedSource)
        }
        startHeaders = a.header.fields
        traceContext = TraceHeader.extract(a.header.fields) ?? .topLevel
        if isReplaying { runSpanPending = true } else { startRunSpan() }
        rootTask = definition.start(self, a.hasInput ? a.input : nil)
        if cancelRequested { rootTask?.cancel() }
    }

    /// How many times a teardown cancels what cleanup code waits on before it gives up on code
    /// that waits again each time it is cancelled.
    static let tearDownRounds = 100

    /// Ends the run's coroutines (eviction): cancels the root task and drains it so nothing leaks.
    func tearDown() {
        confinement.drive { driveTearDown() }
    }

    private func driveTearDown() {
        // Workflow code resumed from here on (its cleanup after the CancellationError) runs for
        // an evicted or stopping run, not for the workflow: it must see itself as replaying, so
        // that it neither logs nor acts as if live.
        replayFlag.value = true
        tornDown = true
        rootTask?.cancel()
        handlers.updateTasks.cancelAll()
        // Cleanup code the cancellation resumes may wait again (a compensation in
        // `nonCancellable`): what it waits on is cancelled in turn, round after round, until
        // nothing waits (its waiter would otherwise keep the whole run alive for ever).
        for _ in 0..<Self.tearDownRounds {
            activities.cancelAll()
            timers.cancelAll()
            outgoingSignals.cancelAll()
            outgoingCancels.cancelAll()
            childStarts.cancelAll()
            children.cancelAll()
            localActivities.cancelAll()
            for c in conditions.waiting { c.continuation.resume(throwing: CancellationError()) }
            conditions.waiting = []
            executor.runUntilIdle()
            // Jobs left (a given-up run's pass stops at a bound) may still end coroutines.
            guard hasSuspendedWaiters || executor.hasJobs else { break }
        }
        // Handlers registered by workflow code usually capture its context (and so this run):
        // drop them so that an evicted or finished run is freed.
        handlers.signals = [:]
        handlers.queries = [:]
        handlers.updates = [:]
        handlers.updateTasks = UpdateTasks()
        handlers.bufferedSignals = []
        // A channel holds its context, which holds this run: kept, it kept every run that
        // made one alive.
        signalChannels = [:]
    }
}
