#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
import Temporal
import TemporalProto

extension WorkflowRun {
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
        timerResults.await(seq, continuation)
    }

    func resolveTimer(_ seq: Int, _ result: Result<Void, any Error>) {
        timerResults.resolve(seq, result)
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
}
