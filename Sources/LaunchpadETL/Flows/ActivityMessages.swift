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
    /// Who the extraction read Launchpad as (`LaunchpadAccess`); nil for other sources, and in
    /// outputs of older workers.
    public var access: String?
    /// Projects the member's teams own that the limit left unsearched
    /// (`ExtractionResult.teamProjectsNotSearched`); nil when none, and in outputs of older workers.
    public var teamProjectsNotSearched: Int?
    /// True when the batch holds synthetic events (`MockFlow`'s extract); nil otherwise, and in
    /// outputs of older workers.
    public var synthetic: Bool?

    /// Creates an output.
    public init(
        batch: StagedBatch, attempt: Int, resumedFrom: String?, resumedPhase: ExtractionPhase? = nil, requests: Int,
        storeQueue: String? = nil, refusedCheckpoints: [String]? = nil, skipped: [String]? = nil, readAnonymously: Bool? = nil,
        access: String? = nil, teamProjectsNotSearched: Int? = nil
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
        self.access = access
        self.teamProjectsNotSearched = teamProjectsNotSearched
    }

    private enum CodingKeys: String, CodingKey {
        case batch, attempt, requests
        case resumedFrom = "resumed_from"
        case resumedPhase = "resumed_phase"
        case storeQueue = "store_queue"
        case refusedCheckpoints = "refused_checkpoints"
        case skipped
        case readAnonymously = "read_anonymously"
        case access
        case teamProjectsNotSearched = "team_projects_not_searched"
        case synthetic
    }
}

/// What a load activity returns: how many `events` rows were new or changed and, for a window
/// that names who it was read as, what became of the stored events its read no longer found
/// (`LoadOutcome`, `StaleEvents`).
///
/// Encoded as a bare number when it says no more (as older workers return it, and as older
/// workflows read it); decoded from either form.
public struct LoadOutput: Sendable, Hashable, Codable {
    /// Rows that were new or changed.
    public var inserted: Int
    /// Stored events of the window its read no longer found, removed; nil when the load did
    /// not look (a window without a reader, an older worker).
    public var removed: Int?
    /// Such events kept, and why (`LoadOutcome.keptBecause`); nil when the load did not look.
    public var kept: Int?
    /// Why they were kept.
    public var keptBecause: String?
    /// Rows the load left as a read that started later stored or removed them
    /// (`LoadOutcome.superseded`); nil when none.
    public var superseded: Int?

    /// Creates an output.
    public init(inserted: Int, removed: Int? = nil, kept: Int? = nil, keptBecause: String? = nil, superseded: Int? = nil) {
        self.inserted = inserted
        self.removed = removed
        self.kept = kept
        self.keptBecause = keptBecause
        self.superseded = superseded
    }

    /// The output of a load that did what `outcome` says.
    public init(_ outcome: LoadOutcome) {
        self.init(
            inserted: outcome.changed, removed: outcome.removed, kept: outcome.kept, keptBecause: outcome.keptBecause,
            superseded: outcome.superseded > 0 ? outcome.superseded : nil)
    }

    private enum CodingKeys: String, CodingKey {
        case inserted, removed, kept, superseded
        case keptBecause = "kept_because"
    }

    public init(from decoder: any Decoder) throws {
        if let number = try? decoder.singleValueContainer().decode(Int.self) {
            self.init(inserted: number)
            return
        }
        let container = try decoder.container(keyedBy: CodingKeys.self)
        self.init(
            inserted: try container.decode(Int.self, forKey: .inserted), removed: try container.decodeIfPresent(Int.self, forKey: .removed),
            kept: try container.decodeIfPresent(Int.self, forKey: .kept),
            keptBecause: try container.decodeIfPresent(String.self, forKey: .keptBecause),
            superseded: try container.decodeIfPresent(Int.self, forKey: .superseded))
    }

    public func encode(to encoder: any Encoder) throws {
        guard removed != nil || kept != nil || superseded != nil else {
            var single = encoder.singleValueContainer()
            try single.encode(inserted)
            return
        }
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(inserted, forKey: .inserted)
        try container.encodeIfPresent(removed, forKey: .removed)
        try container.encodeIfPresent(kept, forKey: .kept)
        try container.encodeIfPresent(keptBecause, forKey: .keptBecause)
        try container.encodeIfPresent(superseded, forKey: .superseded)
    }
}
