/// What a flow returns: the query's summary (`summaryBase()`), then `workflow_id`,
/// `items_processed` and `items_inserted`, as one flat JSON object.
///
/// ```json
/// {"launchpad": "app@production:devel", "member": "alice-example",
///  "data_date_start": "2024-03-01", "data_date_end": "2024-03-31",
///  "workflow_id": "launchpad-alice-example-…", "items_processed": 23, "items_inserted": 23}
/// ```
public struct FlowResult: Sendable, Hashable, Codable, CustomStringConvertible {
    /// The query's summary keys (strings).
    public var summary: [String: String]
    /// The id of the workflow that produced the result.
    public var workflowId: String
    /// Events extracted and transformed (distinct ids).
    public var itemsProcessed: Int
    /// Rows of `events` that were new or changed (0 when re-running the same window).
    public var itemsInserted: Int
    /// Stored events of the window that the run's read no longer found (hidden, deleted or made
    /// private since an earlier run), removed by its load (`StaleEvents`); nil when the load did
    /// not look (results of older runs).
    public var itemsRemoved: Int?

    /// Creates a result.
    public init(summary: [String: String], workflowId: String, itemsProcessed: Int, itemsInserted: Int) {
        self.summary = summary
        self.workflowId = workflowId
        self.itemsProcessed = itemsProcessed
        self.itemsInserted = itemsInserted
    }

    static let workflowIdKey = "workflow_id"
    static let itemsProcessedKey = "items_processed"
    static let itemsInsertedKey = "items_inserted"
    static let itemsRemovedKey = "items_removed"
    /// The summary key saying how many stored events the run's read no longer found were kept,
    /// and why (`StaleEvents`); absent when none were.
    public static let keptKey = "not_found_kept"
    /// The summary key saying how many events the run's read found were left as a read of the
    /// same days that started later, and was loaded first, stored or removed them (`NewerReads`);
    /// absent when none. Not a partial result: what is stored is the newer view.
    public static let supersededKey = "left_to_newer_read"
    /// The summary key saying a scheduled run also read the days since the last completed run
    /// of its schedule read through, which the runs since (failed, skipped while paused, or not
    /// run) left unread (`ScheduleCatchUp`); absent when it read its own period only.
    public static let caughtUpKey = "caught_up"
    /// The summary key of a scheduled run's result saying through which day its schedule has
    /// read (`YYYY-MM-DD`: the latest of the run's window end and the last completed run's
    /// mark, so a backfill of older periods does not move it back); where the next run catches
    /// up from (`ScheduleCatchUp`).
    public static let readThroughKey = "read_through"
    /// The summary key naming what a run's extraction could not read (absent when nothing).
    public static let skippedKey = "skipped"
    /// The summary key saying a run read a listing short of its `total_size` (a `skipped` note
    /// says which; `DistinctListing.shortfallNote`), which a later read may well find whole:
    /// a scheduled run so marked does not move its schedule's `read_through`, so the next run
    /// reads its days again (`ScheduleCatchUp`). Absent when every listing was read whole.
    public static let rereadKey = "reread"
    /// The summary key naming the members of a team whose activity could not be read at all
    /// (suspended accounts).
    public static let skippedMembersKey = "skipped_members"
    /// The summary key saying a run read Launchpad anonymously (public data only: private bugs,
    /// proposals and questions are not in it), with `anonymousAccess` as its value; absent when
    /// every read used credentials. Not a partial result: what is public was read whole.
    public static let accessKey = "launchpad_access"
    /// The summary key saying how many projects the member's teams own were left unsearched for
    /// reviews by the review-target limit (`ExtractionResult.teamProjectsNotSearched`); absent
    /// when none. Not a partial result: those projects are searched beyond what a run
    /// guarantees, as far as the limit allows.
    public static let teamProjectsNotSearchedKey = "team_projects_not_searched"
    /// The summary key naming the event store a member's events were loaded into (its short
    /// id, as workers name it in their identity); absent for sources without one.
    public static let storeKey = "store"
    /// The summary key of a team's result saying its members' events went to more than one
    /// event store (SQLite files of workers on several machines on one queue): a report of any
    /// one store shows only the members it holds. Absent when one store holds them all. Not a
    /// partial result: every member was read and stored, but not in one place. In a member's
    /// result: a load begun in one store whose workers then stopped answering (so an attempt of
    /// it may have committed there) was followed by a new read loaded into another.
    public static let splitStoresKey = "split_stores"
    /// `accessKey`'s value.
    public static let anonymousAccess = "anonymous (public data only)"

    /// Whether the run completed without reading everything it was asked for: its summary
    /// names what it could not read (`skipped`) or whom (`skipped_members`).
    public var isPartial: Bool { summary[Self.skippedKey] != nil || summary[Self.skippedMembersKey] != nil }

    private struct Key: CodingKey {
        var stringValue: String
        var intValue: Int? { nil }
        init(_ string: String) { stringValue = string }
        init?(stringValue: String) { self.stringValue = stringValue }
        init?(intValue: Int) { nil }
    }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: Key.self)
        var summary: [String: String] = [:]
        var workflowId = ""
        var processed = 0
        var inserted = 0
        var removed: Int?
        for key in container.allKeys {
            switch key.stringValue {
            case Self.workflowIdKey: workflowId = try container.decode(String.self, forKey: key)
            case Self.itemsProcessedKey: processed = try container.decode(Int.self, forKey: key)
            case Self.itemsInsertedKey: inserted = try container.decode(Int.self, forKey: key)
            case Self.itemsRemovedKey: removed = try container.decode(Int.self, forKey: key)
            default:
                if let text = try? container.decode(String.self, forKey: key) { summary[key.stringValue] = text }
            }
        }
        self.init(summary: summary, workflowId: workflowId, itemsProcessed: processed, itemsInserted: inserted)
        itemsRemoved = removed
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: Key.self)
        for (key, value) in summary.sorted(by: { $0.key < $1.key }) { try container.encode(value, forKey: Key(key)) }
        try container.encode(workflowId, forKey: Key(Self.workflowIdKey))
        try container.encode(itemsProcessed, forKey: Key(Self.itemsProcessedKey))
        try container.encode(itemsInserted, forKey: Key(Self.itemsInsertedKey))
        try container.encodeIfPresent(itemsRemoved, forKey: Key(Self.itemsRemovedKey))
    }

    /// The result as a JSON object.
    public var json: JSONValue {
        var members = summary.mapValues(JSONValue.string)
        members[Self.workflowIdKey] = .string(workflowId)
        members[Self.itemsProcessedKey] = .int(itemsProcessed)
        members[Self.itemsInsertedKey] = .int(itemsInserted)
        if let itemsRemoved { members[Self.itemsRemovedKey] = .int(itemsRemoved) }
        return .object(members)
    }

    public var description: String { json.serialized() }
}
