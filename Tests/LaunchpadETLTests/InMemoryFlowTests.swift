import Foundation
import Temporal
import TemporalProto
import TemporalTesting
import TemporalWorker
import Testing

@testable import LaunchpadETL

/// The ETL's flows on `TemporalTesting`'s in-memory service: no Temporal server. The first
/// test is the README's example of testing a workflow with mock activities.
@Suite struct InMemoryFlowTests {
    @Test func mockFlowWithMockActivities() async throws {
        let names = MockFlow.activityOptions
        let extract = ActivityDefinition(names.extractName) { (request: ExtractRequest, _: ActivityContext) in
            ExtractOutput(
                batch: StagedBatch(batchId: request.batchId, rowCount: 3, sha256: "staged"), attempt: 1,
                resumedFrom: nil, requests: 0)
        }
        let transform = ActivityDefinition(names.transformName) { (batch: StagedBatch, _: ActivityContext) in batch }
        let load = ActivityDefinition(names.loadName) { (batch: StagedBatch, _: ActivityContext) in batch.rowCount }

        let env = try await TestWorkflowEnvironment.start()
        defer { env.shutdown() }
        let launch = try #require(FlowLauncher.mockLaunches().first)
        let result = try await env.execute(
            MockFlow.self, input: launch.args, activities: [extract, transform, load],
            id: launch.workflowId)
        #expect(result.itemsProcessed == 3 && result.itemsInserted == 3)
        #expect(result.summary["member"] == "member-1")
        let scheduled = try env.service.history(workflowID: launch.workflowId).filter { $0.eventType == .activityTaskScheduled }
        #expect(
            scheduled.map(\.activityTaskScheduledEventAttributes.activityType.name) == [
                names.extractName, names.transformName, names.loadName,
            ])
    }

    @Test func mockFlowWithItsRealActivitiesAndAnSQLiteStore() async throws {
        let directory = try TemporaryDirectory()
        let store = try SQLiteEventStore(path: directory.file("events.db"))
        let activities = MockFlow.activities(environment: FlowEnvironment(store: store))
        let env = try await TestWorkflowEnvironment.start()
        defer { env.shutdown() }
        let launch = try #require(FlowLauncher.mockLaunches().first)
        // Transform and load go to the store's queue (StoreRouting): a second worker serves it.
        let storeQueue = StoreRouting.queue(base: "test-mock", store: store.identity)
        let result = try await env.withWorker(taskQueue: storeQueue, activities: activities) { _ in
            try await env.withWorker(taskQueue: "test-mock", workflows: [MockFlow.self], activities: activities) { worker in
                let handle = try await env.client.startWorkflow(
                    type: MockFlow.name, id: launch.workflowId, taskQueue: worker.taskQueue,
                    args: launch.args)
                return try await handle.result(as: FlowResult.self)
            }
        }
        #expect(result.itemsInserted == MockData.eventsPerQuery)
        #expect(try await store.eventCount() == MockData.eventsPerQuery)
    }

    /// A mock run's staging left behind (the run cancelled or terminated between its extract
    /// and its load) is found by the purge of abandoned staging, as a Launchpad run's is: the
    /// purge finds batches by their checkpoints, which the mock extract did not write, and its
    /// rows stayed for good.
    @Test func aMockRunsAbandonedStagingIsPurged() async throws {
        let directory = try TemporaryDirectory()
        let store = try SQLiteEventStore(path: directory.file("events.db"))
        let extract = MockFlow.extract(MockFlow.activityOptions.extractName, environment: FlowEnvironment(store: store))
        let launch = try #require(FlowLauncher.mockLaunches().first)
        let request = ExtractRequest(input: try FlowInput(json: launch.args), batchId: "mock/abandoned")
        let output = try await ActivityTestEnvironment().run(extract, input: request, as: ExtractOutput.self)
        #expect(output.batch.rowCount == MockData.eventsPerQuery)
        try await store.perform { connection throws(ETLError) in
            try connection.statement("UPDATE extraction_checkpoints SET updated_at = datetime('now', '-8 days')").run([])
        }
        #expect(try await store.purgeAbandonedStaging(olderThan: .seconds(7 * 86_400)) == 1)
        #expect(try await store.stagedEvents("mock/abandoned").isEmpty)
    }

    /// A worker serving MockFlow's activities on LaunchpadFlow's queue (two processes given one
    /// queue: the flows' activities share names) takes LaunchpadFlow's extract: the run fails
    /// saying so, nothing loaded. It loaded the synthetic events as read from Launchpad,
    /// recorded the member's window as covered, and finished green.
    @Test func aLaunchpadRunWhoseExtractWasTheMocksFails() async throws {
        let directory = try TemporaryDirectory()
        let store = try SQLiteEventStore(path: directory.file("events.db"))
        let mockActivities = MockFlow.activities(environment: FlowEnvironment(store: store))
        let env = try await TestWorkflowEnvironment.start()
        defer { env.shutdown() }
        let query = try LaunchpadQuery(
            applicationName: "lpetl-tests", serviceRoot: "http://127.0.0.1:9/", version: "devel", member: "alice-example",
            dataDateStart: "2024-03-01", dataDateEnd: "2024-03-31")
        let storeQueue = StoreRouting.queue(base: "test-lp", store: store.identity)
        let failure = try await env.withWorker(taskQueue: storeQueue, activities: mockActivities) { _ in
            try await env.withWorker(taskQueue: "test-lp", workflows: [LaunchpadFlow.self], activities: mockActivities) { worker in
                let handle = try await env.client.startWorkflow(
                    type: LaunchpadFlow.name, id: "lp-\(UUID())", taskQueue: worker.taskQueue, args: FlowInput(query: query).json)
                return await flowFailure(handle)
            }
        }
        #expect(failure?.type == ETLError.Code.syntheticExtract.rawValue, "\(String(describing: failure))")
        #expect(failure?.message.contains("--mock-task-queue") == true, "\(failure?.message ?? "")")
        #expect(try await store.eventCount() == 0)
        #expect(try await store.loadedWindows().isEmpty)
    }
}
