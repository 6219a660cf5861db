import Logging
public import TemporalWorker

/// The ETL flow with synthetic, deterministic data and no network (the original's mock
/// worker): same input, activities and result shape as `LaunchpadFlow`, on
/// `launchpad-mock-task-queue`. Its events have `source_kind_id = "mock"`.
public final class MockFlow: ETLFlow {
    /// `launchpad-mock-task-queue`.
    public static let queueName = "launchpad-mock-task-queue"
    /// `extract_data`, `transform_data`, `load_data` with the original's timeouts.
    public static let activityOptions = ETLActivityOptions()
    /// No: its events are synthetic (`mock`), so a load must not record the member's weeks as
    /// read from Launchpad (the report would show them extracted, with no activity).
    public static let recordsCoverage = false

    /// Creates the instance for one run (flows keep no state of their own).
    public init() {}

    /// `extract_data` (stages `MockData.events(for:)`), `transform_data`, `load_data`.
    public static func activities(environment: FlowEnvironment) -> [ActivityDefinition] {
        let options = activityOptions
        return [
            extract(options.extractName, environment: environment),
            StagingActivities.transform(options.transformName, environment: environment),
            StagingActivities.load(options.loadName, environment: environment),
        ]
    }

    /// The checkpoint state a mock extract records for its batch (no phase: nothing to resume).
    static let syntheticCheckpoint = #"{"synthetic":true}"#

    static func extract(_ name: String, environment: FlowEnvironment) -> ActivityDefinition {
        ActivityDefinition(name) { (request: ExtractRequest, context: ActivityContext) async throws -> ExtractOutput in
            try await StagingActivities.etl(context) { () throws(ETLError) -> ExtractOutput in
                let query = try LaunchpadFlow.launchpadQuery(request.input)
                context.logger.info("mock extract", metadata: ["summary": "\(query.summaryBase())"])
                let events = try MockData.events(for: query)
                try await environment.store.deleteStagedBatch(request.batchId)
                // A checkpoint row of its own, which resumes nothing: what finds abandoned
                // staging (`purgeAbandonedStaging`) finds batches by their checkpoints, and the
                // staging of a mock run cancelled before its load stayed for good.
                try await environment.store.saveCheckpointState(Self.syntheticCheckpoint, batchId: request.batchId)
                try await environment.store.stageEvents(events, batchId: request.batchId)
                var batch = try await environment.store.stagedBatch(request.batchId)
                // Another attempt (one that outlived its timeout) may have cleared the batch
                // between the staging and the reference: a reference to fewer rows than were
                // staged would load them short, and green.
                guard batch.rowCount == Set(events.map(\.id)).count else {
                    throw ETLError(
                        .stagingMismatch,
                        "staged batch '\(request.batchId)' holds \(batch.rowCount) of the \(Set(events.map(\.id)).count) mock events just staged: another attempt cleared it meanwhile; the next attempt stages them again",
                        nonRetryable: false)
                }
                batch.storeId = environment.store.identity.id
                var output = ExtractOutput(
                    batch: batch, attempt: context.info.attempt, resumedFrom: nil, requests: 0,
                    storeQueue: StoreRouting.queue(base: context.info.taskQueue, store: environment.store.identity))
                output.synthetic = true
                return output
            }
        }
    }
}
