import Logging
import Temporal
import TemporalWorker

/// The transform and load activities every ETL flow shares: they work on staged batches,
/// whatever produced them.
public enum StagingActivities {
    /// `transform_data`: checks that what is staged still matches the reference (count and
    /// SHA-256) and re-validates every staged event; returns the reference (its `rowCount` is
    /// the flow's `items_processed`).
    public static func transform(_ name: String, environment: FlowEnvironment) -> ActivityDefinition {
        ActivityDefinition(name) { (batch: StagedBatch, context: ActivityContext) async throws -> StagedBatch in
            try await etl(context) { () throws(ETLError) -> StagedBatch in
                let database = environment.database
                let actual = try await database.stagedBatch(batch.batchId)
                guard actual == batch else {
                    throw ETLError(.stagingMismatch, "staged batch '\(batch.batchId)' holds \(actual.rowCount) rows but the extract reported \(batch.rowCount); re-run the flow", nonRetryable: false)
                }
                var types: [String: Int] = [:]
                for event in try await database.stagedEvents(batch.batchId) {
                    _ = try Event(json: event.json)
                    types[event.type, default: 0] += 1
                }
                context.logger.info("transformed staged batch", metadata: [
                    "batch": "\(batch.batchId)", "rows": "\(batch.rowCount)",
                    "types": "\(types.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" }.joined(separator: ","))",
                ])
                return batch
            }
        }
    }

    /// `load_data`: moves the staged batch into `events` (idempotent upsert on event id, one
    /// transaction) and deletes the staging rows; returns the rows that were new or changed.
    ///
    /// A retry after a load that committed but whose completion was lost finds the staging
    /// rows gone and returns 0 (the rows are in `events`).
    public static func load(_ name: String, environment: FlowEnvironment) -> ActivityDefinition {
        ActivityDefinition(name) { (batch: StagedBatch, context: ActivityContext) async throws -> Int in
            try await etl(context) { () throws(ETLError) -> Int in
                let database = environment.database
                let staged = try await database.stagedBatch(batch.batchId)
                if staged.rowCount == 0 && batch.rowCount > 0 {
                    context.logger.warning("staged batch already loaded by an earlier attempt", metadata: ["batch": "\(batch.batchId)"])
                    return 0
                }
                let inserted = try await database.loadStagedBatch(batch)
                LaunchpadMetrics.eventsLoaded(inserted, context)
                try await database.deleteStagedBatch(batch.batchId)
                context.logger.info("loaded staged batch", metadata: ["batch": "\(batch.batchId)", "rows": "\(batch.rowCount)", "inserted": "\(inserted)"])
                return inserted
            }
        }
    }

    /// Runs an activity body, turning an `ETLError` into the `ApplicationError` Temporal
    /// records, and cancellation (worker shutdown, timeout) into `CancellationError`.
    static func etl<T>(_ context: ActivityContext, _ body: () async throws(ETLError) -> T) async throws -> T {
        do {
            return try await body()
        } catch {
            if Task.isCancelled { throw CancellationError() }
            context.logger.warning("activity failed", metadata: ["type": "\(error.type)", "message": "\(error.message)", "non_retryable": "\(error.nonRetryable)"])
            throw error.applicationError
        }
    }
}
