import Synchronization
import TemporalWorker

/// `extract_data` of `LaunchpadFlow`: runs `LaunchpadExtractor` into the staging tables,
/// heartbeating every `ExtractionCheckpoint`, and on a retry resumes from the previous
/// attempt's last heartbeat (or, if none reached the server, from the checkpoint table).
public enum LaunchpadExtractActivity {
    /// The activity, registered under `name`.
    public static func definition(_ name: String, environment: FlowEnvironment) -> ActivityDefinition {
        ActivityDefinition(name) { (request: ExtractRequest, context: ActivityContext) async throws -> ExtractOutput in
            try await StagingActivities.etl(context) { () throws(ETLError) -> ExtractOutput in
                try await extract(request, context: context, environment: environment)
            }
        }
    }

    static func extract(_ request: ExtractRequest, context: ActivityContext, environment: FlowEnvironment) async throws(ETLError) -> ExtractOutput {
        let query = try LaunchpadFlow.launchpadQuery(request.input)
        var configuration = try LaunchpadClientConfiguration(query: query)
        environment.configureClient(&configuration)
        let client = LaunchpadClient(configuration: configuration, logger: context.logger)
        var extractor = try LaunchpadExtractor(query: query, client: client, store: environment.store, logger: context.logger)
        extractor.chunkSize = environment.extractionChunkSize

        var resumeFrom: ExtractionCheckpoint?
        var source: String?
        if let details = try? context.lastHeartbeatDetails(as: ExtractionCheckpoint.self), details.batchId == request.batchId {
            (resumeFrom, source) = (details, "heartbeat")
        } else if context.info.attempt > 1, let stored = try await environment.store.loadCheckpoint(batchId: request.batchId) {
            (resumeFrom, source) = (stored, "database")
        }
        context.logger.info("extracting", metadata: [
            "summary": "\(query.summaryBase())", "batch": "\(request.batchId)", "attempt": "\(context.info.attempt)",
            "resume_from": "\(resumeFrom.map { "\($0.phase.rawValue) (\(source ?? ""))" } ?? "start")",
        ])

        // Heartbeat each checkpoint, and the latest one periodically so that slow pages
        // (retries, latency) never look like a dead worker.
        let latest = Mutex<ExtractionCheckpoint?>(resumeFrom)
        if let resumeFrom { context.heartbeat(resumeFrom) }
        let ticker = Task {
            let period = (context.info.heartbeatTimeout ?? .seconds(30)) / 3
            while !Task.isCancelled {
                try? await Task.sleep(for: period)
                if let checkpoint = latest.withLock({ $0 }) { context.heartbeat(checkpoint) }
            }
        }
        defer { ticker.cancel() }
        let result = try await extractor.run(batchId: request.batchId, resumeFrom: resumeFrom) { checkpoint in
            latest.withLock { $0 = checkpoint }
            context.heartbeat(checkpoint)
        }
        context.logger.info("extracted", metadata: [
            "batch": "\(request.batchId)", "rows": "\(result.batch.rowCount)", "requests": "\(result.requests)",
            "skipped": "\(result.skippedPhases.joined(separator: "; "))",
        ])
        return ExtractOutput(batch: result.batch, attempt: context.info.attempt, resumedFrom: source,
                             resumedPhase: resumeFrom?.phase, requests: result.requests)
    }
}
