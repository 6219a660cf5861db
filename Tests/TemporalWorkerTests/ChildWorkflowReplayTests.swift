import Foundation
import Logging
import Synchronization
import Temporal
import TemporalProto
import Testing

@testable import TemporalWorker

/// Starts a never-ending child in a task group, cancels the group before the child started,
/// then sleeps: the deferred cancel request goes out once the child starts.
final class CancelChildBeforeStart: Workflow {
    init() {}
    func run(context: WorkflowContext, input: NoValue) async throws -> String {
        let outcome = try await Self.cancelChildAfterASecond(context)
        try await context.sleep(for: .seconds(1))
        return outcome
    }

    /// Starts a never-ending child in a task group and cancels the group a second later:
    /// "cancelled", or "done" if the child ended first.
    static func cancelChildAfterASecond(_ context: WorkflowContext, options: ChildWorkflowOptions = .init()) async throws -> String {
        try await withThrowingTaskGroup(of: String.self) { group in
            group.addTask {
                do {
                    _ = try await context.executeChildWorkflow(SleepLong.self, input: NoValue(), options: options)
                    return "done"
                } catch is CancellationError {
                    return "cancelled"
                }
            }
            try await context.sleep(for: .seconds(1))
            group.cancelAll()
            return try await group.next() ?? "none"
        }
    }
}

/// As `CancelChildBeforeStart`, but returns as soon as the group is done.
final class CancelChildBeforeStartThenReturn: Workflow {
    init() {}
    func run(context: WorkflowContext, input: NoValue) async throws -> String {
        try await CancelChildBeforeStart.cancelChildAfterASecond(context)
    }
}

/// As `CancelChildBeforeStartThenReturn`, with a child abandoned at the parent's close.
final class CancelAbandonedChildBeforeStartThenReturn: Workflow {
    init() {}
    func run(context: WorkflowContext, input: NoValue) async throws -> String {
        try await CancelChildBeforeStart.cancelChildAfterASecond(context, options: .init(parentClosePolicy: .abandon))
    }
}

/// Pure replays of hand-built histories with child workflows: no server.
@Suite("Child workflow replay")
struct ChildWorkflowReplayTests {
    /// The id the runtime gives the `n`th child of a run of `W` (workflow id "wf", run "run-1").
    static func childID<W: Workflow>(_ type: W.Type, input: Payloads, index: Int = 0) throws -> String {
        var b = HistoryBuilder()
        b.started(W.name, input: input)
        let live = b.workflowTaskStarted()
        let commands = try makeRun(W.self).process(events: b.events, liveStartedEventID: live)
        return commands.filter { $0.commandType == .startChildWorkflowExecution }[index]
            .startChildWorkflowExecutionCommandAttributes.workflowID
    }

    /// The full history of a ParentOfFailure run whose child failed with "ChildBoom".
    static func failureHistory() throws -> [HistoryEvent] {
        let id = try childID(ParentOfFailure.self, input: payloads("x"))
        var b = HistoryBuilder()
        b.started("ParentOfFailure", input: payloads("x"))
        b.workflowTask()
        let initiated = b.childInitiated(id: id, type: "FailingChild")
        let started = b.childStarted(initiated, id: id, type: "FailingChild", runID: "child-run")
        b.workflowTask()
        b.childFailed(initiated, started: started, id: id, message: "child says x", type: "ChildBoom")
        b.workflowTask()
        b.completed(payloads("ChildBoom|child says x|\(id)|run|FailingChild"))
        return b.events
    }

    @Test func firstTaskStartsTheChildWithADeterministicID() throws {
        var b = HistoryBuilder()
        b.started("ParentOfFailure", input: payloads("x"))
        let live = b.workflowTaskStarted()
        let commands = try makeRun(ParentOfFailure.self).process(events: b.events, liveStartedEventID: live)
        #expect(commands.map(\.commandType) == [.startChildWorkflowExecution])
        let a = commands[0].startChildWorkflowExecutionCommandAttributes
        #expect(a.workflowType.name == "FailingChild")
        #expect(a.taskQueue.name == "tq")
        #expect(a.workflowID.hasPrefix("wf-child-1-"))
        #expect(a.workflowID.count == "wf-child-1-".count + 8)
        #expect(try DataConverter.default.fromPayloads(a.input, as: String.self) == "x")
        // Same run, same id; another run (e.g. after continue-as-new) gets another one.
        #expect(try Self.childID(ParentOfFailure.self, input: payloads("x")) == a.workflowID)
        var other = HistoryBuilder()
        other.started("ParentOfFailure", input: payloads("x"))
        other.events[0].workflowExecutionStartedEventAttributes.originalExecutionRunID = "run-2"
        let otherCommands = try makeRun(ParentOfFailure.self).process(
            events: other.events + [b.events[1], b.events[2]],
            liveStartedEventID: live)
        #expect(otherCommands[0].startChildWorkflowExecutionCommandAttributes.workflowID != a.workflowID)
    }

    /// A parent id too long for a default child id within 1,000 bytes: the live task cuts the
    /// parent part by whole scalars and records flag 10; a history without the flag (a server
    /// whose operator raised the limit took the longer id) replays with the id uncut.
    @Test func aLongParentIDIsCutOnlyWhereHistoryAllows() throws {
        let parent = String(repeating: "é", count: 600)  // 1,200 bytes
        var b = HistoryBuilder()
        b.started("ParentOfFailure", input: payloads("x"))
        let live = b.workflowTaskStarted()
        let run = makeRun(ParentOfFailure.self, workflowID: parent)
        let commands = try run.process(events: b.events, liveStartedEventID: live)
        let cut = commands[0].startChildWorkflowExecutionCommandAttributes.workflowID
        #expect(cut.utf8.count <= 1_000 && cut.utf8.count >= 999, "\(cut.utf8.count) bytes")
        #expect(cut.hasPrefix("éé") && cut.contains("-child-1-"), "\(cut.suffix(20))")
        #expect(run.sdkFlags.toRecord.contains(SDKFlag.defaultChildIDsFit.rawValue))

        let short = try Self.childID(ParentOfFailure.self, input: payloads("x"))
        let uncut = parent + short.dropFirst("wf".count)
        for (flags, id) in [([UInt32](), uncut), ([SDKFlag.defaultChildIDsFit.rawValue], cut)] {
            var h = HistoryBuilder()
            h.started("ParentOfFailure", input: payloads("x"))
            h.workflowTaskStarted()
            h.workflowTaskCompleted(flags: flags)
            h.childInitiated(id: id, type: "FailingChild")
            #expect(throws: Never.self) {
                try WorkflowReplayer(workflows: [ParentOfFailure.self]).replay(events: h.events, workflowID: parent)
            }
        }
        // A parent id that leaves room is never cut, and no flag is recorded.
        let room = makeRun(ParentOfFailure.self, workflowID: String(repeating: "é", count: 490))
        let fits = try room.process(events: b.events, liveStartedEventID: live)
        #expect(fits[0].startChildWorkflowExecutionCommandAttributes.workflowID.hasPrefix(String(repeating: "é", count: 490) + "-child-1-"))
        #expect(!room.sdkFlags.toRecord.contains(SDKFlag.defaultChildIDsFit.rawValue))
    }

    @Test func childFailureReachesTheParentAndReplays() throws {
        let history = try Self.failureHistory()
        // Live, task by task, up to the last task.
        let run = makeRun(ParentOfFailure.self)
        _ = try run.process(events: Array(history[0..<3]), liveStartedEventID: 3)
        _ = try run.process(events: Array(history[3..<8]), liveStartedEventID: 8)
        let last = try run.process(events: Array(history[8..<12]), liveStartedEventID: 12)
        #expect(last.map(\.commandType) == [.completeWorkflowExecution])
        let result = try DataConverter.default.fromPayloads(last[0].completeWorkflowExecutionCommandAttributes.result, as: String.self)
        #expect(result.hasPrefix("ChildBoom|child says x|wf-child-1-"))
        #expect(result.hasSuffix("|run|FailingChild"))
        // And the whole history replays.
        #expect(try WorkflowReplayer(workflows: [ParentOfFailure.self]).replay(events: history, workflowID: "wf").closed)
    }

    @Test func escapingChildErrorFailsTheParent() throws {
        var b = HistoryBuilder()
        b.started("ParentLetsFailureEscape", input: payloads("y"))
        b.workflowTask()
        let initiated = b.childInitiated(id: "escape-y", type: "FailingChild")
        let started = b.childStarted(initiated, id: "escape-y", type: "FailingChild")
        b.childFailed(initiated, started: started, id: "escape-y", message: "child says y", type: "ChildBoom")
        let live = b.workflowTaskStarted()
        let commands = try makeRun(ParentLetsFailureEscape.self).process(events: b.events, liveStartedEventID: live)
        #expect(commands.map(\.commandType) == [.failWorkflowExecution])
        let failure = commands[0].failWorkflowExecutionCommandAttributes.failure
        #expect(failure.childWorkflowExecutionFailureInfo.workflowExecution.workflowID == "escape-y")
        #expect(failure.cause.applicationFailureInfo.type == "ChildBoom")
    }

    @Test func changedChildTypeIsNondeterministic() throws {
        let id = try Self.childID(BoundedParent.self, input: payloads([1, 2, 3]))
        var b = HistoryBuilder()
        b.started("BoundedParent", input: payloads([1, 2, 3]))
        b.workflowTask()
        b.childInitiated(id: id, type: "Doubler")
        let replayer = WorkflowReplayer(workflows: [BoundedParentChanged.self])
        let error = #expect(throws: NondeterminismError.self) { try replayer.replay(events: b.events, workflowID: "wf") }
        #expect(error?.historyEvent?.contains("StartChildWorkflowExecutionInitiated") == true)
        #expect(error?.historyEvent?.contains("Doubler") == true)
        #expect(error?.command?.contains("StartChildWorkflowExecution") == true)
        #expect(error?.command?.contains("Tripler") == true)
    }

    @Test func changedChildIDIsNondeterministic() throws {
        var b = HistoryBuilder()
        b.started("ParentLetsFailureEscape", input: payloads("y"))
        b.workflowTask()
        b.childInitiated(id: "escape-other", type: "FailingChild")
        let error = #expect(throws: NondeterminismError.self) {
            try WorkflowReplayer(workflows: [ParentLetsFailureEscape.self]).replay(events: b.events, workflowID: "wf")
        }
        #expect(error?.historyEvent?.contains("escape-other") == true)
        #expect(error?.command?.contains("escape-y") == true)
    }

    @Test func boundedParallelismStartsTheThirdChildAfterOneCompleted() throws {
        var b = HistoryBuilder()
        b.started("BoundedParent", input: payloads([1, 2, 3]))
        let first = b.workflowTaskStarted()
        let run = makeRun(BoundedParent.self)
        let commands = try run.process(events: b.events, liveStartedEventID: first)
        #expect(commands.map(\.commandType) == [.startChildWorkflowExecution, .startChildWorkflowExecution])
        let ids = commands.map(\.startChildWorkflowExecutionCommandAttributes.workflowID)
        #expect(Set(ids).count == 2)
        b.workflowTaskCompleted()
        let i1 = b.childInitiated(id: ids[0], type: "Doubler")
        let i2 = b.childInitiated(id: ids[1], type: "Doubler")
        let s1 = b.childStarted(i1, id: ids[0], type: "Doubler")
        let s2 = b.childStarted(i2, id: ids[1], type: "Doubler")
        b.childCompleted(i2, started: s2, id: ids[1], result: payloads(4))
        let second = b.workflowTaskStarted()
        let next = try run.process(events: Array(b.events[Int(first)...]), liveStartedEventID: second)
        #expect(next.map(\.commandType) == [.startChildWorkflowExecution])
        let thirdID = next[0].startChildWorkflowExecutionCommandAttributes.workflowID
        #expect(!ids.contains(thirdID))
        b.workflowTaskCompleted()
        let i3 = b.childInitiated(id: thirdID, type: "Doubler")
        b.childCompleted(i1, started: s1, id: ids[0], result: payloads(2))
        let s3 = b.childStarted(i3, id: thirdID, type: "Doubler")
        b.childCompleted(i3, started: s3, id: thirdID, result: payloads(6))
        let third = b.workflowTaskStarted()
        let last = try run.process(events: Array(b.events[Int(second)...]), liveStartedEventID: third)
        #expect(last.map(\.commandType) == [.completeWorkflowExecution])
        #expect(
            try DataConverter.default.fromPayloads(last[0].completeWorkflowExecutionCommandAttributes.result, as: [Int].self) == [2, 4, 6])
        b.workflowTaskCompleted()
        b.completed(payloads([2, 4, 6]))
        #expect(try WorkflowReplayer(workflows: [BoundedParent.self]).replay(events: b.events, workflowID: "wf").closed)
    }

    @Test func startFailureNamesTheWorkflowID() throws {
        var b = HistoryBuilder()
        b.started("ParentWithFixedChildID", input: payloads("taken-id"))
        b.workflowTask()
        let initiated = b.childInitiated(id: "taken-id", type: "SleepLong")
        b.childStartFailed(initiated, id: "taken-id", type: "SleepLong")
        let live = b.workflowTaskStarted()
        let commands = try makeRun(ParentWithFixedChildID.self).process(events: b.events, liveStartedEventID: live)
        #expect(commands.map(\.commandType) == [.completeWorkflowExecution])
        let result = try DataConverter.default.fromPayloads(commands[0].completeWorkflowExecutionCommandAttributes.result, as: String.self)
        #expect(result.hasPrefix("workflowAlreadyExists|"))
        #expect(result.contains("'taken-id'"))
        #expect(result.contains("already running"))
    }

    @Test func handleCancelSendsRequestCancelAndReplays() throws {
        var b = HistoryBuilder()
        b.started("HandleParent", input: payloads(5))
        let t1 = b.workflowTaskStarted()
        let run = makeRun(HandleParent.self)
        let c1 = try run.process(events: b.events, liveStartedEventID: t1)
        let doublerID = c1[0].startChildWorkflowExecutionCommandAttributes.workflowID
        b.workflowTaskCompleted()
        let i1 = b.childInitiated(id: doublerID, type: "Doubler")
        let s1 = b.childStarted(i1, id: doublerID, type: "Doubler", runID: "doubler-run")
        b.childCompleted(i1, started: s1, id: doublerID, result: payloads(10))
        let t2 = b.workflowTaskStarted()
        let c2 = try run.process(events: Array(b.events[Int(t1)...]), liveStartedEventID: t2)
        #expect(c2.map(\.commandType) == [.startChildWorkflowExecution])
        let longID = c2[0].startChildWorkflowExecutionCommandAttributes.workflowID
        b.workflowTaskCompleted()
        let i2 = b.childInitiated(id: longID, type: "SleepLong")
        b.childStarted(i2, id: longID, type: "SleepLong", runID: "long-run")
        let t3 = b.workflowTaskStarted()
        let c3 = try run.process(events: Array(b.events[Int(t2)...]), liveStartedEventID: t3)
        #expect(c3.map(\.commandType) == [.requestCancelExternalWorkflowExecution, .completeWorkflowExecution])
        let cancel = c3[0].requestCancelExternalWorkflowExecutionCommandAttributes
        #expect(cancel.workflowID == longID)
        #expect(cancel.runID.isEmpty)  // the child's current run, whichever it is by now
        #expect(cancel.childWorkflowOnly)
        let result = try DataConverter.default.fromPayloads(c3[1].completeWorkflowExecutionCommandAttributes.result, as: String.self)
        #expect(result == "10|distinct|run")
        b.workflowTaskCompleted()
        b.cancelExternalInitiated(id: longID)
        b.completed(payloads(result))
        #expect(try WorkflowReplayer(workflows: [HandleParent.self]).replay(events: b.events, workflowID: "wf").closed)
    }

    @Test func cancellingTheParentCancelsTheChild() throws {
        var b = HistoryBuilder()
        b.started("ParentOfLongChild")
        let t1 = b.workflowTaskStarted()
        let run = makeRun(ParentOfLongChild.self)
        let c1 = try run.process(events: b.events, liveStartedEventID: t1)
        let id = c1[0].startChildWorkflowExecutionCommandAttributes.workflowID
        b.workflowTaskCompleted()
        let initiated = b.childInitiated(id: id, type: "SleepLong")
        let started = b.childStarted(initiated, id: id, type: "SleepLong")
        b.cancelRequested()
        let t2 = b.workflowTaskStarted()
        let c2 = try run.process(events: Array(b.events[Int(t1)...]), liveStartedEventID: t2)
        // waitCancellationCompleted: request the child's cancellation, then wait for it.
        #expect(c2.map(\.commandType) == [.requestCancelExternalWorkflowExecution])
        #expect(c2[0].requestCancelExternalWorkflowExecutionCommandAttributes.workflowID == id)
        b.workflowTaskCompleted()
        let cancel = b.cancelExternalInitiated(id: id)
        b.externalCancelRequested(cancel, id: id)
        b.childCanceled(initiated, started: started, id: id)
        let t3 = b.workflowTaskStarted()
        let c3 = try run.process(events: Array(b.events[Int(t2)...]), liveStartedEventID: t3)
        #expect(c3.map(\.commandType) == [.cancelWorkflowExecution])  // cancelled, not failed
        b.workflowTaskCompleted()
        b.canceled()
        #expect(try WorkflowReplayer(workflows: [ParentOfLongChild.self]).replay(events: b.events, workflowID: "wf").closed)
    }

    /// A parent that closes while a child it cancelled has not started yet sends the child's
    /// cancel before its close: no later task would (the start event comes to a closed run).
    /// Before, the child ran on when the parent abandoned it (a close policy of abandon), and
    /// was terminated without its cleanup otherwise. A history recorded before the change (no
    /// flag 4) replays with the close alone.
    @Test func aParentClosingBeforeItsCancelledChildStartedSendsTheCancelFirst() throws {
        var b = HistoryBuilder()
        b.started("CancelChildBeforeStartThenReturn")
        let t1 = b.workflowTaskStarted()
        let run = makeRun(CancelChildBeforeStartThenReturn.self)
        let c1 = try run.process(events: b.events, liveStartedEventID: t1)
        #expect(c1.map(\.commandType) == [.startTimer, .startChildWorkflowExecution])
        let id = c1[1].startChildWorkflowExecutionCommandAttributes.workflowID
        b.workflowTaskCompleted()
        let timer = b.timerStarted("1")
        _ = b.childInitiated(id: id, type: "SleepLong")
        b.timerFired("1", started: timer)
        let t2 = b.workflowTaskStarted()
        let c2 = try run.process(events: Array(b.events[Int(t1)...]), liveStartedEventID: t2)
        #expect(c2.map(\.commandType) == [.requestCancelExternalWorkflowExecution, .completeWorkflowExecution])
        #expect(c2.first?.requestCancelExternalWorkflowExecutionCommandAttributes.workflowID == id)
        #expect(run.sdkFlags.toRecord.contains(SDKFlag.cancelChildrenBeforeClose.rawValue))
        // The history it makes replays; one made without the flag replays with the close alone.
        var withFlag = b
        withFlag.workflowTaskCompleted(flags: [SDKFlag.cancelChildrenBeforeClose.rawValue])
        _ = withFlag.cancelExternalInitiated(id: id)
        withFlag.completed(payloads("cancelled"))
        #expect(
            try WorkflowReplayer(workflows: [CancelChildBeforeStartThenReturn.self]).replay(events: withFlag.events, workflowID: "wf")
                .closed)
        b.workflowTaskCompleted()
        b.completed(payloads("cancelled"))
        #expect(try WorkflowReplayer(workflows: [CancelChildBeforeStartThenReturn.self]).replay(events: b.events, workflowID: "wf").closed)
    }

    /// A signal that comes after the workflow returned, while its close waits for a child's
    /// cancel request to be delivered (flag 7), is warned about: its code never sees it, and
    /// the end-of-run warnings were given already, so nothing said it was lost.
    @Test func aSignalWhileTheCloseWaitsForAChildsCancelIsWarnedAbout() throws {
        let box = LogBox()
        let run = makeRun(CancelsAbandonedChildAndReturns.self, logger: Logger(label: "w") { _ in CapturingLogHandler(box: box) })
        var b = HistoryBuilder()
        b.started("CancelsAbandonedChildAndReturns")
        let t1 = b.workflowTaskStarted()
        let c1 = try run.process(events: b.events, liveStartedEventID: t1)
        let id = c1[0].startChildWorkflowExecutionCommandAttributes.workflowID
        b.workflowTaskCompleted()
        let initiated = b.childInitiated(id: id, type: "SleepLong")
        _ = b.childStarted(initiated, id: id, type: "SleepLong")
        let t2 = b.workflowTaskStarted()
        let c2 = try run.process(events: Array(b.events[Int(t1)...]), liveStartedEventID: t2)
        #expect(c2.map(\.commandType) == [.requestCancelExternalWorkflowExecution], "the close is held")
        b.workflowTaskCompleted(flags: run.sdkFlags.toRecord)
        let cancel = b.cancelExternalInitiated(id: id)
        b.signaled("note", payloads("late"))
        b.externalCancelRequested(cancel, id: id)
        let t3 = b.workflowTaskStarted()
        let c3 = try run.process(events: Array(b.events[Int(t2)...]), liveStartedEventID: t3)
        #expect(c3.map(\.commandType) == [.completeWorkflowExecution])
        let warned = box.lines.withLock { $0 }.filter { $0.contains("a signal came after the workflow returned") }
        #expect(warned.count == 1, "\(box.lines.withLock { $0 })")
    }

    /// A cancel request that comes after the workflow returned, while its close waits for a
    /// child's cancel request to be delivered (flag 7), does not cancel the children it left
    /// running: flag 8 asked every open child to cancel, and the run still completed.
    @Test func aCancelRequestAfterTheWorkflowReturnedCancelsNoChild() throws {
        var b = HistoryBuilder()
        b.started("CancelsOneAbandonedChildOfTwo")
        let t1 = b.workflowTaskStarted()
        let run = makeRun(CancelsOneAbandonedChildOfTwo.self)
        _ = try run.process(events: b.events, liveStartedEventID: t1)
        b.workflowTaskCompleted()
        let kept = b.childInitiated(id: "kept", type: "SleepLong")
        _ = b.childStarted(kept, id: "kept", type: "SleepLong")
        let t2 = b.workflowTaskStarted()
        _ = try run.process(events: Array(b.events[Int(t1)...]), liveStartedEventID: t2)
        b.workflowTaskCompleted()
        let cancelled = b.childInitiated(id: "cancelled", type: "SleepLong")
        _ = b.childStarted(cancelled, id: "cancelled", type: "SleepLong")
        let t3 = b.workflowTaskStarted()
        let c3 = try run.process(events: Array(b.events[Int(t2)...]), liveStartedEventID: t3)
        #expect(c3.map(\.commandType) == [.requestCancelExternalWorkflowExecution], "the close is held")
        b.workflowTaskCompleted(flags: run.sdkFlags.toRecord)
        let cancel = b.cancelExternalInitiated(id: "cancelled")
        b.cancelRequested()
        b.externalCancelRequested(cancel, id: "cancelled")
        let t4 = b.workflowTaskStarted()
        let c4 = try run.process(events: Array(b.events[Int(t3)...]), liveStartedEventID: t4)
        #expect(c4.map(\.commandType) == [.completeWorkflowExecution], "\(c4.map(\.commandType))")
    }

    /// A workflow's cancel request cancels the child it holds but does not await, and not the
    /// one it started inside `nonCancellable` (flag 8); the close waits for the request's
    /// delivery (flag 7: the child is abandoned at the close). A history recorded before flag 8
    /// (the close alone) replays as recorded.
    @Test func aWorkflowsCancelCancelsTheChildrenNobodyAwaits() throws {
        var b = HistoryBuilder()
        b.started("KeepsChildrenAndSleeps", input: payloads(["held", "shielded"]))
        let t1 = b.workflowTaskStarted()
        let run = makeRun(KeepsChildrenAndSleeps.self)
        let c1 = try run.process(events: b.events, liveStartedEventID: t1)
        #expect(c1.map(\.commandType) == [.startChildWorkflowExecution])
        b.workflowTaskCompleted()
        let held = b.childInitiated(id: "held", type: "SleepLong")
        _ = b.childStarted(held, id: "held", type: "SleepLong")
        let t2 = b.workflowTaskStarted()
        let c2 = try run.process(events: Array(b.events[Int(t1)...]), liveStartedEventID: t2)
        #expect(c2.map(\.commandType) == [.startChildWorkflowExecution])
        b.workflowTaskCompleted()
        let shielded = b.childInitiated(id: "shielded", type: "SleepLong")
        _ = b.childStarted(shielded, id: "shielded", type: "SleepLong")
        let t3 = b.workflowTaskStarted()
        let c3 = try run.process(events: Array(b.events[Int(t2)...]), liveStartedEventID: t3)
        #expect(c3.map(\.commandType) == [.startTimer])
        b.workflowTaskCompleted()
        let timer = b.timerStarted("1", seconds: 600)
        b.cancelRequested()
        let t4 = b.workflowTaskStarted()
        let beforeCancel = b
        let c4 = try run.process(events: Array(b.events[Int(t3)...]), liveStartedEventID: t4)
        #expect(c4.map(\.commandType) == [.cancelTimer, .requestCancelExternalWorkflowExecution], "\(c4.map(\.commandType))")
        #expect(c4.last?.requestCancelExternalWorkflowExecutionCommandAttributes.workflowID == "held")
        #expect(run.sdkFlags.toRecord.contains(SDKFlag.cancelChildrenWithWorkflow.rawValue))
        b.workflowTaskCompleted(flags: run.sdkFlags.toRecord)
        b.timerCanceled("1", started: timer)
        let cancel = b.cancelExternalInitiated(id: "held")
        b.externalCancelRequested(cancel, id: "held")
        let t5 = b.workflowTaskStarted()
        let c5 = try run.process(events: Array(b.events[Int(t4)...]), liveStartedEventID: t5)
        #expect(c5.map(\.commandType) == [.cancelWorkflowExecution])
        b.workflowTaskCompleted()
        b.canceled()
        #expect(try WorkflowReplayer(workflows: [KeepsChildrenAndSleeps.self]).replay(events: b.events, workflowID: "wf").closed)
        // Recorded before the flag: the timer's cancel and the close, no request.
        var before = beforeCancel
        before.workflowTaskCompleted()
        before.timerCanceled("1", started: timer)
        before.canceled()
        #expect(try WorkflowReplayer(workflows: [KeepsChildrenAndSleeps.self]).replay(events: before.events, workflowID: "wf").closed)
    }

    /// A parent that closes while a child it cancelled and abandons at its close has not
    /// started yet waits for the child's start, sends the cancel then, and closes once it is delivered: the server drops
    /// a cancel request whose sender has closed by the time it is processed (flag 7). A history
    /// of flag 4 (the cancel sent with the close, which the server dropped) replays so, and one
    /// recorded before either with the close alone.
    @Test func aParentClosingBeforeItsCancelledAbandonedChildStartedClosesOnceTheCancelIsDelivered() throws {
        var b = HistoryBuilder()
        b.started("CancelAbandonedChildBeforeStartThenReturn")
        let t1 = b.workflowTaskStarted()
        let run = makeRun(CancelAbandonedChildBeforeStartThenReturn.self)
        let c1 = try run.process(events: b.events, liveStartedEventID: t1)
        #expect(c1.map(\.commandType) == [.startTimer, .startChildWorkflowExecution])
        let id = c1[1].startChildWorkflowExecutionCommandAttributes.workflowID
        b.workflowTaskCompleted()
        let timer = b.timerStarted("1")
        let initiated = b.childInitiated(id: id, type: "SleepLong")
        b.timerFired("1", started: timer)
        let t2 = b.workflowTaskStarted()
        let beforeClose = b
        let c2 = try run.process(events: Array(b.events[Int(t1)...]), liveStartedEventID: t2)
        #expect(c2.isEmpty, "\(c2.map(\.commandType))")
        #expect(run.sdkFlags.toRecord.contains(SDKFlag.closeAfterChildCancelsDelivered.rawValue))
        b.workflowTaskCompleted(flags: [SDKFlag.closeAfterChildCancelsDelivered.rawValue])
        _ = b.childStarted(initiated, id: id, type: "SleepLong")
        let t3 = b.workflowTaskStarted()
        let c3 = try run.process(events: Array(b.events[Int(t2)...]), liveStartedEventID: t3)
        #expect(c3.map(\.commandType) == [.requestCancelExternalWorkflowExecution])
        b.workflowTaskCompleted()
        let cancel = b.cancelExternalInitiated(id: id)
        b.externalCancelRequested(cancel, id: id)
        let t4 = b.workflowTaskStarted()
        let c4 = try run.process(events: Array(b.events[Int(t3)...]), liveStartedEventID: t4)
        #expect(c4.map(\.commandType) == [.completeWorkflowExecution])
        b.workflowTaskCompleted()
        b.completed(payloads("cancelled"))
        #expect(
            try WorkflowReplayer(workflows: [CancelAbandonedChildBeforeStartThenReturn.self]).replay(events: b.events, workflowID: "wf")
                .closed)
        // Flag 4's history (the cancel with the close) and one without flags replay as recorded.
        var withFlag4 = beforeClose
        withFlag4.workflowTaskCompleted(flags: [SDKFlag.cancelChildrenBeforeClose.rawValue])
        _ = withFlag4.cancelExternalInitiated(id: id)
        withFlag4.completed(payloads("cancelled"))
        #expect(
            try WorkflowReplayer(workflows: [CancelAbandonedChildBeforeStartThenReturn.self]).replay(
                events: withFlag4.events, workflowID: "wf"
            )
            .closed)
        var without = beforeClose
        without.workflowTaskCompleted()
        without.completed(payloads("cancelled"))
        #expect(
            try WorkflowReplayer(workflows: [CancelAbandonedChildBeforeStartThenReturn.self]).replay(
                events: without.events, workflowID: "wf"
            ).closed
        )
    }

    @Test func cancelBeforeStartIsSentOnceTheChildStarts() throws {
        var b = HistoryBuilder()
        b.started("CancelChildBeforeStart")
        let t1 = b.workflowTaskStarted()
        let run = makeRun(CancelChildBeforeStart.self)
        let c1 = try run.process(events: b.events, liveStartedEventID: t1)
        // The group's task runs once the body waits on the timer.
        #expect(c1.map(\.commandType) == [.startTimer, .startChildWorkflowExecution])
        let id = c1[1].startChildWorkflowExecutionCommandAttributes.workflowID
        b.workflowTaskCompleted()
        let timer1 = b.timerStarted("1")
        let initiated = b.childInitiated(id: id, type: "SleepLong")
        b.timerFired("1", started: timer1)
        let t2 = b.workflowTaskStarted()
        let c2 = try run.process(events: Array(b.events[Int(t1)...]), liveStartedEventID: t2)
        #expect(c2.map(\.commandType) == [.startTimer])  // cancel deferred: the child has not started
        b.workflowTaskCompleted()
        let timer2 = b.timerStarted("2")
        let started = b.childStarted(initiated, id: id, type: "SleepLong", runID: "long-run")
        let t3 = b.workflowTaskStarted()
        let c3 = try run.process(events: Array(b.events[Int(t2)...]), liveStartedEventID: t3)
        #expect(c3.map(\.commandType) == [.requestCancelExternalWorkflowExecution])
        #expect(c3[0].requestCancelExternalWorkflowExecutionCommandAttributes.workflowID == id)
        b.workflowTaskCompleted()
        let cancel = b.cancelExternalInitiated(id: id)
        b.externalCancelRequested(cancel, id: id)
        b.childCanceled(initiated, started: started, id: id)
        b.timerFired("2", started: timer2)
        let t4 = b.workflowTaskStarted()
        let c4 = try run.process(events: Array(b.events[Int(t3)...]), liveStartedEventID: t4)
        #expect(c4.map(\.commandType) == [.completeWorkflowExecution])
        #expect(
            try DataConverter.default.fromPayloads(c4[0].completeWorkflowExecutionCommandAttributes.result, as: String.self) == "cancelled")
        b.workflowTaskCompleted()
        b.completed(payloads("cancelled"))
        #expect(try WorkflowReplayer(workflows: [CancelChildBeforeStart.self]).replay(events: b.events, workflowID: "wf").closed)
    }

    /// A child cancelled before it started whose start and close come in the same task: the
    /// deferred cancel request is dropped (the old code sent it for a child that had already
    /// closed: two more events and a task). A history recorded before the change (no flag 2)
    /// still replays with the request.
    @Test func aDeferredCancelIsDroppedWhenTheChildClosesInTheSameTask() throws {
        var b = HistoryBuilder()
        b.started("CancelChildBeforeStart")
        let t1 = b.workflowTaskStarted()
        let run = makeRun(CancelChildBeforeStart.self)
        let c1 = try run.process(events: b.events, liveStartedEventID: t1)
        let id = c1[1].startChildWorkflowExecutionCommandAttributes.workflowID
        // Flag 2 is recorded only by an answer whose commands it changed.
        #expect(run.sdkFlags.toRecord == [1])
        b.workflowTaskCompleted()
        let timer1 = b.timerStarted("1")
        let initiated = b.childInitiated(id: id, type: "SleepLong")
        b.timerFired("1", started: timer1)
        let t2 = b.workflowTaskStarted()
        #expect(try run.process(events: Array(b.events[Int(t1)...]), liveStartedEventID: t2).map(\.commandType) == [.startTimer])
        #expect(run.sdkFlags.toRecord == [1])
        b.workflowTaskCompleted()
        let timer2 = b.timerStarted("2")
        let started = b.childStarted(initiated, id: id, type: "SleepLong", runID: "long-run")
        b.childCompleted(initiated, started: started, id: id, result: payloads("slept"))
        let t3 = b.workflowTaskStarted()
        let c3 = try run.process(events: Array(b.events[Int(t2)...]), liveStartedEventID: t3)
        #expect(c3.isEmpty, "\(c3.map(\.commandType))")
        #expect(run.sdkFlags.toRecord == [1, 2])
        b.workflowTaskCompleted()
        b.timerFired("2", started: timer2)
        let t4 = b.workflowTaskStarted()
        let c4 = try run.process(events: Array(b.events[Int(t3)...]), liveStartedEventID: t4)
        #expect(c4.map(\.commandType) == [.completeWorkflowExecution])
        b.workflowTaskCompleted()
        b.completed(payloads("cancelled"))
        // The live answers recorded the flags they used: 1 from the first, 2 from the third.
        var recorded = b.events
        let completions = recorded.indices.filter { recorded[$0].eventType == .workflowTaskCompleted }
        let first = completions[0]
        recorded[first].workflowTaskCompletedEventAttributes.sdkMetadata.langUsedFlags = [1]
        recorded[completions[2]].workflowTaskCompletedEventAttributes.sdkMetadata.langUsedFlags = [2]
        #expect(try WorkflowReplayer(workflows: [CancelChildBeforeStart.self]).replay(events: recorded, workflowID: "wf").closed)
        // Without flag 2, replay expects the request the old code sent: this history lacks it.
        #expect(throws: NondeterminismError.self) {
            try WorkflowReplayer(workflows: [CancelChildBeforeStart.self]).replay(events: b.events, workflowID: "wf")
        }
        // A flag this build does not know (a newer build ran the workflow) fails the replay.
        var future = recorded
        future[first].workflowTaskCompletedEventAttributes.sdkMetadata.langUsedFlags.append(99)
        // Reported as nondeterministic, as Go reports it (it said "unhandled failure").
        #expect {
            try WorkflowReplayer(workflows: [CancelChildBeforeStart.self]).replay(events: future, workflowID: "wf")
        } throws: { error in
            error is NondeterminismError && "\(error)".contains("SDK flag(s) 99")
        }
        // Another SDK's flags are its own numbering: not read as ours (Go's 2 is not our 2; its
        // 99 is no unknown flag of ours).
        var otherSDK = b.events
        otherSDK[first].workflowTaskCompletedEventAttributes.sdkMetadata.sdkName = "temporal-go"
        otherSDK[completions[2]].workflowTaskCompletedEventAttributes.sdkMetadata.langUsedFlags = [2, 99]
        #expect(throws: NondeterminismError.self) {
            try WorkflowReplayer(workflows: [CancelChildBeforeStart.self]).replay(events: otherSDK, workflowID: "wf")
        }
        #expect {
            try WorkflowReplayer(workflows: [CancelChildBeforeStart.self]).replay(events: otherSDK, workflowID: "wf")
        } throws: { error in
            !"\(error)".contains("SDK flag")
        }
    }
}

/// Starts a child with an empty workflow id, then signals a workflow with an empty id and one
/// with an empty signal name, catching what each signal throws.
final class EmptyIdentifiers: Workflow {
    init() {}
    func run(context: WorkflowContext, input: String) async throws -> [String] {
        if input == "child" {
            _ = try await context.startChildWorkflow(SleepLong.self, input: NoValue(), options: ChildWorkflowOptions(workflowID: ""))
        }
        var outcomes: [String] = []
        for (target, signal) in [("", "poke"), ("other", "")] {
            do {
                try await context.signalExternalWorkflow(workflowID: target, signal: signal, "hi")
                outcomes.append("sent")
            } catch let error as WorkflowUsageError {
                outcomes.append(error.message)
            }
        }
        return outcomes
    }
}

/// The server refuses a child or a signal with an empty workflow id, or a signal with an empty
/// name, by failing the workflow task, every attempt, so the workflow was stuck where its code
/// could do nothing. A child with an empty id gets the default id (as Go gives it); a signal
/// throws into the code that sent it.
@Suite struct EmptyIdentifierTests {
    /// Run ids the server takes (Go's `uuid.Validate`) are taken, so that histories holding
    /// them replay; others are refused before a command the server would refuse.
    @Test func runIDsAreCheckedAsTheServerChecksThem() {
        for taken in [
            "0190f9a2-7c1e-7b3a-9c4d-2e5f6a7b8c9d", "0190F9A27C1E7B3A9C4D2E5F6A7B8C9D", "{0190f9a2-7c1e-7b3a-9c4d-2e5f6a7b8c9d}",
            "urn:uuid:0190f9a2-7c1e-7b3a-9c4d-2e5f6a7b8c9d", "URN:UUID:0190f9a2-7c1e-7b3a-9c4d-2e5f6a7b8c9d",
        ] {
            #expect(WorkflowContext.runIDProblem(taken, of: "wf") == nil, "\(taken)")
        }
        for refused in [
            "run-1", "0190f9a2-7c1e-7b3a-9c4d-2e5f6a7b8c9", "0190f9a2x7c1e-7b3a-9c4d-2e5f6a7b8c9d", "０190f9a27c1e7b3a9c4d2e5f6a7b8c9d",
            "{0190f9a27c1e7b3a9c4d2e5f6a7b8c9d}",
        ] {
            #expect(WorkflowContext.runIDProblem(refused, of: "wf") != nil, "\(refused)")
        }
    }

    @Test func anEmptyChildIdIsTheDefaultAndAnEmptySignalTargetThrows() throws {
        func commands(_ input: String) throws -> [Command] {
            var b = HistoryBuilder()
            b.started(EmptyIdentifiers.name, input: payloads(input))
            let live = b.workflowTaskStarted()
            return try makeRun(EmptyIdentifiers.self).process(events: b.events, liveStartedEventID: live)
        }
        let child = try commands("child")
        #expect(child.map(\.commandType) == [.startChildWorkflowExecution])
        let childID = try #require(child.first).startChildWorkflowExecutionCommandAttributes.workflowID
        #expect(childID.hasPrefix("wf-child-1-"), "\(childID)")
        let signals = try commands("signals")
        #expect(signals.map(\.commandType) == [.completeWorkflowExecution])
        let result = try #require(signals.last).completeWorkflowExecutionCommandAttributes.result
        let outcomes = try DataConverter.default.fromPayloads(result, as: [String].self)
        #expect(outcomes.count == 2)
        #expect(outcomes.first?.contains("no workflow id") == true, "\(outcomes)")
        #expect(outcomes.last?.contains("no signal name") == true, "\(outcomes)")
    }
}

/// Starts a long child, cancels it with `waitCancellationRequested`, and says what the wait saw.
final class ParentWaitsForCancelRequest: Workflow {
    init() {}
    func run(context: WorkflowContext, input: NoValue) async throws -> String {
        let long = try await context.startChildWorkflow(
            SleepLong.self, input: NoValue(), options: .init(cancellationType: .waitCancellationRequested))
        long.cancel()
        do {
            _ = try await long.result(as: String.self)
            return "finished"
        } catch is CancellationError {
            return "cancel delivered"
        }
    }
}

/// `waitCancellationRequested` (Core's WAIT_CANCELLATION_REQUESTED): the code waiting on a
/// cancelled child sees the cancellation once the request is delivered, not at once (tryCancel)
/// nor when the child closes (waitCancellationCompleted). There was no such type.
@Suite struct WaitCancellationRequestedTests {
    @Test func theWaitEndsWhenTheRequestIsDelivered() throws {
        var b = HistoryBuilder()
        b.started(ParentWaitsForCancelRequest.name)
        let t1 = b.workflowTaskStarted()
        let run = makeRun(ParentWaitsForCancelRequest.self)
        let c1 = try run.process(events: b.events, liveStartedEventID: t1)
        let id = c1[0].startChildWorkflowExecutionCommandAttributes.workflowID
        b.workflowTaskCompleted()
        let initiated = b.childInitiated(id: id, type: "SleepLong")
        _ = b.childStarted(initiated, id: id, type: "SleepLong")
        let t2 = b.workflowTaskStarted()
        let c2 = try run.process(events: Array(b.events[Int(t1)...]), liveStartedEventID: t2)
        #expect(c2.map(\.commandType) == [.requestCancelExternalWorkflowExecution], "the wait goes on until the request is delivered")
        b.workflowTaskCompleted()
        let cancel = b.cancelExternalInitiated(id: id)
        b.externalCancelRequested(cancel, id: id)
        let t3 = b.workflowTaskStarted()
        let c3 = try run.process(events: Array(b.events[Int(t2)...]), liveStartedEventID: t3)
        #expect(c3.map(\.commandType) == [.completeWorkflowExecution])
        let result = try DataConverter.default.fromPayloads(c3[0].completeWorkflowExecutionCommandAttributes.result, as: String.self)
        #expect(result == "cancel delivered")
        b.workflowTaskCompleted()
        b.completed(payloads(result))
        #expect(try WorkflowReplayer(workflows: [ParentWaitsForCancelRequest.self]).replay(events: b.events, workflowID: "wf").closed)
    }
}
