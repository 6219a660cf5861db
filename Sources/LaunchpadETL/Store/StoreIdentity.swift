/// Which event store a worker writes to: a random id made once per store (per SQLite file, per
/// PostgreSQL database), recorded in every extraction checkpoint.
///
/// Two workers with the same identity see the same staging tables (one SQLite file on one
/// machine, or one shared PostgreSQL database); two with different identities do not, so a
/// checkpoint written through one cannot be trusted by the other.
public struct StoreIdentity: Sendable, Hashable, CustomStringConvertible {
    /// The store's random id (32 hex digits).
    public var id: String
    /// Where the store is, for messages (`sqlite:///path` or the PostgreSQL URL, password redacted).
    public var location: String
    /// Whether workers on several machines can share the store (PostgreSQL): with a store that
    /// is not shared (SQLite), every worker of a queue has a store of its own.
    public var isShared: Bool

    /// Creates an identity.
    public init(id: String, location: String, isShared: Bool) {
        self.id = id
        self.location = location
        self.isShared = isShared
    }

    /// The first 8 hex digits of the id: enough to tell stores apart in logs and queue names.
    public var shortId: String { String(id.prefix(8)) }

    public var description: String { "store \(shortId) (\(location))" }
}

/// How much a batch's staging holds right now: what a checkpoint's counts are checked against.
public struct StagingProgress: Sendable, Hashable {
    /// Distinct staged events.
    public var rows: Int
    /// Discovered items (bugs, merge proposals, questions) of every kind.
    public var items: Int

    /// Creates a progress value.
    public init(rows: Int, items: Int) {
        self.rows = rows
        self.items = items
    }
}
