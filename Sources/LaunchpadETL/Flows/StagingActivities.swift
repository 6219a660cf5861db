import Logging
import Temporal
public import TemporalWorker
import Tracing

/// The transform and load activities every ETL flow shares: they work on staged batches,
/// whatever produced them.
public enum StagingActivities {
    /// `transform_data`: checks that what is staged still matches the reference (count and
    /// SHA-256) and re-validates every staged event; returns the reference (its `rowCount` is
    /// the flow's `items_processed`).
    public static func transform(_ name: String, environment: FlowEnvironment) -> ActivityDefinition {
        ActivityDefinition(name) { (batch: StagedBatch, context: ActivityContext) async throws -> StagedBatch in
            try await etl(context) { () throws(ETLError) -> StagedBatch in
                let store = environment.store
                try checkStore(batch, store)
                if let loaded = try await store.loadedRowCount(batch.batchId) {
                    // A replayed or re-run transform after the load: nothing left to check.
                    context.logger.info("staged batch already loaded", metadata: ["batch": "\(batch.batchId)", "inserted": "\(loaded)"])
                    return batch
                }
                let actual = try await store.stagedBatch(batch.batchId)
                guard actual.holdsTheSameRows(as: batch) else {
                    throw ETLError(
                        .stagingMismatch,
                        "staged batch '\(batch.batchId)' \(actual.difference(from: batch)) (the extract's); re-run the flow",
                        nonRetryable: false)
                }
                var types: [String: Int] = [:]
                for event in try await store.stagedEvents(batch.batchId) {
                    _ = try Event(json: event.json)
                    types[event.type, default: 0] += 1
                }
                context.logger.info(
                    "transformed staged batch",
                    metadata: [
                        "batch": "\(batch.batchId)", "rows": "\(batch.rowCount)",
                        "types": "\(types.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" }.joined(separator: ","))",
                    ])
                return batch
            }
        }
    }

    /// `load_data`: moves the staged batch into `events` (idempotent upsert on event id, one
    /// transaction that also deletes the staging rows and records the outcome); returns the
    /// rows that were new or changed (`LoadOutput`) and, when the batch's window names who it
    /// was read as, the stored events of the window its read no longer found, removed or kept
    /// (`StaleEvents`).
    ///
    /// Exactly once per batch: a retry after a load that committed but whose completion was
    /// lost (worker killed, timeout) returns the outcome that load recorded.
    public static func load(_ name: String, environment: FlowEnvironment) -> ActivityDefinition {
        ActivityDefinition(name) { (batch: StagedBatch, context: ActivityContext) async throws -> LoadOutput in
            try await etl(context) { () throws(ETLError) -> LoadOutput in
                try checkStore(batch, environment.store)
                let span = InstrumentationSystem.tracer.startAnySpan("store.loadStagedBatch", context: ServiceContext.current ?? .topLevel)
                span.attributes["rows"] = batch.rowCount
                defer { span.end() }
                let outcome: LoadOutcome
                do throws(ETLError) { outcome = try await environment.store.loadBatch(batch) } catch {
                    span.recordError(error)  // the tracer marks the span failed (its message only if it exports them)
                    throw error
                }
                let output = LoadOutput(outcome)
                let inserted = outcome.changed
                // The store returns the outcome a batch's first load recorded (and keeps the
                // window an older worker's load did not); the metric counts that load once, also
                // when two attempts race (both saw it unloaded before one committed).
                if outcome.loadedBefore {
                    context.logger.info(
                        "staged batch already loaded by an earlier attempt",
                        metadata: ["batch": "\(batch.batchId)", "inserted": "\(inserted)"])
                    return output
                }
                LaunchpadMetrics.eventsLoaded(inserted, context)
                context.logger.info(
                    "loaded staged batch",
                    metadata: [
                        "batch": "\(batch.batchId)", "rows": "\(batch.rowCount)", "inserted": "\(inserted)",
                        "removed": "\(outcome.removed.map(String.init) ?? "not looked for")",
                        "superseded": "\(outcome.superseded)",
                    ])
                if let reason = outcome.keptBecause {
                    context.logger.warning(
                        "kept stored events the read no longer found",
                        metadata: ["batch": "\(batch.batchId)", "kept": "\(outcome.kept ?? 0)", "reason": "\(reason)"])
                }
                return output
            }
        }
    }

    /// Refuses a batch staged in another store (its rows are not here).
    static func checkStore(_ batch: StagedBatch, _ store: any FlowStore) throws(ETLError) {
        guard let id = batch.storeId, id != store.identity.id else { return }
        throw ETLError(
            .batchInOtherStore,
            "staged batch '\(batch.batchId)' is in store \(id.prefix(8)), but this worker uses \(store.identity); it must run on a worker of that store (its store queue; flows started by this release route it there, and extract again when they cannot)",
            nonRetryable: false)
    }

    /// Runs an activity body, turning an `ETLError` into the `ApplicationError` Temporal
    /// records, and cancellation (worker shutdown, timeout) into `CancellationError`.
    static func etl<T>(_ context: ActivityContext, _ body: () async throws(ETLError) -> T) async throws -> T {
        do {
            return try await body()
        } catch {
            if Task.isCancelled { throw CancellationError() }
            context.logger.warning(
                "activity failed",
                metadata: ["type": "\(error.type)", "message": "\(error.message)", "non_retryable": "\(error.nonRetryable)"])
            throw error.applicationError
        }
    }
}
