/// A reference to events staged in SQLite: what activities pass through workflow history
/// instead of the rows themselves (a few dozen bytes for any number of events).
public struct StagedBatch: Sendable, Hashable, Codable {
    /// The staging key (e.g. the workflow id plus the query).
    public var batchId: String
    /// How many distinct events are staged.
    public var rowCount: Int
    /// SHA-256 of the staged rows in id order (see `Database.stagedBatch(_:)`).
    public var sha256: String

    /// Creates a reference.
    public init(batchId: String, rowCount: Int, sha256: String) {
        self.batchId = batchId
        self.rowCount = rowCount
        self.sha256 = sha256
    }

    private enum CodingKeys: String, CodingKey {
        case batchId = "batch_id"
        case rowCount = "row_count"
        case sha256
    }
}
