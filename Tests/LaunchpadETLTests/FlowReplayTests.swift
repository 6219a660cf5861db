import Foundation
import Temporal
import TemporalProto
import TemporalWorker
import Testing

@testable import LaunchpadETL
@testable import LaunchpadFixture

/// Runs started by the previous release (before store-routed loads: no `store-routed-load`
/// patch marker, transform and load on the flow queue) must replay under today's code, or
/// every open run would fail its workflow tasks after an upgrade. The histories were recorded
/// with the previous release's `LaunchpadWorker` against the fixture server and the dev server
/// (`temporal workflow show --output json`).
@Suite struct FlowReplayTests {
    static func history(_ name: String) -> URL {
        URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("Histories/\(name).json")
    }

    /// The team histories were recorded with the release before the roster activity (no
    /// `team-roster-hidden-members` marker: `list_team_members`, `list_team_members_and_former`),
    /// and with the release that gave former members their periods (`TeamRoster.periods`), so
    /// that later changes keep replaying it. The `-with-progress` ones were recorded with the
    /// release that gave team runs their own progress (`team-progress-search-attributes`) and
    /// the `partial` stage: `StartLaunchpadWorkflow --team mixed-team` (a partial team run) and
    /// its member's flow.
    @Test(arguments: [
        "launchpadflow-before-store-routing", "mockflow-before-store-routing", "teamflow-before-roster-activity",
        "teamflow-former-members-before-roster-activity", "teamflow-former-members-with-periods", "teamflow-with-progress",
        "launchpadflow-with-progress",
    ])
    func historiesOfThePreviousReleaseReplay(name: String) throws {
        let replayer = WorkflowReplayer(definitions: [
            WorkflowDefinition(LaunchpadFlow.self, name: LaunchpadFlow.name), WorkflowDefinition(MockFlow.self, name: MockFlow.name),
            WorkflowDefinition(TeamLaunchpadFlow.self, name: TeamLaunchpadFlow.name),
        ])
        let result = try replayer.replay(historyFile: Self.history(name))
        #expect(result.closed)
        #expect(result.eventCount > 10)
    }

    /// The failures after which a flow extracts again (the batch is out of reach or no longer
    /// matches), and those it reports as they are.
    @Test func whichLoadFailuresLeadToANewExtraction() {
        func activityError(_ cause: Failure, activity: String = "transform_data") -> ActivityError {
            var failure = Failure()
            failure.message = "activity failed"
            failure.activityFailureInfo.activityType.name = activity
            failure.cause = cause
            return ActivityError(failure: failure)
        }
        var timeout = Failure()
        timeout.message = "activity ScheduleToStart timeout"
        timeout.timeoutFailureInfo.timeoutType = .scheduleToStart
        #expect(LaunchpadFlow.batchUnusable(activityError(timeout))?.contains("no worker of the store") == true)
        // A load not picked up again may have committed in its store: the result will name it
        // (split_stores) beside the store the next read went to; a transform wrote nothing.
        // (An attempt after a first: the server gives the timeout the last attempt's failure.)
        let queue = "q@store-0ef40aed6b735833ac6433e8dbe1cf51"
        var retried = timeout
        retried.cause.message = "activity StartToClose timeout"
        retried.cause.timeoutFailureInfo.timeoutType = .startToClose
        #expect(LaunchpadFlow.loadLeftBehind(activityError(retried, activity: "load_data"), storeQueue: queue) == "0ef40aed")
        #expect(
            LaunchpadFlow.loadLeftBehind(activityError(timeout, activity: "load_data"), storeQueue: queue) == nil,
            "a first attempt ran nowhere")
        #expect(LaunchpadFlow.loadLeftBehind(activityError(retried), storeQueue: queue) == nil)
        timeout.timeoutFailureInfo.timeoutType = .startToClose
        #expect(LaunchpadFlow.batchUnusable(activityError(timeout)) == nil)
        #expect(LaunchpadFlow.loadLeftBehind(activityError(timeout, activity: "load_data"), storeQueue: queue) == nil)
        for (type, expected) in [("StagingMismatch", true), ("StagedBatchInOtherStore", true), ("DatabaseError", false)] {
            var application = Failure()
            application.message = "boom"
            application.applicationFailureInfo.type = type
            #expect((LaunchpadFlow.batchUnusable(activityError(application)) != nil) == expected, "\(type)")
        }
        // A timeout the flow gives up on says what to do (it failed with the bare timeout: no
        // store, no action named).
        for (type, expected) in [
            (Temporal_Api_Enums_V1_TimeoutType.scheduleToStart, "start a worker on that store"), (.heartbeat, "stopped heartbeating"),
            (.startToClose, "run the flow again"),
        ] {
            timeout.timeoutFailureInfo.timeoutType = type
            let failure = LaunchpadFlow.failure(activityError(timeout), extractions: 3) as? ApplicationError
            #expect(failure?.type == "ActivityTimedOut" && failure?.nonRetryable == true, "\(type)")
            #expect(failure?.message.contains("transform_data timed out") == true && failure?.message.contains(expected) == true, "\(type)")
        }
        // A timeout after a failed attempt (the server makes that attempt's failure the
        // timeout's cause) is a timeout, naming the attempt's failure: it was reported as that
        // attempt's failure, with its type and without the timeout's advice.
        var afterAFailure = timeout
        afterAFailure.timeoutFailureInfo.timeoutType = .scheduleToStart
        afterAFailure.cause.message = "the database is locked"
        afterAFailure.cause.applicationFailureInfo.type = "DatabaseError"
        let late = LaunchpadFlow.failure(activityError(afterAFailure, activity: "load_data"), extractions: 3) as? ApplicationError
        #expect(late?.type == "ActivityTimedOut", "\(String(describing: late))")
        #expect(
            late?.message.contains("DatabaseError: the database is locked") == true
                && late?.message.contains("start a worker on that store") == true,
            "\(String(describing: late))")
        // An extract nobody picked up runs on the flow's own queue, not a store's: it was told
        // to start a worker of the store holding a batch that did not exist yet, within 600 s.
        timeout.timeoutFailureInfo.timeoutType = .scheduleToStart
        let extract = LaunchpadFlow.failure(activityError(timeout, activity: "extract_data")) as? ApplicationError
        #expect(extract?.message.contains("the flow's task queue") == true, "\(String(describing: extract))")
        #expect(
            extract?.message.contains("6.0 hours") == true || extract?.message.contains("21600") == true, "\(String(describing: extract))")
        #expect(extract?.message.contains("store") == false, "\(String(describing: extract))")
    }

    /// `LaunchpadWorker replay` replays a directory of saved histories, reports each, and
    /// fails when one no longer replays (here: a history whose transform activity was renamed).
    @Test func theReplayCommandChecksABuildAgainstSavedHistories() async throws {
        let worker = try ExecutableTests.executable("LaunchpadWorker")
        let directory = Self.history("x").deletingLastPathComponent().path
        let (status, output) = try await ExecutableTests.run(worker, ["replay", directory])
        #expect(status == 0, "\(output)")
        #expect(output.contains("all 7 histories replay"), "\(output)")
        let scratch = try TemporaryDirectory()
        let changed = try String(contentsOf: Self.history("mockflow-before-store-routing"), encoding: .utf8)
            .replacingOccurrences(of: "\"transform_data\"", with: "\"transform_rows\"")
        try changed.write(toFile: scratch.file("changed.json"), atomically: true, encoding: .utf8)
        let (badStatus, badOutput) = try await ExecutableTests.run(
            worker, ["replay", scratch.file("changed.json"), Self.history("launchpadflow-before-store-routing").path])
        #expect(badStatus != 0)
        #expect(badOutput.contains("FAIL \(scratch.file("changed.json"))"), "\(badOutput)")
        #expect(badOutput.contains("1 of 2 histories do not replay with this build"), "\(badOutput)")
        // A directory that holds no history (an export that wrote nothing, or into
        // sub-directories) fails beside the others; it passed unchecked.
        let nothing = try TemporaryDirectory()
        try FileManager.default.createDirectory(atPath: nothing.file("staging"), withIntermediateDirectories: true)
        let (emptyStatus, emptyOutput) = try await ExecutableTests.run(worker, ["replay", directory, nothing.file("staging")])
        #expect(emptyStatus == 1, "\(emptyOutput)")
        #expect(emptyOutput.contains("FAIL \(nothing.file("staging")): the directory holds no history file"), "\(emptyOutput)")
        #expect(emptyOutput.contains("all 7 histories replay; 1 of the directories given held none"), "\(emptyOutput)")
        let (noneStatus, none) = try await ExecutableTests.run(worker, ["replay", nothing.file("staging")])
        #expect(noneStatus == 64 && none.contains("no history files found"), "\(none)")
    }
}
