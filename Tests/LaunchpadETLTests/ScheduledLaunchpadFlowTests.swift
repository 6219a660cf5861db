import Foundation
import Temporal
import TemporalProto
import TemporalTestSupport
import TemporalWorker
import Testing

@testable import LaunchpadETL
@testable import LaunchpadFixture

/// ScheduledLaunchpadFlow's pure parts: the previous period's window and its input.
@Suite struct ScheduledLaunchpadFlowTests {
    func date(_ text: String) throws -> Date {
        try #require(ISO8601DateFormatter().date(from: text))
    }

    @Test func scheduleWindowIsThePreviousDayOrISOWeekInUTC() throws {
        func window(_ period: LaunchpadSchedulePeriod, _ now: String) throws -> [String] {
            let w = ScheduledLaunchpadFlow.window(period, now: try date(now))
            return [w.start, w.end]
        }
        // Wednesday 2024-03-13.
        #expect(try window(.daily, "2024-03-13T10:00:00Z") == ["2024-03-12", "2024-03-12"])
        #expect(try window(.weekly, "2024-03-13T10:00:00Z") == ["2024-03-04", "2024-03-10"])
        // Monday just after midnight, and the Sunday ending the week: the same previous week.
        #expect(try window(.weekly, "2024-03-11T00:30:00Z") == ["2024-03-04", "2024-03-10"])
        #expect(try window(.weekly, "2024-03-17T23:59:59Z") == ["2024-03-04", "2024-03-10"])
        #expect(try window(.daily, "2024-03-11T00:30:00Z") == ["2024-03-10", "2024-03-10"])
        // Leap day and year boundary.
        #expect(try window(.daily, "2024-03-01T01:00:00Z") == ["2024-02-29", "2024-02-29"])
        #expect(try window(.daily, "2024-01-01T01:00:00Z") == ["2023-12-31", "2023-12-31"])
        #expect(try window(.weekly, "2024-01-01T02:00:00Z") == ["2023-12-25", "2023-12-31"])
        // UTC, whatever the offset the instant was written with.
        #expect(try window(.daily, "2024-03-13T01:00:00+05:00") == ["2024-03-11", "2024-03-11"])
    }

    /// A run reads the days before its period again (Launchpad dates an emailed comment from
    /// its `Date:` header, so it can appear after the run for its day): only the start moves.
    @Test func aLookbackMovesOnlyTheWindowsStart() throws {
        func window(_ period: LaunchpadSchedulePeriod, _ now: String, _ days: Int) throws -> [String] {
            let w = ScheduledLaunchpadFlow.window(period, now: try date(now), lookbackDays: days)
            return [w.start, w.end]
        }
        #expect(try window(.daily, "2024-03-13T01:00:00Z", 2) == ["2024-03-10", "2024-03-12"])
        #expect(try window(.weekly, "2024-03-11T02:00:00Z", 2) == ["2024-03-02", "2024-03-10"])
        #expect(try window(.daily, "2024-03-02T01:00:00Z", 2) == ["2024-02-28", "2024-03-01"])
        #expect(try window(.daily, "2024-01-01T01:00:00Z", 31) == ["2023-11-30", "2023-12-31"])
        #expect(try window(.daily, "2024-03-13T01:00:00Z", 0) == ["2024-03-12", "2024-03-12"])

        let input = try ScheduledLaunchpadInput(json: ["member": "alice", "period": "daily", "lookback_days": 5])
        #expect(input.lookbackDays == 5)
        #expect(try ScheduledLaunchpadInput(json: ["member": "alice", "period": "daily"]).lookbackDays == nil)
        let json = try JSONDecoder().decode(JSONValue.self, from: try JSONEncoder().encode(input))
        #expect(try ScheduledLaunchpadInput(json: json) == input)
        for bad: JSONValue in [-1, 32, "2", 1.5] {
            let error = try #require(
                throws: ETLError.self, "\(bad.serialized())",
                performing: { try ScheduledLaunchpadInput(json: ["member": "alice", "period": "daily", "lookback_days": bad]) })
            #expect(error.code == .invalidQuery && error.message.contains("from 0 to 31"), "\(error.message)")
        }
        let team = try TeamLaunchpadInput(json: ["team": "t", "period": "weekly", "lookback_days": 0])
        #expect(team.lookbackDays == 0)
        #expect(try TeamLaunchpadInput(json: team.json) == team)
        let dated = try #require(
            throws: ETLError.self,
            performing: {
                try TeamLaunchpadInput(json: [
                    "team": "t", "data_date_start": "2024-03-01", "data_date_end": "2024-03-31", "lookback_days": 2,
                ])
            })
        #expect(dated.message.contains("without a 'period'"), "\(dated.message)")
    }

    @Test func scheduledInputParsesAndBuildsTheQuery() throws {
        let input = try ScheduledLaunchpadInput(json: ["member": "Alice", "period": "weekly", "service_root": "staging", "version": "1.0"])
        #expect(input == ScheduledLaunchpadInput(member: "Alice", period: .weekly, serviceRoot: "staging", version: "1.0"))
        let query = try input.query(window: ("2024-03-04", "2024-03-10"))
        #expect(query.member == "alice")
        #expect(query.dataDateStart == "2024-03-04")
        #expect(query.dataDateEnd == "2024-03-10")
        #expect(throws: ETLError.self) { try ScheduledLaunchpadInput(json: ["member": "alice", "period": "hourly"]) }
        #expect(throws: ETLError.self) { try ScheduledLaunchpadInput(json: ["member": "alice", "period": "daily", "from": "x"]) }
        // A wrong type is refused, not read as absent (it ran against devel without a word).
        let typed = #expect(throws: ETLError.self) {
            try ScheduledLaunchpadInput(json: ["member": "alice", "period": "daily", "version": 1])
        }
        #expect(typed?.message.contains("has 'version' 1; give a string") == true, "\(String(describing: typed))")
        #expect(LaunchpadSchedules.scheduleID(member: "Alice", period: .daily) == "launchpad-alice-daily")

        // Encoded as the schedule's action argument, it reads back.
        let data = try JSONEncoder().encode(input)
        let json = try JSONDecoder().decode(JSONValue.self, from: data)
        #expect(try ScheduledLaunchpadInput(json: json) == input)
    }

    @Test func theLaunchpadRegistrationServesTheScheduledAndTeamFlowsOnItsQueue() {
        let configuration = LaunchpadWorkerConfiguration(environment: [:])
        let launchpad = configuration.registrations.first { $0.flow == LaunchpadFlow.self }
        #expect(launchpad?.companions.map { $0.name } == ["ScheduledLaunchpadFlow", "TeamLaunchpadFlow"])
    }

    /// Updating a schedule with no lookback given keeps the one it has. Before, running
    /// `--schedule` again (as the README's upgrade notes ask) reset a custom lookback to 2.
    @Test func anUpdateWithoutALookbackKeepsTheSchedulesOwn() async throws {
        let client = try await DevServer.client()
        let schedules = LaunchpadSchedules(client: client, taskQueue: flowQueue("keep"))
        let member = "keep-\(UUID().uuidString.prefix(8).lowercased())"
        var input = ScheduledLaunchpadInput(member: member, period: .daily, lookbackDays: 5)
        let (handle, created) = try await schedules.createOrUpdate(input)
        do {
            #expect(created)
            input.lookbackDays = nil
            #expect(try await schedules.createOrUpdate(input).created == false)
            #expect(try await schedules.lookbackDays(ofSchedule: handle.id) == 5)
            input.lookbackDays = 0
            _ = try await schedules.createOrUpdate(input)
            #expect(try await schedules.lookbackDays(ofSchedule: handle.id) == 0)
            #expect(try await schedules.lookbackDays(ofSchedule: "launchpad-nobody-\(UUID().uuidString)") == nil)
        } catch {
            try? await handle.delete()
            throw error
        }
        try await schedules.delete(id: handle.id)
        #expect(try await schedules.lookbackDays(ofSchedule: handle.id) == nil)
    }

    /// `--delete-schedule` deletes only the project's schedules: a mistyped id deleted any
    /// schedule of the namespace.
    @Test func deletingAScheduleOfAnotherToolIsRefused() async throws {
        let client = try await DevServer.client()
        let queue = flowQueue("other")
        let id = "reports-\(UUID().uuidString.prefix(8).lowercased())"
        let handle = try await client.createSchedule(
            id: id, spec: .daily(hour: 3, minute: 0),
            action: .startWorkflow(type: "Other", workflowID: id, taskQueue: queue, args: [JSONValue.null]))
        let error = await #expect(throws: ETLError.self) { try await LaunchpadSchedules(client: client, taskQueue: queue).delete(id: id) }
        let kept = (try? await handle.describe())?.startWorkflow != nil
        try await handle.delete()
        #expect(error?.message.contains("not one of this project's") == true)
        #expect(kept)
    }

    /// A schedule made by `LaunchpadSchedules`, triggered: the run computes yesterday's window
    /// from its workflow clock and runs the ETL through the Launchpad activities.
    @Test func aTriggeredScheduleRunsTheFlowOverThePreviousDay() async throws {
        try await withScheduledFlowWorker("sched") { client, handle, _ in
            try await handle.trigger()
            let workflowID = try await handle.firstStartedWorkflowID()
            let result = try await within(120) { try await client.workflowHandle(id: workflowID).result(as: FlowResult.self) }
            let expected = ScheduledLaunchpadFlow.window(.daily, now: Date(), lookbackDays: ScheduledLaunchpadFlow.defaultLookbackDays)
            #expect(result.summary["member"] == "alice-example")
            #expect(result.summary["data_date_start"] == expected.start)
            #expect(result.summary["data_date_end"] == expected.end)
            #expect(result.workflowId == workflowID)
        }
    }

    /// A backfill (what a catch-up after an outage does): each run covers the period before
    /// the time the schedule meant it to start, not before today, and reads the two days before
    /// it again. So the run for the 5th loads what is dated the 4th: a comment emailed on the
    /// 5th with a `Date:` of the 4th, which the run for the 4th could not see. Before, the
    /// window was the 5th alone.
    @Test func aBackfilledRunCoversItsScheduledPeriodAndTheDaysBefore() async throws {
        try await withScheduledFlowWorker("backfill") { client, handle, store in
            // The daily action at 2024-03-06T01:00Z covers 2024-03-05, and 03-03 and 03-04 again.
            let from = try #require(TemporalDate.parse("2024-03-06T00:00:00Z"))
            try await handle.backfill(from: from, to: from.addingTimeInterval(3_600 * 12))
            let workflowID = try await handle.firstStartedWorkflowID()
            let result = try await within(120) { try await client.workflowHandle(id: workflowID).result(as: FlowResult.self) }
            #expect(result.summary["data_date_start"] == "2024-03-03")
            #expect(result.summary["data_date_end"] == "2024-03-05")
            let days = Set(try await store.events(employeeId: "alice-example").map { String($0.timeUTC.prefix(10)) })
            #expect(days.contains("2024-03-04"), "\(days.sorted())")
            #expect(days.isSubset(of: ["2024-03-03", "2024-03-04", "2024-03-05"]), "\(days.sorted())")
        }
    }

    /// A backfill of three days (or a catch-up after an outage) runs each day's flow, one
    /// after another. With the old policy (skip runs that are due while one runs) it started
    /// the first and dropped the other two days.
    @Test func aBackfillOfSeveralDaysRunsEveryDay() async throws {
        try await withScheduledFlowWorker("days") { client, handle, _ in
            // Days no other test backfills: the runs' workflow ids are the schedule's action id
            // (the member's) plus the scheduled time.
            let from = try #require(TemporalDate.parse("2024-03-12T00:00:00Z"))
            try await handle.backfill(from: from, to: from.addingTimeInterval(3 * 86_400 - 3_600))
            var ids: [String] = []
            for _ in 0..<300 where ids.count < 3 {
                ids = try await handle.describe().recentActions.map(\.startWorkflowResult.workflowID)
                if ids.count < 3 { try await Task.sleep(for: .milliseconds(200)) }
            }
            #expect(try await handle.describe().raw.info.overlapSkipped == 0)
            try #require(ids.count == 3, "runs started: \(ids)")
            var days: [String] = []
            for id in ids {
                let result = try await within(120) { try await client.workflowHandle(id: id).result(as: FlowResult.self) }
                days.append(result.summary["data_date_end"] ?? "")
            }
            #expect(days.sorted() == ["2024-03-11", "2024-03-12", "2024-03-13"])
        }
    }

    /// A run after a gap (runs that failed, a paused schedule, an outage longer than the
    /// catch-up window) also reads the days since its schedule's last completed run read
    /// through, which Temporal hands it: a paused schedule skips its paused periods for good.
    /// Before, the run read its own period only, and the days between stayed unread with every
    /// run green. A backfill of older periods does not move the mark back (the next regular run
    /// reads no months again), and a run catches up at most `ScheduleCatchUp.maximumDays`,
    /// naming the days before as not read (partial).
    @Test func aRunAfterAGapReadsFromWhereTheLastCompletedRunStopped() async throws {
        try await withScheduledFlowWorker("gap") { client, handle, _ in
            var seen: Set<String> = []
            func run(_ day: String) async throws -> FlowResult { try await backfilled(day, client, handle, seen: &seen) }
            // The run for 2024-04-03 reads 04-01…04-02 (its day, and the lookback).
            let first = try await run("2024-04-03")
            #expect(first.summary["data_date_end"] == "2024-04-02" && first.summary[FlowResult.caughtUpKey] == nil)
            #expect(first.summary[FlowResult.readThroughKey] == "2024-04-02")
            // Nothing ran for a week; the run for 2024-04-10 reads from 04-03 (less its lookback).
            let second = try await run("2024-04-10")
            #expect(second.summary["data_date_start"] == "2024-04-01", "\(second.summary)")
            #expect(second.summary["data_date_end"] == "2024-04-09")
            #expect(second.summary[FlowResult.caughtUpKey]?.contains("read through 2024-04-02") == true, "\(second.summary)")
            #expect(!second.isPartial)
            // A backfill of March keeps the mark at 04-09: the next regular run reads its own days.
            let backfill = try await run("2024-03-05")
            #expect(backfill.summary["data_date_end"] == "2024-03-04" && backfill.summary[FlowResult.readThroughKey] == "2024-04-09")
            let next = try await run("2024-04-11")
            #expect(next.summary["data_date_start"] == "2024-04-08" && next.summary[FlowResult.caughtUpKey] == nil, "\(next.summary)")
            // Two months paused: 31 days are read before the run's window, the rest named unread.
            let late = try await run("2024-06-10")
            #expect(late.summary["data_date_start"] == "2024-05-07", "\(late.summary)")
            #expect(
                late.isPartial && late.summary[FlowResult.skippedKey]?.contains("schedule: 2024-04-11…2024-05-06 not read") == true,
                "\(late.summary)")
        }
    }

    /// A run that read a listing short of its `total_size` (what Launchpad's unordered paging
    /// loses, which the next read may find) does not move its schedule's mark: the next run
    /// reads its days again. Before, the mark moved on, the days were never read again, and
    /// every later run was green. (The fixture cuts private proposals from their pages after
    /// counting them, so every read of gina-prolific's listing comes up short: the second run,
    /// short again, moves the mark on.)
    @Test func aRunThatReadAListingShortLeavesItsDaysToTheNextRun() async throws {
        try await withScheduledFlowWorker(
            "reread", member: "gina-prolific", fixture: ["--shift-listings", "--privacy-after-cut"]
        ) { client, handle, _ in
            var seen: Set<String> = []
            let first = try await backfilled("2024-04-03", client, handle, seen: &seen)
            #expect(first.summary[FlowResult.rereadKey] != nil && first.isPartial, "\(first.summary)")
            // Its window is 03-31…04-02 (its day and two days of lookback): the mark stays before it.
            #expect(first.summary[FlowResult.readThroughKey] == "2024-03-30", "\(first.summary)")
            // The next day's run reads from where the mark stayed (less its lookback).
            let second = try await backfilled("2024-04-04", client, handle, seen: &seen)
            #expect(second.summary["data_date_start"] == "2024-03-29", "\(second.summary)")
            #expect(second.summary["data_date_end"] == "2024-04-03")
            // Short again after a read again: the shortfall lasts (the fixture's counted private
            // proposals, which no read finds), so the mark moves on rather than hold for good.
            #expect(second.summary[FlowResult.readThroughKey] == "2024-04-03", "\(second.summary)")
            #expect(second.summary[FlowResult.rereadKey]?.contains("moves on") == true, "\(second.summary)")
            // The next run's new day, read short, was read once only: its mark holds again (it
            // moved on: the previous result's note was taken for a hold, for every later run).
            let third = try await backfilled("2024-04-05", client, handle, seen: &seen)
            #expect(third.summary[FlowResult.rereadKey] != nil, "\(third.summary)")
            #expect(third.summary[FlowResult.readThroughKey] == "2024-04-03", "\(third.summary)")
        }
    }

    /// A schedule whose input writes its member in capitals (the results hold it lower-cased),
    /// or its service root another way, caught nothing up: every run after a gap was green with
    /// the days between never read.
    @Test func aScheduleCatchesUpWhateverCaseItsMemberOrHowItsRootIsWritten() async throws {
        try await withScheduledFlowWorker("case", member: "Alice-Example") { client, handle, _ in
            var seen: Set<String> = []
            let first = try await backfilled("2024-04-03", client, handle, seen: &seen)
            #expect(first.summary["member"] == "alice-example" && first.summary[FlowResult.readThroughKey] == "2024-04-02")
            let second = try await backfilled("2024-04-10", client, handle, seen: &seen)
            #expect(second.summary["data_date_start"] == "2024-04-01", "\(second.summary)")
            #expect(second.summary[FlowResult.caughtUpKey]?.contains("read through 2024-04-02") == true, "\(second.summary)")
            // The same Launchpad named another way (upper-case host, no trailing slash).
            let action = try #require(try await handle.describe().startWorkflow)
            let queue = action.taskQueue.name
            let serviceRoot = try #require(
                try client.dataConverter.fromPayloads(action.input, as: JSONValue.self)["service_root"]?.stringValue)
            let input = ScheduledLaunchpadInput(
                member: "alice-example", period: .daily,
                serviceRoot: serviceRoot.replacingOccurrences(of: "127.0.0.1", with: "LOCALHOST").trimmingCharacters(in: ["/"]),
                version: "devel", applicationName: "another-name")
            try await handle.update(
                spec: LaunchpadSchedules.spec(for: .daily), action: LaunchpadSchedules(client: client, taskQueue: queue).action(for: input),
                policies: LaunchpadSchedules.policies)
            // The scheduler applies an update a moment after it answers (a backfill sent at
            // once was lost behind it).
            try await within(30) {
                while try await handle.describe().startWorkflow?.input.payloads.first?.data.contains(Data("another-name".utf8)) != true {
                    try await Task.sleep(for: .milliseconds(100))
                }
            }
            let third = try await backfilled("2024-04-20", client, handle, seen: &seen)
            #expect(third.summary["data_date_start"] == "2024-04-08", "\(third.summary)")
        }
    }

    /// The last result's subject matches whatever the case of its names, and whichever way
    /// the same Launchpad is written; another Launchpad, member or team does not.
    @Test func aSubjectMatchesWhateverItsSpelling() {
        let recorded = ["member": "alice-example", "launchpad": "temporal-etl-swift@production:devel"]
        for (subject, expected) in [
            (["member": "Alice-Example", "launchpad": "lpetl@https://API.launchpad.net:443/:1.0"], true),
            (["member": "alice-example", "launchpad": "temporal-etl-swift@https://api.launchpad.net/:devel"], true),
            (["member": "alice-example", "launchpad": "temporal-etl-swift@staging:devel"], false),
            (["member": "bob-example", "launchpad": "temporal-etl-swift@production:devel"], false),
            (["team": "alice-example", "launchpad": "temporal-etl-swift@production:devel"], false),
        ] {
            #expect(ScheduleCatchUp.sameSubject(recorded, subject) == expected, "\(subject)")
        }
    }

    /// A scheduled run whose input is bad (a schedule made with the `temporal` CLI) failed every
    /// day with its progress stage left at `started`: `LaunchpadStage = 'failed'` never listed
    /// it. The member flow's own input check says so too.
    @Test func aRunThatFailsOnItsInputIsListedAsFailed() async throws {
        try await withScheduledFlowWorker("badinput") { client, handle, _ in
            let queue = try #require(try await handle.describe().startWorkflow?.taskQueue.name)
            let attributes = await LaunchpadProgress.startAttributes(client: client) { _ in }
            for (type, input) in [
                (ScheduledLaunchpadFlow.name, JSONValue.object(["member": "~alice", "period": "daily"])),
                (
                    LaunchpadFlow.name,
                    JSONValue.object(["member": "alice-example", "data_date_start": "2024-13-01", "data_date_end": "2024-13-02"])
                ),
            ] {
                let run = try await client.startWorkflow(
                    type: type, id: "bad-input-\(UUID().uuidString.prefix(8))", taskQueue: queue, args: input,
                    options: WorkflowOptions(searchAttributes: attributes))
                let failure = try await within(60) { await flowFailure(run) }
                #expect(failure?.type == ETLError.Code.invalidQuery.rawValue, "\(type): \(String(describing: failure))")
                let stage = try await run.fetchHistory().filter { $0.eventType == .upsertWorkflowSearchAttributes }.last.flatMap {
                    LaunchpadProgress.stage.read(from: $0.upsertWorkflowSearchAttributesEventAttributes.searchAttributes.indexedFields)
                }
                #expect(stage == "failed", "\(type)")
            }
        }
    }

    /// Backfills the schedule's daily action at 01:00Z of `day`, and returns its run's result
    /// (`seen`: the runs already waited for).
    private func backfilled(_ day: String, _ client: TemporalClient, _ handle: ScheduleHandle, seen: inout Set<String>) async throws
        -> FlowResult
    {
        let nominal = try #require(TemporalDate.parse("\(day)T00:00:00Z"))
        // The run of that day's action (its id ends with the action's time). A backfill sent
        // right after the schedule was created or updated is at times lost by the scheduler
        // under load: sent again every 15 s without a run (a second one for the same day would
        // not be taken for another day's).
        var id: String?
        for round in 0..<300 where id == nil {
            if round % 75 == 0 { try await handle.backfill(from: nominal, to: nominal.addingTimeInterval(3_600 * 12)) }
            id = try await handle.describe().recentActions.map(\.startWorkflowResult.workflowID).first {
                !seen.contains($0) && $0.hasSuffix("\(day)T01:00:00Z")
            }
            if id == nil { try await Task.sleep(for: .milliseconds(200)) }
        }
        let workflowID = try #require(id, "no run started for \(day)")
        seen.insert(workflowID)
        return try await within(120) { try await client.workflowHandle(id: workflowID).result(as: FlowResult.self) }
    }

    /// Runs `body` with a worker serving LaunchpadFlow and ScheduledLaunchpadFlow on a fresh
    /// queue and a paused daily schedule of alice-example against the fixture server (unique id:
    /// created directly rather than by createOrUpdate, with the same policies); deletes the
    /// schedule and stops the worker after.
    private func withScheduledFlowWorker(
        _ prefix: String, member: String = "alice-example", fixture: [String] = [],
        _ body: (TemporalClient, ScheduleHandle, any FlowStore) async throws -> Void
    ) async throws {
        let server = try await startFixture(fixture)
        let directory = try TemporaryDirectory()
        let client = try await DevServer.client()
        let queue = flowQueue(prefix)
        let environment = FlowEnvironment(store: try SQLiteEventStore(path: directory.file("events.db")))
        var options = WorkerOptions()
        options.gracefulShutdownTimeout = .seconds(1)
        let runner = try LaunchpadWorkerRunner(
            client: client,
            registrations: [FlowRegistration(LaunchpadFlow.self, taskQueue: queue, companions: [ScheduledLaunchpadFlow.self])],
            environment: environment, options: options)
        let runTask = Task { try await runner.run() }
        let input = ScheduledLaunchpadInput(
            member: member, period: .daily, serviceRoot: server.serviceRoot,
            version: "devel", applicationName: "lpetl-tests")
        let handle = try await client.createSchedule(
            id: flowQueue("launchpad-test-\(prefix)"), spec: LaunchpadSchedules.spec(for: .daily),
            action: LaunchpadSchedules(client: client, taskQueue: queue).action(for: input),
            policies: LaunchpadSchedules.policies, paused: true)
        var failure: (any Error)?
        do { try await body(client, handle, environment.store) } catch { failure = error }
        try? await handle.delete()
        await runner.shutdown(gracePeriod: .seconds(1))
        _ = await runTask.result
        server.stop()
        if let failure { throw failure }
    }
}

extension ScheduleHandle {
    /// The id of the first workflow the schedule started (polls its recent actions, ~20 s at most).
    func firstStartedWorkflowID() async throws -> String {
        for _ in 0..<100 {
            if let id = try await describe().recentActions.first?.startWorkflowResult.workflowID { return id }
            try await Task.sleep(for: .milliseconds(200))
        }
        throw FlowTimeout(seconds: 20)
    }
}
