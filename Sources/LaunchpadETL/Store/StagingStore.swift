/// Where flows stage extracted rows between activities, keep extraction checkpoints, and move
/// a verified batch into `events`. Staging lives in the same store as `events`, so with a
/// shared PostgreSQL store every worker of a task queue (on any machine) sees every batch:
/// the extract can run on one worker, transform and load on another, and a retry anywhere
/// resumes from the shared checkpoint.
///
/// Batch ids are unique per flow run (`workflowId/runId`). Loading is exactly-once per batch:
/// the first load moves the rows, deletes the staging rows and records how many `events` rows
/// were new or changed; any later load of the same batch (a retry whose completion was lost)
/// returns that recorded number without touching `events`.
public protocol StagingStore: Sendable {
    /// The store's identity (read when the store was opened): checkpoints record it, and an
    /// attempt resumes only from a checkpoint written to the store it writes to.
    var identity: StoreIdentity { get }

    /// How many events and discovered items are staged under `batchId` right now.
    func stagingProgress(_ batchId: String) async throws(ETLError) -> StagingProgress

    /// Stages events under `batchId` (upsert on `(batchId, id)`, one transaction); staging the
    /// same events again changes nothing. Returns how many staged rows were new or changed.
    /// With `claim`, the write is refused (`.stagingMismatch`) in its own transaction unless
    /// the batch's stored checkpoint is of that start (see `BatchClaim`).
    @discardableResult
    func stageEvents(_ events: [Event], batchId: String, claim: BatchClaim?) async throws(ETLError) -> Int

    /// The reference for what is staged under `batchId`: row count and a SHA-256 over the
    /// rows in id order (see `StagedBatch`).
    func stagedBatch(_ batchId: String) async throws(ETLError) -> StagedBatch

    /// The staged events of `batchId`, ordered by id.
    func stagedEvents(_ batchId: String) async throws(ETLError) -> [Event]

    /// Moves a staged batch into `events` in one transaction after checking that what is
    /// staged still matches `batch` (count and SHA-256, and the items' SHA-256 when it holds one), deletes its staging rows, items and
    /// checkpoint, and records the outcome. When the batch's window names who it was read as
    /// (`LoadedWindow.access`), the window's stored events the batch lacks are removed in the same
    /// transaction if that is safe, and counted as kept otherwise (`StaleEvents`). Returns how
    /// many `events` rows were new or changed, removed and kept; for a batch loaded before, the
    /// outcome recorded then.
    ///
    /// Throws `.stagingMismatch` (retryable: re-extracting fixes it) when the check fails, and
    /// `.storeHoldsAnotherLaunchpad` when the batch's window names another Launchpad than the
    /// one the store is bound to (a store is bound by the first load that names one).
    func loadBatch(_ batch: StagedBatch) async throws(ETLError) -> LoadOutcome

    /// Refuses (`.storeHoldsAnotherLaunchpad`, not retryable) a run reading `launchpad`
    /// (`StoreLaunchpad.key`) when the store holds events of another Launchpad. Reads only: the
    /// load binds the store (`loadStagedBatch`, when the batch's window names its Launchpad).
    func requireLaunchpad(_ launchpad: String) async throws(ETLError)

    /// Whether `batchId` has been loaded, and if so how many rows that load changed.
    func loadedRowCount(_ batchId: String) async throws(ETLError) -> Int?

    /// Records that an attempt of batch `batchId` reads Launchpad as `reader`
    /// (`LaunchpadAccess`), before it stages anything; recording it again changes nothing.
    /// Cleared with the batch's staging; refused once the batch was loaded, and with `claim`
    /// as `stageEvents` refuses.
    func recordReader(_ reader: String, batchId: String, claim: BatchClaim?) async throws(ETLError)

    /// Whom the attempts of batch `batchId` recorded they read as (`recordReader`), in order.
    func readers(batchId: String) async throws(ETLError) -> [String]

    /// Deletes a batch's staged events, discovered items and checkpoint (not its load record).
    /// Refused once the batch was loaded, and never in the middle of a load.
    func deleteStagedBatch(_ batchId: String) async throws(ETLError)

    /// Stores `state` (the extraction's checkpoint, as text the store does not interpret) as
    /// the resume point of batch `batchId`, replacing the previous one. Refused once the batch
    /// was loaded. (`saveCheckpoint(_:)` is the typed form.)
    func saveCheckpointState(_ state: String, batchId: String) async throws(ETLError)

    /// Replaces the checkpoint of `batchId` with `state`, like `saveCheckpointState`, but only
    /// while the stored checkpoint belongs to start `generation` of the batch (see
    /// `ExtractionCheckpoint.generation`; nil: a checkpoint without one, written by an older
    /// release), checked in the same transaction. Throws
    /// `.stagingMismatch` (retryable) when another generation is stored or none is: another
    /// attempt started the batch again and cleared it, so the caller's rows are gone and it must
    /// not go on as if they were there.
    func replaceCheckpointState(_ state: String, batchId: String, generation: String?) async throws(ETLError)

    /// The last checkpoint state saved for `batchId`, if any.
    func loadCheckpointState(batchId: String) async throws(ETLError) -> String?

    /// Records items discovered by a paging phase (`kind` e.g. `bug`), keyed for ordered
    /// resumption; re-recording an item replaces its payload. With `claim`, refused as
    /// `stageEvents` refuses.
    func stageItems(_ items: [(key: String, payload: JSONValue)], kind: StagedItemKind, batchId: String, claim: BatchClaim?)
        async throws(ETLError)

    /// Up to `limit` staged items of `kind` with keys after `cursor`, in key order.
    func stagedItems(kind: StagedItemKind, batchId: String, after cursor: String?, limit: Int) async throws(ETLError) -> [(
        key: String, payload: JSONValue
    )]

    /// The items (`events.parent_id`, e.g. `b-2056789`) of the bug and question events stored
    /// for `window`'s member and source on its days, in order: the events a load of the window
    /// may take for gone (`StaleEvents`). The extraction reads those bugs again when its searches
    /// no longer list them (`LaunchpadExtractor`). With each, the link of one of its events that
    /// names the bug's target (`…/<target>/+bug/N/…`, a comment's), if any.
    func storedItems(in window: LoadedWindow) async throws(ETLError) -> [StoredItem]

    /// Deletes, in one transaction, the staging (events, items, readers, checkpoint) of at most
    /// `limit` batches whose checkpoint was last saved longer than `age` ago: batches no attempt
    /// will load (a flow that extracted again under a new batch id, a run that failed or was
    /// terminated). Returns how many batches were removed. See `purgeAbandonedStaging(olderThan:)`.
    func purgeAbandonedStaging(olderThan age: Duration, atMost limit: Int) async throws(ETLError) -> Int
}

extension StagingStore {
    /// Batches removed per transaction by `purgeAbandonedStaging(olderThan:)`.
    static var abandonedBatchesPerTransaction: Int { 20 }

    /// Deletes the staging of every batch whose checkpoint was last saved longer than `age` ago
    /// (nothing else removed them, so the staging tables grew for ever), a few batches per
    /// transaction: the first purge after an upgrade may find months of them, and in one
    /// transaction it would hold the store (SQLite: every load and staging write) meanwhile.
    /// Returns how many batches were removed.
    public func purgeAbandonedStaging(olderThan age: Duration) async throws(ETLError) -> Int {
        var total = 0
        while !Task.isCancelled {
            let removed = try await purgeAbandonedStaging(olderThan: age, atMost: Self.abandonedBatchesPerTransaction)
            total += removed
            guard removed == Self.abandonedBatchesPerTransaction else { break }
            await Task.yield()
        }
        return total
    }
}

/// The start of a batch that a staging write belongs to (`ExtractionCheckpoint.generation`;
/// nil: a checkpoint of an older release, without one). An attempt that outlived its timeout
/// while a later one started the batch again stops at its next checkpoint save; the rows,
/// items and readers it wrote before that save went into the later start's batch, and were
/// loaded with it (a reader missing from the batch's record, items the later start never
/// listed). Claimed writes are refused in their own transaction instead.
public struct BatchClaim: Sendable, Equatable {
    public var generation: String?
    public init(generation: String?) { self.generation = generation }
}

extension StagingStore {
    /// `stageEvents` without a claim (a writer that owns the batch alone: tests, mock flows).
    @discardableResult
    public func stageEvents(_ events: [Event], batchId: String) async throws(ETLError) -> Int {
        try await stageEvents(events, batchId: batchId, claim: nil)
    }

    /// `recordReader` without a claim.
    public func recordReader(_ reader: String, batchId: String) async throws(ETLError) {
        try await recordReader(reader, batchId: batchId, claim: nil)
    }

    /// `stageItems` without a claim.
    public func stageItems(_ items: [(key: String, payload: JSONValue)], kind: StagedItemKind, batchId: String) async throws(ETLError) {
        try await stageItems(items, kind: kind, batchId: batchId, claim: nil)
    }
}

/// An item with events stored for a window (`StagingStore.storedItems(in:)`).
public struct StoredItem: Sendable, Hashable {
    /// Its id (`events.parent_id`), e.g. `b-2056789`.
    public var parentId: String
    /// The link of one of its events under the bug's target, e.g.
    /// `https://bugs.launchpad.net/netplan/+bug/2056789/comments/3`; nil when none has one.
    public var targetLink: String?

    /// Creates one.
    public init(parentId: String, targetLink: String? = nil) {
        self.parentId = parentId
        self.targetLink = targetLink
    }
}

extension StagingStore {
    /// None: a store that cannot say reads no bug again, so the events of bugs the searches no
    /// longer list are kept (`StaleEvents.itemRead`).
    public func storedItems(in window: LoadedWindow) async throws(ETLError) -> [StoredItem] { [] }
}

extension StagingStore {
    /// Loads a staged batch (`loadBatch`) and returns how many `events` rows were new or changed.
    @discardableResult
    public func loadStagedBatch(_ batch: StagedBatch) async throws(ETLError) -> Int {
        try await loadBatch(batch).changed
    }
}

extension ETLError {
    /// The error for a staging write to a batch that is already loaded.
    static func alreadyLoaded(_ batchId: String) -> ETLError {
        ETLError(
            .batchAlreadyLoaded,
            "staged batch '\(batchId)' has already been loaded; this write comes from an activity attempt that outlived its timeout and is discarded",
            nonRetryable: true)
    }
}

extension ETLError {
    /// The error for an extract attempt whose batch another attempt started again (clearing it).
    /// `stored`: the checkpoint the store holds for the batch now, if any.
    static func batchRestarted(_ batchId: String, generation: String?, stored: ExtractionCheckpoint?) -> ETLError {
        func start(_ generation: String?) -> String { generation.map { "start \($0.prefix(8))" } ?? "a start without a generation" }
        let now = stored.map { "\(start($0.generation)) of the batch" } ?? "no checkpoint"
        return ETLError(
            .stagingMismatch,
            "staged batch '\(batchId)' was started again by another attempt while this one (\(start(generation))) was extracting it: the store now holds \(now), and the rows this attempt staged were cleared. Another attempt of the same activity ran beside this one (one that outlived its timeout, or the retry of one); this attempt stops, and the next one resumes from what the store holds",
            nonRetryable: false)
    }
}

/// A store flows can run on: `events` plus staging (SQLite `SQLiteEventStore` or `PostgresEventStore`).
public typealias FlowStore = EventStore & StagingStore

/// The hash input of one staged row: its eight columns as text joined by U+001F, then `\n`.
/// Both stores hash the same text, so a reference means the same rows in either.
enum StagedRowHash {
    /// The item kinds a load reads (`StaleEvents.itemRead`): staged after the reference was
    /// taken (an attempt that outlived its timeout still writing), they would make a load
    /// remove the stored events of a bug this read never read, so the reference covers them.
    static let itemKindsALoadReads = [StagedItemKind.bug, .question, .unreadBug].map(\.rawValue)

    /// The hash of staged items (kind and key), in (kind, key) byte order.
    static func items(_ rows: [(kind: String, key: String)]) -> String {
        var hash = SHA256()
        for row in rows { update(&hash, columns: [row.kind, row.key]) }
        return hash.hexDigest()
    }

    /// Between two columns: U+001F, the unit separator.
    static let columnSeparator: UInt8 = 0x1F
    /// After each row: `\n`.
    static let rowTerminator: UInt8 = 0x0A

    static func update(_ hash: inout SHA256, columns: [String]) {
        var row: [UInt8] = []
        for (index, column) in columns.enumerated() {
            if index > 0 { row.append(columnSeparator) }
            row.append(contentsOf: column.utf8)
        }
        row.append(rowTerminator)
        hash.update(row)
    }
}
