import Foundation
import SwiftProtobuf
import Temporal
import TemporalProto
import Testing

@testable import TemporalWorker

/// Pure replays of hand-built histories: no server.
@Suite("Replay")
struct ReplayTests {
    /// The full history of a successful GreetThenSleep run.
    static func greetHistory(activityType: String = "greet") -> [HistoryEvent] {
        var b = HistoryBuilder()
        b.started("GreetThenSleep", input: payloads("bob"))
        b.workflowTask()
        let scheduled = b.activityScheduled(id: "1", type: activityType)
        let started = b.activityStarted(scheduled)
        b.activityCompleted(scheduled, started: started, result: payloads("hi bob"))
        b.workflowTask()
        let timer = b.timerStarted("1")
        b.timerFired("1", started: timer)
        b.workflowTask()
        b.completed(payloads("hi bob"))
        return b.events
    }

    @Test func firstTaskSchedulesActivity() throws {
        var b = HistoryBuilder()
        b.started("GreetThenSleep", input: payloads("bob"))
        let live = b.workflowTaskStarted()
        let run = makeRun(GreetThenSleep.self)
        let commands = try run.process(events: b.events, liveStartedEventID: live)
        #expect(commands.count == 1)
        #expect(commands[0].commandType == .scheduleActivityTask)
        #expect(commands[0].scheduleActivityTaskCommandAttributes.activityType.name == "greet")
        #expect(commands[0].scheduleActivityTaskCommandAttributes.taskQueue.name == "tq")
        #expect(!run.isReplaying)
    }

    /// A live answer records this worker's SDK name and version when history's last record of
    /// them differs: on a run's first task, and on a task after another build (or SDK) worked
    /// on the run, as Core and Go do. The old code sent them on the first task only, so a run
    /// that a newer build took over kept naming the older one.
    @Test func sdkNameAndVersionAreRecordedWhenHistoryNamesAnotherBuild() throws {
        func toRecord(_ run: WorkflowRun) -> String? {
            run.sdkFlags.sdkToRecord(name: "temporal-swift", version: "2.0").map { "\($0.name) \($0.version)" }
        }
        func recordSDK(_ b: inout HistoryBuilder, name: String, version: String) {
            b.workflowTaskCompleted()
            b.events[b.events.count - 1].workflowTaskCompletedEventAttributes.sdkMetadata.sdkName = name
            b.events[b.events.count - 1].workflowTaskCompletedEventAttributes.sdkMetadata.sdkVersion = version
        }
        var b = HistoryBuilder()
        b.started("GreetThenSleep", input: payloads("bob"))
        let t1 = b.workflowTaskStarted()
        let run = makeRun(GreetThenSleep.self)
        _ = try run.process(events: b.events, liveStartedEventID: t1)
        #expect(toRecord(run) == "temporal-swift 2.0")
        // An older build answered the first task.
        recordSDK(&b, name: "temporal-swift", version: "1.0")
        let scheduled = b.activityScheduled(id: "1", type: "greet")
        b.activityCompleted(scheduled, started: b.activityStarted(scheduled), result: payloads("hi bob"))
        let t2 = b.workflowTaskStarted()
        let fresh = makeRun(GreetThenSleep.self)
        _ = try fresh.process(events: b.events, liveStartedEventID: t2)
        #expect(toRecord(fresh) == "temporal-swift 2.0")
        // This build's answer recorded its version (the name left empty keeps the last one).
        recordSDK(&b, name: "", version: "2.0")
        let timer = b.timerStarted("1")
        b.timerFired("1", started: timer)
        let t3 = b.workflowTaskStarted()
        _ = try fresh.process(events: Array(b.events[Int(t2)...]), liveStartedEventID: t3)
        #expect(toRecord(fresh) == nil)
    }

    @Test func incrementalProcessingMatchesFullReplay() throws {
        let history = Self.greetHistory()
        // Cached run: feed task by task, as sticky partial histories would.
        let run = makeRun(GreetThenSleep.self)
        let first = try run.process(events: Array(history[0..<3]), liveStartedEventID: 3)
        #expect(first.map(\.commandType) == [.scheduleActivityTask])
        let second = try run.process(events: Array(history[3..<9]), liveStartedEventID: 9)
        #expect(second.map(\.commandType) == [.startTimer])
        let third = try run.process(events: Array(history[9..<14]), liveStartedEventID: 14)
        #expect(third.map(\.commandType) == [.completeWorkflowExecution])
        #expect(run.isClosed)
        // Full replay up to the last task gives the same commands.
        let fresh = makeRun(GreetThenSleep.self)
        let replayed = try fresh.process(events: Array(history[0..<14]), liveStartedEventID: 14)
        #expect(replayed.map(\.commandType) == [.completeWorkflowExecution])
        #expect(
            try DataConverter.default.fromPayloads(replayed[0].completeWorkflowExecutionCommandAttributes.result, as: String.self)
                == "hi bob")
    }

    @Test func replayerAcceptsTheOriginalCode() throws {
        let result = try WorkflowReplayer(workflows: [GreetThenSleep.self]).replay(events: Self.greetHistory())
        #expect(result.closed)
    }

    /// A history with repeated, backward or missing event ids (cut or merged by hand) replayed
    /// with its odd events skipped; Core and Go refuse it.
    @Test func replayerRefusesAHistoryOutOfOrder() throws {
        let history = Self.greetHistory()
        let replayer = WorkflowReplayer(workflows: [GreetThenSleep.self])
        var repeated = history
        repeated.insert(history[2], at: 3)
        var renumbered = history
        for index in renumbered.indices { renumbered[index].eventID += 4 }
        for broken in [repeated, renumbered, Array(history.prefix(2) + history.dropFirst(3))] {
            let error = #expect(throws: WorkflowUsageError.self) { try replayer.replay(events: broken) }
            #expect("\(String(describing: error))".contains("out of order"))
        }
    }

    @Test func replayerDetectsAChangedActivity() throws {
        let replayer = WorkflowReplayer(workflows: [GreetThenSleepChanged.self])
        let error = #expect(throws: NondeterminismError.self) { try replayer.replay(events: Self.greetHistory()) }
        #expect(error?.historyEvent?.contains("greet") == true)
        #expect(error?.command?.contains("welcome") == true)
        #expect(error?.description.contains("TMPRL1100") == true)
    }

    @Test func missingCommandIsNondeterministic() throws {
        // History has a timer the code never starts.
        var b = HistoryBuilder()
        b.started("SumSignals", input: payloads(1))
        b.workflowTask()
        b.timerStarted("1")
        let error = #expect(throws: NondeterminismError.self) {
            try WorkflowReplayer(workflows: [SumSignals.self]).replay(events: b.events)
        }
        #expect(error?.command == nil)
    }

    @Test func extraCommandIsNondeterministic() throws {
        // The code schedules an activity but history's first task produced nothing.
        var b = HistoryBuilder()
        b.started("GreetThenSleep", input: payloads("bob"))
        b.workflowTask()
        b.signaled("ignored")
        b.workflowTask()
        let error = #expect(throws: NondeterminismError.self) {
            try WorkflowReplayer(workflows: [GreetThenSleep.self]).replay(events: b.events)
        }
        #expect(error?.command?.contains("ScheduleActivityTask") == true)
    }

    @Test func signalsBeforeTheHandlerAreBuffered() throws {
        // Signal-with-start: the signals precede the first task.
        var b = HistoryBuilder()
        b.started("SumSignals", input: payloads(5))
        b.signaled("add", payloads(2))
        b.signaled("add", payloads(3))
        let live = b.workflowTaskStarted()
        let run = makeRun(SumSignals.self)
        let commands = try run.process(events: b.events, liveStartedEventID: live)
        #expect(commands.map(\.commandType) == [.completeWorkflowExecution])
        #expect(try run.query("sum", args: nil) == payloads(5))
    }

    /// A query handler that asks for a signal channel the workflow has not made yet fails (it
    /// would register a handler) and leaves nothing behind: the channel it made was kept, so
    /// the workflow's own call later got that one, whose signals went to no handler, and its
    /// `receive()` waited for ever (on this worker only: a replay elsewhere worked).
    @Test func aQueryAskingForASignalChannelLeavesNoneBehind() throws {
        var b = HistoryBuilder()
        b.started(OrdersAfterGo.name)
        let t1 = b.workflowTaskStarted()
        let run = makeRun(OrdersAfterGo.self)
        #expect(try run.process(events: b.events, liveStartedEventID: t1).isEmpty)
        #expect(throws: ApplicationError.self) { try run.query("pending", args: nil) }
        b.workflowTaskCompleted()
        b.signaled("go")
        b.signaled("orders", payloads("x"))
        let t2 = b.workflowTaskStarted()
        let commands = try run.process(events: Array(b.events[Int(t1)...]), liveStartedEventID: t2)
        #expect(commands.map(\.commandType) == [.completeWorkflowExecution])
        #expect(commands.first?.completeWorkflowExecutionCommandAttributes.result == payloads("x"))
    }

    @Test func failedWorkflowTasksAreSkipped() throws {
        var b = HistoryBuilder()
        b.started("SumSignals", input: payloads(3))
        b.workflowTaskStarted()
        b.workflowTaskFailed()
        b.signaled("add", payloads(3))
        let live = b.workflowTaskStarted()
        let run = makeRun(SumSignals.self)
        let commands = try run.process(events: b.events, liveStartedEventID: live)
        #expect(commands.map(\.commandType) == [.completeWorkflowExecution])
    }

    @Test func cancellingAScopeCancelsTimerAndActivity() throws {
        var b = HistoryBuilder()
        b.started("CancelScope")
        let first = b.workflowTaskStarted()
        let run = makeRun(CancelScope.self)
        let commands = try run.process(events: b.events, liveStartedEventID: first)
        #expect(commands.map(\.commandType) == [.startTimer, .scheduleActivityTask, .startTimer])
        b.workflowTaskCompleted()
        let longTimer = b.timerStarted("1", seconds: 60)
        let activity = b.activityScheduled(id: "1", type: "slow")
        let shortTimer = b.timerStarted("2")
        b.timerFired("2", started: shortTimer)
        let second = b.workflowTaskStarted()
        let next = try run.process(events: Array(b.events[Int(first)...]), liveStartedEventID: second)
        #expect(next.map(\.commandType) == [.cancelTimer, .requestCancelActivityTask, .completeWorkflowExecution])
        #expect(next[1].requestCancelActivityTaskCommandAttributes.scheduledEventID == activity)
        // And the whole history replays.
        b.workflowTaskCompleted()
        b.timerCanceled("1", started: longTimer)
        b.activityCancelRequested(activity)
        b.activityCanceled(activity)  // the server's immediate cancel of a never-started activity
        b.completed(payloads("cancelled"))
        try WorkflowReplayer(workflows: [CancelScope.self]).replay(events: b.events)
    }

    @Test func workflowCancellationProducesCancelCommand() throws {
        var b = HistoryBuilder()
        b.started("CancelScope")
        b.workflowTask()
        b.timerStarted("1", seconds: 60)
        b.activityScheduled(id: "1", type: "slow")
        b.timerStarted("2")
        b.cancelRequested()
        let live = b.workflowTaskStarted()
        let run = makeRun(CancelScope.self)
        let commands = try run.process(events: b.events, liveStartedEventID: live)
        // The group catches the cancellation of the first child and returns normally.
        #expect(commands.contains { $0.commandType == .cancelTimer })
        #expect(commands.contains { $0.commandType == .requestCancelActivityTask })
    }

    /// A cancellation applied in the middle of a task's events cancels a timer and an activity
    /// that later events of the same task close (the timer fires, the activity completes): their
    /// cancel commands are dropped — the server refuses to cancel what has closed, and would
    /// fail every attempt of the task — and only the still-open timer is cancelled.
    @Test func cancelCommandsForWhatLaterEventsOfTheTaskCloseAreDropped() throws {
        var b = HistoryBuilder()
        b.started("CancelScope")
        b.workflowTask()
        let longTimer = b.timerStarted("1", seconds: 60)
        let activity = b.activityScheduled(id: "1", type: "slow")
        let shortTimer = b.timerStarted("2")
        b.cancelRequested()
        b.timerFired("1", started: longTimer)
        let started = b.activityStarted(activity)
        b.activityCompleted(activity, started: started, result: payloads("done"))
        let live = b.workflowTaskStarted()
        let run = makeRun(CancelScope.self)
        let commands = try run.process(events: b.events, liveStartedEventID: live)
        #expect(commands.map(\.commandType) == [.cancelTimer, .completeWorkflowExecution], "\(commands.map(\.commandType))")
        #expect(commands.first?.cancelTimerCommandAttributes.timerID == "2")
        // And the whole history replays.
        b.workflowTaskCompleted()
        b.timerCanceled("2", started: shortTimer)
        b.completed(payloads("cancelled"))
        try WorkflowReplayer(workflows: [CancelScope.self]).replay(events: b.events)
    }

    /// A query from the normal queue comes with the whole history. A cached run answers it only
    /// if it saw every workflow task in it: after another worker ran a later task (the run's
    /// sticky queue timed out), the cached copy is behind and the query replays the history
    /// instead of answering from it. A sticky query (no history) uses the cache.
    @Test func aCachedRunAnswersAQueryOnlyIfItSawEveryWorkflowTask() throws {
        var b = HistoryBuilder()
        b.started("SumSignals", input: payloads(3))
        let first = b.workflowTaskStarted()
        b.workflowTaskCompleted()
        b.signaled("add", payloads(1))
        let second = b.workflowTaskStarted()
        b.workflowTaskCompleted()
        #expect(!WorkflowTaskHandler.cachedRunIsCurrent(lastStartedEventID: first, history: b.events))
        #expect(WorkflowTaskHandler.cachedRunIsCurrent(lastStartedEventID: second, history: b.events))
        #expect(WorkflowTaskHandler.cachedRunIsCurrent(lastStartedEventID: first, history: []), "a sticky query")
        // A sticky query whose run is behind the last task the server started (a copy put back
        // by a query that held it while a task ran on another copy) replays: it answered from
        // the old state.
        #expect(!WorkflowTaskHandler.cachedRunIsCurrent(lastStartedEventID: first, history: [], previousStartedEventID: second))
        #expect(WorkflowTaskHandler.cachedRunIsCurrent(lastStartedEventID: second, history: [], previousStartedEventID: second))
        // A signal after the last task, waiting for the next one: no replay applies it either.
        b.signaled("add", payloads(2))
        _ = b.add(.workflowTaskScheduled) { $0.workflowTaskScheduledEventAttributes = .init() }
        #expect(WorkflowTaskHandler.cachedRunIsCurrent(lastStartedEventID: second, history: b.events))
    }

    @Test func patchedIsTrueLiveAndFollowsHistoryOnReplay() throws {
        var live = HistoryBuilder()
        live.started("Patched")
        let started = live.workflowTaskStarted()
        let run = makeRun(Patched.self)
        let commands = try run.process(events: live.events, liveStartedEventID: started)
        #expect(commands.map(\.commandType) == [.recordMarker, .scheduleActivityTask])
        #expect(commands[1].scheduleActivityTaskCommandAttributes.activityType.name == "new")

        // A run recorded before the patch existed replays down the old path.
        var old = HistoryBuilder()
        old.started("Patched")
        old.workflowTask()
        old.activityScheduled(id: "1", type: "old")
        try WorkflowReplayer(workflows: [Patched.self]).replay(events: old.events)

        // A run recorded with the patch replays down the new path.
        var new = HistoryBuilder()
        new.started("Patched")
        new.workflowTask()
        new.marker(patch: "v2")
        new.activityScheduled(id: "1", type: "new")
        try WorkflowReplayer(workflows: [Patched.self]).replay(events: new.events)
    }

    /// A patch is known to the code from the task whose commands record its marker on, as in
    /// Go (which revises an earlier answer once the marker's task is reached): a build that asks
    /// `patched` earlier than the build that recorded the run did gets false there and true from
    /// the marker's task on, and replays the run. Before, a marker anywhere in the history made
    /// the first call true, whose marker command met the timer of the first task:
    /// nondeterministic.
    @Test func aPatchAskedEarlierThanItsMarkerIsFalseUntilTheMarkersTask() throws {
        var b = HistoryBuilder()
        b.started("Patched")
        b.workflowTask()
        let timer = b.timerStarted("1")
        b.timerFired("1", started: timer)
        b.workflowTask()
        b.marker(patch: "v2")
        _ = b.activityScheduled(id: "1", type: "new")
        try WorkflowReplayer(workflows: [PatchedEarlierToo.self]).replay(events: b.events)
        // Live, the first call records the marker at once, before the timer.
        var live = HistoryBuilder()
        live.started("Patched")
        let started = live.workflowTaskStarted()
        let commands = try makeRun(PatchedEarlierToo.self).process(events: live.events, liveStartedEventID: started)
        #expect(commands.map(\.commandType) == [.recordMarker, .startTimer])
    }

    /// patched → deprecated → removed, as in the other SDKs: each step replays the runs the
    /// step before it left open, and a removed call skips deprecated markers.
    @Test func aPatchIsRetiredInThreeSteps() throws {
        func history(marker: (deprecated: Bool, present: Bool)) -> [HistoryEvent] {
            var b = HistoryBuilder()
            b.started("Patched")
            b.workflowTask()
            if marker.present { b.marker(patch: "v2", deprecated: marker.deprecated) }
            b.activityScheduled(id: "1", type: "new")
            return b.events
        }
        let step1 = history(marker: (false, true))
        let step2 = history(marker: (true, true))
        // Step 2 (deprecated) replays step 1's runs and its own; live, it writes a deprecated marker.
        try WorkflowReplayer(workflows: [PatchDeprecated.self]).replay(events: step1)
        try WorkflowReplayer(workflows: [PatchDeprecated.self]).replay(events: step2)
        var live = HistoryBuilder()
        live.started("Patched")
        let started = live.workflowTaskStarted()
        let commands = try makeRun(PatchDeprecated.self).process(events: live.events, liveStartedEventID: started)
        #expect(commands.map(\.commandType) == [.recordMarker, .scheduleActivityTask])
        let data = commands[0].recordMarkerCommandAttributes.details[PatchMarkerStateMachine.detailsKey]?.payloads.first?.data ?? Data()
        #expect(String(decoding: data, as: UTF8.self) == #"{"deprecated":true,"id":"v2"}"#)
        // Step 3 (call removed) replays step 2's runs, skipping the deprecated marker, and runs
        // without any marker; a step-1 marker (not deprecated) is still a mismatch.
        try WorkflowReplayer(workflows: [PatchRemoved.self]).replay(events: step2)
        try WorkflowReplayer(workflows: [PatchRemoved.self]).replay(events: history(marker: (false, false)))
        #expect(throws: NondeterminismError.self) { try WorkflowReplayer(workflows: [PatchRemoved.self]).replay(events: step1) }
        // Deprecating replays a run without the marker (none was written) too.
        try WorkflowReplayer(workflows: [PatchDeprecated.self]).replay(events: history(marker: (false, false)))
    }

    /// Markers in the shape earlier Core releases wrote (`patch_id` and `deprecated` bytes, not
    /// `patch_data` JSON), which Core still reads, are patch markers: such a run replayed as
    /// nondeterministic (`patched` false, then the marker met no command).
    @Test func coresEarlierPatchMarkersAreRead() throws {
        for deprecated in [false, true] {
            var b = HistoryBuilder()
            b.started("Patched")
            b.workflowTask()
            b.coreLegacyMarker(patch: "v2", deprecated: deprecated)
            b.activityScheduled(id: "1", type: "new")
            try WorkflowReplayer(workflows: [Patched.self]).replay(events: b.events)
            if deprecated { try WorkflowReplayer(workflows: [PatchRemoved.self]).replay(events: b.events) }
        }
    }

    @Test func workflowCodeErrorIsATaskFailure() throws {
        var b = HistoryBuilder()
        b.started("Buggy")
        let live = b.workflowTaskStarted()
        let run = makeRun(Buggy.self)
        #expect(throws: WorkflowTaskFailure.self) { try run.process(events: b.events, liveStartedEventID: live) }
    }

    /// The replayer replays under the namespace it is told (it was always `default`: code
    /// that builds what it asks for from its namespace could not be replayed).
    @Test func theReplayerReplaysUnderTheNamespaceItIsGiven() throws {
        var b = HistoryBuilder()
        b.started(GreetByNamespace.name, input: payloads("bob"))
        b.workflowTask()
        let scheduled = b.activityScheduled(id: "1", type: "greet-prod")
        let started = b.activityStarted(scheduled)
        b.activityCompleted(scheduled, started: started, result: payloads("hi bob"))
        b.workflowTask()
        b.completed(payloads("hi bob"))
        var replayer = WorkflowReplayer(workflows: [GreetByNamespace.self])
        #expect(throws: NondeterminismError.self) { try replayer.replay(events: b.events) }
        replayer.namespace = "prod"
        #expect(try replayer.replay(events: b.events).closed)
    }

    @Test func historyJSONWithEnumNamesDecodes() throws {
        var history = Temporal_Api_History_V1_History()
        history.events = Self.greetHistory()
        let json = try history.jsonUTF8Data()
        #expect(String(decoding: json, as: UTF8.self).contains("EVENT_TYPE_WORKFLOW_EXECUTION_STARTED"))
        try WorkflowReplayer(workflows: [GreetThenSleep.self]).replay(historyJSON: json)
    }
}
