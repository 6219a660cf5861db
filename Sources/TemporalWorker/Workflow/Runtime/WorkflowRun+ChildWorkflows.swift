import Temporal
import TemporalProto

#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

extension WorkflowRun {
    // MARK: - Child workflows (called by WorkflowContext and ChildWorkflowHandle)

    /// Creates the StartChildWorkflowExecution command and the child's state machine.
    /// - Parameter cancelledWithWorkflow: false for a child started inside `nonCancellable`,
    ///   which a cancel request of the workflow leaves alone.
    /// - Returns: the child's sequence number and workflow id.
    func startChild(
        type: String, input: Payloads?, options: ChildWorkflowOptions,
        headers: [String: Payload] = [:], cancelledWithWorkflow: Bool = true
    ) throws -> (seq: Int, workflowID: String) {
        if let problem = TimeoutChecks.negative(
            "child workflow '\(type)'",
            [("executionTimeout", options.executionTimeout), ("runTimeout", options.runTimeout), ("taskTimeout", options.taskTimeout)])
            ?? TimeoutChecks.retryPolicy("child workflow '\(type)'", options.retryPolicy)
        {
            throw WorkflowUsageError(problem)
        }
        let seq = children.reserve()  // used even if encoding the memo below fails
        var a = Temporal_Api_Command_V1_StartChildWorkflowExecutionCommandAttributes()
        // An empty id is none (as Go takes it): the server refuses a child without one.
        a.workflowID = options.workflowID.flatMap { $0.isEmpty ? nil : $0 } ?? defaultChildWorkflowID(seq)
        a.workflowType.name = type
        a.taskQueue.name = options.taskQueue ?? info.taskQueue
        a.taskQueue.kind = .normal
        if let input { a.input = input }
        if let t = options.executionTimeout { a.workflowExecutionTimeout = .init(duration: t) }
        if let t = options.runTimeout { a.workflowRunTimeout = .init(duration: t) }
        if let t = options.taskTimeout { a.workflowTaskTimeout = .init(duration: t) }
        if let p = options.retryPolicy { a.retryPolicy = p.proto }
        if let p = options.parentClosePolicy { a.parentClosePolicy = p }
        if let p = options.workflowIDReusePolicy { a.workflowIDReusePolicy = p }
        if let c = options.cronSchedule { a.cronSchedule = c }
        if let header = header(for: "StartChildWorkflow:\(type)", over: headers) { a.header = header }
        if !options.memo.isEmpty { a.memo.fields = try encodeMap(options.memo) }
        if !options.searchAttributes.isEmpty {
            a.searchAttributes.indexedFields = try SearchAttributeEncoding.encode(options.searchAttributes)
        }
        var c = Command()
        c.commandType = .startChildWorkflowExecution
        c.startChildWorkflowExecutionCommandAttributes = a
        children.register(
            seq,
            ChildWorkflowStateMachine(
                workflowID: a.workflowID, workflowType: type, namespace: info.namespace,
                cancellationType: options.cancellationType, abandonedAtClose: options.parentClosePolicy == .abandon,
                cancelledWithWorkflow: cancelledWithWorkflow))
        commands.append(PendingCommand(key: .child(seq), command: c))
        return (seq, a.workflowID)
    }

    /// `"<parent id>-child-<seq>-<8 hex>"`: the suffix is drawn from a generator seeded with the
    /// run's original run id (the new run id after a reset) and `seq` (not from the workflow's own `random()` stream, which
    /// stays untouched), so the id is the same on replay and differs between continue-as-new
    /// runs of the parent.
    /// A parent id too long for the server's default limit on ids (`limit.maxIDLength`, 1,000
    /// bytes) is cut, by whole Unicode scalars (whose UTF-8 lengths never change), so that the
    /// child's id fits (`SDKFlag.defaultChildIDsFit`): the tail keeps it unique.
    private func defaultChildWorkflowID(_ seq: Int) -> String {
        var generator = DeterministicRandom(seed: "\(seedSource)/child/\(seq)")
        let suffix = String(UInt32(truncatingIfNeeded: generator.next()), radix: 16)
        let tail = "-child-\(seq)-\(String(repeating: "0", count: 8 - suffix.count))\(suffix)"
        let parent = info.workflowID
        let room = Self.defaultMaximumIDBytes - tail.utf8.count
        guard parent.utf8.count > room, sdkFlags.tryUse(.defaultChildIDsFit) else { return parent + tail }
        var scalars = String.UnicodeScalarView()
        var bytes = 0
        for scalar in parent.unicodeScalars {
            bytes += UTF8.width(scalar)
            guard bytes <= room else { break }
            scalars.append(scalar)
        }
        return String(scalars) + tail
    }

    /// The longest id a server takes unless its operator raised `limit.maxIDLength`.
    static let defaultMaximumIDBytes = 1_000

    /// Encodes memo-like values with the workflow's payload converter.
    func encodeMap(_ values: [String: any Encodable & Sendable]) throws -> [String: Payload] {
        var out: [String: Payload] = [:]
        for (key, value) in values { out[key] = try encodeOne(value) }
        return out
    }

    private func encodeOne<T: Encodable>(_ value: T) throws -> Payload {
        try converter.toPayload(value)
    }

    /// Resumes `continuation` with the child's first run id once it started (or its start error).
    func awaitChildStart(_ seq: Int, _ continuation: CheckedContinuation<String, any Error>) {
        childStarts.await(seq, continuation)
    }

    /// Cancellation of child `seq` by workflow code, per its `ChildWorkflowCancellationType`.
    func cancelChild(_ seq: Int) {
        guard var machine = children[seq], !machine.isResolved, !children.isResolved(seq),
            mayChange("ChildWorkflowHandle.cancel()")
        else { return }
        if machine.state == .created {
            commands.removeAll { $0.key == .child(seq) && !$0.onServer }
            try? machine.abandonBeforeSent()
            children[seq] = machine
            childStarts.resolve(seq, .failure(CancellationError()))
            children.resolve(seq, .failure(CancellationError()))
            return
        }
        let type = machine.cancellationType
        if type != .abandon, machine.requestCancel() {
            appendCancelCommand(seq, machine)
        }
        children[seq] = machine
        if type != .waitCancellationCompleted, type != .waitCancellationRequested {
            childStarts.resolve(seq, .failure(CancellationError()))
            children.resolve(seq, .failure(CancellationError()))
        }
    }

    /// A cancel request of the workflow cancels, per their cancellation type, the children that
    /// no cancelled code awaits (`SDKFlag.cancelChildrenWithWorkflow`): a child the workflow
    /// started and holds, or forgot, while it waits on something else. Not those started inside
    /// `nonCancellable`, nor those whose cancellation type is `.abandon` (cancelling them would
    /// only fail their handles).
    func cancelChildrenWithWorkflow() {
        // Not once the code returned (its close held for a child's cancel request, flag 7): the
        // children it left running are left running.
        guard outcome == nil else { return }
        for seq in children.sequenceNumbers {
            guard let machine = children[seq], machine.cancelledWithWorkflow, machine.cancellationType != .abandon,
                !machine.isResolved, !children.isResolved(seq), !machine.askedToCancel
            else { continue }
            guard sdkFlags.tryUse(.cancelChildrenWithWorkflow) else { return }
            cancelChild(seq)
        }
    }

    /// Whether a child the workflow asked to cancel, still open and abandoned at the parent's
    /// close, has not had the request delivered yet (not sent, not recorded as delivered or
    /// failed, or due once it starts). A child the close terminates or asks to cancel (its
    /// close policy) is not waited for: the close ends it either way.
    var childCancelsUndelivered: Bool {
        children.sequenceNumbers.contains { seq in
            guard let machine = children[seq], machine.abandonedAtClose, !machine.isResolved else { return false }
            return machine.cancelState == .commandCreated || machine.cancelState == .initiated
                || (machine.cancelAfterStart && machine.state == .initiated)
        }
    }

    /// Sends, before the close, the cancels of children cancelled before their start was
    /// recorded (`SDKFlag.cancelChildrenBeforeClose`): the start event would come in a task the
    /// closed parent never gets.
    func cancelChildrenBeforeClose() {
        for seq in children.sequenceNumbers {
            guard var machine = children[seq], machine.cancelDueBeforeStart else { continue }
            guard sdkFlags.tryUse(.cancelChildrenBeforeClose) else { return }
            _ = machine.takeCancelBeforeStart()
            children[seq] = machine
            appendCancelCommand(seq, machine)
        }
    }

    /// The run id stays empty: the request targets the child's current run (it may have been
    /// retried or continued as new since it started); `childWorkflowOnly` keeps it to our child.
    func appendCancelCommand(_ seq: Int, _ machine: ChildWorkflowStateMachine) {
        var a = Temporal_Api_Command_V1_RequestCancelExternalWorkflowExecutionCommandAttributes()
        a.workflowID = machine.workflowID
        a.childWorkflowOnly = true
        var c = Command()
        c.commandType = .requestCancelExternalWorkflowExecution
        c.requestCancelExternalWorkflowExecutionCommandAttributes = a
        commands.append(PendingCommand(key: .cancelChild(seq), command: c))
    }

    // MARK: - Child events (called while applying history)

    /// StartChildWorkflowExecutionFailed and ChildWorkflowExecution* events.
    func applyChild(_ event: HistoryEvent, initiatedEventID: Int64) throws {
        let unknown = { HistoryError("\(event.eventType) for unknown child workflow (initiated event \(initiatedEventID))") }
        let (seq, machine, resolution, cancelDue) = try children.update(recordedBy: initiatedEventID, unknown: unknown) {
            seq, machine in
            let resolution = try machine.handle(event)
            let cancelDue = if case .started = resolution { machine.takeDeferredCancel() } else { false }
            return (seq, machine, resolution, cancelDue)
        }
        if cancelDue { appendCancelCommand(seq, machine) }
        if resolution.closesChild, commands.contains(where: { $0.key == .cancelChild(seq) && !$0.onServer }),
            sdkFlags.tryUse(.noCancelOfAClosedChild)
        {
            // Its start and its close came in one task: a cancel request not sent yet is
            // dropped, as an activity's is (the child has nothing left to cancel).
            commands.removeAll { $0.key == .cancelChild(seq) && !$0.onServer }
        }
        switch resolution {
        case .started(let runID):
            childStarts.resolve(seq, .success(runID))
        case .startFailed(let cause):
            let error = ChildWorkflowStartError(workflowID: machine.workflowID, workflowType: machine.workflowType, cause: cause)
            childStarts.resolve(seq, .failure(error))
            children.resolve(seq, .failure(error))
        case .completed(let payloads):
            children.resolve(seq, .success(payloads))
        case .failed(let failure):
            children.resolve(seq, .failure(ChildWorkflowError(failure: failure, converter: converter)))
        }
    }

    /// ExternalWorkflowExecutionCancelRequested and RequestCancelExternalWorkflowExecutionFailed.
    func applyChildCancel(_ event: HistoryEvent, initiatedEventID: Int64) throws {
        let unknown = { HistoryError("\(event.eventType) for unknown cancel request (initiated event \(initiatedEventID))") }
        let (seq, machine) = try children.update(recordedBy: initiatedEventID, unknown: unknown) { seq, machine in
            try machine.cancelOutcome(event)
            return (seq, machine)
        }
        // Delivered: code that waits only for that (`waitCancellationRequested`) sees the
        // cancellation now. A request that failed leaves it to the child's close.
        if machine.cancellationType == .waitCancellationRequested, machine.cancelState == .delivered {
            childStarts.resolve(seq, .failure(CancellationError()))
            children.resolve(seq, .failure(CancellationError()))
        }
    }
}
