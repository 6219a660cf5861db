#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
import Temporal
import TemporalProto

extension WorkflowRun {
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
        signalResults.await(seq, continuation)
    }

    func resolveSignalExternal(_ seq: Int, _ result: Result<Void, any Error>) {
        signalResults.resolve(seq, result)
    }

    func cancelSignalExternal(_ seq: Int) {
        guard var machine = outgoingSignals[seq], machine.cancelBeforeSent() else { return }
        outgoingSignals[seq] = machine
        commands.removeAll { $0.key == .signal(seq) && !$0.sent }
        resolveSignalExternal(seq, .failure(CancellationError()))
    }

    func applyOutgoingSignal(_ event: HistoryEvent, initiatedEventID: Int64) throws {
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
}
