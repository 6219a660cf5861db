import Foundation

/// Keeps a flow's transform and load on a worker that can see the rows its extract staged.
///
/// Every worker also polls, for each of its flow queues, a queue named after its event store
/// (`<queue>@store-<store id>`), serving transform and load there. The extract reports that
/// queue, and the flow schedules transform and load on it. Workers sharing one store (one
/// SQLite file on one machine, or one PostgreSQL database anywhere) poll the same store queue,
/// so any of them may load; a worker with a store of its own never receives another store's batch.
public enum StoreRouting {
    /// The store queue of `base` for `store`.
    public static func queue(base: String, store: StoreIdentity) -> String {
        "\(base)@store-\(store.id)"
    }

    /// The short id (`StoreIdentity.shortId`) of the store whose queue is `queue`, if it is a
    /// store queue.
    public static func storeShortID(ofQueue queue: String) -> String? {
        guard let range = queue.range(of: "@store-", options: .backwards) else { return nil }
        let id = queue[range.upperBound...]
        return id.isEmpty ? nil : String(id.prefix(8))
    }

    /// How long a transform or load may wait on its store queue for a worker of that store
    /// before the flow gives up on the batch and extracts again elsewhere (the store's only
    /// worker may be gone for good). Default 10 minutes: a restart or a deploy fits in it.
    public static let scheduleToStartTimeout: Duration = .seconds(600)

    /// How many times a flow extracts again after its batch became unreachable (its store's
    /// workers gone) or could not be verified, before it fails.
    public static let maxExtractions = 3
}

extension ETLError.Code {
    /// A staged batch reached a worker whose store does not hold it.
    public static let batchInOtherStore = ETLError.Code(rawValue: "StagedBatchInOtherStore")
}
