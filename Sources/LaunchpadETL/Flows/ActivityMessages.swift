/// The argument of an extract activity: the flow input and the staging batch to write.
public struct ExtractRequest: Sendable, Hashable, Codable {
    /// The flow input (query type and arguments), validated again by the activity.
    public var input: FlowInput
    /// The staging key: `<workflow id>/<run id>`, the same for every attempt.
    public var batchId: String

    /// Creates a request.
    public init(input: FlowInput, batchId: String) {
        self.input = input
        self.batchId = batchId
    }

    private enum CodingKeys: String, CodingKey {
        case input
        case batchId = "batch_id"
    }
}

/// What an extract activity returns: the staged batch's reference (never the rows), and how
/// the attempt ran.
public struct ExtractOutput: Sendable, Hashable, Codable {
    /// The staged events' reference.
    public var batch: StagedBatch
    /// The attempt that finished the extraction (1 for the first).
    public var attempt: Int
    /// Where the attempt resumed from: `"heartbeat"` (the previous attempt's last heartbeat),
    /// `"database"` (the checkpoint table, when no heartbeat reached the server), or nil (a fresh start).
    public var resumedFrom: String?
    /// The phase the attempt resumed at (nil for a fresh start).
    public var resumedPhase: ExtractionPhase?
    /// HTTP requests this attempt sent (0 for synthetic data).
    public var requests: Int
    /// The task queue served only by workers that use the store holding the batch
    /// (`StoreRouting.queue`): transform and load run there. Nil in outputs of older workers.
    public var storeQueue: String?
    /// Checkpoints the attempt found but could not trust, and why (e.g. written to another
    /// worker's SQLite file); nil when there were none.
    public var refusedCheckpoints: [String]?
    /// What the extraction could not read, one sentence each (e.g. questions on an API version
    /// without `searchQuestions`, review targets beyond the limit); nil when nothing was skipped.
    public var skipped: [String]?
    /// True when an attempt read Launchpad anonymously (public data only); nil otherwise, and in
    /// outputs of older workers.
    public var readAnonymously: Bool?

    /// Creates an output.
    public init(
        batch: StagedBatch, attempt: Int, resumedFrom: String?, resumedPhase: ExtractionPhase? = nil, requests: Int,
        storeQueue: String? = nil, refusedCheckpoints: [String]? = nil, skipped: [String]? = nil, readAnonymously: Bool? = nil
    ) {
        self.batch = batch
        self.attempt = attempt
        self.resumedFrom = resumedFrom
        self.resumedPhase = resumedPhase
        self.requests = requests
        self.storeQueue = storeQueue
        self.refusedCheckpoints = refusedCheckpoints
        self.skipped = skipped
        self.readAnonymously = readAnonymously
    }

    private enum CodingKeys: String, CodingKey {
        case batch, attempt, requests
        case resumedFrom = "resumed_from"
        case resumedPhase = "resumed_phase"
        case storeQueue = "store_queue"
        case refusedCheckpoints = "refused_checkpoints"
        case skipped
        case readAnonymously = "read_anonymously"
    }
}
