#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
import Temporal
import TemporalProto

extension WorkflowRun {
    // MARK: - Activities (called by WorkflowContext)

    func scheduleActivity(type: String, input: Payloads?, options: ActivityOptions, headers: [String: Payload] = [:]) throws -> Int {
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
        let fields = headers.merging(traceHeader("StartActivity:\(type)")) { _, trace in trace }
        if !fields.isEmpty { a.header.fields = fields }
        var c = Command()
        c.commandType = .scheduleActivityTask
        c.scheduleActivityTaskCommandAttributes = a
        activities[seq] = ActivityStateMachine(activityID: a.activityID, activityType: type)
        if options.disableEagerExecution { eagerExecutionDisabled.insert(a.activityID) }
        activityCancellation[seq] = options.cancellationType
        commands.append(PendingCommand(key: .activity(seq), command: c))
        return seq
    }

    func awaitActivity(_ seq: Int, _ continuation: CheckedContinuation<Payloads?, any Error>) {
        activityResults.await(seq, continuation)
    }

    func resolveActivity(_ seq: Int, _ result: Result<Payloads?, any Error>) {
        activityResults.resolve(seq, result)
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
}
