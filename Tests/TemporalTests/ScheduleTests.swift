import Foundation
import Synchronization
import Temporal
import TemporalProto
import TemporalTestSupport
import Testing

/// The schedule API against a real dev server: create, describe, trigger, pause, update, list, delete.
@Suite(.serialized) struct ScheduleTests {
    func unique(_ prefix: String) -> String { "\(prefix)-\(UUID().uuidString.prefix(8).lowercased())" }

    /// Polls `check` every 200 ms until it returns a value or `timeout` passes.
    func eventually<T>(timeout: Duration = .seconds(20), _ check: () async throws -> T?) async throws -> T? {
        let clock = ContinuousClock()
        let deadline = clock.now + timeout
        while clock.now < deadline {
            if let value = try await check() { return value }
            try await Task.sleep(for: .milliseconds(200))
        }
        return nil
    }

    @Test func scheduleLifecycle() async throws {
        let client = try await DevServer.client()
        let id = unique("sched-test")
        let queue = unique("sched-queue")
        let action = ScheduleAction.startWorkflow(
            type: "ScheduledNothing", workflowID: "\(id)-wf", taskQueue: queue,
            args: [["n": 1]], options: WorkflowOptions(executionTimeout: .seconds(60)))
        // Paused so that only the trigger starts a run.
        let handle = try await client.createSchedule(
            id: id, spec: .interval(every: .seconds(3600), offset: .seconds(60)),
            action: action, paused: true, note: "test", memo: ["owner": "tests"])
        var cleanup = true
        defer {
            if cleanup {
                let h = handle
                Task { try? await h.delete() }
            }
        }

        // Describe shows the spec and the action.
        let described = try await handle.describe()
        #expect(described.spec.intervals == [ScheduleIntervalSpec(every: .seconds(3600), offset: .seconds(60))])
        #expect(described.workflowType == "ScheduledNothing")
        #expect(described.taskQueue == queue)
        #expect(described.workflowID == "\(id)-wf")
        #expect(described.isPaused)
        #expect(!described.conflictToken.isEmpty)

        // Creating it again names the id.
        do {
            _ = try await client.createSchedule(id: id, spec: .interval(every: .seconds(60)), action: action)
            Issue.record("expected ALREADY_EXISTS")
        } catch let error as TemporalError {
            #expect(error.code == .alreadyExists)
            #expect(error.message.contains(id))
        }

        // Trigger → a workflow run appears among the recent actions.
        try await handle.trigger()
        let started = try await eventually { () async throws -> Temporal_Api_Common_V1_WorkflowExecution? in
            let d = try await handle.describe()
            return d.recentActions.first.map(\.startWorkflowResult)
        }
        #expect(started?.workflowID.hasPrefix("\(id)-wf") == true)
        if let started {
            let run = client.workflowHandle(id: started.workflowID, runID: started.runID)
            let info = try await run.describe()
            #expect(info.workflowType == "ScheduledNothing")
            try? await run.terminate(reason: "schedule test done")
        }

        // Unpause / pause are reflected.
        try await handle.unpause(note: "resumed by test")
        let unpaused = try await handle.describe()
        #expect(!unpaused.isPaused)
        #expect(unpaused.note == "resumed by test")
        try await handle.pause(note: "stopped by test")
        let paused = try await handle.describe()
        #expect(paused.isPaused)
        #expect(paused.note == "stopped by test")

        // Update changes the interval and keeps the action and the paused state.
        try await handle.update(spec: .interval(every: .seconds(7200)))
        let updated = try await handle.describe()
        #expect(updated.spec.intervals == [ScheduleIntervalSpec(every: .seconds(7200))])
        #expect(updated.workflowType == "ScheduledNothing")
        #expect(updated.isPaused)

        // List finds it (visibility is eventually consistent).
        let listed = try await eventually { () async throws -> ScheduleListEntry? in
            try await client.listSchedules().collect().first { $0.scheduleID == id }
        }
        #expect(listed?.info.workflowType.name == "ScheduledNothing")

        // Delete, then describe → NOT_FOUND naming the id.
        try await handle.delete()
        cleanup = false
        do {
            _ = try await handle.describe()
            Issue.record("expected NOT_FOUND")
        } catch let error as TemporalError {
            #expect(error.code == .notFound)
            #expect(error.message.contains(id))
        }
    }

    /// Why `update` sends no conflict token (as Go): a schedule's workflow takes the update as
    /// a signal and drops one whose token is stale, and the call still succeeds. A pause between
    /// a caller's describe and its update lost the update without a word.
    /// The action's versioning override is part of the schedule (it was dropped before). The
    /// dev server (1.32) keeps it in the schedule but does not yet give it to the runs its
    /// scheduler starts (checked: a direct start with the same override shows it in `describe`,
    /// a triggered run does not); Go sends it the same way.
    @Test func theActionsVersioningOverrideIsPartOfTheSchedule() async throws {
        let client = try await DevServer.client()
        let id = unique("sched-ovr")
        let action = ScheduleAction.startWorkflow(
            type: "ScheduledNothing", workflowID: "\(id)-wf", taskQueue: unique("sched-queue"),
            options: WorkflowOptions(executionTimeout: .seconds(60), versioningOverride: .autoUpgrade))
        let handle = try await client.createSchedule(id: id, spec: .interval(every: .seconds(3600)), action: action, paused: true)
        defer { Task { try? await handle.delete() } }
        let override = try #require(try await handle.describe().startWorkflow?.versioningOverride)
        #expect(override.autoUpgrade && VersioningOverride(proto: override) == .autoUpgrade)
    }

    @Test func aStaleConflictTokenLosesTheUpdateSilentlySoUpdateSendsNone() async throws {
        let client = try await DevServer.client()
        let id = unique("sched-token")
        let action = ScheduleAction.startWorkflow(type: "ScheduledNothing", workflowID: "\(id)-wf", taskQueue: unique("q"))
        let handle = try await client.createSchedule(id: id, spec: .interval(every: .seconds(3600)), action: action, paused: true)
        defer {
            let h = handle
            Task { try? await h.delete() }
        }
        let before = try await handle.describe()
        try await handle.unpause(note: "a change between describe and update")
        var r = Temporal_Api_Workflowservice_V1_UpdateScheduleRequest()
        r.namespace = client.namespace
        r.scheduleID = id
        r.schedule = before.raw.schedule
        r.schedule.spec = ScheduleSpec.interval(every: .seconds(7200)).proto
        r.conflictToken = before.conflictToken
        r.identity = client.identity
        r.requestID = UUID().uuidString
        _ = try await client.workflowService.updateSchedule(r)  // no error
        try await Task.sleep(for: .seconds(1))
        #expect(try await handle.describe().spec.intervals == [ScheduleIntervalSpec(every: .seconds(3600))], "the stale update was applied")

        // `update` describes, changes and sends without a token: applied.
        try await handle.update(spec: .interval(every: .seconds(7200)))
        let applied = try await eventually { () async throws -> Bool? in
            try await handle.describe().spec.intervals == [ScheduleIntervalSpec(every: .seconds(7200))] ? true : nil
        }
        #expect(applied == true)
    }

    @Test func calendarSpecsRoundTrip() async throws {
        let client = try await DevServer.client()
        let id = unique("sched-cal")
        let action = ScheduleAction.startWorkflow(type: "ScheduledNothing", workflowID: "\(id)-wf", taskQueue: unique("q"))
        let handle = try await client.createSchedule(id: id, spec: .weekly(on: 1, hour: 2, minute: 30), action: action, paused: true)
        let described = try await handle.describe()
        try await handle.delete()
        let calendar = try #require(described.spec.calendars.first)
        #expect(calendar.hours == [2])
        #expect(calendar.minutes == [30])
        #expect(calendar.daysOfWeek == [1])
        #expect(calendar.daysOfMonth.isEmpty)
        // Every future time is a Monday 02:30 UTC.
        var utc = Calendar(identifier: .gregorian)
        utc.timeZone = TimeZone(identifier: "UTC") ?? utc.timeZone
        #expect(!described.futureActionTimes.isEmpty)
        for time in described.futureActionTimes {
            let c = utc.dateComponents([.weekday, .hour, .minute], from: time)
            #expect(c.weekday == 2 && c.hour == 2 && c.minute == 30)
        }
    }

    /// A cron expression is sent as one (Go's `CronExpressions`), and reads back as the calendar
    /// the server made of it; an action without a workflow id gets one, as Go's client gives it
    /// (the server took it empty: every run's id was its time alone).
    @Test func aCronExpressionReadsBackAsItsCalendar() async throws {
        let client = try await DevServer.client()
        let id = unique("sched-cron")
        let action = ScheduleAction.startWorkflow(type: "ScheduledNothing", workflowID: "", taskQueue: unique("q"))
        let handle = try await client.createSchedule(id: id, spec: .cron("30 2 * * 1"), action: action, paused: true)
        let described = try await handle.describe()
        try await handle.delete()
        let calendar = try #require(described.spec.calendars.first)
        #expect(calendar.hours == [2] && calendar.minutes == [30] && calendar.daysOfWeek == [1], "\(calendar)")
        #expect(described.spec.cronExpressions.isEmpty)
        #expect(!described.workflowID.isEmpty)
    }

    /// A calendar with empty minutes (as empty days mean every day) never ran: the server
    /// matches no minute, while the spec read back said 0. Empty seconds, minutes and hours
    /// mean 0, as in Go's SDK.
    @Test func aCalendarWithEmptyMinutesRunsOnTheHour() async throws {
        let calendar = ScheduleCalendarSpec(minutes: [], hours: [9])
        #expect(ScheduleCalendarSpec(proto: calendar.proto).minutes == [0])
        let client = try await DevServer.client()
        let id = unique("sched-empty")
        let action = ScheduleAction.startWorkflow(type: "ScheduledNothing", workflowID: "\(id)-wf", taskQueue: unique("q"))
        let handle = try await client.createSchedule(id: id, spec: ScheduleSpec(calendars: [calendar]), action: action, paused: true)
        let described = try await handle.describe()
        try await handle.delete()
        #expect(!described.futureActionTimes.isEmpty, "the schedule would never run")
        var utc = Calendar(identifier: .gregorian)
        utc.timeZone = TimeZone(identifier: "UTC") ?? utc.timeZone
        for time in described.futureActionTimes {
            let c = utc.dateComponents([.hour, .minute, .second], from: time)
            #expect(c.hour == 9 && c.minute == 0 && c.second == 0)
        }
    }

    /// A spec and policies read back, changed and sent again keep what they were made with:
    /// the end time, the exclusions, a calendar's years, and the policy that keeps the
    /// workflow id. Before, `ScheduleSpec(proto:)` dropped the first three and
    /// `SchedulePolicies` never sent the last, so such an update deleted them without a word.
    @Test func aSpecReadBackAndUpdatedKeepsWhatItWasMadeWith() async throws {
        let client = try await DevServer.client()
        let id = unique("sched-keep")
        let action = ScheduleAction.startWorkflow(type: "ScheduledNothing", workflowID: "\(id)-wf", taskQueue: unique("q"))
        let end = try #require(TemporalDate.parse("2031-01-01T00:00:00Z"))
        var spec = ScheduleSpec.daily(hour: 3)
        spec.calendars[0].years = [2029, 2030]
        spec.excludedCalendars = [ScheduleCalendarSpec(hours: [3], daysOfMonth: [25], months: [12], comment: "christmas")]
        spec.endTime = end
        let handle = try await client.createSchedule(
            id: id, spec: spec, action: action, policies: SchedulePolicies(keepOriginalWorkflowID: true), paused: true)
        do {
            let described = try await handle.describe()
            var changed = described.spec
            changed.jitter = .seconds(30)
            var policies = described.policies
            policies.pauseOnFailure = true
            try await handle.update(spec: changed, policies: policies)
            let after = try await handle.describe()
            #expect(after.spec.endTime == end)
            #expect(after.spec.excludedCalendars.map(\.comment) == ["christmas"])
            #expect(after.spec.calendars.first?.years == [2029, 2030])
            #expect(after.spec.jitter == .seconds(30))
            #expect(after.policies.keepOriginalWorkflowID && after.policies.pauseOnFailure, "\(after.raw.schedule.policies)")
        } catch {
            try? await handle.delete()
            throw error
        }
        try await handle.delete()
    }

    @Test func specConversion() {
        let daily = ScheduleSpec.daily(hour: 6, minute: 15)
        #expect(ScheduleSpec(proto: daily.proto).calendars.first?.hours == [6])
        #expect(ScheduleSpec(proto: daily.proto).calendars.first?.minutes == [15])
        #expect(ScheduleSpec(proto: daily.proto).calendars.first?.daysOfWeek == [])
        let interval = ScheduleSpec.interval(every: .seconds(90), offset: .seconds(5))
        #expect(interval.proto.interval.first?.interval.seconds == 90)
        #expect(interval.proto.interval.first?.phase.seconds == 5)
    }

    /// A schedule created to act once, now, and never again: the trigger is part of the
    /// creation (a manual action, which the server does not count against the limit) and the
    /// limit is 0 from the start (Go's `RemainingActions` and `TriggerImmediately`; a limit set
    /// by an update after creating could come after a due action).
    @Test func aScheduleCreatedToActOnceNowActsOnce() async throws {
        let client = try await DevServer.client()
        let id = unique("sched-once")
        let action = ScheduleAction.startWorkflow(
            type: "ScheduledNothing", workflowID: "\(id)-wf", taskQueue: unique("sched-queue"),
            options: WorkflowOptions(executionTimeout: .seconds(60)))
        let handle = try await client.createSchedule(
            id: id, spec: .interval(every: .seconds(3600)), action: action, remainingActions: 0, triggerImmediately: true)
        defer { Task { try? await handle.delete() } }
        let acted = try await eventually { () -> ScheduleDescription? in
            let description = try await handle.describe()
            return description.actionCount == 1 ? description : nil
        }
        #expect(acted?.remainingActions == 0, "\(String(describing: acted?.raw.schedule.state))")
        #expect(
            try await client.createSchedule(id: unique("sched-none"), spec: .interval(every: .seconds(3600)), action: action, paused: true)
                .describe().remainingActions == nil)
        await #expect(throws: TemporalError.self) {
            _ = try await client.createSchedule(
                id: unique("sched-bad"), spec: .interval(every: .seconds(3600)), action: action, remainingActions: -1)
        }
    }

    /// A schedule carries search attributes of its own, found by a schedules query, and a
    /// backfill at creation runs the past range's actions, as Go's `TypedSearchAttributes` and
    /// `ScheduleBackfill`; a backfill into the future is refused before the schedule exists.
    @Test func aScheduleIsCreatedWithSearchAttributesAndABackfill() async throws {
        let client = try await DevServer.client()
        let id = unique("sched-sa")
        let action = ScheduleAction.startWorkflow(
            type: "ScheduledNothing", workflowID: "\(id)-wf", taskQueue: unique("sched-queue"),
            options: WorkflowOptions(executionTimeout: .seconds(60)))
        let key = SearchAttributeKey.keyword("SwiftScheduleTag")
        _ = try await client.ensureSearchAttributes([key.name: .keyword])
        let now = Date()
        let handle = try await client.createSchedule(
            id: id, spec: .interval(every: .seconds(600)), action: action, paused: true, searchAttributes: [key.name: id],
            backfill: [ScheduleBackfill(from: now.addingTimeInterval(-3_600), to: now.addingTimeInterval(-60), overlap: .allowAll)])
        defer { Task { try? await handle.delete() } }
        #expect(try await handle.describe().searchAttribute(key) == id)
        // An hour of 10-minute actions, though paused (a backfill runs regardless).
        let acted = try await eventually(timeout: .seconds(30)) { () -> Int? in
            let count = try await handle.describe().actionCount
            return count >= 5 ? count : nil
        }
        #expect(acted.map { (5...7).contains($0) } == true, "\(String(describing: acted))")
        let listed = try await eventually(timeout: .seconds(30)) { () -> Bool? in
            try await client.listSchedules(query: "\(key.name) = '\(id)'").collect().contains { $0.scheduleID == id } ? true : nil
        }
        #expect(listed == true)
        let refused = unique("sched-future")
        await #expect(throws: TemporalError.self) {
            _ = try await client.createSchedule(
                id: refused, spec: .interval(every: .seconds(600)), action: action,
                backfill: [ScheduleBackfill(from: now, to: now.addingTimeInterval(3_600))])
        }
        await #expect(throws: TemporalError.self) { _ = try await client.scheduleHandle(id: refused).describe() }
    }

    /// A client interceptor sees a schedule's creation and its headers go with every run the
    /// schedule starts (as Go's `CreateSchedule` interceptor and its tracing header). Before,
    /// scheduled runs carried no header and interceptors never saw a schedule.
    @Test func interceptorsSeeASchedulesCreationAndItsRunsCarryTheirHeaders() async throws {
        struct Tagging: ClientInterceptor {
            func createSchedule(_ input: CreateScheduleInput, next: (CreateScheduleInput) async throws -> ScheduleHandle) async throws
                -> ScheduleHandle
            {
                var input = input
                input.headers["x-schedule-tag"] = try DataConverter.default.toPayload(input.scheduleID)
                return try await next(input)
            }
        }
        let server = try await DevServer.shared()
        let client = try await TemporalClient.connect(target: server.address, interceptors: [Tagging()])
        let id = unique("sched-header")
        let action = ScheduleAction.startWorkflow(
            type: "ScheduledNothing", workflowID: "\(id)-wf", taskQueue: unique("sched-queue"),
            options: WorkflowOptions(executionTimeout: .seconds(60)))
        let handle = try await client.createSchedule(
            id: id, spec: .interval(every: .seconds(3600)), action: action, paused: true, triggerImmediately: true)
        defer { Task { try? await handle.delete() } }
        let tag = try DataConverter.default.toPayload(id)
        #expect(try await handle.describe().startWorkflow?.header.fields["x-schedule-tag"] == tag)
        let started = try await eventually(timeout: .seconds(30)) { () -> Temporal_Api_Common_V1_WorkflowExecution? in
            try await handle.describe().recentActions.first?.startWorkflowResult
        }
        let run = try #require(started)
        let first = try await client.workflowHandle(id: run.workflowID, runID: run.runID).fetchHistory().first
        #expect(first?.workflowExecutionStartedEventAttributes.header.fields["x-schedule-tag"] == tag)
    }

    /// A zero catch-up window is the server's default (one year), as Go sends it: sent as zero,
    /// the server raised it to its 10 s minimum, and runs missed in a short outage were dropped.
    @Test func aZeroCatchupWindowIsTheServersDefault() async throws {
        let client = try await DevServer.client()
        let id = unique("sched-catchup")
        let action = ScheduleAction.startWorkflow(type: "ScheduledNothing", workflowID: "\(id)-wf", taskQueue: unique("sched-queue"))
        let handle = try await client.createSchedule(
            id: id, spec: .interval(every: .seconds(3600)), action: action, policies: SchedulePolicies(catchupWindow: .zero), paused: true)
        defer { Task { try? await handle.delete() } }
        #expect(try await handle.describe().policies.catchupWindow == .seconds(365 * 86_400))
    }

    /// Options that do not apply to scheduled runs are refused, naming them, before any request
    /// (the schedule does not exist): they were dropped without a word, so a start delay was not
    /// applied and a reuse policy not enforced.
    @Test func optionsThatDoNotApplyToScheduledRunsAreRefused() async throws {
        let client = try await DevServer.client()
        let cases: [(WorkflowOptions, String)] = [
            (WorkflowOptions(idReusePolicy: .rejectDuplicate), "idReusePolicy"),
            (WorkflowOptions(cronSchedule: "@daily"), "cronSchedule"),
            (WorkflowOptions(startDelay: .seconds(30)), "startDelay"),
        ]
        for (options, name) in cases {
            let id = unique("sched-refused")
            let action = ScheduleAction.startWorkflow(
                type: "ScheduledNothing", workflowID: "\(id)-wf", taskQueue: unique("sched-queue"), options: options)
            let refused = await #expect(throws: TemporalError.self) {
                _ = try await client.createSchedule(id: id, spec: .interval(every: .seconds(3600)), action: action, paused: true)
            }
            #expect(refused?.code == .invalidArgument && refused?.message.contains(name) == true, "\(String(describing: refused))")
            let missing = await #expect(throws: TemporalError.self) { _ = try await client.scheduleHandle(id: id).describe() }
            #expect(missing?.code == .notFound)
        }
        // What does apply still goes through.
        let id = unique("sched-allowed")
        let allowed = ScheduleAction.startWorkflow(
            type: "ScheduledNothing", workflowID: "\(id)-wf", taskQueue: unique("sched-queue"),
            options: WorkflowOptions(idReusePolicy: .allowDuplicate))
        let handle = try await client.createSchedule(id: id, spec: .interval(every: .seconds(3600)), action: allowed, paused: true)
        try await handle.delete()
    }

    /// A backfill reaching into the future, or ending before it starts, is refused before any
    /// request (here: a schedule that does not exist would answer NOT_FOUND): the server starts
    /// every action of the range at once, so a future time's run started early.
    @Test func aBackfillIntoTheFutureIsRefused() async throws {
        let client = try await DevServer.client()
        let handle = client.scheduleHandle(id: unique("never"))
        let future = await #expect(throws: TemporalError.self) {
            try await handle.backfill(from: Date().addingTimeInterval(-3_600), to: Date().addingTimeInterval(86_400))
        }
        #expect(future?.kind == .invalidArgument && future?.message.contains("future") == true, "\(String(describing: future))")
        let backwards = await #expect(throws: TemporalError.self) {
            try await handle.backfill(from: Date().addingTimeInterval(-3_600), to: Date().addingTimeInterval(-7_200))
        }
        #expect(backwards?.kind == .invalidArgument, "\(String(describing: backwards))")
        let past = await #expect(throws: TemporalError.self) {
            try await handle.backfill(from: Date().addingTimeInterval(-7_200), to: Date().addingTimeInterval(-3_600))
        }
        #expect(past?.code == .notFound, "a past range goes to the server: \(String(describing: past))")
    }

    /// A delete whose answer was lost (the connection dropped after the server acted) is
    /// retried; the retry finds no schedule, which is the delete done, not a failure.
    @Test func aDeleteWhoseAnswerWasLostSucceeds() async throws {
        let client = try await DevServer.client()
        let id = unique("sched-lost")
        let action = ScheduleAction.startWorkflow(type: "ScheduledNothing", workflowID: "\(id)-wf", taskQueue: unique("q"))
        _ = try await client.createSchedule(id: id, spec: .interval(every: .seconds(3600)), action: action, paused: true)
        let lossy = LosesFirstAnswer(client.workflowService.transport, method: "DeleteSchedule")
        let retrying = try await TemporalClient.connect(transport: lossy)
        try await retrying.scheduleHandle(id: id).delete()
        #expect(lossy.calls.withLock { $0 } == 2, "the lost answer was retried")
        let gone = await #expect(throws: TemporalError.self) { try await client.scheduleHandle(id: id).describe() }
        #expect(gone?.code == .notFound)
        // A schedule that never was still fails the delete.
        let never = await #expect(throws: TemporalError.self) { try await client.scheduleHandle(id: unique("never")).delete() }
        #expect(never?.code == .notFound)
    }
}
