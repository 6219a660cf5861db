import Foundation
import Temporal
import TemporalProto
import TemporalTestSupport
import TemporalWorker
import Testing

@testable import LaunchpadETL
@testable import LaunchpadFixture

/// `TeamLaunchpadInput`: what is accepted and what is said about the rest.
@Suite struct TeamLaunchpadInputTests {
    @Test func validInputsParse() throws {
        let dated = try TeamLaunchpadInput(json: ["team": "Example-Team", "data_date_start": "2024-03-01", "data_date_end": "2024-03-31"])
        #expect(dated.team == "example-team")
        #expect(dated.maxParallel == TeamLaunchpadInput.defaultMaxParallel)
        #expect(dated.window(now: Date()) == ("2024-03-01", "2024-03-31"))
        let scheduled = try TeamLaunchpadInput(json: ["team": "t", "period": "weekly", "max_parallel": 7, "service_root": "staging"])
        #expect(scheduled.period == .weekly)
        #expect(scheduled.maxParallel == 7)
        #expect(try TeamLaunchpadInput(json: scheduled.json) == scheduled)
        #expect(!scheduled.formerMembers && scheduled.json["former_members"] == nil, "absent, so older workers accept the input")
        let former = try TeamLaunchpadInput(json: ["team": "t", "period": "daily", "former_members": true])
        #expect(try former.formerMembers && TeamLaunchpadInput(json: former.json) == former)
        // An activity input encoded before the field existed still decodes.
        let old = try JSONDecoder().decode(
            TeamLaunchpadInput.self,
            from: Data(#"{"team":"t","period":"daily","service_root":"production","version":"devel","max_parallel":4}"#.utf8))
        #expect(!old.formerMembers)
        // Clients that write unset fields as null (Python's None): absent, as for the text fields.
        let nulls = try TeamLaunchpadInput(json: [
            "team": "t", "data_date_start": "2024-03-01", "data_date_end": "2024-03-31", "period": .null, "max_parallel": .null,
            "former_members": .null, "lookback_days": .null, "service_root": .null,
        ])
        #expect(nulls.period == nil && nulls.maxParallel == TeamLaunchpadInput.defaultMaxParallel && !nulls.formerMembers)
    }

    @Test(
        arguments: [
            (JSONValue.string("x"), "must be a JSON object"),
            (["data_date_start": "2024-03-01", "data_date_end": "2024-03-31"], "needs a 'team'"),
            (["team": "~ubuntu-server", "period": "daily"], "not a Launchpad team name; names are lowercase letters"),
            (["team": "t"], "needs 'data_date_start' and 'data_date_end'"),
            (["team": "t", "period": "monthly"], "use \"daily\" or \"weekly\""),
            (["team": "t", "period": "daily", "data_date_start": "2024-03-01"], "both a 'period' and dates"),
            (["team": "t", "period": "daily", "max_parallel": 0], "from 1 to 50"),
            (["team": "t", "period": "daily", "members": ["a"]], "has no field 'members'"),
            (["team": "t", "period": "daily", "former_members": "yes"], "use true or false"),
            // A wrong type is refused, not read as absent (it ran against devel or production).
            (["team": "t", "period": "daily", "version": 1.0], "has 'version'"),
            (["team": "t", "period": "daily", "service_root": ["staging"]], "has 'service_root' [\"staging\"]"),
            (["team": "t", "period": "daily", "data_date_start": 20_240_301], "has 'data_date_start' 20240301"),
        ] as [(JSONValue, String)])
    func badInputsSayWhatIsWrong(input: JSONValue, expected: String) {
        do {
            _ = try TeamLaunchpadInput(json: input)
            Issue.record("accepted \(input.serialized())")
        } catch {
            #expect(error.code == .invalidQuery)
            #expect(error.nonRetryable)
            #expect(error.message.contains(expected), "\(error.message)")
        }
    }
}

/// `TeamLaunchpadFlow` on the dev server against the fixture's `example-team`.
@Suite struct TeamLaunchpadFlowTests {
    /// Starts `input`'s team flow on the workers' Launchpad queue; `progress`: with the
    /// progress search attributes, as the starter and the schedules start it.
    static func startTeam(_ workers: FlowWorkers, _ input: TeamLaunchpadInput, progress: Bool = false) async throws -> WorkflowHandle {
        let attributes = progress ? await LaunchpadProgress.startAttributes(client: workers.client) { _ in } : [:]
        #expect(!progress || !attributes.isEmpty, "the progress attributes could not be registered")
        return try await workers.client.startWorkflow(
            type: TeamLaunchpadFlow.name, id: "team-\(UUID().uuidString.prefix(8))", taskQueue: workers.launchpadQueue, args: input.json,
            options: WorkflowOptions(searchAttributes: attributes))
    }

    /// The stage a run's last progress upsert recorded (nil: none).
    static func lastStage(_ handle: WorkflowHandle) async throws -> String? {
        try await handle.fetchHistory().filter { $0.eventType == .upsertWorkflowSearchAttributes }.last.flatMap {
            LaunchpadProgress.stage.read(from: $0.upsertWorkflowSearchAttributesEventAttributes.searchAttributes.indexedFields)
        }
    }

    /// The team's members are listed (across pages), one LaunchpadFlow child runs per member
    /// with at most `max_parallel` open at once, and the sums match the store.
    @Test func aTeamFansOutOneChildPerMemberWithBoundedParallelism() async throws {
        let server = try await startFixture()
        let directory = try TemporaryDirectory()
        let workers = try await FlowWorkers(databasePath: directory.file("events.db"), pageSize: 3)
        do {
            let input = TeamLaunchpadInput(
                team: "example-team", dataDateStart: "2024-03-01", dataDateEnd: "2024-03-31",
                serviceRoot: server.serviceRoot, applicationName: "lpetl-tests", maxParallel: 2)
            let handle = try await Self.startTeam(workers, input, progress: true)
            let result = try await within(480) { try await handle.result(as: FlowResult.self) }
            #expect(try await Self.lastStage(handle) == "loaded")
            #expect(result.summary["team"] == "example-team")
            #expect(result.summary["members"] == String(FixtureDataset.exampleTeamMembers.count))
            #expect(result.summary["data_date_start"] == "2024-03-01")
            #expect(result.summary["member"] == nil)
            // Every member read anonymously (the test workers have no credentials): said once,
            // and not a partial result (what is public was read whole).
            #expect(result.summary[FlowResult.accessKey] == FlowResult.anonymousAccess)
            #expect(!result.isPartial)
            let stored = try await workers.database.events()
            // Events one member's run credits to another (a review of the other's proposal) are
            // in both runs' batches, and stored once.
            #expect(result.itemsProcessed >= stored.count)
            #expect(result.itemsInserted == stored.count)
            let byMember = Dictionary(grouping: stored, by: \.employeeId).mapValues(\.count)
            #expect(byMember["alice-example"] == FixtureDataset.aliceMarch2024EventCount)
            #expect(byMember["carol-busy"] == FixtureDataset.carolMarch2024EventCount)
            // dave's vote on bob's proposal, which only bob's run reads, is dave's: before, a team
            // run lost it (dave's own review targets do not lead there).
            let daves = stored.filter { $0.employeeId == "dave-quiet" }
            #expect(daves.map(\.id) == ["mp-470002-v1260101"], "\(daves.map(\.id))")
            #expect(daves.first?.type == "merge_proposal:voted")
            #expect(Set(byMember.keys).isSubset(of: Set(FixtureDataset.exampleTeamMembers)))
            // Every member's load recorded its window, so the report lists members without any
            // event too, their weeks as extracted (0), not as missing.
            let windows = try await workers.database.loadedWindows()
            #expect(windows.map(\.member) == FixtureDataset.exampleTeamMembers.sorted())
            #expect(
                windows.allSatisfy { $0.firstDay == "2024-03-01" && $0.lastDay == "2024-03-31" && $0.batchId.hasPrefix(handle.id + "/") })
            let report = ActivityReport(counts: try await workers.database.eventCounts(), windows: windows)
            #expect(report.members == FixtureDataset.exampleTeamMembers.sorted())
            let quiet = FixtureDataset.exampleTeamMembers.filter { byMember[$0] == nil }
            #expect(quiet.allSatisfy { report.cell(member: $0, week: "2024-03-11") == "0" }, "\(quiet)")

            // The children, from the parent's history: one per member, ids <parent>/<member>,
            // never more than two open at once.
            var open = 0
            var maxOpen = 0
            var childIDs: [String] = []
            for event in try await handle.fetchHistory() {
                switch event.attributes {
                case .startChildWorkflowExecutionInitiatedEventAttributes(let a)?:
                    childIDs.append(a.workflowID)
                    open += 1
                    maxOpen = max(maxOpen, open)
                case .childWorkflowExecutionCompletedEventAttributes?, .childWorkflowExecutionFailedEventAttributes?:
                    open -= 1
                default: break
                }
            }
            #expect(childIDs == FixtureDataset.exampleTeamMembers.map { "\(handle.id)/\($0)" })
            #expect(maxOpen == 2)
            // The roster activity has the time a slow Launchpad needs (2 min ran out on one
            // Retry-After outage, on every attempt) and heartbeats meanwhile.
            let roster = try await handle.fetchHistory().compactMap { event in
                if case .activityTaskScheduledEventAttributes(let a)? = event.attributes,
                    a.activityType.name == TeamLaunchpadFlow.rosterActivityName
                {
                    return a
                }
                return nil
            }.first
            #expect(
                (roster?.startToCloseTimeout.seconds ?? 0) >= 1_800 && roster?.heartbeatTimeout.seconds == 60,
                "\(String(describing: roster))")
            await workers.stop()
        } catch {
            await workers.stop()
            throw error
        }
    }

    /// Someone who leaves the team while its run goes on is still credited by the others' runs:
    /// each member's run credits the people the team's run listed at its start. dave-quiet
    /// leaves once the roster was listed; his vote on bob's proposal, which only bob's run
    /// reads, was lost (bob's run read the team's people again, without dave), and the team run
    /// ended green.
    @Test func someoneWhoLeavesTheTeamDuringItsRunIsStillCredited() async throws {
        let server = try await startFixture(["--people-leaving", "dave-quiet"])
        let directory = try TemporaryDirectory()
        let workers = try await FlowWorkers(databasePath: directory.file("events.db"))
        do {
            let input = TeamLaunchpadInput(
                team: "example-team", dataDateStart: "2024-03-01", dataDateEnd: "2024-03-31",
                serviceRoot: server.serviceRoot, applicationName: "lpetl-tests", maxParallel: 4)
            let handle = try await Self.startTeam(workers, input)
            let result = try await within(480) { try await handle.result(as: FlowResult.self) }
            #expect(result.summary["members"] == String(FixtureDataset.exampleTeamMembers.count))
            let daves = try await workers.database.events().filter { $0.employeeId == "dave-quiet" }
            #expect(daves.map(\.id) == ["mp-470002-v1260101"], "\(daves.map(\.id))")
            // The members' inputs carry the people to credit, as the roster listed them.
            let credited = try await handle.fetchHistory().compactMap { event -> [String]? in
                guard case .startChildWorkflowExecutionInitiatedEventAttributes(let a)? = event.attributes else { return nil }
                return try DataConverter.default.fromPayloads(a.input, as: FlowInput.self).creditPeople
            }
            #expect(credited == Array(repeating: FixtureDataset.exampleTeamMembers, count: 4), "\(credited)")
            await workers.stop()
        } catch {
            await workers.stop()
            throw error
        }
    }

    /// `mixed-team`'s members listing counts a private sub-team it does not show: the team run
    /// extracts the member it can see and says in `skipped` that the listing showed 1 of 2, so
    /// the run is partial. Before, it finished green as if alice were the whole team.
    @Test func membersTheRosterDoesNotShowMakeTheRunPartial() async throws {
        let server = try await startFixture()
        let directory = try TemporaryDirectory()
        let workers = try await FlowWorkers(databasePath: directory.file("events.db"))
        do {
            let input = TeamLaunchpadInput(
                team: "mixed-team", dataDateStart: "2024-03-01", dataDateEnd: "2024-03-31",
                serviceRoot: server.serviceRoot, applicationName: "lpetl-tests", maxParallel: 4)
            let handle = try await Self.startTeam(workers, input, progress: true)
            let result = try await within(120) { try await handle.result(as: FlowResult.self) }
            #expect(result.summary["members"] == "1")
            let skipped = result.summary[FlowResult.skippedKey] ?? ""
            #expect(skipped.hasPrefix("team roster: ~mixed-team lists 1 of its 2 members to this worker"), "\(result.summary)")
            #expect(result.isPartial)
            // Green in the Web UI, but findable as partial (a schedule has no exit status).
            #expect(try await Self.lastStage(handle) == "partial")
            await workers.stop()
        } catch {
            await workers.stop()
            throw error
        }
    }

    /// `parent-team` holds a person, a sub-team (which holds a person, a person already seen,
    /// the parent again, and a further sub-team) and a suspended account: the team runs one
    /// flow per person, each once, none for a team, and the suspended account is skipped and
    /// named, not a failure.
    @Test func subTeamsAreExpandedAndSuspendedMembersSkipped() async throws {
        let server = try await startFixture()
        let directory = try TemporaryDirectory()
        let workers = try await FlowWorkers(databasePath: directory.file("events.db"), pageSize: 2)
        do {
            let input = TeamLaunchpadInput(
                team: "parent-team", dataDateStart: "2024-03-01", dataDateEnd: "2024-03-31",
                serviceRoot: server.serviceRoot, applicationName: "lpetl-tests", maxParallel: 4)
            let handle = try await Self.startTeam(workers, input)
            let result = try await within(480) { try await handle.result(as: FlowResult.self) }
            #expect(result.summary["members"] == "4")
            #expect(result.summary["skipped_members"] == "erin-suspended (account suspended)")
            #expect(result.isPartial, "a suspended member's activity was not read: --strict counts the run as partial")
            var childIDs: [String] = []
            for event in try await handle.fetchHistory() {
                if case .startChildWorkflowExecutionInitiatedEventAttributes(let a)? = event.attributes { childIDs.append(a.workflowID) }
            }
            #expect(childIDs.sorted() == ["alice-example", "bob-example", "dave-quiet", "erin-suspended"].map { "\(handle.id)/\($0)" })
            let stored = try await workers.database.events()
            #expect(result.itemsProcessed >= stored.count)
            #expect(Set(stored.map(\.employeeId)).isSubset(of: ["alice-example", "bob-example", "dave-quiet"]))
            await workers.stop()
        } catch {
            await workers.stop()
            throw error
        }
    }

    /// A deactivated former member whose old name another account holds now cannot be stored
    /// apart from it: the team run skips and names it, and is otherwise green. Before, that
    /// member's failure failed the team run, every run (no retry can change it).
    @Test func aDeactivatedMemberWhoseNameWasTakenIsSkippedAndNamed() async throws {
        let server = try await startFixture()
        let directory = try TemporaryDirectory()
        let workers = try await FlowWorkers(databasePath: directory.file("events.db"), pageSize: 3)
        do {
            let input = TeamLaunchpadInput(
                team: "quiet-team", dataDateStart: "2024-03-01", dataDateEnd: "2024-03-31",
                serviceRoot: server.serviceRoot, applicationName: "lpetl-tests", maxParallel: 2, formerMembers: true)
            let handle = try await Self.startTeam(workers, input)
            let result = try await within(480) { try await handle.result(as: FlowResult.self) }
            #expect(
                result.summary[FlowResult.skippedMembersKey]
                    == "dave-quiet-deactivatedaccount (deactivated, and its old name is another account's now)",
                "\(result.summary)")
            #expect(result.isPartial)
            await workers.stop()
        } catch {
            await workers.stop()
            throw error
        }
    }

    /// With `former_members`, people whose membership ended but may have been active during
    /// the window are extracted too: henry-teamwork (expired during March 2024) and frank-edge
    /// (deactivated, joined before it), not grace-owner (expired before it) or gina-prolific
    /// (joined after it). Without it, only the members as of the run (the test above).
    @Test func formerMembersWhoMayHaveBeenMembersDuringTheWindowAreExtractedToo() async throws {
        let server = try await startFixture()
        let directory = try TemporaryDirectory()
        let workers = try await FlowWorkers(databasePath: directory.file("events.db"), pageSize: 3)
        do {
            let input = TeamLaunchpadInput(
                team: "example-team", dataDateStart: "2024-03-01", dataDateEnd: "2024-03-31",
                serviceRoot: server.serviceRoot, applicationName: "lpetl-tests", maxParallel: 4, formerMembers: true)
            let handle = try await Self.startTeam(workers, input)
            let result = try await within(480) { try await handle.result(as: FlowResult.self) }
            let people = FixtureDataset.exampleTeamMembers + FixtureDataset.exampleTeamFormerMembersInMarch2024
            #expect(result.summary["members"] == String(people.count))
            let stored = try await workers.database.events()
            #expect(result.itemsProcessed >= stored.count)
            let byMember = Dictionary(grouping: stored, by: \.employeeId).mapValues(\.count)
            #expect(byMember["henry-teamwork"] ?? 0 > 0 && byMember["frank-edge"] ?? 0 > 0, "\(byMember)")
            #expect(Set(byMember.keys).isSubset(of: Set(people)), "\(byMember.keys.sorted())")
            var childIDs: [String] = []
            var windows: [String: String] = [:]
            for event in try await handle.fetchHistory() {
                if case .startChildWorkflowExecutionInitiatedEventAttributes(let a)? = event.attributes {
                    childIDs.append(a.workflowID)
                    let flowInput = try #require(try JSONSerialization.jsonObject(with: a.input.payloads[0].data) as? [String: Any])
                    let query = try #require(flowInput["args"] as? [String: Any])
                    windows[String(a.workflowID.split(separator: "/").last!)] =
                        "\(query["data_date_start"] ?? "?")…\(query["data_date_end"] ?? "?")"
                }
            }
            #expect(childIDs.sorted() == people.sorted().map { "\(handle.id)/\($0)" })
            // henry's membership expired on March 10th: his flow reads March 1st to 10th, and
            // none of his later activity counts for the team. frank's deactivation has no date:
            // the whole month. Before, every former member was read over the whole month.
            #expect(windows["henry-teamwork"] == "2024-03-01…2024-03-10", "\(windows)")
            #expect(windows["frank-edge"] == "2024-03-01…2024-03-31", "\(windows)")
            #expect(windows["alice-example"] == "2024-03-01…2024-03-31", "\(windows)")
            let henryLatest = stored.filter { $0.employeeId == "henry-teamwork" }.map(\.time).max()
            #expect(
                henryLatest.map { $0 < UTCTimestamp(startOf: CivilDate(iso: "2024-03-11")!) } ?? true, "\(String(describing: henryLatest))")
            await workers.stop()
        } catch {
            await workers.stop()
            throw error
        }
    }

    @Test func anUnknownTeamFailsAtOnceWithAClearError() async throws {
        let server = try await startFixture()
        let directory = try TemporaryDirectory()
        let workers = try await FlowWorkers(databasePath: directory.file("events.db"))
        let input = TeamLaunchpadInput(
            team: "no-such-team", dataDateStart: "2024-03-01", dataDateEnd: "2024-03-31",
            serviceRoot: server.serviceRoot)
        let handle = try await Self.startTeam(workers, input, progress: true)
        let failure = try await within(60) { await flowFailure(handle) }
        #expect(try await Self.lastStage(handle) == "failed")
        let attempts = try await handle.fetchHistory().compactMap { event -> Int32? in
            if case .activityTaskStartedEventAttributes(let a)? = event.attributes { return a.attempt }
            return nil
        }
        await workers.stop()
        #expect(failure?.type == ETLError.Code.unknownTeam.rawValue)
        #expect(failure?.nonRetryable == true)
        #expect(failure?.message.contains("no-such-team") == true, "\(failure?.message ?? "")")
        #expect(attempts == [1], "an unknown team is not retried")
    }

    /// A team run over a window that has not ended (started by the CLI or another client; the
    /// starter refuses it) listed the roster and started every member's flow, each of which
    /// failed the same way: one failure per member. It fails at once now, saying why.
    @Test func aTeamRunOverAWindowThatHasNotEndedFailsAtOnce() async throws {
        let server = try await startFixture()
        let directory = try TemporaryDirectory()
        let workers = try await FlowWorkers(databasePath: directory.file("events.db"))
        // Far ahead: a run that straddles midnight UTC cannot see it ended.
        let input = TeamLaunchpadInput(
            team: "example-team", dataDateStart: "2024-03-01", dataDateEnd: "2099-01-01", serviceRoot: server.serviceRoot)
        let handle = try await Self.startTeam(workers, input)
        let failure = try await within(60) { await flowFailure(handle) }
        let started = try await handle.fetchHistory().filter {
            $0.eventType == .activityTaskScheduled || $0.eventType == .startChildWorkflowExecutionInitiated
        }
        await workers.stop()
        #expect(failure?.type == ETLError.Code.invalidQuery.rawValue)
        #expect(failure?.message.contains("has not ended") == true, "\(failure?.message ?? "")")
        #expect(started.isEmpty, "\(started.map(\.eventType))")
    }

    /// A `continuation` in a start written by hand (only runs a team run continued into carry
    /// one) is refused at once: it skipped the roster, the date checks and the window's end,
    /// and ran the members and window it named (one failure per member over 2030 here).
    @Test func aContinuationInAStartIsRefused() async throws {
        let server = try await startFixture()
        let directory = try TemporaryDirectory()
        let workers = try await FlowWorkers(databasePath: directory.file("events.db"))
        let input = TeamLaunchpadInput(
            team: "example-team", dataDateStart: "2024-03-01", dataDateEnd: "2024-03-31", serviceRoot: server.serviceRoot)
        let carried = TeamContinuation(
            windowStart: "2030-01-01", windowEnd: "2030-01-31", members: ["alice-example"], total: 1, hidden: [], periods: [:],
            creditTeam: false, tally: TeamTally(), runs: 1)
        let handle = try await workers.client.startWorkflow(
            type: TeamLaunchpadFlow.name, id: "team-\(UUID().uuidString.prefix(8))", taskQueue: workers.launchpadQueue,
            args: try carried.attached(to: input.json))
        let failure = try await within(60) { await flowFailure(handle) }
        let started = try await handle.fetchHistory().filter {
            $0.eventType == .activityTaskScheduled || $0.eventType == .startChildWorkflowExecutionInitiated
        }
        await workers.stop()
        #expect(failure?.type == ETLError.Code.invalidQuery.rawValue)
        #expect(failure?.message.contains("'continuation'") == true, "\(failure?.message ?? "")")
        #expect(started.isEmpty, "\(started.map(\.eventType))")
    }

    /// `StartLaunchpadWorkflow --schedule daily --team T`'s schedule, backfilled for one past
    /// day: the run covers the day before its scheduled time (with `lookback_days` 0, no day
    /// before it), one child per member.
    @Test func aTeamScheduleRunsThePreviousDayForEveryMember() async throws {
        let server = try await startFixture()
        let directory = try TemporaryDirectory()
        let workers = try await FlowWorkers(databasePath: directory.file("events.db"))
        let schedules = LaunchpadSchedules(client: workers.client, taskQueue: workers.launchpadQueue)
        let dated = TeamLaunchpadInput(team: "example-team", dataDateStart: "2024-03-01", dataDateEnd: "2024-03-31")
        await #expect(throws: ETLError.self) { try await schedules.createOrUpdate(team: dated) }
        let input = TeamLaunchpadInput(
            team: "example-team", period: .daily, serviceRoot: server.serviceRoot,
            applicationName: "lpetl-tests", maxParallel: 4, lookbackDays: 0)  // exactly the day: no days before it
        let (handle, created) = try await schedules.createOrUpdate(team: input)
        do {
            #expect(created)
            #expect(handle.id == "launchpad-team:example-team-daily")
            #expect(try await schedules.createOrUpdate(team: input).created == false)
            let description = try await handle.describe()
            #expect(description.workflowType == TeamLaunchpadFlow.name)
            #expect(description.taskQueue == workers.launchpadQueue)
            try await handle.pause()
            let from = try #require(TemporalDate.parse("2024-03-05T00:00:00Z"))
            try await handle.backfill(from: from, to: from.addingTimeInterval(3_600 * 12))
            let workflowID = try await handle.firstStartedWorkflowID()
            let result = try await within(180) { try await workers.client.workflowHandle(id: workflowID).result(as: FlowResult.self) }
            #expect(result.summary["data_date_start"] == "2024-03-04")
            #expect(result.summary["data_date_end"] == "2024-03-04")
            #expect(result.summary["members"] == "4")
            let stored = try await workers.database.events()
            #expect(!stored.isEmpty)
            #expect(stored.allSatisfy { $0.timeUTC.hasPrefix("2024-03-04") })
            #expect(result.itemsInserted == stored.count)
        } catch {
            try? await handle.delete()
            await workers.stop()
            throw error
        }
        try await handle.delete()
        await workers.stop()
    }
}
