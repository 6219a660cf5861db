import Foundation
import Temporal
import TemporalProto
import TemporalTestSupport
import TemporalWorker
import Testing

@testable import LaunchpadETL
@testable import LaunchpadFixture

/// A unique task queue per test, so tests share one dev server.
func flowQueue(_ prefix: String) -> String { "\(prefix)-\(UUID().uuidString.prefix(8).lowercased())" }

/// The ETL's workers (built by `LaunchpadWorkerRunner`) running on unique queues against the
/// shared dev server, with a real SQLite file or PostgreSQL database.
final class FlowWorkers: Sendable {
    let runner: LaunchpadWorkerRunner
    let client: TemporalClient
    let database: any FlowStore
    let runTask: Task<Void, any Error>
    let launchpadQueue: String
    let mockQueue: String

    /// Starts workers for both flows. `pageSize`/`chunkSize` small make extraction checkpoint often.
    convenience init(
        databasePath: String, launchpadQueue: String = flowQueue("lp"), mockQueue: String = flowQueue("mock"),
        pageSize: Int = 300, chunkSize: Int = 16, gracefulShutdown: Duration = .seconds(1)
    ) async throws {
        try await self.init(
            store: try SQLiteEventStore(path: databasePath), launchpadQueue: launchpadQueue, mockQueue: mockQueue,
            pageSize: pageSize, chunkSize: chunkSize, gracefulShutdown: gracefulShutdown)
    }

    /// Starts workers for both flows on `store` (its own connection: another "host"), on `client`'s
    /// server (nil: the shared dev server).
    init(
        store: any FlowStore, launchpadQueue: String = flowQueue("lp"), mockQueue: String = flowQueue("mock"),
        pageSize: Int = 300, chunkSize: Int = 16, gracefulShutdown: Duration = .seconds(1),
        maxStalledExtractAttempts: Int = ExtractionStall.defaultLimit,
        minStalledExtractDuration: Duration = ExtractionStall.defaultMinimumDuration, client: TemporalClient? = nil
    ) async throws {
        if let client { self.client = client } else { self.client = try await DevServer.client() }
        database = store
        var environment = FlowEnvironment(store: database, extractionChunkSize: chunkSize) { configuration in
            configuration.pageSize = pageSize
            configuration.connectTimeout = .seconds(2)
            configuration.requestTimeout = .seconds(10)
            configuration.retry = LaunchpadETL.HTTPRetryPolicy(
                maxAttempts: 3, initialDelay: .milliseconds(50), maxDelay: .milliseconds(200), maxRetryAfter: .seconds(1))
        }
        environment.maxStalledExtractAttempts = maxStalledExtractAttempts
        environment.minStalledExtractDuration = minStalledExtractDuration
        var options = WorkerOptions()
        options.gracefulShutdownTimeout = gracefulShutdown
        self.launchpadQueue = launchpadQueue
        self.mockQueue = mockQueue
        runner = try LaunchpadWorkerRunner(
            client: self.client,
            registrations: [
                FlowRegistration(
                    LaunchpadFlow.self, taskQueue: launchpadQueue, aliases: LaunchpadFlow.aliases,
                    companions: [TeamLaunchpadFlow.self]),
                FlowRegistration(MockFlow.self, taskQueue: mockQueue),
            ],
            environment: environment, options: options)
        let runner = self.runner
        runTask = Task { try await runner.run() }
    }

    func stop() async {
        await runner.shutdown(gracePeriod: .seconds(1))
        _ = await runTask.result
    }

    /// Hard stop, as a crash would: no grace, running activities are cancelled.
    func kill() async {
        runTask.cancel()
        _ = await runTask.result
    }

    /// `progress`: with the progress search attributes, as the starters start runs.
    func start<F: Flow>(
        _ flow: F.Type, _ input: JSONValue, queue: String? = nil, id: String = "flow-\(UUID().uuidString)", progress: Bool = false
    ) async throws -> WorkflowHandle {
        let attributes = progress ? await LaunchpadProgress.startAttributes(client: client) { _ in } : [:]
        return try await client.startWorkflow(
            type: F.name, id: id, taskQueue: queue ?? (F.self == MockFlow.self ? mockQueue : launchpadQueue), args: input,
            options: WorkflowOptions(searchAttributes: attributes))
    }
}

/// A flow input for the fixture server.
func launchpadInput(
    _ member: String, serviceRoot: String, from: String = "2024-03-01", to: String = "2024-03-31", key: String = "type",
    version: String = "devel"
) -> JSONValue {
    .object([
        key: "LaunchpadQuery",
        "args": .object([
            "application_name": "lpetl-tests", "service_root": .string(serviceRoot), "version": .string(version),
            "member": .string(member), "data_date_start": .string(from), "data_date_end": .string(to),
        ]),
    ])
}

/// The application failure a failed workflow ended with.
struct FlowFailure {
    var type: String
    var message: String
    var nonRetryable: Bool
}

func flowFailure(_ handle: WorkflowHandle) async -> FlowFailure? {
    do {
        _ = try await handle.result(as: FlowResult.self)
        return nil
    } catch let error as TemporalError {
        guard let failure = error.failure, case .applicationFailureInfo(let info)? = failure.failureInfo else { return nil }
        return FlowFailure(type: info.type, message: failure.message, nonRetryable: info.nonRetryable)
    } catch {
        return nil
    }
}

extension WorkflowHandle {
    /// The decoded results of completed activities of `type`, in history order.
    func activityResults<T: Decodable>(_ type: String, as: T.Type) async throws -> [T] {
        let events = try await fetchHistory()
        var typesByScheduledID: [Int64: String] = [:]
        var results: [T] = []
        for event in events {
            switch event.attributes {
            case .activityTaskScheduledEventAttributes(let a)?: typesByScheduledID[event.eventID] = a.activityType.name
            case .activityTaskCompletedEventAttributes(let a)? where typesByScheduledID[a.scheduledEventID] == type:
                results.append(try client.dataConverter.fromPayloads(a.result, as: T.self))
            default: break
            }
        }
        return results
    }

    /// The largest payload in the run's history, in bytes.
    func largestPayload() async throws -> Int {
        let events = try await fetchHistory()
        return events.map { (try? $0.serializedData().count) ?? 0 }.max() ?? 0
    }
}
