import Foundation
import Temporal
import TemporalTestSupport
import TemporalWorker
import Testing

@testable import LaunchpadETL
@testable import LaunchpadFixture

/// Two workers on one task queue, each with its own connection to one PostgreSQL store (as
/// two machines would be), running overlapping flows: every event is stored once.
@Suite(.enabled(if: PostgresTestServer.isAvailable, PostgresTestServer.unavailableReason))
struct SharedStoreFlowTests {
    @Test func twoWorkersOnOneQueueWriteOneStoreWithoutDuplicates() async throws {
        let fixture = try await startFixture()
        let url = try await PostgresTestServer.shared().makeDatabase()
        let a = try await FlowWorkers(store: try await PostgresEventStore.connect(url: url), pageSize: 50)
        let b = try await FlowWorkers(
            store: try await PostgresEventStore.connect(url: url),
            launchpadQueue: a.launchpadQueue, mockQueue: a.mockQueue, pageSize: 50)
        var handles: [WorkflowHandle] = []
        do {
            // The same member and window several times over, plus a busy member twice:
            // every run after the first finds its events already stored.
            for _ in 0..<6 {
                handles.append(try await a.start(LaunchpadFlow.self, launchpadInput("alice-example", serviceRoot: fixture.serviceRoot)))
            }
            for _ in 0..<2 {
                handles.append(try await a.start(LaunchpadFlow.self, launchpadInput("carol-busy", serviceRoot: fixture.serviceRoot)))
            }
            for round in 0..<3 {
                for member in 1...4 {
                    let input = JSONValue.object([
                        "type": "LaunchpadQuery",
                        "args": .object([
                            "member": .string("member-\(member)"), "data_date_start": "2024-03-01", "data_date_end": "2024-03-31",
                        ]),
                    ])
                    handles.append(try await b.start(MockFlow.self, input, id: "mock-\(member)-\(round)-\(UUID().uuidString.prefix(6))"))
                }
            }
            let pending = handles
            let results = try await within(300) {
                try await withThrowingTaskGroup(of: FlowResult.self) { group in
                    for handle in pending { group.addTask { try await handle.result(as: FlowResult.self) } }
                    return try await group.reduce(into: [FlowResult]()) { $0.append($1) }
                }
            }
            let activitiesA = a.runner.workers.map(\.metrics.snapshot.activities).reduce(0, +)
            let activitiesB = b.runner.workers.map(\.metrics.snapshot.activities).reduce(0, +)
            await a.stop()
            await b.stop()

            let expected = FixtureDataset.aliceMarch2024EventCount + FixtureDataset.carolMarch2024EventCount + 4 * MockData.eventsPerQuery
            let store = try await PostgresEventStore.connect(url: url)
            #expect(results.count == handles.count)
            #expect(try await store.eventCount() == expected)
            #expect(results.map(\.itemsInserted).reduce(0, +) == expected, "every event is inserted by exactly one flow")
            let (duplicates, staged) = try await store.perform { connection throws(ETLError) in
                (
                    try connection.scalarInt("SELECT count(*) - count(DISTINCT id) FROM events"),
                    try connection.scalarInt("SELECT count(*) FROM staged_events")
                )
            }
            #expect(duplicates == 0)
            #expect(staged == 0, "loads leave no staging rows behind")
            #expect(activitiesA > 0 && activitiesB > 0, "both workers ran activities (A \(activitiesA), B \(activitiesB))")
        } catch {
            await a.stop()
            await b.stop()
            throw error
        }
    }
}
