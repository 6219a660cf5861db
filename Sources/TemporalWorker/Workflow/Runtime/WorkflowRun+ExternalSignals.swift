import Temporal
import TemporalProto

#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

extension WorkflowRun {
    // MARK: - Signals to other workflows

    func signalExternal(
        workflowID: String, runID: String?, name: String, input: Payloads?, headers: [String: Payload] = [:]
    ) -> Int {
        var a = Temporal_Api_Command_V1_SignalExternalWorkflowExecutionCommandAttributes()
        a.execution.workflowID = workflowID
        a.execution.runID = runID ?? ""
        a.signalName = name
        if let input { a.input = input }
        if let header = header(for: "SignalExternalWorkflow:\(name)", over: headers) { a.header = header }
        var c = Command()
        c.commandType = .signalExternalWorkflowExecution
        c.signalExternalWorkflowExecutionCommandAttributes = a
        let seq = outgoingSignals.add(SignalExternalStateMachine(workflowID: workflowID, signalName: name))
        commands.append(PendingCommand(key: .signal(seq), command: c))
        return seq
    }

    func cancelSignalExternal(_ seq: Int) {
        guard var machine = outgoingSignals[seq], machine.cancelBeforeSent() else { return }
        outgoingSignals[seq] = machine
        commands.removeAll { $0.key == .signal(seq) && !$0.onServer }
        outgoingSignals.resolve(seq, .failure(CancellationError()))
    }

    /// ExternalWorkflowExecutionSignaled and SignalExternalWorkflowExecutionFailed.
    func applyOutgoingSignal(_ event: HistoryEvent, initiatedEventID: Int64) throws {
        let unknown = { HistoryError("\(event.eventType) for unknown signal (initiated event \(initiatedEventID))") }
        let (seq, machine, resolution) = try outgoingSignals.update(recordedBy: initiatedEventID, unknown: unknown) {
            seq, machine in
            let resolution = try machine.handle(event)
            return (seq, machine, resolution)
        }
        switch resolution {
        case .signaled:
            outgoingSignals.resolve(seq, .success(()))
        case .failed(let cause):
            outgoingSignals.resolve(
                seq,
                .failure(
                    ApplicationError(
                        "signal '\(machine.signalName)' to workflow '\(machine.workflowID)' failed: \(cause)",
                        type: "SignalExternalWorkflowFailed")))
        }
    }
}
