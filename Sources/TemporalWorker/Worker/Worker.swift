public import CoreMetrics
import Logging
public import ServiceLifecycle
import Synchronization
public import Temporal
public import TemporalProto

#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// Polls one task queue for workflow and activity tasks and executes them.
///
/// ```swift
/// let worker = Worker(client: client, taskQueue: "etl",
///                     workflows: [ETLFlow.self],
///                     activities: [ActivityDefinition("extract") { (q: Query, ctx) in … }])
/// try await worker.run()          // until shutdown() or the task is cancelled
/// ```
public final class Worker: Sendable {
    public let client: TemporalClient
    public let taskQueue: String
    public let options: WorkerOptions
    /// Counters for benchmarks (workflow tasks, CPU and wall time spent in them, cache hits).
    public let metrics = WorkerMetrics()
    /// The per-worker sticky queue (nil when caching is disabled).
    public let stickyQueue: String?
    /// The identity recorded in history.
    public let identity: String
    /// Where the worker's swift-metrics go (`options.metricsFactory`, else the client's).
    public var metricsFactory: any MetricsFactory { instruments.factory }

    private let workflows: [String: WorkflowDefinition]
    private let activities: [String: ActivityDefinition]
    /// Names given to more than one definition (refused by `run()`).
    private let registeredTwice: (workflows: [String], activities: [String])
    let cache: RunCache?
    /// One workflow task per run at a time (`RunTaskGate`).
    let runGate = RunTaskGate()
    private let instruments: WorkerInstruments
    private let workflowSlots: Slots
    private let activitySlots: Slots
    /// Local activity attempts running (`maxConcurrentLocalActivities`).
    private let localActivitySlots: Slots
    /// `options.maxActivitiesPerSecond`, when set.
    private let activityRate: RateLimiter?
    private let shutdownSignal = ShutdownSignal()
    /// This worker's registration as an eager workflow start acceptor with its client, while it runs.
    private let eagerRegistration = Mutex<Int?>(nil)
    private let state = Mutex(RunState())
    private let pollFailures: PollFailures
    /// `options.deployment` as polls and answers carry it, built once.
    private let deploymentOptions: Temporal_Api_Deployment_V1_WorkerDeploymentOptions?
    /// Autoscaled pollers (nil: a fixed number), and the signal that one of them wants more.
    private let workflowPollerScaler: PollerScaler?
    /// The sticky queue's, when it has polls and they autoscale.
    private let stickyPollerScaler: PollerScaler?
    private let activityPollerScaler: PollerScaler?
    private let pollerGrowth: AsyncStream<Void>
    private let pollerGrowthSink: AsyncStream<Void>.Continuation
    /// Fired when every poller has returned (after the shutdown stopped them).
    private let pollersStopped = OneShotEvent()
    /// The drain waits no longer for the pollers: tasks they hold waiting for a rate permit are
    /// refused (WorkerShutdown) rather than started late, or never answered.
    private let pollersGivenUp = OneShotEvent()
    /// Fired by the shutdown when the polls still waiting for an answer are to be cancelled.
    private let cancelPolls = OneShotEvent()
    /// Long polls waiting for an answer now.
    /// Long polls waiting, per poller type (`temporal_num_pollers`'s `poller_type`).
    private let pollsInFlight = Mutex<[String: Int]>([:])
    /// Whether the namespace answers a stopping worker's polls itself once it sends
    /// `ShutdownWorker` (`worker_poll_complete_on_shutdown`); read when polling starts.
    private let pollsCompleteOnShutdown = Mutex(false)
    /// This worker's key, sent with its polls and its `ShutdownWorker`, by which a server that
    /// answers a stopping worker's polls finds them.
    public let workerInstanceKey = UUID().uuidString.lowercased()
    /// Task executions, each kind a task group of `run()`'s tree.
    private let workflowExecutions = ExecutionQueue()
    private let activityExecutions = ExecutionQueue()
    /// Answers to activities that arrived after the queue closed (`startActivity`), which the
    /// end of `run()` waits for: untracked, the process could exit before they went out, and
    /// the activity then waited out its start-to-close timeout.
    private let lateRefusals = Mutex<[Task<Void, Never>]>([])

    /// Fired by the first shutdown request (`requestedGracePeriod` says how long to drain).
    private let shutdownRequested = OneShotEvent()
    /// Fired once the shutdown finished (polling stopped, executions drained or stopped).
    private let shutdownFinished = OneShotEvent()

    private struct RunState {
        var started = false
        var requestedGracePeriod: Duration?
        /// Whoever claims it runs the shutdown: `run()`'s tree, or `shutdown()` itself when
        /// the worker never ran.
        var shutdownClaimed = false
        /// When the claimed shutdown began (a shorter grace period counts from there).
        var shutdownStart: ContinuousClock.Instant?
        var stoppedBy: WorkerStoppedError?
        /// Why `run()` refused to start (its options): the worker reads as stopped.
        var refusedBy: String?
    }

    /// - Parameters:
    ///   - workflows: workflow types, registered under their `name`.
    ///   - activities: activities, registered under their names.
    public convenience init(
        client: TemporalClient, taskQueue: String, workflows: [any Workflow.Type] = [],
        activities: [ActivityDefinition] = [], options: WorkerOptions = WorkerOptions()
    ) {
        self.init(
            client: client, taskQueue: taskQueue, workflowDefinitions: workflows.map { WorkflowDefinition($0) },
            activities: activities, options: options)
    }

    /// Registers type-erased workflow definitions (e.g. one type under several names).
    public init(
        client: TemporalClient, taskQueue: String, workflowDefinitions: [WorkflowDefinition],
        activities: [ActivityDefinition] = [], options: WorkerOptions = WorkerOptions()
    ) {
        self.client = client
        self.taskQueue = taskQueue
        self.options = options
        self.pollFailures = PollFailures(taskQueue: taskQueue, namespace: client.namespace, logger: options.logger)
        self.deploymentOptions = options.deployment?.proto
        self.identity = options.identity ?? client.identity
        var wf: [String: WorkflowDefinition] = [:]
        for d in workflowDefinitions { wf[d.name] = d }
        self.workflows = wf
        var acts: [String: ActivityDefinition] = [:]
        for a in activities { acts[a.name] = a }
        self.activities = acts
        let repeated = { (names: [String]) in Dictionary(grouping: names) { $0 }.filter { $0.value.count > 1 }.keys.sorted() }
        self.registeredTwice = (repeated(workflowDefinitions.map(\.name)), repeated(activities.map(\.name)))
        let instruments = WorkerInstruments(
            factory: options.metricsFactory ?? client.metricsFactory,
            namespace: client.namespace, taskQueue: taskQueue, snapshot: metrics)
        self.instruments = instruments
        if options.maxCachedWorkflows > 0 && !wf.isEmpty {
            let (timeout, logger) = (options.deadlockDetectionTimeout, options.logger)
            cache = RunCache(
                capacity: options.maxCachedWorkflows, retire: { WorkflowRun.retire($0, deadlockTimeout: timeout, logger: logger) },
                onEvictedForRoom: { instruments.stickyCacheEvictedForRoom() }
            ) { instruments.stickyCacheSize($0) }
            stickyQueue = "\(self.identity)-\(taskQueue)-sticky-\(UUID().uuidString.lowercased())"
        } else {
            cache = nil
            stickyQueue = nil
        }
        // Slot gauges only for the kinds this worker polls.
        workflowSlots = Slots(
            options.maxConcurrentWorkflowTasks,
            observer: wf.isEmpty ? nil : instruments.slotObserver(.workflow))
        activitySlots = Slots(
            options.maxConcurrentActivities,
            observer: acts.isEmpty ? nil : instruments.slotObserver(.activity))
        localActivitySlots = Slots(
            options.maxConcurrentLocalActivities,
            observer: wf.isEmpty || acts.isEmpty ? nil : instruments.slotObserver(.localActivity))
        activityRate = RateLimiter(perSecond: options.maxActivitiesPerSecond)
        (pollerGrowth, pollerGrowthSink) = AsyncStream.makeStream(of: Void.self, bufferingPolicy: .bufferingNewest(1))
        let growthSink = pollerGrowthSink
        // With a sticky queue, each queue's polls leave slots to the other's (`PollerBehavior`).
        let workflowBehavior = options.workflowTaskPollerBehavior
        let sticky = stickyQueue != nil
        workflowPollerScaler = workflowBehavior.scaler(
            slots: sticky ? options.maxConcurrentWorkflowTasks : nil, reserving: workflowBehavior.stickyCount
        ) { growthSink.yield() }
        stickyPollerScaler =
            sticky
            ? workflowBehavior.scaler(slots: options.maxConcurrentWorkflowTasks, reserving: 1, startAtMinimum: true) {
                growthSink.yield()
            } : nil
        activityPollerScaler = options.activityTaskPollerBehavior.scaler { growthSink.yield() }
    }

    /// Refuses slot counts that would leave a queue unpolled: a waiting poll holds a slot, so
    /// with no more workflow-task slots than sticky polls and the sticky cache on, the sticky
    /// polls can hold every slot for up to a minute while no poll of the normal queue runs, and
    /// new workflows wait that long (Core refuses too few slots too; Go panics on 1).
    package func validateOptions() throws {
        // The last registration of a name won, silently: a workflow calling it ran another body,
        // whose input failed to decode on every attempt (Go refuses the second registration).
        for (kind, names) in [("workflow", registeredTwice.workflows), ("activity", registeredTwice.activities)] where !names.isEmpty {
            throw TemporalError(
                kind: .invalidArgument,
                message:
                    "\(kind) type\(names.count == 1 ? "" : "s") \(names.map { "'\($0)'" }.joined(separator: ", ")) registered more than once: give each definition its own name (a type's default name leaves out the types it is nested in)"
            )
        }
        for (option, value) in [
            ("maxActivitiesPerSecond", options.maxActivitiesPerSecond),
            ("maxTaskQueueActivitiesPerSecond", options.maxTaskQueueActivitiesPerSecond),
        ] {
            guard let value, !(value > 0 && value.isFinite) else { continue }
            // The server reads a task queue rate of 0 as a pause: no activity of the queue went to
            // any worker.
            throw TemporalError(
                kind: .invalidArgument,
                message:
                    "WorkerOptions.\(option) is \(value): it must be a positive number of activities per second, or nil for no limit\(option == "maxTaskQueueActivitiesPerSecond" ? " (the server takes 0 as a pause of the queue's activities on every worker)" : "")"
            )
        }
        try options.deployment?.validate(workflows: Array(workflows.values))
        let stickyPolls = cache == nil ? 0 : options.workflowTaskPollerBehavior.stickyCount
        if !workflows.isEmpty, options.maxConcurrentWorkflowTasks < stickyPolls + 1 {
            throw TemporalError(
                kind: .invalidArgument,
                message: stickyPolls == 0
                    ? "WorkerOptions.maxConcurrentWorkflowTasks is \(options.maxConcurrentWorkflowTasks): it must be at least 1"
                    : "WorkerOptions.maxConcurrentWorkflowTasks is \(options.maxConcurrentWorkflowTasks): it must be at least \(stickyPolls + 1) while the sticky cache is on (each of the \(stickyPolls) sticky polls holds a slot while it waits, and the normal queue needs one too), or set maxCachedWorkflows = 0"
            )
        }
        if !activities.isEmpty, options.maxConcurrentActivities < 1 {
            throw TemporalError(
                kind: .invalidArgument,
                message: "WorkerOptions.maxConcurrentActivities is \(options.maxConcurrentActivities): it must be at least 1")
        }
        if !activities.isEmpty, options.maxConcurrentLocalActivities < 1 {
            throw TemporalError(
                kind: .invalidArgument,
                message: "WorkerOptions.maxConcurrentLocalActivities is \(options.maxConcurrentLocalActivities): it must be at least 1")
        }
    }

    /// The autoscaled pollers' targets (nil where the count is fixed), for tests and tools.
    var pollerTargets: (workflow: Int?, activity: Int?) { (workflowPollerScaler?.target, activityPollerScaler?.target) }
    /// The autoscaled poll targets and the most each may reach (nil: fixed, or no sticky queue).
    var workflowPollerBounds: (normal: (target: Int, maximum: Int)?, sticky: (target: Int, maximum: Int)?) {
        (workflowPollerScaler.map { ($0.target, $0.maximum) }, stickyPollerScaler.map { ($0.target, $0.maximum) })
    }

    /// What the worker is doing: starting, serving, failing to poll, stopping or stopped (for
    /// liveness and readiness checks).
    public var health: WorkerHealth {
        if shutdownFinished.happened {
            return WorkerHealth(status: .stopped, detail: state.withLock { $0.stoppedBy }.map { "\($0)" })
        }
        if let refused = state.withLock({ $0.refusedBy }) { return WorkerHealth(status: .stopped, detail: refused) }
        if shutdownSignal.isStopping { return WorkerHealth(status: .stopping) }
        guard state.withLock({ $0.started }) else { return WorkerHealth(status: .starting, detail: "run() not called yet") }
        // A poll waits up to a minute on an idle queue: polling counts as working until one fails.
        if let outage = pollFailures.outage {
            return WorkerHealth(status: .pollingFailing, detail: "for \(outage.duration.components.seconds) s: \(outage.lastError)")
        }
        return WorkerHealth(status: .serving)
    }

    /// Number of runs currently cached.
    public var cachedRunCount: Int { cache?.count ?? 0 }

    /// Drops a run from the sticky cache (its next task replays from event 1). For tests and tools.
    /// - Returns: false when the run was not cached (never, no longer, or checked out by a task
    ///   right now).
    @discardableResult
    public func evictFromCache(runID: String) -> Bool { cache?.evict(runID) ?? false }

    /// Polls and executes tasks until `shutdown()` finishes (or the calling task is cancelled,
    /// which starts a shutdown).
    public func run() async throws {
        // Before the worker counts as started: a refused worker has no tree, and `shutdown()`
        // of a worker that never started runs (and finishes) the shutdown itself.
        do { try validateOptions() } catch {
            // Stopped, not starting for ever: a liveness check restarts what will never run.
            state.withLock { $0.refusedBy = "run() refused its options: \(error)" }
            throw error
        }
        let alreadyStarted = state.withLock { s -> Bool in
            defer { s.started = true }
            return s.started
        }
        guard !alreadyStarted else {
            throw TemporalError(kind: .invalidArgument, message: "Worker.run() may be called only once")
        }
        // Before the pollers: once a polled task ran, eager starts are accepted too.
        if !workflows.isEmpty, options.eagerWorkflowStart {
            let token = client.registerEagerWorkflowAcceptor(self, taskQueue: taskQueue)
            eagerRegistration.withLock { $0 = token }
        }
        instruments.workerStarted()
        if options.fitThreadsToCPULimit, let fit = CPULimit.fitThreadsToLimit() {
            options.logger.info(
                "CPU limit of \(fit.cores) cores: the process's threads run on CPU \(fit.cpus.map(String.init).joined(separator: ", ")) (WorkerOptions.fitThreadsToCPULimit)"
            )
        }
        options.logger.info("worker polling task queue '\(taskQueue)' (\(workflows.count) workflow types, \(activities.count) activities)")
        // The tree: pollers in a group of their own (cancelled together when the worker stops,
        // which ends their long polls), workflow tasks in one group and activities in another,
        // so that stopping the pollers never cancels a task in progress and the shutdown drains
        // the kinds in order. The tree's root is not a child of the caller's task: cancelling
        // `run()` is a shutdown with no grace period (running activities are stopped and
        // reported as `WorkerShutdown`, workflow tasks still answered), not a cancellation of
        // the tasks' last RPCs. The shutdown itself is a child of the tree too, started by the
        // first request (`shutdown()`, a poller's fatal error, a signal, the caller's cancellation).
        let tree = Task {
            await withDiscardingTaskGroup { group in
                group.addTask {
                    await self.runPollers()
                    self.pollersStopped.fire()
                }
                group.addTask { await self.workflowExecutions.run() }
                group.addTask { await self.activityExecutions.run() }
                group.addTask {
                    await self.shutdownRequested.wait()
                    await self.runShutdownIfFirst()
                }
            }
        }
        await withGracefulShutdownHandler {
            await withTaskCancellationHandler {
                await awaitTree(tree)
            } onCancel: {
                self.requestShutdown(gracePeriod: .zero)
            }
        } onGracefulShutdown: { [self] in
            options.logger.info("graceful shutdown requested; shutting down (grace \(options.gracefulShutdownTimeout))")
            requestShutdown()
        }
        if let error = state.withLock({ $0.stoppedBy }) { throw error }
    }

    /// Every poller, until the worker stops. Autoscaled pollers stop themselves when there are
    /// more than their target; new ones start here when the target rises.
    private func runPollers() async {
        await withDiscardingTaskGroup { pollers in
            func startPollers() {
                if !workflows.isEmpty, let scaler = workflowPollerScaler {
                    while scaler.claimNewPoller() { pollers.addTask { await self.pollWorkflowTasks(sticky: false) } }
                }
                if !workflows.isEmpty, let scaler = stickyPollerScaler {
                    while scaler.claimNewPoller() { pollers.addTask { await self.pollWorkflowTasks(sticky: true) } }
                }
                if !activities.isEmpty, let scaler = activityPollerScaler {
                    while scaler.claimNewPoller() { pollers.addTask { await self.pollActivityTasks() } }
                }
            }
            if !workflows.isEmpty {
                if workflowPollerScaler == nil {
                    for _ in 0..<options.workflowTaskPollerBehavior.initialCount {
                        pollers.addTask { await self.pollWorkflowTasks(sticky: false) }
                    }
                }
                if stickyQueue != nil, stickyPollerScaler == nil {
                    for _ in 0..<options.workflowTaskPollerBehavior.stickyCount {
                        pollers.addTask { await self.pollWorkflowTasks(sticky: true) }
                    }
                }
            }
            if !activities.isEmpty, activityPollerScaler == nil {
                for _ in 0..<options.activityTaskPollerBehavior.initialCount {
                    pollers.addTask { await self.pollActivityTasks() }
                }
            }
            pollers.addTask { await self.readNamespaceCapabilities() }
            startPollers()
            for await _ in pollerGrowth { startPollers() }  // until the worker stops
            await cancelPolls.wait()  // at once, or once the server answered them (`performShutdown`)
            pollers.cancelAll()
        }
    }

    /// Whether the shutdown will leave the polls for the server to answer (the namespace's
    /// capability, once read).
    var pollsAnsweredByServerAtShutdown: Bool { pollsCompleteOnShutdown.withLock { $0 } }

    /// Whether the namespace answers a stopping worker's polls, and whether it scales pollers
    /// (unknown is no). Read again while the server cannot be reached, until the worker stops
    /// (a server that came up after the client's retries gave up left the worker on the legacy
    /// shutdown for good: polls cancelled under tasks the server had handed them); not when the
    /// server refuses it (an API key without the permission), as that will not change.
    private func readNamespaceCapabilities() async {
        var pause = Duration.seconds(1)
        var response: Temporal_Api_Workflowservice_V1_DescribeNamespaceResponse?
        var told = false
        while response == nil, !shutdownSignal.isStopping, !Task.isCancelled {
            do {
                response = try await client.describeNamespace()
            } catch {
                if shutdownSignal.isStopping || Task.isCancelled || error is CancellationError || client.isClosed { return }
                // What the pollers stop on will not heal here either (the pollers' rule).
                if PollFailures.willNotHeal(error) {
                    options.logger.notice("the namespace's capabilities could not be read (\(error)): a shutdown cancels the polls")
                    return
                }
                if !told {
                    told = true
                    options.logger.notice(
                        "the namespace's capabilities could not be read yet (\(error)); reading them again with backoff (until then, a shutdown cancels the polls)"
                    )
                }
                try? await Task.sleep(for: pause)
                pause = min(pause * 2, .seconds(30))
            }
        }
        guard let response else { return }
        let capabilities = response.namespaceInfo.capabilities
        pollsCompleteOnShutdown.withLock { $0 = capabilities.workerPollCompleteOnShutdown }
        if capabilities.pollerAutoscaling {
            workflowPollerScaler?.serverAutoscales()
            stickyPollerScaler?.serverAutoscales()
            activityPollerScaler?.serverAutoscales()
        }
    }

    /// Runs one long poll, counted in `pollsInFlight` while it waits.
    /// Reported, as Go does, as `temporal_num_pollers` by `pollerType` (`workflow_task`,
    /// `workflow_sticky_task`, `activity_task`), under the lock so that the last value stands.
    private func inFlight<T>(_ pollerType: String, _ poll: () async throws -> T) async throws -> T {
        let instruments = instruments
        pollsInFlight.withLock { counts in
            counts[pollerType, default: 0] += 1
            instruments.numPollers(counts[pollerType] ?? 0, pollerType: pollerType)
        }
        defer {
            pollsInFlight.withLock { counts in
                counts[pollerType, default: 0] -= 1
                instruments.numPollers(counts[pollerType] ?? 0, pollerType: pollerType)
            }
        }
        return try await poll()
    }

    /// After a failed poll: waits out the backoff and returns true (poll again), or stops the
    /// worker and returns false when the failure will not heal (see `PollFailures`).
    private func pollFailed(_ error: any Error, poll: String) async -> Bool {
        // Every call of a closed client fails at once, and would for ever: the worker polled
        // with backoff, and `run()` never returned. A shutdown asked for already (the client
        // closed right after it) is no failure: the poll just ends.
        if client.isClosed {
            if shutdownRequested.happened || Task.isCancelled { return false }
            var stopped = WorkerStoppedError(
                taskQueue: taskQueue, namespace: client.namespace, cause: "its TemporalClient was closed while it ran",
                advice: "close the client only after the worker's run() has returned (shut the worker down first)")
            stopped.failingFor = .zero
            stop(because: stopped)
            return false
        }
        switch pollFailures.failed(error, poll: poll) {
        case .retry(let delay):
            try? await Task.sleep(for: delay)
            if PollFailures.serverWasUnreachable(error) { await probeServer() }
            pollFailures.backoffEnded(poll: poll)
            return true
        case .stop(let stopped):
            stop(because: stopped)
            return false
        }
    }

    /// Asks the server, with a short call, whether it answers again, and ends the outage if so.
    /// A poll that reaches a recovered server waits there up to a minute on an idle queue, so
    /// without this the worker would report the outage (health, "works again") that long after
    /// it ended. DescribeNamespace, as Go's worker uses at start: it needs the namespace, which
    /// the polls need too.
    private func probeServer() async {
        guard !shutdownSignal.isStopping, pollFailures.beginProbe() else { return }
        var request = Temporal_Api_Workflowservice_V1_DescribeNamespaceRequest()
        request.namespace = client.namespace
        let answered: Temporal_Api_Workflowservice_V1_DescribeNamespaceResponse? =
            try? await client.workflowService.call(
                "DescribeNamespace", request, timeout: PollFailures.probeTimeout, retry: false)
        pollFailures.probeFinished(answered: answered != nil)
    }

    /// A poller met a failure that will not heal: stop the worker, and make `run()` throw it.
    private func stop(because error: WorkerStoppedError) {
        let first = state.withLock { s -> Bool in
            guard s.stoppedBy == nil else { return false }
            s.stoppedBy = error
            return true
        }
        guard first else { return }
        options.logger.error("\(error)")
        requestShutdown()
    }

    /// Stops the worker: stops polling, tells the server the sticky queue is gone
    /// (ShutdownWorker), lets running tasks finish within `gracePeriod` (default
    /// `options.gracefulShutdownTimeout`, counted from now; activities keep heartbeating and
    /// workflow tasks keep running their local activities meanwhile), then gives up the workflow
    /// tasks still running local activities and cancels the activities still running (reported
    /// failed, type `WorkerShutdown`, so they retry elsewhere). Returns once polling stopped and the executions drained or were stopped
    /// (`run()` returns when the last of them has ended, or 1 s after this returns, leaving behind
    /// those that ignore their cancellation). Idempotent.
    /// Cancelling the caller stops only its wait.
    public func shutdown(gracePeriod: Duration? = nil) async {
        requestShutdown(gracePeriod: gracePeriod)
        // A worker that never ran has no tree to run the shutdown in: run it here.
        if !state.withLock({ $0.started }) { await runShutdownIfFirst() }
        await shutdownFinished.wait()
    }

    /// Starts `shutdown(gracePeriod:)` without waiting for it (from any thread: signal
    /// handlers, cancellation handlers). A later request with a shorter grace period shortens
    /// the one under way, counted from when it began: a second SIGINT, a service group giving
    /// up on its graceful shutdown, or cancelling `run()` (no grace) stops what still runs.
    public func requestShutdown(gracePeriod: Duration? = nil) {
        let grace = gracePeriod ?? options.gracefulShutdownTimeout
        let hardStopAt = state.withLock { s -> ContinuousClock.Instant? in
            guard let current = s.requestedGracePeriod else {
                s.requestedGracePeriod = grace
                return nil
            }
            guard grace < current else { return nil }
            s.requestedGracePeriod = grace
            return s.shutdownStart.map { $0 + grace }
        }
        shutdownRequested.fire()
        guard let hardStopAt else { return }
        let signal = shutdownSignal
        if hardStopAt <= ContinuousClock.now {
            signal.hardStop()
        } else {
            Task {
                try? await Task.sleep(until: hardStopAt, clock: .continuous)
                signal.hardStop()
            }
        }
    }

    /// Waits for the worker's task tree to end; or, once the shutdown has finished (its bounded
    /// waits over: hard stop and 5 s) with the tree still running, 1 s more, then returns,
    /// leaving behind what ignores its cancellation (an activity body in a blocking call, a
    /// workflow thread that never yields), as Go's `Stop` does after its timeout: `run()`, and a
    /// service group with it, waited for them for ever, so the process never exited, though
    /// the server had already been told such an activity failed (`WorkerShutdown`).
    private func awaitTree(_ tree: Task<Void, Never>) async {
        let ended = OneShotEvent()
        let finished = shutdownFinished
        let logger = options.logger
        // Unstructured: a cancelled caller still waits for the shutdown its cancellation asked for.
        await Task {
            Task {
                await tree.value
                ended.fire()
            }
            await OneShotEvent.first(of: [ended, finished], deadline: nil)
            if !ended.happened, await !ended.wait(timeout: .seconds(1)) {
                logger.warning(
                    "the worker stopped with executions that ignore their cancellation still running (an activity in a blocking call, a workflow thread that does not yield); they are left behind: end the process"
                )
            }
        }.value
    }

    private func runShutdownIfFirst() async {
        let grace = state.withLock { s -> Duration? in
            guard !s.shutdownClaimed else { return nil }
            s.shutdownClaimed = true
            s.shutdownStart = ContinuousClock.now
            return s.requestedGracePeriod ?? options.gracefulShutdownTimeout
        }
        guard let grace else { return }
        await performShutdown(gracePeriod: grace)
        shutdownFinished.fire()
    }

    private func performShutdown(gracePeriod: Duration) async {
        // The grace period counts from here, for workflow tasks and activities alike (the
        // ShutdownWorker call and the pollers' stop included).
        let graceEnds = ContinuousClock.now + gracePeriod
        func graceLeft() -> Duration { max(.zero, graceEnds - ContinuousClock.now) }
        // The hard stop comes when the grace ends, whatever step the drain is at: each step
        // below may wait up to 5 s (a slow ShutdownWorker, polls, a workflow task given up),
        // and activities stopped later than the grace could be killed (Kubernetes, docker stop)
        // before reporting, then wait out their timeouts before a retry.
        let graceTimer = Task { [shutdownSignal] in
            try? await Task.sleep(until: graceEnds, clock: .continuous)
            if !Task.isCancelled { shutdownSignal.hardStop() }
        }
        defer { graceTimer.cancel() }
        shutdownSignal.stop()
        pollerGrowthSink.finish()
        if let token = eagerRegistration.withLock({ $0.take() }) {
            client.unregisterEagerWorkflowAcceptor(taskQueue: taskQueue, token: token)
        }
        // A server that answers a stopping worker's polls does so once told (`ShutdownWorker`):
        // a task it hands to one of them meanwhile is run, where a cancelled poll could lose it
        // (started on the server, run by nobody until its timeout). Otherwise they are
        // cancelled now, as before.
        let answeredByServer = pollsCompleteOnShutdown.withLock { $0 }
        if !answeredByServer { cancelPolls.fire() }
        let ran = state.withLock { $0.started }
        if ran {
            // As Go and Core: the sticky queue to drop, and which polls are this worker's.
            var r = Temporal_Api_Workflowservice_V1_ShutdownWorkerRequest()
            r.namespace = client.namespace
            r.stickyTaskQueue = stickyQueue ?? ""
            r.identity = identity
            r.reason = "graceful shutdown"
            r.workerInstanceKey = workerInstanceKey
            r.taskQueue = taskQueue
            r.taskQueueTypes = (workflows.isEmpty ? [] : [.workflow]) + (activities.isEmpty ? [] : [.activity])
            _ = try? await client.workflowService.shutdownWorker(r)
        }
        if answeredByServer {
            let deadline = ContinuousClock.now + .seconds(5)
            while pollsInFlight.withLock({ $0.values.reduce(0, +) }) > 0, ContinuousClock.now < deadline {
                try? await Task.sleep(for: .milliseconds(10))
            }
            cancelPolls.fire()
        }
        // Drain in order: the pollers (no new tasks), then workflow tasks (one finishing now may
        // still hand us eager activities), then activities, for the grace period, after which
        // the hard stop cancels those still running. A worker that never ran has none.
        if ran { _ = await pollersStopped.wait(timeout: .seconds(5)) }
        pollersGivenUp.fire()
        workflowExecutions.close()
        // Waits for `drained` until the grace ends or a shorter request (a hard stop) comes;
        // then stops what is left (`stop`) and gives it 5 s more.
        func drain(_ drained: OneShotEvent, stop: () -> Void) async {
            await OneShotEvent.first(of: [drained, shutdownSignal.hardStopped], deadline: Date().addingTimeInterval(graceLeft().seconds))
            if !drained.happened {
                stop()
                _ = await drained.wait(timeout: .seconds(5))
            }
        }
        // Workflow tasks running local activities go on for the grace period (their local
        // activities finish and the task is answered, as Core does: given up, they would run
        // again elsewhere after a task timeout). Those still running then are given up.
        if ran { await drain(workflowExecutions.drained) { shutdownSignal.giveUpWorkflowTasks() } }
        activityExecutions.close()
        // Activities have been running all along: what is left of the grace period (it used to
        // start again here, up to twice the grace period when a workflow task's local
        // activities took the whole of it), or until a shorter request: an activity deaf to the
        // cancellation it brought held `run()` for the rest of the first grace period.
        if ran { await drain(activityExecutions.drained) { shutdownSignal.hardStop() } }
        // A refusal's RPC is bounded by the client's retry budget; the drain gives them 5 s more
        // in all, refusals that arrive meanwhile included.
        if !lateRefusals.withLock({ $0.isEmpty }) {
            let finished = OneShotEvent()
            Task {
                while let next = self.lateRefusals.withLock({ $0.isEmpty ? nil : $0.removeFirst() }) { await next.value }
                finished.fire()
            }
            _ = await finished.wait(timeout: .seconds(5))
        }
        cache?.close()
        options.logger.info("worker on '\(taskQueue)' stopped")
    }

    // MARK: Polling

    private var workflowHandler: WorkflowTaskHandler {
        WorkflowTaskHandler(
            client: client, taskQueue: taskQueue, identity: identity, definitions: workflows, cache: cache,
            runGate: runGate, stickyQueue: stickyQueue, options: options, deployment: deploymentOptions, instruments: instruments,
            activitySlots: activities.isEmpty ? nil : activitySlots,
            localActivities: LocalActivityExecutor(
                client: client, activities: activities, logger: options.logger,
                metricsFactory: instruments.factory,
                interceptors: options.interceptors, slots: localActivitySlots, instruments: instruments),
            logger: options.logger,
            isStopping: { [shutdownSignal] in shutdownSignal.isStopping },
            mustGiveUp: { [shutdownSignal] in shutdownSignal.mustGiveUpWorkflowTasks },
            spawnLocalActivity: { [activityExecutions] in activityExecutions.submit($0) })
    }

    private var activityRunner: ActivityTaskRunner {
        ActivityTaskRunner(
            client: client, taskQueue: taskQueue, identity: identity,
            maxHeartbeatThrottle: options.maxHeartbeatThrottleInterval,
            defaultHeartbeatThrottle: options.defaultHeartbeatThrottleInterval,
            activities: activities, logger: options.logger, instruments: instruments,
            interceptors: options.interceptors, deployment: deploymentOptions)
    }

    private func pollWorkflowTasks(sticky: Bool) async {
        var request = Temporal_Api_Workflowservice_V1_PollWorkflowTaskQueueRequest()
        request.namespace = client.namespace
        request.identity = identity
        request.workerInstanceKey = workerInstanceKey
        if let deploymentOptions { request.deploymentOptions = deploymentOptions }
        if sticky, let stickyQueue {
            request.taskQueue.name = stickyQueue
            request.taskQueue.kind = .sticky
            request.taskQueue.normalName = taskQueue
        } else {
            request.taskQueue.name = taskQueue
            request.taskQueue.kind = .normal
        }
        let handler = workflowHandler
        let scaler = sticky ? stickyPollerScaler : workflowPollerScaler
        // Each queue keeps its own failure record: the sticky queue can fail alone (its
        // matching host down, its generated name refused) while the normal one works.
        let pollName = sticky ? "PollWorkflowTaskQueue (sticky)" : "PollWorkflowTaskQueue"
        await pollLoop(scaler) {
            guard await slotForPoll(workflowSlots, preferred: sticky) else { return false }
            let task: PollWorkflowTaskResponse
            do {
                task = try await inFlight(sticky ? "workflow_sticky_task" : "workflow_task") {
                    try await client.workflowService.pollWorkflowTaskQueue(request)
                }
            } catch {
                workflowSlots.pollReturned(withTask: false, preferred: sticky, backlog: sticky ? 0 : nil)
                if shutdownSignal.isStopping || Task.isCancelled { return false }
                scaler?.report(.failed(error))
                return await pollFailed(error, poll: pollName)
            }
            pollFailures.succeeded(poll: pollName)
            scaler?.report(.polled(task))
            instruments.workflowPoll(empty: task.taskToken.isEmpty)
            // As Core: while the sticky queue has a backlog, its polls take freed slots first,
            // so its tasks run before they time out to the normal queue and replay.
            workflowSlots.pollReturned(
                withTask: !task.taskToken.isEmpty, preferred: sticky, backlog: sticky ? task.backlogCountHint : nil)
            if !task.taskToken.isEmpty { dispatch(task, handler) }
            return true
        }
    }

    /// Reserves a slot for a poll; false when cancelled, or when the worker began stopping while
    /// it waited (a slot freed by a poll the server answered at shutdown: no new poll after
    /// ShutdownWorker).
    private func slotForPoll(_ slots: Slots, preferred: Bool = false) async -> Bool {
        guard await slots.acquireForPoll(preferred: preferred) else { return false }
        guard !shutdownSignal.isStopping else {
            slots.pollReturned(withTask: false, preferred: preferred)
            return false
        }
        return true
    }

    /// One poller: `poll` once per turn until the worker stops or `poll` says to stop (false),
    /// or, for an autoscaled poller, until there are more pollers than `scaler`'s target.
    private func pollLoop(_ scaler: PollerScaler?, _ poll: () async -> Bool) async {
        while !shutdownSignal.isStopping {
            if let scaler, !scaler.keepPolling() { return }  // counted out by the scaler
            guard await poll() else { break }
        }
        scaler?.pollerStopped()
    }

    /// Runs a workflow task that holds a slot, and releases the slot when it is done.
    private func dispatch(_ task: PollWorkflowTaskResponse, _ handler: WorkflowTaskHandler) {
        let submitted = workflowExecutions.submit {
            var current = task
            while true {
                let outcome = await handler.handle(current)
                // Eager activities join the activity group before this workflow task ends, so that
                // the shutdown (which closes that group after this one drained) never misses them.
                for activity in outcome.eagerActivities {
                    self.instruments.eagerActivity()
                    self.startActivity(activity)
                }
                // The run's next task, returned in the answer's response: started on the server
                // already, so it runs even while the worker stops (else it would time out).
                guard let next = outcome.next else { break }
                self.instruments.returnedWorkflowTask()
                current = next
            }
            self.workflowSlots.release()
        }
        if !submitted {
            // Only an eager workflow start racing the shutdown gets here: the task times out on
            // the server and runs again on another worker.
            workflowSlots.release()
            options.logger.warning(
                "workflow task of \(task.workflowType.name) arrived while the worker stopped; left to time out and run elsewhere")
        }
    }

    private func pollActivityTasks() async {
        var request = Temporal_Api_Workflowservice_V1_PollActivityTaskQueueRequest()
        request.namespace = client.namespace
        request.identity = identity
        request.workerInstanceKey = workerInstanceKey
        if let deploymentOptions { request.deploymentOptions = deploymentOptions }
        request.taskQueue.name = taskQueue
        request.taskQueue.kind = .normal
        if let perSecond = options.maxTaskQueueActivitiesPerSecond {
            request.taskQueueMetadata.maxTasksPerSecond.value = perSecond
        }
        let scaler = activityPollerScaler
        await pollLoop(scaler) {
            guard await slotForPoll(activitySlots) else { return false }
            let task: ActivityTask
            do {
                task = try await inFlight("activity_task") { try await client.workflowService.pollActivityTaskQueue(request) }
            } catch {
                activitySlots.pollReturned(withTask: false)
                if shutdownSignal.isStopping || Task.isCancelled { return false }
                scaler?.report(.failed(error))
                return await pollFailed(error, poll: "PollActivityTaskQueue")
            }
            let arrival = ActivityTaskArrival.now
            pollFailures.succeeded(poll: "PollActivityTaskQueue")
            scaler?.report(.polled(task))
            instruments.activityPoll(empty: task.taskToken.isEmpty)
            activitySlots.pollReturned(withTask: !task.taskToken.isEmpty)
            guard !task.taskToken.isEmpty else { return true }
            // As Go's dispatcher: a permit per task polled, before it starts, and this poller
            // polls again only after (a permit per poll let every idle poller's task start at
            // once, and spent permits on empty polls). The server's clocks run meanwhile: the
            // attempt's deadline counts from the task's arrival.
            if let activityRate, !(await Self.permit(from: activityRate, unless: [shutdownSignal.hardStopped, pollersGivenUp])) {
                refuseLate(task)
                return false
            }
            startActivity(task, arrival: arrival)
            return true
        }
    }

    /// Waits for `limiter`'s next permit; false when one of `stops` happens first. A shutdown
    /// cancels the pollers, not this wait (as Go keeps its limiter through the drain): the tasks
    /// they hold still start at the rate while the drain waits for the pollers, rather than all
    /// at once against what the limit protects (before, each poller's task started at the
    /// shutdown); those still waiting when it stops waiting are refused.
    static func permit(from limiter: RateLimiter, unless stops: [OneShotEvent]) async -> Bool {
        let permit = Task { (try? await limiter.acquire()) != nil }
        let stop = Task {
            await OneShotEvent.first(of: stops, deadline: nil)
            if !Task.isCancelled { permit.cancel() }
        }
        let granted = await permit.value
        stop.cancel()
        return granted && !stops.contains { $0.happened }
    }

    /// Answers a polled activity task the stopping worker will not run as failed
    /// (WorkerShutdown), so that the server retries it at once, rather than leave it to its
    /// timeout; the drain waits for the answer.
    private func refuseLate(_ task: ActivityTask) {
        activitySlots.release()
        options.logger.warning(
            "activity \(task.activityType.name) arrived while the worker stopped; answered as failed (WorkerShutdown) so that the server retries it at once"
        )
        let runner = activityRunner
        let refusal = Task { await runner.refuse(task) }
        lateRefusals.withLock { $0.append(refusal) }
    }

    /// Runs an activity task in its own task; the caller holds a slot for it (released here
    /// for an empty task).
    private func startActivity(_ task: ActivityTask, arrival: ActivityTaskArrival = .now) {
        if task.taskToken.isEmpty {
            activitySlots.release()
            return
        }
        let runner = activityRunner
        let signal = shutdownSignal
        let submitted = activityExecutions.submit {
            await runner.execute(task, received: arrival, shutdown: signal)
            self.activitySlots.release()
        }
        if !submitted {
            // Activities are taken until the workflow tasks have drained: only one that outlived
            // the grace period can hand us an eager activity now.
            refuseLate(task)
        }
    }

}

// MARK: - Eager workflow start

extension Worker: EagerWorkflowTaskAcceptor {
    public func reserveEagerWorkflowTask(workflowType: String) -> Bool {
        !shutdownSignal.isStopping && workflows[workflowType] != nil && workflowSlots.tryAcquire()
    }

    public func acceptEagerWorkflowTask(_ task: Temporal_Api_Workflowservice_V1_PollWorkflowTaskQueueResponse) {
        instruments.eagerWorkflowTask()
        dispatch(task, workflowHandler)
    }

    /// This worker's deployment (`WorkerOptions.deployment`), sent with the starts it takes.
    public var eagerWorkerDeploymentOptions: Temporal_Api_Deployment_V1_WorkerDeploymentOptions? { deploymentOptions }

    public func releaseEagerWorkflowTaskReservation() {
        workflowSlots.release()
    }
}

/// A worker is a swift-service-lifecycle `Service`: run it in a `ServiceGroup` beside other
/// services (a metrics endpoint, a codec server); the group's graceful shutdown drains it.
extension Worker: Service {}
