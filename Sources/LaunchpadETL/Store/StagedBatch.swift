/// A reference to events staged in an event store: what activities pass through workflow
/// history instead of the rows themselves (a few dozen bytes for any number of events).
public struct StagedBatch: Sendable, Hashable, Codable {
    /// The staging key (e.g. the workflow id plus the query).
    public var batchId: String
    /// How many distinct events are staged.
    public var rowCount: Int
    /// SHA-256 of the staged rows in id order (see `SQLiteEventStore.stagedBatch(_:)`).
    public var sha256: String
    /// SHA-256 of the staged items a load reads (`StagedRowHash.itemKindsALoadReads`: the
    /// bugs and questions the read looked at, whose stored events it may remove), in
    /// (kind, key) order; nil in references made before it was kept, which are checked
    /// without it.
    public var itemsSHA256: String?
    /// The identity of the store holding the rows (nil in references made before stores had
    /// identities, and in the reference a store computes of itself). Transform and load
    /// refuse a batch staged in another store.
    public var storeId: String?
    /// What the load covers (member, window, source, what was not read), recorded with the load
    /// (`loaded_windows`); nil in references that only name rows, and in older runs' loads.
    public var window: LoadedWindow?

    /// Creates a reference.
    public init(batchId: String, rowCount: Int, sha256: String, storeId: String? = nil) {
        self.batchId = batchId
        self.rowCount = rowCount
        self.sha256 = sha256
        self.storeId = storeId
    }

    /// Whether both references describe the same rows of the same batch (id, count and
    /// SHA-256, and the items' SHA-256 when both hold it; the store id is checked separately).
    public func holdsTheSameRows(as other: StagedBatch) -> Bool {
        batchId == other.batchId && rowCount == other.rowCount && sha256 == other.sha256
            && (itemsSHA256 == nil || other.itemsSHA256 == nil || itemsSHA256 == other.itemsSHA256)
    }

    /// What differs between the rows staged (`self`, as a store reads them now) and
    /// `reference`, for an error.
    public func difference(from reference: StagedBatch) -> String {
        if rowCount != reference.rowCount || sha256 != reference.sha256 {
            return
                "holds \(rowCount) rows (sha256 \(sha256.prefix(12))…) but the reference says \(reference.rowCount) rows (sha256 \(reference.sha256.prefix(12))…)"
        }
        return
            "holds the rows the reference says, but other bugs or questions as read (items sha256 \((itemsSHA256 ?? "").prefix(12))…, the reference's \((reference.itemsSHA256 ?? "").prefix(12))…): an attempt that outlived its timeout staged more after the reference was taken"
    }

    private enum CodingKeys: String, CodingKey {
        case batchId = "batch_id"
        case rowCount = "row_count"
        case sha256
        case itemsSHA256 = "items_sha256"
        case storeId = "store_id"
        case window
    }
}
