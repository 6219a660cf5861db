import Foundation
import Temporal
import TemporalTestSupport
import TemporalWorker
import Testing

@testable import LaunchpadETL
@testable import LaunchpadFixture

@Suite struct WorkerRunnerTests {
    @Test func configurationReadsTheEnvironmentAndBuildsOneWorkerPerQueue() async throws {
        let configuration = LaunchpadWorkerConfiguration(environment: [
            "TEMPORAL_HOST": "temporal:7233", "TEMPORAL_NAMESPACE": "etl", "ETL_DB_PATH": "/tmp/x.db",
            "LAUNCHPAD_MOCK_TASK_QUEUE": "mocks",
        ])
        #expect(configuration.host == "temporal:7233")
        #expect(configuration.namespace == "etl")
        #expect(configuration.databasePath == "/tmp/x.db")
        #expect(configuration.registrations.map(\.taskQueue) == ["launchpad-task-queue", "mocks"])
        #expect(LaunchpadWorkerConfiguration(environment: [:]).databasePath == "launchpad_events.db")
        // A flag beats the environment: --db-path is not overridden by an exported ETL_DB_URL,
        // which still beats ETL_DB_PATH.
        let url = "postgres://etl@db.example:5432/etl"
        #expect(LaunchpadWorkerConfiguration(environment: ["ETL_DB_URL": url], databasePath: "/tmp/y.db").storeURL == nil)
        #expect(LaunchpadWorkerConfiguration(environment: ["ETL_DB_URL": url, "ETL_DB_PATH": "/tmp/x.db"]).storeURL == url)
        // Blank is unset, as the starters and the report read it (the worker used a namespace of
        // spaces, and refused a blank ETL_DB_URL the report ignores).
        let blank = LaunchpadWorkerConfiguration(environment: ["TEMPORAL_NAMESPACE": "  ", "ETL_DB_URL": " \n", "TEMPORAL_HOST": " "])
        #expect(blank.namespace == "default" && blank.storeURL == nil && blank.databasePath == "launchpad_events.db")
        // The default frontend is not passed on as if given (a TEMPORAL_PROFILE is refused then).
        #expect(blank.givenHost == nil && blank.host == "localhost:7233")
        // A value set from a file (a mounted secret) ends in a line break: read without it (the
        // worker stopped on "the target 'temporal:7233\n' has no port number").
        let fromFiles = LaunchpadWorkerConfiguration(environment: ["TEMPORAL_HOST": "temporal:7233\n", "TEMPORAL_NAMESPACE": "etl\r\n"])
        #expect(fromFiles.host == "temporal:7233" && fromFiles.namespace == "etl", "\(fromFiles.host) \(fromFiles.namespace)")
        #expect(try TemporalClient.tlsEnabled(fromEnvironment: ["TEMPORAL_TLS": "true\n"]))
        #expect(configuration.givenHost == "temporal:7233")
        // A relative SQLite path is logged with the directory it is in (a report run elsewhere
        // said there was no store at that name).
        let relative = LaunchpadWorkerConfiguration(environment: [:]).storeDescription
        #expect(relative == "sqlite://launchpad_events.db (in \(FileManager.default.currentDirectoryPath))", "\(relative)")
        #expect(configuration.storeDescription == "sqlite:///tmp/x.db")

        let directory = try TemporaryDirectory()
        let environment = FlowEnvironment(store: try SQLiteEventStore(path: directory.file("events.db")))
        let client = try await DevServer.client()
        let runner = try LaunchpadWorkerRunner(client: client, registrations: configuration.registrations, environment: environment)
        // Each flow queue, and beside it the store queue where transform and load run.
        let store = environment.store.identity
        #expect(
            runner.workers.map(\.taskQueue) == [
                "launchpad-task-queue", StoreRouting.queue(base: "launchpad-task-queue", store: store),
                "mocks", StoreRouting.queue(base: "mocks", store: store),
            ])
        #expect(runner.flowQueues == ["launchpad-task-queue", "mocks"])
        // The activity rate limits hold the flow queues' activities (the extracts, which reach
        // Launchpad), not the store queues': held behind a burst of extracts, transforms and
        // loads waited past their schedule-to-start timeout, and their flows extracted again.
        var limited = WorkerOptions()
        limited.maxActivitiesPerSecond = 0.05
        limited.maxTaskQueueActivitiesPerSecond = 0.05
        let held = try LaunchpadWorkerRunner(
            client: client, registrations: configuration.registrations, environment: environment, options: limited)
        for worker in held.workers {
            let store = worker.taskQueue.contains("@store-")
            #expect(worker.options.maxActivitiesPerSecond == (store ? nil : 0.05), "\(worker.taskQueue)")
            #expect(worker.options.maxTaskQueueActivitiesPerSecond == (store ? nil : 0.05), "\(worker.taskQueue)")
        }
    }

    @Test func twoFlowsWithTheSameActivityNamesCannotShareAQueue() async throws {
        let directory = try TemporaryDirectory()
        let environment = FlowEnvironment(store: try SQLiteEventStore(path: directory.file("events.db")))
        let client = try await DevServer.client()
        let error = await etlError {
            try LaunchpadWorkerRunner(
                client: client,
                registrations: [
                    FlowRegistration(LaunchpadFlow.self, taskQueue: "shared"),
                    FlowRegistration(MockFlow.self, taskQueue: "shared"),
                ],
                environment: environment)
        }
        #expect(error?.type == "InvalidConfiguration")
        #expect(error?.message.contains("registered twice on task queue 'shared'") == true)
    }
}
