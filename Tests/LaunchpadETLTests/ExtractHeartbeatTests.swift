import Foundation
import Synchronization
import Temporal
import TemporalTestSupport
import TemporalTesting
import Testing

@testable import LaunchpadETL
@testable import LaunchpadFixture

/// The extract attempt heartbeats from its start, not only from its first checkpoint: the store
/// calls before it (the store's Launchpad, the resume plan, the stall count) wait their turn on
/// the store's one connection, which another member's load may hold for longer than the heartbeat
/// timeout, and such an attempt timed out before doing anything, counted as a stall.
@Suite struct ExtractHeartbeatTests {
    @Test func anAttemptWaitingForItsStoreHeartbeats() async throws {
        let server = try await startFixture()
        let directory = try TemporaryDirectory()
        let store = try SQLiteEventStore(path: directory.file("events.db"))
        let environment = FlowEnvironment(store: store)
        let query = try LaunchpadQuery(
            applicationName: "lpetl-tests", serviceRoot: server.serviceRoot, version: "devel", member: "alice-example",
            dataDateStart: "2024-03-01", dataDateEnd: "2024-03-31")
        let request = ExtractRequest(input: FlowInput(query: query), batchId: "heartbeat/\(UUID())")
        // Another caller holds the store's connection (a long load) until the attempt has
        // heartbeated three times, or 20 s.
        let env = ActivityTestEnvironment()
        let holds = Mutex(false)
        let holding = Task {
            try await store.perform { _ in
                holds.withLock { $0 = true }
                let until = Date().addingTimeInterval(20)
                while env.heartbeats.count < 3, Date() < until { Thread.sleep(forTimeInterval: 0.05) }
            }
        }
        while !holds.withLock({ $0 }) { try await Task.sleep(for: .milliseconds(10)) }
        let output = try await env.run(
            LaunchpadExtractActivity.definition("extract_data", environment: environment), input: request, as: ExtractOutput.self,
            heartbeatTimeout: .seconds(3))
        _ = try await holding.value
        #expect(output.batch.rowCount > 0)
        // Heartbeats (without details: there is no checkpoint yet) while the store was held.
        let beforeAnyCheckpoint = env.heartbeats.prefix { $0 == nil }.count
        #expect(beforeAnyCheckpoint >= 3, "\(env.heartbeats.count) heartbeats, \(beforeAnyCheckpoint) before the first checkpoint")

        // Details a previous attempt left that this release cannot read (a newer one's) are not
        // overwritten by heartbeats without details before the attempt has a checkpoint.
        let holdsAgain = Mutex(false)
        let holdingAgain = Task {
            try await store.perform { _ in
                holdsAgain.withLock { $0 = true }
                Thread.sleep(forTimeInterval: 2.5)
            }
        }
        while !holdsAgain.withLock({ $0 }) { try await Task.sleep(for: .milliseconds(10)) }
        let retry = ActivityTestEnvironment()
        _ = try await retry.run(
            LaunchpadExtractActivity.definition("extract_data", environment: environment),
            input: ExtractRequest(input: FlowInput(query: query), batchId: "heartbeat/\(UUID())"), as: ExtractOutput.self, attempt: 2,
            previousHeartbeat: ["written_by": "a later release"], heartbeatTimeout: .seconds(3))
        _ = try await holdingAgain.value
        #expect(retry.heartbeats.first != nil, "\(retry.heartbeats.count) heartbeats")
        #expect(!retry.heartbeats.contains { $0 == nil })
    }
}
