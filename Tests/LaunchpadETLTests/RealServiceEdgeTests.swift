import Foundation
import Testing
@testable import LaunchpadETL

/// What the real Launchpad does that an extractor built on assumptions gets wrong, modelled
/// by the fixture (`FixtureDataset.addFrank`) and checked event by event.
@Suite struct RealServiceEdgeTests {
    /// frank-edge in March 2024: a bug whose only task was created after the window (a
    /// reporter search by task date misses it), a hidden comment (not activity), a comment
    /// dated without fraction and with escaped emoji and U+00A0, a redacted assignee, and a bug
    /// listed once per task.
    static let frankExpected: [String: String] = [
        "b-4000001-c": "bug:created", "b-4000002-m2": "bug:commented", "b-4000003-c": "bug:created",
    ]

    @Test func reTargetedBugsAndHiddenCommentsAreHandledAsOnLaunchpad() async throws {
        let server = try await startFixture()
        let directory = try TemporaryDirectory()
        let database = try Database(path: directory.file("events.db"))
        let extractor = try LaunchpadExtractor(query: try marchQuery("frank-edge", serviceRoot: server.serviceRoot),
                                               client: try fixtureClient(server, pageSize: 1), store: database)
        let result = try await extractor.run(batchId: "frank")
        _ = try await database.loadStagedBatch(result.batch)
        let events = try await database.events(employeeId: "frank-edge")
        #expect(Dictionary(uniqueKeysWithValues: events.map { ($0.id, $0.type) }) == Self.frankExpected)
        let byId = Dictionary(uniqueKeysWithValues: events.map { ($0.id, $0) })
        #expect(byId["b-4000001-c"]?.timeUTC == "2024-03-05T10:00:00.250000Z")
        #expect(byId["b-4000002-m2"]?.timeUTC == "2024-03-07T09:00:00Z")
    }

    /// The fixture itself behaves like Launchpad: `created_since` compares the task's date.
    @Test func theFixtureFiltersCreatedSinceOnTheTasksDate() async throws {
        let server = try await startFixture()
        let client = try fixtureClient(server)
        let person = client.apiBase + "~frank-edge"
        let statuses = LaunchpadEnums.bugTaskStatuses.map { "status=\(LaunchpadURL.queryEncode($0))" }.joined(separator: "&")
        let byTaskDate = try await client.collection(client.apiBase + "bugs?ws.op=searchTasks&bug_reporter=\(LaunchpadURL.queryEncode(person))"
            + "&created_since=2024-02-29T00:00:00Z&created_before=2024-04-02T00:00:00Z&\(statuses)")
        #expect(!byTaskDate.contains { $0["bug_link"]?.stringValue?.hasSuffix("/bugs/4000001") == true })
        #expect(byTaskDate.filter { $0["bug_link"]?.stringValue?.hasSuffix("/bugs/4000003") == true }.count == 2)
        let messages = try await client.collection(client.apiBase + "bugs/4000002/messages")
        #expect(messages.map { $0["visible"]?.boolValue } == [true, false, true])
    }
}
