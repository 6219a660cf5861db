import Foundation
import Temporal
import TemporalProto
import TemporalTestSupport
import Testing

@testable import LaunchpadETL
@testable import LaunchpadFixture

/// Bad inputs fail the workflow at once with a clear, non-retryable application error.
@Suite struct BadFlowInputTests {
    static let cases: [(String, JSONValue, String, String)] = [
        (
            "unknown type", ["type": "JiraQuery", "args": [:]], "UnknownQueryType",
            "unknown query type 'JiraQuery'; known query types: LaunchpadQuery"
        ),
        ("no type", ["args": [:]], "InvalidQuery", "has no \"type\""),
        (
            "bad date", launchpadInput("alice-example", serviceRoot: "production", from: "2024-02-30"), "InvalidQuery",
            "data_date_start '2024-02-30' names no day: 2024-02 has 29 days"
        ),
        (
            "before Launchpad", launchpadInput("alice-example", serviceRoot: "production", from: "0001-01-01"), "InvalidQuery",
            "data_date_start 0001-01-01 is before 2004-01-01: Launchpad opened in 2004 and holds nothing older"
        ),
        (
            "dates swapped", launchpadInput("alice-example", serviceRoot: "production", from: "2024-04-01", to: "2024-03-01"),
            "InvalidQuery", "is after data_date_end"
        ),
        ("not an object", "LaunchpadQuery", "InvalidQuery", "must be a JSON object"),
    ]

    @Test func invalidInputsFailTheWorkflowWithoutRunningActivities() async throws {
        let directory = try TemporaryDirectory()
        let workers = try await FlowWorkers(databasePath: directory.file("events.db"))
        do {
            for (name, input, type, message) in Self.cases {
                let handle = try await workers.start(LaunchpadFlow.self, input)
                let failure = try await within(30) { await flowFailure(handle) }
                #expect(failure?.type == type, "\(name)")
                #expect(failure?.nonRetryable == true, "\(name)")
                #expect(failure?.message.contains(message) == true, "\(name): \(failure?.message ?? "no failure")")
                let history = try await handle.fetchHistory()
                #expect(!history.contains { $0.eventType == .activityTaskScheduled }, "\(name)")
                // Failed by the first workflow task, not after failing tasks or retries.
                #expect(!history.contains { $0.eventType == .workflowTaskFailed }, "\(name)")
                #expect(history.last?.eventType == .workflowExecutionFailed, "\(name)")
                #expect(history.filter { $0.eventType == .workflowTaskFailed }.isEmpty, "\(name)")
            }
        } catch {
            await workers.stop()
            throw error
        }
        await workers.stop()
    }

    /// A window that ends after now would finish green without what happens until its end: the
    /// run fails at once, saying when the window ends. Before, it loaded what there was.
    @Test func aWindowThatHasNotEndedFailsAtItsFirstAttempt() async throws {
        let server = try await startFixture()
        let directory = try TemporaryDirectory()
        let workers = try await FlowWorkers(databasePath: directory.file("events.db"))
        let today = CivilDate(daysSinceEpoch: Int((Date().timeIntervalSince1970 / 86_400).rounded(.down))).description
        let handle = try await workers.start(
            LaunchpadFlow.self,
            launchpadInput("alice-example", serviceRoot: server.serviceRoot, from: "2024-03-01", to: today))
        let failure = try await within(30) { await flowFailure(handle) }
        let history = try await handle.fetchHistory()
        await workers.stop()
        #expect(failure?.type == "InvalidQuery")
        #expect(failure?.nonRetryable == true)
        #expect(failure?.message.contains("the window 2024-03-01…\(today) has not ended") == true, "\(failure?.message ?? "")")
        #expect(history.filter { $0.eventType == .activityTaskStarted }.count == 1)
        #expect(try await workers.database.events(employeeId: "alice-example").isEmpty)
    }

    /// A window that ends within two minutes by the worker's clock is waited for (a run started
    /// just after midnight UTC, checked by the starter's or the server's clock, on a worker whose
    /// clock is a little behind): it was refused for good. Further away, it is refused.
    @Test func aWindowEndingWithinTheClockSkewAllowanceIsWaitedFor() throws {
        let query = try LaunchpadQuery(
            applicationName: LaunchpadQuery.defaultApplicationName, serviceRoot: "production", version: "devel", member: "alice-example",
            dataDateStart: "2024-03-01", dataDateEnd: "2024-03-31")
        let end = Date(timeIntervalSince1970: 1_711_929_600)  // 2024-04-01T00:00:00Z
        #expect(LaunchpadExtractActivity.clockSkewWait(query, now: end.addingTimeInterval(-30)) == .seconds(30))
        #expect(LaunchpadExtractActivity.clockSkewWait(query, now: end.addingTimeInterval(-600)) == nil)
        #expect(LaunchpadExtractActivity.clockSkewWait(query, now: end) == nil)
        #expect(throws: ETLError.self) { try query.requireEnded(now: end.addingTimeInterval(-600)) }
    }

    /// A team given as a member (`--member example-team`) is refused at once, naming `--team`:
    /// on Launchpad a team acts through its members, so its own activity is almost nothing and
    /// the run would look like a quiet member's.
    @Test func aTeamGivenAsAMemberIsRefusedNamingTeam() async throws {
        let server = try await startFixture()
        let directory = try TemporaryDirectory()
        let workers = try await FlowWorkers(databasePath: directory.file("events.db"))
        let handle = try await workers.start(LaunchpadFlow.self, launchpadInput("example-team", serviceRoot: server.serviceRoot))
        let failure = try await within(30) { await flowFailure(handle) }
        await workers.stop()
        #expect(failure?.type == "InvalidQuery", "\(String(describing: failure))")
        #expect(failure?.nonRetryable == true)
        #expect(
            failure?.message.contains("'example-team'") == true && failure?.message.contains("--team example-team") == true,
            "\(failure?.message ?? "")")
        #expect(try await workers.database.loadedWindows().isEmpty)
    }

    @Test func unknownMemberFailsAfterOneExtractAttempt() async throws {
        let server = try await startFixture()
        let directory = try TemporaryDirectory()
        let workers = try await FlowWorkers(databasePath: directory.file("events.db"))
        let handle = try await workers.start(LaunchpadFlow.self, launchpadInput("nobody-here", serviceRoot: server.serviceRoot))
        let failure = try await within(30) { await flowFailure(handle) }
        let history = try await handle.fetchHistory()
        await workers.stop()
        #expect(failure?.type == "UnknownLaunchpadMember")
        #expect(failure?.nonRetryable == true)
        #expect(
            failure?.message.contains("extract_data failed: no Launchpad person named 'nobody-here'") == true, "\(failure?.message ?? "")")
        let attempts = history.compactMap { event -> Int32? in
            if case .activityTaskStartedEventAttributes(let a)? = event.attributes { return a.attempt }
            return nil
        }
        #expect(attempts == [1])
    }
}
