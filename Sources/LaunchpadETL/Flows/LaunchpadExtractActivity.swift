import Foundation
import Logging
import Synchronization
public import TemporalWorker

/// `extract_data` of `LaunchpadFlow`: runs `LaunchpadExtractor` into the staging tables,
/// heartbeating every `ExtractionCheckpoint`, and on a retry resumes from the furthest
/// checkpoint its own store vouches for (the previous attempt's last heartbeat or the
/// checkpoint saved in the store; see `ResumePlan`), else starts again from the beginning.
public enum LaunchpadExtractActivity {
    /// The activity, registered under `name`.
    public static func definition(_ name: String, environment: FlowEnvironment) -> ActivityDefinition {
        ActivityDefinition(name) { (request: ExtractRequest, context: ActivityContext) async throws -> ExtractOutput in
            try await StagingActivities.etl(context) { () throws(ETLError) -> ExtractOutput in
                try await extract(request, context: context, environment: environment)
            }
        }
    }

    /// How far behind the clock the run was checked by (the starter's, a team workflow's: the
    /// server's) this worker's clock may be: a window that ends within it by this clock is waited
    /// for, not refused.
    static let clockSkewAllowance: Duration = .seconds(120)

    /// How long to wait before extracting at `now`: until the window's end when that is within
    /// `clockSkewAllowance` (a run started just after midnight UTC, on a worker whose clock is
    /// a little behind, was refused for good, though its window had ended); nil otherwise.
    static func clockSkewWait(_ query: LaunchpadQuery, now: Date) -> Duration? {
        query.timeUntilEnd(now: now).flatMap { $0 <= clockSkewAllowance ? $0 : nil }
    }

    /// Waits out `clockSkewWait`, heartbeating.
    static func waitOutClockSkew(_ query: LaunchpadQuery, context: ActivityContext) async {
        guard let first = clockSkewWait(query, now: Date()) else { return }
        context.logger.notice(
            "the window ends \(first) from now by this worker's clock, which must be behind the clock the run was started by: waiting for it"
        )
        // With the previous attempt's checkpoint, if any: a heartbeat without details clears
        // what the server holds.
        let previous = (try? context.lastHeartbeatDetails(as: ExtractionCheckpoint.self)) ?? nil
        while let left = clockSkewWait(query, now: Date()), !Task.isCancelled {
            if let previous { context.heartbeat(previous) } else { context.heartbeat() }
            try? await Task.sleep(for: min(left, .seconds(5)))
        }
    }

    static func extract(_ request: ExtractRequest, context: ActivityContext, environment: FlowEnvironment) async throws(ETLError)
        -> ExtractOutput
    {
        let query = try LaunchpadFlow.launchpadQuery(request.input)
        await waitOutClockSkew(query, context: context)
        try query.requireEnded(now: Date())
        var configuration = try LaunchpadClientConfiguration(query: query)
        environment.configureClient(&configuration)
        if let withheld = configuration.credentialsWithheld {
            CredentialNotice.logOnce(withheld, root: configuration.serviceRoot.url, logger: context.logger)
        }
        let client = LaunchpadClient(configuration: configuration, logger: context.logger)
        var extractor = try LaunchpadExtractor(
            query: query, client: client, store: environment.store, creditingTeam: request.input.creditTeam,
            creditPeople: request.input.creditPeople, logger: context.logger)
        extractor.chunkSize = environment.extractionChunkSize

        let store = environment.store
        // Heartbeat each checkpoint (the worker throttles the RPCs), and the latest one
        // periodically so that slow pages (retries, latency) never look like a dead worker;
        // from the start: the store calls before the first checkpoint wait their turn on the
        // store's one connection (another member's load may hold it for longer than the
        // heartbeat timeout), and an attempt timed out there was counted as a stall. Until this
        // attempt has a checkpoint, the previous attempt's goes again (a heartbeat without
        // details would clear it for the next attempt); details this release cannot read (a
        // newer one's) are not overwritten before this attempt has its own. (A store call that
        // hangs before the first checkpoint is then found by the start-to-close timeout.)
        let (previous, unreadable): (ExtractionCheckpoint?, Bool) = {
            do {
                let details = try context.lastHeartbeatDetails(as: ExtractionCheckpoint.self)
                return (details.flatMap { $0.batchId == request.batchId ? $0 : nil }, false)
            } catch {
                return (nil, true)
            }
        }()
        let latest = Mutex<ExtractionCheckpoint?>(nil)
        let period = (context.info.heartbeatTimeout ?? .seconds(30)) / 3
        return try await withBackground({
            while true {
                do { try await Task.sleep(for: period) } catch { return }
                if let checkpoint = latest.withLock({ $0 }) ?? previous {
                    context.heartbeat(checkpoint)
                } else if !unreadable {
                    context.heartbeat()
                }
            }
        }) { () async throws(ETLError) in
            try await extract(
                request, query: query, extractor: &extractor, store: store, serviceRoot: configuration.serviceRoot,
                context: context, environment: environment
            ) { checkpoint in latest.withLock { $0 = checkpoint } }
        }
    }

    /// The part of `extract` under its heartbeats: `reached` sets the checkpoint they send.
    private static func extract(
        _ request: ExtractRequest, query: LaunchpadQuery, extractor: inout LaunchpadExtractor, store: any FlowStore,
        serviceRoot: ServiceRoot, context: ActivityContext, environment: FlowEnvironment,
        reached: @escaping @Sendable (ExtractionCheckpoint?) -> Void
    ) async throws(ETLError) -> ExtractOutput {
        // Before any request: a store of another Launchpad would refuse the load anyway.
        try await store.requireLaunchpad(StoreLaunchpad.key(serviceRoot))
        let plan = try await resumePlan(request, context: context, store: store)
        var resumeFrom = plan.checkpoint
        if let checkpoint = resumeFrom {
            resumeFrom = try await countAttempt(
                checkpoint, store: store, limit: environment.maxStalledExtractAttempts,
                minimumDuration: environment.minStalledExtractDuration)
        }
        for refusal in plan.refusals {
            context.logger.warning(
                "not resuming from a checkpoint this store cannot vouch for",
                metadata: [
                    "batch": "\(request.batchId)", "reason": "\(refusal)",
                ])
        }
        context.logger.info(
            "extracting",
            metadata: [
                "summary": "\(query.summaryBase())", "batch": "\(request.batchId)", "attempt": "\(context.info.attempt)",
                "store": "\(store.identity)",
                "resume_from": "\(resumeFrom.map { "\($0.phase.rawValue), \($0.rowsSoFar) rows (\(plan.source ?? ""))" } ?? "start")",
            ])

        reached(resumeFrom)
        if let resumeFrom { context.heartbeat(resumeFrom) }
        let result = try await extractor.run(batchId: request.batchId, resumeFrom: resumeFrom) { checkpoint in
            reached(checkpoint)
            context.heartbeat(checkpoint)
        }
        context.logger.info(
            "extracted",
            metadata: [
                "batch": "\(request.batchId)", "rows": "\(result.batch.rowCount)", "requests": "\(result.requests)",
                "skipped": "\(result.skippedPhases.joined(separator: "; "))",
            ])
        return ExtractOutput(
            batch: result.batch, attempt: context.info.attempt, resumedFrom: plan.source,
            resumedPhase: resumeFrom?.phase, requests: result.requests,
            storeQueue: StoreRouting.queue(base: context.info.taskQueue, store: store.identity),
            refusedCheckpoints: plan.refusals.isEmpty ? nil : plan.refusals,
            skipped: result.skippedPhases.isEmpty ? nil : result.skippedPhases, readAnonymously: result.readAnonymously,
            access: result.access, teamProjectsNotSearched: result.teamProjectsNotSearched)
    }

    /// Counts this attempt against `checkpoint` until it gets further (saved first, so a crash of
    /// this attempt counts too) — only while the store still holds the start of the batch the
    /// checkpoint belongs to: another attempt that cleared the batch since the plan was read
    /// (one that outlived its timeout) makes this attempt stop instead of resuming into rows
    /// that are gone.
    static func countAttempt(
        _ checkpoint: ExtractionCheckpoint, store: any FlowStore, limit: Int,
        minimumDuration: Duration = ExtractionStall.defaultMinimumDuration
    ) async throws(ETLError) -> ExtractionCheckpoint {
        let counted = try ExtractionStall.count(checkpoint, limit: limit, minimumDuration: minimumDuration)
        try await store.replaceCheckpoint(counted, generation: checkpoint.generation)
        return counted
    }

    /// Where this attempt starts: the previous attempt's last heartbeat and the store's saved
    /// checkpoint, each checked against this worker's store.
    static func resumePlan(_ request: ExtractRequest, context: ActivityContext, store: any FlowStore) async throws(ETLError) -> ResumePlan {
        var heartbeat: ExtractionCheckpoint?
        if let details = try? context.lastHeartbeatDetails(as: ExtractionCheckpoint.self), details.batchId == request.batchId {
            heartbeat = details
        }
        // The first attempt has nothing to resume from: whatever a store holds under this
        // batch id is left from elsewhere (the extractor clears it).
        guard context.info.attempt > 1 || heartbeat != nil else { return ResumePlan(checkpoint: nil, source: nil, refusals: []) }
        let stored = try await store.loadCheckpoint(batchId: request.batchId)
        let progress = try await store.stagingProgress(request.batchId)
        return ResumePlan.choose(heartbeat: heartbeat, stored: stored, store: store.identity, progress: progress)
    }
}
