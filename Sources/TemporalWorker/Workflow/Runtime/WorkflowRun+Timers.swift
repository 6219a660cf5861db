import Temporal
import TemporalProto

#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

extension WorkflowRun {
    // MARK: - Timers

    func startTimer(_ duration: Duration) -> Int {
        var a = Temporal_Api_Command_V1_StartTimerCommandAttributes()
        a.timerID = "\(timers.nextSeq)"
        a.startToFireTimeout = .init(duration: duration)
        var c = Command()
        c.commandType = .startTimer
        c.startTimerCommandAttributes = a
        let seq = timers.add(TimerStateMachine(timerID: a.timerID))
        commands.append(PendingCommand(key: .timer(seq), command: c))
        return seq
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
        timers.resolve(seq, .failure(CancellationError()))
    }

    /// TimerFired: resolves the timer (unless the workflow cancelled it meanwhile).
    func applyTimerFired(_ a: Temporal_Api_History_V1_TimerFiredEventAttributes) throws {
        let unknown = { HistoryError("TimerFired for unknown timer \(a.timerID) (started event \(a.startedEventID))") }
        let fired = try timers.update(recordedBy: a.startedEventID, unknown: unknown) { seq, timer -> Int? in
            if timer.state == .cancelPending || timer.state == .abandoned { return nil }
            try timer.fired()
            return seq
        }
        if let fired { timers.resolve(fired, .success(())) }
    }
}
