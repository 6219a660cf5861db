import Logging
import Temporal
import TemporalProto

#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

extension WorkflowRun {
    // MARK: - Finishing

    /// Called by the root task when `run` returned or threw.
    func finish(with error: any Error) {
        switch error {
        case let request as ContinueAsNewError:
            finish(.continuedAsNew(request))
        case is CancellationError where cancelRequested:
            finish(.canceled)
        case let app as ApplicationError:
            finish(.failed(converter.failure(from: app)))
        case let activity as ActivityError:
            finish(.failed(activity.failure))
        case let child as ChildWorkflowError where cancelRequested && child.isCancellation:
            finish(.canceled)  // a child cancelled with the workflow (waitCancellationCompleted)
        case let child as ChildWorkflowError:
            finish(.failed(child.failure))
        case let start as ChildWorkflowStartError:
            finish(.failed(converter.sealingCommonAttributes(start.failure)))  // built here, from the child's start
        case let temporal as TemporalError where temporal.failure != nil:
            finish(.failed(converter.failure(from: temporal)))
        case is CancellationError:
            finish(.failed(converter.failure(from: error)))
        default:
            taskFailure = error
        }
    }

    /// Once the run's code has run as far as it can in the activation that finished it (handlers
    /// a cancel request ended finish in it too, after the root's code): warns, when not
    /// replaying, about signals no handler took and update handlers still running (as Go, after
    /// its dispatcher ran every coroutine; from `finish` it warned of handlers that completed
    /// in the same activation).
    func warnAboutWhatIsLeft() {
        guard let outcome, !endWarningsGiven, !isReplaying else { return }
        endWarningsGiven = true
        if !handlers.bufferedSignals.isEmpty {
            // Signals that came for a name no handler took (as Go warns): they end with the run
            // (a continue-as-new does not carry them), with nothing else saying so.
            var counts: [String: Int] = [:]
            for signal in handlers.bufferedSignals { counts[signal.signalName, default: 0] += 1 }
            logger.warning(
                "the workflow finished with signals no handler took; they are dropped. Register a handler (setSignalHandler, signalChannel) for each signal the workflow is sent",
                metadata: ["signals": "\(counts.sorted { $0.key < $1.key }.map { "\($0.key) ×\($0.value)" }.joined(separator: ", "))"])
        }
        // Values signal channels took that the code never read: dropped too (a continue-as-new
        // does not carry them), with nothing saying so. Not for a failed run.
        let unread = signalChannels.compactMap { name, channel in
            (channel as? any UnreadSignals).flatMap { $0.unread > 0 ? "\(name) ×\($0.unread)" : nil }
        }.sorted()
        if !unread.isEmpty, !Self.failed(outcome) {
            logger.warning(
                "the workflow finished with signal values its channels never read; they are dropped (a continue-as-new does not carry them). Read them (tryReceive) before returning or continuing as new",
                metadata: ["channels": "\(unread.joined(separator: ", "))"])
        }
        // Not for a failed run, as Go: its updates' callers learn of the failure.
        if !handlers.runningUpdates.isEmpty, !isReplaying, !Self.failed(outcome) {
            // Their callers get an error instead of the handlers' results (as the other SDKs
            // warn; nothing else says why).
            logger.warning(
                "the workflow finished while update handlers still ran; their callers get an error. Wait for them first: try await context.condition { context.allHandlersFinished }",
                metadata: ["updates": "\(runningUpdateNames.joined(separator: ", "))"])
        }
    }

    /// Whether `outcome` is a failure of the run (not a cancellation or a continue-as-new).
    static func failed(_ outcome: Outcome) -> Bool {
        if case .failed = outcome { return true }
        return false
    }

    func finish(_ outcome: Outcome) {
        guard self.outcome == nil else { return }
        self.outcome = outcome
        let hold = childCancelsUndelivered && sdkFlags.tryUse(.closeAfterChildCancelsDelivered)
        if !hold { cancelChildrenBeforeClose() }
        var c = Command()
        switch outcome {
        case .completed(let payloads):
            c.commandType = .completeWorkflowExecution
            var a = Temporal_Api_Command_V1_CompleteWorkflowExecutionCommandAttributes()
            a.result = payloads
            c.completeWorkflowExecutionCommandAttributes = a
        case .failed(let failure):
            c.commandType = .failWorkflowExecution
            var a = Temporal_Api_Command_V1_FailWorkflowExecutionCommandAttributes()
            a.failure = failure
            c.failWorkflowExecutionCommandAttributes = a
        case .canceled:
            c.commandType = .cancelWorkflowExecution
            c.cancelWorkflowExecutionCommandAttributes = Temporal_Api_Command_V1_CancelWorkflowExecutionCommandAttributes()
        case .continuedAsNew(let request):
            c.commandType = .continueAsNewWorkflowExecution
            var a = Temporal_Api_Command_V1_ContinueAsNewWorkflowExecutionCommandAttributes()
            a.workflowType.name = request.workflowType ?? info.workflowType
            a.taskQueue.name = request.taskQueue ?? info.taskQueue
            a.taskQueue.kind = .normal
            if let input = request.input { a.input = input }
            // Timeouts not given carry over from this run, as Go does.
            if let t = request.runTimeout ?? info.runTimeout { a.workflowRunTimeout = .init(duration: t) }
            if let t = request.taskTimeout ?? info.taskTimeout { a.workflowTaskTimeout = .init(duration: t) }
            // Memo, search attributes and retry policy not given carry over too, as in Go and
            // Core: the server gives the new run only what the command holds, so the chain
            // would otherwise lose its retries, its visibility (and a scheduled run its
            // `TemporalScheduledStartTime`).
            if let memo = request.memo ?? (info.memo.isEmpty ? nil : info.memo) { a.memo.fields = memo }
            if let attributes = request.searchAttributes ?? (info.searchAttributes.isEmpty ? nil : info.searchAttributes) {
                a.searchAttributes.indexedFields = attributes
            }
            if let policy = request.retryPolicy ?? info.retryPolicy { a.retryPolicy = policy.proto }
            if let behavior = request.initialVersioningBehavior { a.initialVersioningBehavior = behavior.proto }
            // The next run's RunWorkflow span continues this run's trace.
            if let header = header(for: "ContinueAsNew:\(a.workflowType.name)", over: request.headers) { a.header = header }
            c.continueAsNewWorkflowExecutionCommandAttributes = a
        }
        if hold {
            heldClose = PendingCommand(key: .close, command: c)
        } else {
            commands.append(PendingCommand(key: .close, command: c))
        }
    }

    /// Whether the run's close command has gone out (or goes with this answer): closed, and
    /// not held for children's undelivered cancel requests
    /// (`SDKFlag.closeAfterChildCancelsDelivered`). A held run stays cached and sticky.
    var closeSent: Bool { isClosed && heldClose == nil }

    /// Sends the held close once no child's cancel request is undelivered.
    func releaseHeldClose() {
        guard let close = heldClose, !childCancelsUndelivered else { return }
        heldClose = nil
        commands.append(close)
    }

    /// Moves the close command, when not sent yet, behind the commands other code of the same
    /// activation made after it (an update handler or a signal's coroutine that woke in the
    /// task where the workflow returned). The server refuses any command after the close
    /// ("invalid command sequence") without recording the task's failure, so the task timed out
    /// and failed the same way on every attempt: the workflow never closed. Go and Core also
    /// put the close last. No history has commands after a close, so replay is unchanged.
    func keepCloseLast() {
        guard let index = commands.lastIndex(where: { $0.key == .close }), !commands[index].sent,
            index != commands.index(before: commands.endIndex)
        else { return }
        commands.append(commands.remove(at: index))
    }
}
