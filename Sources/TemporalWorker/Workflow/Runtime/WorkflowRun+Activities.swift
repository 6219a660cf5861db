import Temporal
import TemporalProto

#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

extension WorkflowRun {
    // MARK: - Activities (called by WorkflowContext)

    func scheduleActivity(type: String, input: Payloads?, options: ActivityOptions, headers: [String: Payload] = [:]) throws -> Int {
        if let problem = TimeoutChecks.activity(
            "activity '\(type)'", startToClose: options.startToCloseTimeout, scheduleToClose: options.scheduleToCloseTimeout,
            scheduleToStart: options.scheduleToStartTimeout, heartbeat: options.heartbeatTimeout)
            ?? TimeoutChecks.retryPolicy("activity '\(type)'", options.retryPolicy)
        {
            throw WorkflowUsageError(problem)
        }
        var a = Temporal_Api_Command_V1_ScheduleActivityTaskCommandAttributes()
        a.activityID = options.activityID ?? "\(activities.nextSeq)"
        a.activityType.name = type
        a.taskQueue.name = options.taskQueue ?? info.taskQueue
        a.taskQueue.kind = .normal
        if let input { a.input = input }
        if let t = options.scheduleToCloseTimeout { a.scheduleToCloseTimeout = .init(duration: t) }
        if let t = options.scheduleToStartTimeout { a.scheduleToStartTimeout = .init(duration: t) }
        if let t = options.startToCloseTimeout { a.startToCloseTimeout = .init(duration: t) }
        if let t = options.heartbeatTimeout { a.heartbeatTimeout = .init(duration: t) }
        if let p = options.retryPolicy { a.retryPolicy = p.proto }
        if let header = header(for: "StartActivity:\(type)", over: headers) { a.header = header }
        var c = Command()
        c.commandType = .scheduleActivityTask
        c.scheduleActivityTaskCommandAttributes = a
        if options.disableEagerExecution { eagerExecutionDisabled.insert(a.activityID) }
        let seq = activities.add(
            ActivityStateMachine(
                activityID: a.activityID, activityType: type,
                cancellationType: options.cancellationType))
        commands.append(PendingCommand(key: .activity(seq), command: c))
        return seq
    }

    /// Cancellation of the task awaiting activity `seq`.
    func cancelActivity(_ seq: Int) {
        guard var machine = activities[seq], !machine.isResolved else { return }
        if machine.state == .created {
            commands.removeAll { $0.key == .activity(seq) && !$0.onServer }
            try? machine.abandonBeforeSent()
            activities[seq] = machine
            activities.resolve(seq, .failure(CancellationError()))
            return
        }
        let type = machine.cancellationType
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
            activities.resolve(seq, .failure(CancellationError()))
        }
    }

    /// ActivityTask{Started,Completed,Failed,TimedOut,Canceled}: moves the activity's machine on
    /// and delivers its result once it has one.
    func applyActivity(_ event: HistoryEvent, scheduledEventID: Int64) throws {
        let unknown = { HistoryError("\(event.eventType) for unknown activity (scheduled event \(scheduledEventID))") }
        let (seq, resolution) = try activities.update(recordedBy: scheduledEventID, unknown: unknown) { seq, machine in
            (seq, machine.acceptsLateEvents ? nil : try machine.handle(event))
        }
        if event.closesActivity {
            // Cancelled earlier in this activation (a cancel request or signal applied before
            // this event): a RequestCancelActivityTask command not sent yet is dropped — the
            // server refuses to cancel an activity that has closed.
            commands.removeAll { $0.key == .cancelActivity(seq) && !$0.onServer }
        }
        switch resolution {
        case nil: break
        case .completed(let payloads)?: activities.resolve(seq, .success(payloads))
        case .failed(let failure)?: activities.resolve(seq, .failure(ActivityError(failure: failure, converter: converter)))
        case .canceled?: activities.resolve(seq, .failure(CancellationError()))
        }
    }
}

extension HistoryEvent {
    /// Whether this event closes an activity (completed, failed, timed out or canceled).
    var closesActivity: Bool {
        switch attributes {
        case .activityTaskCompletedEventAttributes?, .activityTaskFailedEventAttributes?, .activityTaskTimedOutEventAttributes?,
            .activityTaskCanceledEventAttributes?:
            return true
        default: return false
        }
    }
}
