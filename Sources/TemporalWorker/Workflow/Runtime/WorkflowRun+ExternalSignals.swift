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

extension WorkflowRun {
    // MARK: - Cancel requests to other workflows

    /// A cancel request to workflow `workflowID` (run `runID`, or its current run), which need
    /// not be a child of this one (`childWorkflowOnly` false).
    func cancelExternal(workflowID: String, runID: String?, reason: String) -> Int {
        var a = Temporal_Api_Command_V1_RequestCancelExternalWorkflowExecutionCommandAttributes()
        a.workflowID = workflowID
        a.runID = runID ?? ""
        a.reason = reason
        var c = Command()
        c.commandType = .requestCancelExternalWorkflowExecution
        c.requestCancelExternalWorkflowExecutionCommandAttributes = a
        let seq = outgoingCancels.add(CancelExternalStateMachine(workflowID: workflowID))
        commands.append(PendingCommand(key: .cancelExternal(seq), command: c))
        return seq
    }

    /// Whether this task starts a child with id `workflowID` (its start not recorded yet).
    func startsChildInThisTask(workflowID: String) -> Bool {
        commands.contains { pending in
            guard case .child(let seq) = pending.key, children[seq]?.state == .created else { return false }
            return pending.command.startChildWorkflowExecutionCommandAttributes.workflowID == workflowID
        }
    }

    func abandonCancelExternal(_ seq: Int) {
        guard var machine = outgoingCancels[seq], machine.cancelBeforeSent() else { return }
        outgoingCancels[seq] = machine
        commands.removeAll { $0.key == .cancelExternal(seq) && !$0.onServer }
        outgoingCancels.resolve(seq, .failure(CancellationError()))
    }

    /// ExternalWorkflowExecutionCancelRequested and RequestCancelExternalWorkflowExecutionFailed:
    /// of a cancel request to another workflow, or of one to a child.
    func applyCancelOutcome(_ event: HistoryEvent, initiatedEventID: Int64) throws {
        guard outgoingCancels.contains(recordedBy: initiatedEventID) else {
            return try applyChildCancel(event, initiatedEventID: initiatedEventID)
        }
        let unknown = { HistoryError("\(event.eventType) for unknown cancel request (initiated event \(initiatedEventID))") }
        let (seq, machine, resolution) = try outgoingCancels.update(recordedBy: initiatedEventID, unknown: unknown) {
            seq, machine in (seq, machine, try machine.handle(event))
        }
        switch resolution {
        case .requested:
            outgoingCancels.resolve(seq, .success(()))
        case .failed(let cause):
            outgoingCancels.resolve(
                seq,
                .failure(
                    ApplicationError(
                        "the cancel request to workflow '\(machine.workflowID)' failed: \(cause)", type: "CancelExternalWorkflowFailed")))
        }
    }
}
