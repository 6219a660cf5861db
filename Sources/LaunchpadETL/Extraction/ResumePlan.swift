/// Where an extract attempt starts: the furthest checkpoint its own store vouches for, or the
/// beginning.
///
/// Candidates are the previous attempt's last heartbeat and the checkpoint saved in the store.
/// A candidate is trusted only when it was written to this store (same `StoreIdentity`), for
/// the batch generation the store holds, and the store still holds at least the events and
/// items it claims. A checkpoint from another store (a retry that landed on a worker with its
/// own SQLite file) is never trusted: its rows are elsewhere, and resuming from it would finish
/// with a fraction of the data.
public struct ResumePlan: Sendable, Hashable {
    /// The checkpoint to resume from; nil: start from the beginning (clearing the batch).
    public var checkpoint: ExtractionCheckpoint?
    /// `"heartbeat"` or `"database"` when resuming.
    public var source: String?
    /// Why candidates were not used, one sentence each (empty when none was refused).
    public var refusals: [String]

    /// Chooses between the candidates (see the type's documentation).
    public static func choose(
        heartbeat: ExtractionCheckpoint?, stored: ExtractionCheckpoint?,
        store: StoreIdentity, progress: StagingProgress
    ) -> ResumePlan {
        var refusals: [String] = []
        var trusted: [(ExtractionCheckpoint, String)] = []
        if let stored {
            if let reason = refusal(stored, ownStore: true, store: store, storedGeneration: stored.generation, progress: progress) {
                refusals.append("the store's checkpoint \(reason)")
            } else {
                trusted.append((stored, "database"))
            }
        }
        if let heartbeat {
            if let reason = refusal(heartbeat, ownStore: false, store: store, storedGeneration: stored?.generation, progress: progress) {
                refusals.append("the last heartbeat \(reason)")
            } else if stored == nil {
                // Saved before every heartbeat, a checkpoint is gone only when the batch was
                // cleared (started again by another attempt) or loaded.
                refusals.append(
                    "the last heartbeat (\(heartbeat.phase.rawValue), \(heartbeat.rowsSoFar) rows) has no checkpoint behind it in \(store): the batch was cleared since, so the extraction starts again"
                )
            } else {
                trusted.append((heartbeat, "heartbeat"))
            }
        }
        // Furthest first; on a tie the store's own (it is saved before each heartbeat is sent, and
        // the key does not see every page of a paging phase).
        let best = trusted.max { a, b in
            a.0.progressKey != b.0.progressKey ? a.0.progressKey < b.0.progressKey : (a.1 == "heartbeat" && b.1 == "database")
        }
        return ResumePlan(checkpoint: best?.0, source: best?.1, refusals: refusals)
    }

    /// Why `checkpoint` cannot be resumed from in `store`, or nil when it can.
    static func refusal(
        _ checkpoint: ExtractionCheckpoint, ownStore: Bool, store: StoreIdentity,
        storedGeneration: String?, progress: StagingProgress
    ) -> String? {
        let at = "(\(checkpoint.phase.rawValue), \(checkpoint.rowsSoFar) rows)"
        switch checkpoint.storeId {
        case nil where !ownStore:
            return "\(at) names no store, so nothing shows where its rows are staged"
        case let id? where id != store.id:
            return
                "\(at) was written to store \(id.prefix(8)), but this worker writes to \(store); its rows are not here (with SQLite every worker has a store of its own: use one shared PostgreSQL store for workers on several machines)"
        default:
            break
        }
        if !ownStore, let storedGeneration, checkpoint.generation != storedGeneration {
            return "\(at) belongs to an earlier start of the batch, whose rows were cleared by a restart"
        }
        if progress.rows < checkpoint.rowsSoFar {
            return "\(at) claims \(checkpoint.rowsSoFar) staged events, but \(store) holds \(progress.rows) for the batch"
        }
        if let items = checkpoint.itemsSoFar, progress.items < items {
            return "\(at) claims \(items) discovered items, but \(store) holds \(progress.items) for the batch"
        }
        return nil
    }
}
