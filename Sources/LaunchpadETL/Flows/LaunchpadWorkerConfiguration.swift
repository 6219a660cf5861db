public import Foundation
import Temporal
public import TemporalWorker

/// Settings of a Launchpad ETL worker process (what `LaunchpadWorker` reads from flags and
/// the environment).
public struct LaunchpadWorkerConfiguration: Sendable {
    /// `host:port` of the Temporal frontend (`TEMPORAL_HOST`, default `localhost:7233`).
    public var host: String {
        get { givenHost ?? "localhost:7233" }
        set { givenHost = newValue }
    }
    /// The frontend as given (the argument or `TEMPORAL_HOST`); nil when `host` is the default.
    /// The connection gets this, not the default: a `TEMPORAL_PROFILE` (which this client does not
    /// read) with nothing else saying where to connect is refused, as the starters refuse it,
    /// instead of dialling `localhost:7233` (another cluster, or nothing).
    public var givenHost: String?
    /// The Temporal namespace (`TEMPORAL_NAMESPACE`, default `default`).
    public var namespace: String
    /// The SQLite file (`ETL_DB_PATH`, default `launchpad_events.db`), used when `storeURL` is nil.
    public var databasePath: String
    /// The event store URL (`ETL_DB_URL`): `postgres://user:password@host:5432/db` for a store
    /// every worker shares, or `sqlite:///path`. Nil: the SQLite file `databasePath`.
    public var storeURL: String?
    /// The queue of `LaunchpadFlow` (`LAUNCHPAD_TASK_QUEUE`, default `launchpad-task-queue`); nil: not served.
    public var launchpadQueue: String?
    /// The queue of `MockFlow` (`LAUNCHPAD_MOCK_TASK_QUEUE`, default `launchpad-mock-task-queue`); nil: not served.
    public var mockQueue: String?
    /// Activity attempts run at once, per queue (default 20).
    public var maxConcurrentActivities: Int
    /// Workflow tasks processed at once, per queue (default 100).
    public var maxConcurrentWorkflowTasks: Int
    /// How long running activities may finish on SIGINT/SIGTERM before they are cancelled
    /// (their retries resume from the last heartbeat). Default 10 s.
    public var gracefulShutdownTimeout: Duration
    /// The longest an extract's checkpoint heartbeat waits before it is sent (default 5 s): a
    /// crash loses at most this much progress as seen by the server (the store's own
    /// checkpoint, saved after every page and chunk, usually loses nothing).
    public var maxHeartbeatInterval: Duration = .seconds(5)
    /// Activities each worker of this process starts per second at most (nil: no limit).
    public var maxActivitiesPerSecond: Double?
    /// Activities the server hands out per second from each queue, to all its workers together
    /// (nil: no limit) — the fleet-wide cap; give every worker the same value.
    public var maxTaskQueueActivitiesPerSecond: Double?
    /// The Worker Deployment and build the workers belong to (Worker Versioning); nil: none.
    public var deployment: WorkerDeploymentOptions?

    /// Creates a configuration; unset values come from `environment`, then the defaults.
    public init(
        environment: [String: String] = ProcessInfo.processInfo.environment,
        host: String? = nil, namespace: String? = nil, databasePath: String? = nil, storeURL: String? = nil,
        launchpadQueue: String? = nil, mockQueue: String? = nil,
        maxConcurrentActivities: Int = 20, maxConcurrentWorkflowTasks: Int = 100,
        gracefulShutdownTimeout: Duration = .seconds(10)
    ) {
        func env(_ key: String) -> String? { ETLEnvironment.value(key, in: environment) }
        self.givenHost = host ?? TemporalClient.setting(environment, "TEMPORAL_HOST")
        self.namespace = namespace ?? TemporalClient.setting(environment, "TEMPORAL_NAMESPACE") ?? "default"
        self.databasePath = databasePath ?? env("ETL_DB_PATH") ?? "launchpad_events.db"
        // A path given here (the worker's --db-path) beats an exported ETL_DB_URL, as flags beat
        // the environment everywhere; ETL_DB_URL beats ETL_DB_PATH.
        self.storeURL = storeURL ?? (databasePath == nil ? env(EventStoreFactory.urlVariable) : nil)
        self.launchpadQueue = launchpadQueue ?? env("LAUNCHPAD_TASK_QUEUE") ?? LaunchpadFlow.queueName
        self.mockQueue = mockQueue ?? env("LAUNCHPAD_MOCK_TASK_QUEUE") ?? MockFlow.queueName
        self.maxConcurrentActivities = maxConcurrentActivities
        self.maxConcurrentWorkflowTasks = maxConcurrentWorkflowTasks
        self.gracefulShutdownTimeout = gracefulShutdownTimeout
    }

    /// Where events go, for logs: the store URL (password redacted) or the SQLite path.
    public var storeDescription: String {
        guard let storeURL else { return "sqlite://\(databasePath)\(SQLiteConnection.relativeNote(databasePath))" }
        return EventStoreLocation.redacted(storeURL)
    }

    /// Opens the configured store (`storeURL`, else the SQLite file `databasePath`).
    public func openStore() async throws(ETLError) -> any FlowStore {
        if let storeURL { return try await EventStoreFactory.open(url: storeURL) }
        return try SQLiteEventStore(path: databasePath)
    }

    /// Every workflow type a Launchpad worker serves, under every name (for the replayer).
    public static var allWorkflowDefinitions: [WorkflowDefinition] {
        LaunchpadWorkerConfiguration(environment: [:]).registrations.flatMap(\.workflowDefinitions)
    }

    /// The flows served, each on its queue.
    public var registrations: [FlowRegistration] {
        var result: [FlowRegistration] = []
        if let launchpadQueue {
            result.append(
                FlowRegistration(
                    LaunchpadFlow.self, taskQueue: launchpadQueue, aliases: LaunchpadFlow.aliases,
                    companions: [ScheduledLaunchpadFlow.self, TeamLaunchpadFlow.self]))
        }
        if let mockQueue { result.append(FlowRegistration(MockFlow.self, taskQueue: mockQueue)) }
        return result
    }
}

/// One flow served on one task queue (under its name and any aliases).
public struct FlowRegistration: Sendable {
    /// The flow type.
    public var flow: any Flow.Type
    /// The queue its worker polls.
    public var taskQueue: String
    /// Extra workflow type names it is registered under.
    public var aliases: [String]
    /// Flows served on the same queue that use this flow's activities (e.g.
    /// `ScheduledLaunchpadFlow` with `LaunchpadFlow`), registered under their own names.
    public var companions: [any Flow.Type]

    /// Creates a registration (default queue: the flow's `queueName`).
    public init(_ flow: any Flow.Type, taskQueue: String? = nil, aliases: [String] = [], companions: [any Flow.Type] = []) {
        self.flow = flow
        self.taskQueue = taskQueue ?? flow.queueName
        self.aliases = aliases
        self.companions = companions
    }

    /// The flow and its companions under every name they run as (`Flow.additionalNames`).
    var workflowDefinitions: [WorkflowDefinition] {
        let names: [(flow: any Flow.Type, names: [String])] =
            [(flow, [flow.name] + aliases + flow.additionalNames)] + companions.map { ($0, [$0.name] + $0.additionalNames) }
        return names.flatMap { entry in entry.names.map { WorkflowDefinition(entry.flow, name: $0) } }
    }
}
