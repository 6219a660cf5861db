import Foundation
import Temporal
import TemporalProto
import TemporalTestSupport
import TemporalWorker
import Testing

@testable import LaunchpadETL
@testable import LaunchpadFixture

/// A team's members' runs are children of the team's run, about nine events each in its
/// history: a big team outgrew the server's history limit.
@Suite struct TeamContinueAsNewTests {
    /// On a server whose history limits are low (as a team of thousands of members meets the
    /// default 51,200 events), `crowd-team`'s 17 members do not fit in one run's history: the
    /// run continues as new when the server suggests it, after the members in flight finished,
    /// and the chain's last run returns the whole team's result. Before, the server terminated
    /// the run at its limit with no result, and every re-run again.
    @Test func aTeamWhoseMembersOutgrowOneHistoryContinuesAsNew() async throws {
        let temporal = try await DevServer.start(extraArguments: [
            "--dynamic-config-value", "limit.historyCount.suggestContinueAsNew=30",
            "--dynamic-config-value", "limit.historyCount.error=\(Self.historyLimit)",
        ])
        defer { temporal.stop() }
        let server = try await startFixture()
        let directory = try TemporaryDirectory()
        let workers = try await FlowWorkers(
            store: try SQLiteEventStore(path: directory.file("events.db")),
            client: try await TemporalClient.connect(target: temporal.address))
        do {
            let input = TeamLaunchpadInput(
                team: "crowd-team", dataDateStart: "2024-03-01", dataDateEnd: "2024-03-31",
                serviceRoot: server.serviceRoot, applicationName: "lpetl-tests", maxParallel: 3)
            let handle = try await TeamLaunchpadFlowTests.startTeam(workers, input, progress: true)
            let result = try await within(480) { try await handle.result(as: FlowResult.self) }
            let people = ["alice-example"] + FixtureDataset.crowdMembers
            #expect(result.summary["members"] == String(people.count), "\(result.summary)")
            #expect(result.summary["team"] == "crowd-team")
            #expect(!result.isPartial, "\(result.summary)")
            let stored = try await workers.database.events()
            #expect(result.itemsInserted == stored.count)
            #expect(stored.count == FixtureDataset.aliceMarch2024EventCount)
            #expect(try await workers.database.loadedWindows().map(\.member) == people.sorted())

            // The chain: every run but the last continued as new, each within the limit, and
            // every member ran once, in one of them.
            var runID: String? = handle.resultRunID
            var runs: [[Temporal_Api_History_V1_HistoryEvent]] = []
            while let run = runID {
                let history = try await workers.client.workflowHandle(id: handle.id, runID: run).fetchHistory()
                runs.append(history)
                if case .workflowExecutionContinuedAsNewEventAttributes(let a)? = history.last?.attributes {
                    runID = a.newExecutionRunID
                } else {
                    runID = nil
                }
            }
            #expect(runs.count >= 2, "\(runs.map(\.count))")
            #expect(runs.last?.last?.eventType == .workflowExecutionCompleted)
            #expect(runs.allSatisfy { $0.count < Self.historyLimit }, "\(runs.map(\.count))")
            let children = runs.flatMap { history in
                history.compactMap { event -> String? in
                    if case .startChildWorkflowExecutionInitiatedEventAttributes(let a)? = event.attributes { return a.workflowID }
                    return nil
                }
            }
            #expect(children == people.map { "\(handle.id)/\($0)" }, "\(children)")
            // Only the first run lists the roster; the progress attributes go along the chain.
            let rosterReads = runs.map { history in history.filter { $0.eventType == .activityTaskScheduled }.count }
            #expect(rosterReads.first == 1 && rosterReads.dropFirst().allSatisfy { $0 == 0 }, "\(rosterReads)")
            let stages = runs.map { history in
                history.filter { $0.eventType == .upsertWorkflowSearchAttributes }.compactMap {
                    LaunchpadProgress.stage.read(from: $0.upsertWorkflowSearchAttributesEventAttributes.searchAttributes.indexedFields)
                }
            }
            // Each run that handed on says so (closed, it no longer reads as `started`); each
            // next run says `started` again, and the last how the team's run ended.
            #expect(stages.first == ["continued"], "\(stages)")
            #expect(stages.dropFirst().dropLast().allSatisfy { $0 == ["started", "continued"] }, "\(stages)")
            #expect(stages.last == ["started", "loaded"], "\(stages)")
            // The runs after the first are of their own type, which workers of releases before
            // the chain do not have (they refused the continuation's input, failing the team).
            let types = runs.map { $0.first?.workflowExecutionStartedEventAttributes.workflowType.name }
            #expect(types.first == TeamLaunchpadFlow.name && types.dropFirst().allSatisfy { $0 == TeamLaunchpadFlow.continuedName })
            // Each run replays: where it stopped starting members is decided from its history.
            let replayer = WorkflowReplayer(
                definitions: [TeamLaunchpadFlow.name, TeamLaunchpadFlow.continuedName].map {
                    WorkflowDefinition(TeamLaunchpadFlow.self, name: $0)
                })
            for history in runs {
                let replayed = try replayer.replay(events: history, workflowID: handle.id)
                #expect(replayed.closed)
            }
            await workers.stop()
        } catch {
            await workers.stop()
            throw error
        }
    }

    /// The history limit of the test's server (events).
    static let historyLimit = 100
}
