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
            commands.removeAll { $0.key == .timer(seq) && !$0.onServer }
        }
        timers.resolve(seq, .failure(CancellationError()))
    }

    /// TimerFired: resolves the timer (unless the workflow cancelled it meanwhile; then a
    /// CancelTimer command not sent yet is dropped).
    func applyTimerFired(_ a: Temporal_Api_History_V1_TimerFiredEventAttributes) throws {
        let unknown = { HistoryError("TimerFired for unknown timer \(a.timerID) (started event \(a.startedEventID))") }
        let (seq, resolves) = try timers.update(recordedBy: a.startedEventID, unknown: unknown) { seq, timer -> (Int, Bool) in
            if timer.state == .abandoned { return (seq, false) }
            if timer.state == .cancelPending {
                // Cancelled earlier in this activation (a cancel request or signal applied before
                // this event): unless the CancelTimer command already went out, drop it — the
                // server refuses to cancel a timer that fired (BAD_CANCEL_TIMER_ATTRIBUTES).
                let pending = commands.contains { $0.key == .cancelTimer(seq) && !$0.onServer }
                if pending { try timer.firedBeforeCancelSent() }
                return (seq, false)
            }
            try timer.fired()
            return (seq, true)
        }
        if resolves {
            timers.resolve(seq, .success(()))
        } else {
            commands.removeAll { $0.key == .cancelTimer(seq) && !$0.onServer }
        }
    }
}
