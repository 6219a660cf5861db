import Foundation
public import Logging
public import ServiceLifecycle
public import Temporal
public import TemporalWorker

/// Builds and runs the workers of the Launchpad ETL: one `Worker` per task queue, with the
/// flows registered there and their activities. The `LaunchpadWorker` executable is this
/// plus argument parsing.
public final class LaunchpadWorkerRunner: Sendable {
    /// One worker per flow queue, and one per store queue (see `StoreRouting`).
    public let workers: [Worker]
    /// What the activities share (the event store).
    public let environment: FlowEnvironment
    /// The flow queues served (not the store queues).
    public let flowQueues: [String]
    private let client: TemporalClient
    private let logger: Logger

    /// Builds the workers.
    ///
    /// - Throws: `ETLError` when two flows on one queue register the same activity name
    ///   or workflow name (give them different queues).
    public init(
        client: TemporalClient, registrations: [FlowRegistration], environment: FlowEnvironment,
        options: WorkerOptions = WorkerOptions()
    ) throws(ETLError) {
        var queues: [String] = []
        var workflowsByQueue: [String: [WorkflowDefinition]] = [:]
        var activitiesByQueue: [String: [ActivityDefinition]] = [:]
        for registration in registrations {
            let queue = registration.taskQueue
            if workflowsByQueue[queue] == nil { queues.append(queue) }
            let flow = registration.flow
            let definitions = registration.workflowDefinitions
            let activities =
                flow.activities(environment: environment)
                + registration.companions.flatMap { $0.activities(environment: environment) }
            let takenWorkflows = Set((workflowsByQueue[queue] ?? []).map(\.name))
            let takenActivities = Set((activitiesByQueue[queue] ?? []).map(\.name))
            if let clash = definitions.map(\.name).first(where: takenWorkflows.contains)
                ?? activities.map(\.name).first(where: takenActivities.contains)
            {
                throw ETLError(
                    .invalidConfiguration,
                    "'\(clash)' is registered twice on task queue '\(queue)'; serve \(flow.name) on a queue of its own", nonRetryable: true)
            }
            workflowsByQueue[queue, default: []] += definitions
            activitiesByQueue[queue, default: []] += activities
        }
        self.environment = environment
        self.flowQueues = queues
        self.client = client
        self.logger = options.logger
        // Each flow queue, and its store queue (`StoreRouting`): activities only, so that a
        // flow's transform and load reach a worker that sees the rows its extract staged. The
        // activity rate limits spare Launchpad: the store queues' activities never reach it, and
        // held to the rate behind a burst of extracts, they waited past their schedule-to-start
        // timeout, and the flows extracted again.
        var storeOptions = options
        storeOptions.maxActivitiesPerSecond = nil
        storeOptions.maxTaskQueueActivitiesPerSecond = nil
        workers = queues.flatMap { queue in
            [
                Worker(
                    client: client, taskQueue: queue, workflowDefinitions: workflowsByQueue[queue] ?? [],
                    activities: activitiesByQueue[queue] ?? [], options: options),
                Worker(
                    client: client, taskQueue: StoreRouting.queue(base: queue, store: environment.store.identity), workflowDefinitions: [],
                    activities: activitiesByQueue[queue] ?? [], options: storeOptions),
            ]
        }
    }

    /// Opens the event store and connects to Temporal (waiting for it) as `configuration` says,
    /// then builds the workers.
    public static func connect(
        _ configuration: LaunchpadWorkerConfiguration,
        logger: Logger = Logger(label: "LaunchpadWorker")
    ) async throws -> LaunchpadWorkerRunner {
        // The Launchpad settings (access policy, credentials, limits) are the operator's: a
        // mistake stops the worker here, not every flow later.
        let check = try LaunchpadClientConfiguration.checkEnvironment(ProcessInfo.processInfo.environment)
        let access = check.policy
        for warning in check.warnings { logger.warning("\(warning)") }
        logger.info("\(check.access)")
        logger.info(
            "Launchpad credentials go only to https hosts: \((LaunchpadAccessPolicy.launchpadHosts.union(access.credentialHosts)).sorted().joined(separator: ", ")); service roots allowed: \(access.allowedRoots.map { $0.sorted().joined(separator: ", ") } ?? "the Launchpad instances, the hosts above and loopback roots (LP_ALLOWED_SERVICE_ROOTS unset)")"
        )
        // The store first: a path or URL that cannot open fails the worker at once, rather than
        // once Temporal answers (for a fleet after an outage, all of them at once).
        let store = try await configuration.openStore()
        let client = try await waitForServer(configuration, logger: logger)
        var options = WorkerOptions()
        options.maxConcurrentActivities = configuration.maxConcurrentActivities
        options.maxConcurrentWorkflowTasks = configuration.maxConcurrentWorkflowTasks
        options.gracefulShutdownTimeout = configuration.gracefulShutdownTimeout
        options.maxHeartbeatThrottleInterval = configuration.maxHeartbeatInterval
        options.maxActivitiesPerSecond = configuration.maxActivitiesPerSecond
        options.maxTaskQueueActivitiesPerSecond = configuration.maxTaskQueueActivitiesPerSecond
        options.deployment = configuration.deployment
        options.logger = logger
        options.identity = StoreTopology.workerIdentity(client.identity, store: store.identity)
        let environment = FlowEnvironment(store: store, logger: logger)
        return try LaunchpadWorkerRunner(
            client: client, registrations: configuration.registrations, environment: environment, options: options)
    }

    /// Connects to the Temporal server, waiting as long as it takes (a worker may start before
    /// its server, e.g. under compose or systemd): says when the first attempt fails (within
    /// `TemporalClient.connectRetryBudget`) what it waits for, where and why, then again every
    /// `waitReminder` with the latest reason (a wrong CA or port never heals, and one line at
    /// start is long gone when someone looks). Cancellation ends the wait.
    static func waitForServer(_ configuration: LaunchpadWorkerConfiguration, logger: Logger) async throws -> TemporalClient {
        let clock = ContinuousClock()
        let start = clock.now
        var lastWarning: ContinuousClock.Instant?
        while true {
            do {
                return try await TemporalClient.connectFromEnvironment(host: configuration.givenHost, namespace: configuration.namespace)
            } catch let error as TemporalError
                where error.kind == .connection || error.code == .unavailable || error.code == .deadlineExceeded
            {
                if lastWarning.map({ clock.now - $0 >= waitReminder }) ?? true {
                    // The error says why: nothing listening, or a TLS handshake refused (when
                    // TEMPORAL_API_KEY turned TLS on against a plaintext frontend: TEMPORAL_TLS=false).
                    let waited = Int((clock.now - start).components.seconds)
                    logger.warning(
                        "waiting for the Temporal server at \(configuration.host) (namespace \(configuration.namespace))\(waited >= 5 ? " for \(waited) s" : ""): \(error.message); retrying until it answers, saying so again every \(waitReminder.components.seconds) s (is it running? check --host / TEMPORAL_HOST, and TEMPORAL_TLS)"
                    )
                    lastWarning = clock.now
                }
                try await Task.sleep(for: .seconds(5))
            }
        }
    }

    /// How often a worker waiting for its Temporal server says so again.
    static let waitReminder = Duration.seconds(60)

    /// Runs every worker until `shutdown()` (or until the calling task is cancelled).
    public func run() async throws {
        try await withBackground(housekeeping()) {
            try await withThrowingTaskGroup(of: Void.self) { group in
                for worker in workers { group.addTask { try await worker.run() } }
                try await group.waitForAll()
            }
        }
    }

    /// Runs every worker, and `services` beside them, in one `ServiceGroup` until SIGINT or
    /// SIGTERM, then shuts them down gracefully: the workers first, all at once (they drain
    /// within their grace period), then `services` (e.g. `StartedService`s of the metrics
    /// endpoint).
    public func runUntilTerminated(with services: [any Service] = []) async throws {
        let group = ServiceGroup(
            configuration: .init(
                services: (services + [WorkerFleet(workers: workers)] as [any Service]).map {
                    ServiceGroupConfiguration.ServiceConfiguration(service: $0)
                }, logger: logger))
        try await withBackground(housekeeping()) { try await group.runUntilTerminated(logger: logger) }
    }

    /// Stops every worker (see `Worker.shutdown(gracePeriod:)`).
    public func shutdown(gracePeriod: Duration? = nil) async {
        await withTaskGroup(of: Void.self) { group in
            for worker in workers { group.addTask { await worker.shutdown(gracePeriod: gracePeriod) } }
        }
    }

    /// What runs beside the workers: the topology watch and the staging janitor.
    private func housekeeping() -> @Sendable () async -> Void {
        let (client, queues, identity, store, logger) = (client, flowQueues, environment.store.identity, environment.store, logger)
        return {
            async let topology: Void = StoreTopology.watch(client: client, queues: queues, store: identity, logger: logger)
            async let janitor: Void = Self.purgeAbandonedStaging(store, logger: logger)
            _ = await (topology, janitor)
        }
    }

    /// How old a batch's last checkpoint must be for its staging to be taken as abandoned: far
    /// beyond the extract's 6 hours of attempts.
    static let abandonedStagingAge: Duration = .seconds(7 * 86_400)

    /// Removes abandoned staging at start and once a day, until cancelled; says how much.
    static func purgeAbandonedStaging(_ store: any FlowStore, logger: Logger) async {
        while !Task.isCancelled {
            do {
                let removed = try await store.purgeAbandonedStaging(olderThan: abandonedStagingAge)
                if removed > 0 {
                    logger.notice(
                        "removed the staging of \(removed) batches no attempt will load (last checkpoint over \(abandonedStagingAge.components.seconds / 86_400) days old: flows that extracted again, runs that failed or were terminated)"
                    )
                }
            } catch  where !Task.isCancelled {  // (cancelled: the worker is stopping, and its store calls are refused)
                logger.warning("could not remove abandoned staging (tried again in a day): \(error)")
            } catch {
                return
            }
            try? await Task.sleep(for: .seconds(86_400))
        }
    }
}

/// The process's workers as one service. A `ServiceGroup` shuts its services down one after
/// another, each within its own grace period, while the others keep polling: four workers
/// stopped in turn took four grace periods, and the extract queue's worker, stopped last, kept
/// starting new extracts meanwhile. Here a graceful shutdown reaches every worker at once (each
/// `Worker.run()` hears it itself: the group's shutdown reaches the child tasks of a service);
/// and when one worker stops with an error, the others drain gracefully before the error ends
/// the group (a group's cancellation would stop them at once).
struct WorkerFleet: Service {
    let workers: [Worker]

    func run() async throws {
        let failure = await withTaskGroup(of: (any Error)?.self) { group in
            for worker in workers {
                group.addTask {
                    do {
                        try await worker.run()
                        return nil
                    } catch {
                        for other in workers { other.requestShutdown() }
                        return error
                    }
                }
            }
            var first: (any Error)?
            for await error in group where first == nil { first = error }
            return first
        }
        if let failure { throw failure }
    }
}
