import Foundation
import Temporal
import TemporalProto
import TemporalTestSupport
import TemporalWorker
import Testing

@testable import LaunchpadETL
@testable import LaunchpadFixture

@Suite struct MockFlowTests {
    @Test func mockFlowReturnsTheSummaryAndLoadsIdempotently() async throws {
        let directory = try TemporaryDirectory()
        let workers = try await FlowWorkers(databasePath: directory.file("events.db"))
        do {
            let launch = try #require(FlowLauncher.mockLaunches().first)
            let first = try await workers.start(MockFlow.self, launch.args, id: launch.workflowId)
            let result = try await within(60) { try await first.result(as: FlowResult.self) }
            #expect(
                result.summary == [
                    "launchpad": "temporal-etl-swift@production:devel", "member": "member-1",
                    "data_date_start": "2023-01-01", "data_date_end": "2023-03-31",
                    FlowResult.storeKey: workers.database.identity.shortId,  // where the events went
                ])
            #expect(result.workflowId == launch.workflowId)
            #expect(result.itemsProcessed == MockData.eventsPerQuery)
            #expect(result.itemsInserted == MockData.eventsPerQuery)
            // The JSON result is one flat object of strings and ints.
            let raw = try await first.result(as: [String: JSONValue].self)
            #expect(raw["items_processed"] == .int(3))
            #expect(raw["workflow_id"] == .string(launch.workflowId))
            #expect(raw["member"] == "member-1")

            let second = try await workers.start(MockFlow.self, launch.args)
            let again = try await within(60) { try await second.result(as: FlowResult.self) }
            #expect(again.itemsProcessed == 3)
            #expect(again.itemsInserted == 0)
            let events = try await workers.database.events(employeeId: "member-1")
            #expect(events.map(\.id) == ["mock-member-1-2023-01-01-1", "mock-member-1-2023-01-01-2", "mock-member-1-2023-01-01-3"])
            #expect(events.allSatisfy { $0.sourceKindId == "mock" })
            #expect(events.map(\.week) == ["2022-12-26", "2023-01-02", "2023-01-02"])
            // Synthetic events leave no Launchpad coverage: the report still shows the weeks as
            // not extracted (before, every mock load recorded a `launchpad` window).
            #expect(try await workers.database.loadedWindows().isEmpty)
        } catch {
            await workers.stop()
            throw error
        }
        await workers.stop()
    }

    @Test func runsStartedWithProgressAttributesReportTheirStage() async throws {
        let directory = try TemporaryDirectory()
        let workers = try await FlowWorkers(databasePath: directory.file("events.db"))
        var launcher = FlowLauncher(client: workers.client)
        var notes: [String] = []
        launcher.searchAttributes = await LaunchpadProgress.startAttributes(client: workers.client) { notes.append($0) }
        #expect(launcher.searchAttributes["LaunchpadStage"] as? String == "started", "\(notes)")
        let launches = Array(FlowLauncher.mockLaunches().prefix(2))
        // A run of another member first: the worker is then running and takes eager starts (on
        // a loaded box the launch below could come before it had registered for them).
        let warmUp = try await workers.start(MockFlow.self, try #require(FlowLauncher.mockLaunches().last).args)
        _ = try await within(60) { try await warmUp.result(as: FlowResult.self) }
        let progressLauncher = launcher
        let outcomes = try await within(90) {
            await progressLauncher.run(launches, workflowType: MockFlow.name, taskQueue: workers.mockQueue)
        }
        // A run started without them (another client, an older starter) writes none.
        let plain = try await workers.start(MockFlow.self, try #require(launches.first).args)
        _ = try await within(60) { try await plain.result(as: FlowResult.self) }
        await workers.stop()
        for outcome in outcomes {
            _ = try outcome.result.get()
            let handle = workers.client.workflowHandle(id: outcome.launch.workflowId)
            let fields = try await handle.describe().raw.workflowExecutionInfo.searchAttributes.indexedFields
            #expect(LaunchpadProgress.stage.read(from: fields) == "loaded")
            #expect(LaunchpadProgress.rows.read(from: fields) == 3)
            let history = try await handle.fetchHistory()
            // The launcher asks for eager starts, and a worker of its client polls this queue.
            #expect(history.first?.workflowExecutionStartedEventAttributes.eagerExecutionAccepted == true)
            let stages = history.filter { $0.eventType == .upsertWorkflowSearchAttributes }
                .compactMap {
                    LaunchpadProgress.stage.read(from: $0.upsertWorkflowSearchAttributesEventAttributes.searchAttributes.indexedFields)
                }
            #expect(stages == ["extracted", "transformed", "loaded"])
        }
        let plainFields = try await plain.describe().raw.workflowExecutionInfo.searchAttributes.indexedFields
        #expect(LaunchpadProgress.stage.read(from: plainFields) == nil)
        // Visibility finds the runs by stage.
        let ids = outcomes.map { "'\($0.launch.workflowId)'" }.joined(separator: ", ")
        let query = "WorkflowId IN (\(ids)) AND LaunchpadStage = 'loaded' AND LaunchpadRows = 3"
        var found = 0
        for _ in 0..<40 where found < 2 {
            found = try await workers.client.countWorkflows(query: query)
            if found < 2 { try await Task.sleep(for: .milliseconds(250)) }
        }
        #expect(found == 2, "\(query)")
    }

    /// What an interrupted starter asks of a start the signal cut off: whether the server runs
    /// it (a run started with no worker is running; an id never started is not). It was left
    /// out, and the starter said no workflow ran while one did.
    @Test func anInterruptedStartIsAskedAbout() async throws {
        let client = try await DevServer.client()
        let id = "cut-off-start-\(UUID().uuidString)"
        _ = try await client.startWorkflow(type: MockFlow.name, id: id, taskQueue: "nobody-\(UUID().uuidString)", args: "x")
        #expect(await FlowLauncher.isRunning(client, workflowId: id, within: .seconds(10)) == true)
        #expect(await FlowLauncher.isRunning(client, workflowId: "never-\(UUID().uuidString)", within: .seconds(10)) == false)
        try await client.workflowHandle(id: id).terminate(reason: "test over")
    }

    @Test func theFourMockWorkflowsCompleteThroughTheLauncher() async throws {
        let directory = try TemporaryDirectory()
        let workers = try await FlowWorkers(databasePath: directory.file("events.db"))
        let launcher = FlowLauncher(client: workers.client, uiBaseURL: "http://localhost:8233/")
        let outcomes = try await within(90) {
            await launcher.run(FlowLauncher.mockLaunches(), workflowType: MockFlow.name, taskQueue: workers.mockQueue)
        }
        await workers.stop()
        #expect(outcomes.count == 4)
        for outcome in outcomes {
            #expect(outcome.link == "http://localhost:8233/namespaces/default/workflows/\(outcome.launch.workflowId)")
            #expect(outcome.launch.workflowId.hasPrefix("launchpad-workflow-"))
            let result = try outcome.result.get()
            #expect(result.itemsInserted == 3)
        }
        #expect(Set(outcomes.compactMap { try? $0.result.get().summary["member"] }) == ["member-1", "member-2", "member-3", "member-4"])
        #expect(try await workers.database.eventCount() == 12)
    }

    @Test func theOriginalsQueryTypeInputFromTheCLICompletes() async throws {
        let directory = try TemporaryDirectory()
        let workers = try await FlowWorkers(databasePath: directory.file("events.db"))
        let server = try await DevServer.shared()
        let id = "cli-mock-\(UUID().uuidString)"
        let input =
            #"{"query_type": "LaunchpadQuery", "args": {"application_name": "cli", "service_root": "production", "version": "devel", "member": "member-2", "data_date_start": "2023-04-01", "data_date_end": "2023-06-30"}}"#
        let output = try DevServer.runCLI([
            "workflow", "start", "--address", server.address, "--type", "MockFlow",
            "--task-queue", workers.mockQueue, "--workflow-id", id, "--input", input,
        ])
        let result = try await within(60) { try await workers.client.workflowHandle(id: id).result(as: FlowResult.self) }
        await workers.stop()
        #expect(output.contains(id), "\(output)")
        #expect(result.summary["launchpad"] == "cli@production:devel")
        #expect(result.summary["member"] == "member-2")
        #expect(result.itemsProcessed == 3)
        #expect(result.itemsInserted == 3)
    }
}
