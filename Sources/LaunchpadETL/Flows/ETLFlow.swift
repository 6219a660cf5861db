import Logging
import Temporal
import TemporalProto
public import TemporalWorker

/// A flow that runs extract → transform → load as three activities called **by name** (so
/// they can be implemented by a worker in any language), passing only a `StagedBatch`
/// reference between them: the rows stay in SQLite, never in workflow history.
///
/// Conformers supply the queue, the activity names/options and the activities; `run` is
/// provided. The result is the query's `summaryBase()` plus `workflow_id`,
/// `items_processed` and `items_inserted`.
public protocol ETLFlow: Flow {
    /// Names, timeouts and retry policies of the three activities.
    static var activityOptions: ETLActivityOptions { get }
    /// The query types the flow accepts (default `QueryFactory.standard`).
    static var queryFactory: QueryFactory { get }
    /// Whether a load records the window it covers (`LoadedWindow`, what the report's coverage
    /// reads; default true). A flow whose events do not come from the query's source says no.
    static var recordsCoverage: Bool { get }
}

extension ETLFlow {
    public static var queryFactory: QueryFactory { .standard }
    public static var recordsCoverage: Bool { true }

    /// Validates the input, then extracts, transforms and loads.
    ///
    /// Transform and load run on the store queue the extract reports (`StoreRouting`), so they
    /// reach a worker whose store holds the staged rows. When no worker of that store picks
    /// them up in time (it is gone), or the staged rows no longer match the reference, the flow
    /// extracts again under a new batch id, at most `StoreRouting.maxExtractions` times in all.
    ///
    /// - Throws: a non-retryable `ApplicationError` for bad input (before any activity runs),
    ///   for activities that failed for good (its type is the `ETLError` type, e.g.
    ///   `UnknownLaunchpadMember`) and for activities that timed out after their retries
    ///   (`ActivityTimedOut`, saying what to do).
    public func run(context: WorkflowContext, input: JSONValue) async throws -> FlowResult {
        let (flowInput, query) = try LaunchpadProgress.failing(context) { try Self.parseInput(input, factory: Self.queryFactory) }
        if let launchpad = query as? LaunchpadQuery {
            do throws(ETLError) {
                try LaunchpadQuery.refuseTooEarly(launchpad.dataDateStart, name: "data_date_start", context: context)
            } catch {
                throw LaunchpadProgress.failed(context, error.applicationError)
            }
        }
        context.logger.info("\(Self.name) starting", metadata: ["query": "\(flowInput.json.serialized())"])
        // Runs started before store routing replay without it.
        let routed = context.patched(Self.storeRoutingPatch)
        let progress = LaunchpadProgress.isEnabled(context)
        return try await LaunchpadProgress.tracking(context, enabled: progress) {
            try await Self.extractTransformLoad(context, flowInput: flowInput, query: query, routed: routed, progress: progress)
        }
    }

    /// The body of `run`: extract (again, when a staged batch turns out unusable), transform, load.
    static func extractTransformLoad(
        _ context: WorkflowContext, flowInput: FlowInput, query: any Query,
        routed: Bool, progress: Bool
    ) async throws -> FlowResult {
        let names = Self.activityOptions
        let info = context.info
        var extraction = 1
        // Stores whose load was begun and then not picked up again (an attempt may have
        // committed there before its worker stopped answering).
        var loadsLeft: [String] = []
        while true {
            let batchId = "\(info.workflowID)/\(info.runID)" + (extraction == 1 ? "" : "#\(extraction)")
            let request = ExtractRequest(input: flowInput, batchId: batchId)
            let extracted = try await Self.call(context, names.extractName, request, names.extract, as: ExtractOutput.self)
            // The flows' activities share names: a worker serving MockFlow on this flow's queue
            // (another process, misconfigured) took the extract, and its synthetic events were
            // loaded as read from Launchpad, the window recorded as covered, the run green.
            if recordsCoverage, extracted.synthetic == true, context.patched(Self.syntheticExtractPatch) {
                throw LaunchpadProgress.failed(
                    context,
                    ETLError(
                        .syntheticExtract,
                        "\(Self.name)'s extract ran on a worker that serves MockFlow on task queue '\(info.taskQueue)' and staged synthetic events (batch \(batchId), left unloaded): serve MockFlow on its own task queue (--mock-task-queue) on every worker, then run \(Self.name) again",
                        nonRetryable: true
                    ).applicationError)
            }
            if progress { LaunchpadProgress.report(context, .extracted, rows: extracted.batch.rowCount) }
            var transformOptions = names.transform
            var loadOptions = names.load
            if routed, let queue = extracted.storeQueue {
                transformOptions.taskQueue = queue
                transformOptions.scheduleToStartTimeout = StoreRouting.scheduleToStartTimeout
                loadOptions.taskQueue = queue
                loadOptions.scheduleToStartTimeout = StoreRouting.scheduleToStartTimeout
            }
            do {
                let transformed = try await context.executeActivity(
                    names.transformName, input: extracted.batch, options: transformOptions, as: StagedBatch.self)
                if progress { LaunchpadProgress.report(context, .transformed, rows: transformed.rowCount) }
                // The load records what it covers, so a report can tell "not extracted" from "no activity".
                var toLoad = transformed
                toLoad.window = recordsCoverage ? query.loadedWindow(skipped: extracted.skipped ?? []) : nil
                toLoad.window?.access = extracted.access
                let loaded = try await context.executeActivity(names.loadName, input: toLoad, options: loadOptions, as: LoadOutput.self)
                var summary = query.summaryBase()
                if let skipped = extracted.skipped, !skipped.isEmpty {
                    // Read as complete only what was read: say what could not be.
                    summary[FlowResult.skippedKey] = skipped.joined(separator: "; ")
                    if skipped.contains(where: { $0.contains(DistinctListing.rereadHint) }) {
                        summary[FlowResult.rereadKey] = "a listing was read short of its total_size; read these days again"
                    }
                }
                if extracted.readAnonymously == true { summary[FlowResult.accessKey] = FlowResult.anonymousAccess }
                // Where transform and load ran (routed runs only: before, they ran on any worker).
                if routed, let store = extracted.storeQueue.flatMap(StoreRouting.storeShortID(ofQueue:)) {
                    summary[FlowResult.storeKey] = store
                    let others = loadsLeft.filter { $0 != store }
                    if !others.isEmpty {
                        summary[FlowResult.splitStoresKey] =
                            "a load of this run was begun in store \(others.joined(separator: ", ")), whose workers then stopped answering (an attempt may have committed there), and this run's events went to store \(store): the window may be in both"
                    }
                }
                if let left = extracted.teamProjectsNotSearched, left > 0 {
                    summary[FlowResult.teamProjectsNotSearchedKey] =
                        "\(left) \(left == 1 ? "project the member's teams own was" : "projects the member's teams own were") not searched for the member's reviews (they rank after every other review target; raise LP_REVIEW_TARGETS to search them)"
                }
                if let kept = loaded.kept, kept > 0 {
                    summary[FlowResult.keptKey] =
                        "\(kept) stored events of the window were not found again and stay stored: \(loaded.keptBecause ?? "removing them was not safe")"
                }
                if let superseded = loaded.superseded, superseded > 0 {
                    summary[FlowResult.supersededKey] =
                        "\(superseded) \(superseded == 1 ? "event this read found was" : "events this read found were") left as a read of these days that started later had stored or removed \(superseded == 1 ? "it" : "them") (that read was loaded first; its view is newer)"
                }
                var result = FlowResult(
                    summary: summary, workflowId: info.workflowID,
                    itemsProcessed: transformed.rowCount, itemsInserted: loaded.inserted)
                result.itemsRemoved = loaded.removed
                context.logger.info("\(Self.name) finished", metadata: ["result": "\(result)"])
                return result
            } catch let error as ActivityError {
                guard routed, extraction < StoreRouting.maxExtractions, let reason = Self.batchUnusable(error) else {
                    throw Self.failure(error, extractions: extraction)
                }
                if let store = Self.loadLeftBehind(error, storeQueue: extracted.storeQueue), !loadsLeft.contains(store) {
                    loadsLeft.append(store)
                }
                context.logger.warning("\(Self.name) extracts again", metadata: ["batch": "\(batchId)", "reason": "\(reason)"])
                extraction += 1
            }
        }
    }

    /// The store (short id) of a load that was begun and then not picked up again within the
    /// schedule-to-start timeout: an earlier attempt of it may have committed there before its
    /// worker stopped answering. Nil for other failures.
    /// A first attempt that was never picked up ran nowhere: the server gives the timeout the
    /// previous attempt's failure as its cause, and a first attempt's timeout has none.
    static func loadLeftBehind(_ error: ActivityError, storeQueue: String?) -> String? {
        guard error.activityType == activityOptions.loadName, error.timeoutType == .scheduleToStart else { return nil }
        var failure: Failure? = error.failure
        while let current = failure {
            if case .timeoutFailureInfo? = current.failureInfo {
                guard current.hasCause else { return nil }  // the first attempt's: nothing ran
                break
            }
            failure = current.hasCause ? current.cause : nil
        }
        return storeQueue.flatMap(StoreRouting.storeShortID(ofQueue:))
    }

    /// Why a transform or load failure means the staged batch cannot be used (so extracting
    /// again can help), or nil for other failures.
    static func batchUnusable(_ error: ActivityError) -> String? {
        if error.timeoutType == .scheduleToStart {
            return "no worker of the store holding the batch picked up \(error.activityType) within \(StoreRouting.scheduleToStartTimeout)"
        }
        if let app = error.applicationError,
            [ETLError.Code.stagingMismatch.rawValue, ETLError.Code.batchInOtherStore.rawValue].contains(app.type)
        {
            return "\(error.activityType): \(app.message)"
        }
        return nil
    }

    /// The patch id guarding store-routed transform/load (see `StoreRouting`).
    static var storeRoutingPatch: String { "store-routed-load" }
    /// Marks runs that refused a synthetic extract (`ExtractOutput.synthetic`); runs before it
    /// loaded one as they did.
    static var syntheticExtractPatch: String { "synthetic-extract-refused" }

    /// Runs one activity; an application failure or a timeout becomes a non-retryable
    /// `ApplicationError` naming the activity (see `failure`).
    static func call<I: Encodable, O: Decodable>(
        _ context: WorkflowContext, _ name: String, _ input: I,
        _ options: ActivityOptions, as: O.Type
    ) async throws -> O {
        do {
            return try await context.executeActivity(name, input: input, options: options, as: O.self)
        } catch let error as ActivityError {
            throw failure(error)
        }
    }

    /// What a failed activity fails the flow with: a non-retryable `ApplicationError` naming
    /// the activity, with the activity's error type; a timeout as one of type
    /// `ActivityTimedOut` saying what to do (it failed with the bare timeout, no store or action
    /// named); other failures as they are. `extractions`: how many times the flow extracted.
    static func failure(_ error: ActivityError, extractions: Int = 1) -> any Error {
        // The timeout first: the server gives a timeout the last attempt's failure as its cause,
        // so an application error under it is an earlier attempt's, not what ended the activity
        // (it was reported as the failure, with that attempt's type and advice).
        let direct = error.failure.hasCause ? error.failure.cause : nil
        guard case .timeoutFailureInfo(let info)? = direct?.failureInfo else {
            if let app = error.applicationError {
                return ApplicationError("\(error.activityType) failed: \(app.message)", type: app.type, nonRetryable: true)
            }
            return error
        }
        let timeout = info.timeoutType
        let lastAttempt = error.applicationError.map { " (its last failed attempt: \($0.type): \($0.message))" } ?? ""
        let advice: String
        switch timeout {
        case .scheduleToStart where error.activityType == activityOptions.extractName:
            // Not routed to a store: the flow's own queue had no worker for the extract's whole
            // budget (a fleet down, or workers polling another queue).
            let budget = activityOptions.extract.scheduleToCloseTimeout.map { " within \($0)" } ?? ""
            advice =
                "no worker polling the flow's task queue picked it up\(budget): start a LaunchpadWorker on the task queue the flow was started on (`temporal task-queue describe` lists its pollers), then run the flow again"
        case .scheduleToStart:
            advice =
                "no worker of the store holding the staged batch picked it up within \(StoreRouting.scheduleToStartTimeout)\(extractions > 1 ? ", after \(extractions) extractions" : ""): start a worker on that store (LaunchpadWorker with the same --db-path or PostgreSQL database), or check that the workers of one store share it, then run the flow again"
        case .heartbeat:
            advice =
                "its worker stopped heartbeating (it died, was killed, or its machine is overloaded): see that worker's log, then run the flow again (a new run starts its work from the beginning)"
        default:
            advice =
                "it did not finish in time on any attempt (Launchpad too slow or unreachable, or a very large window): see the workers' logs, then run the flow again, over a shorter window if it is large"
        }
        return ApplicationError(
            "\(error.activityType) timed out (\(timeout)) after its retries\(lastAttempt): \(advice)", type: "ActivityTimedOut",
            nonRetryable: true)
    }
}
