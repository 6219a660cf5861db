/// What one load covered: a member's window of one source, loaded with the batch `batchId`,
/// and what its extraction could not read. The store keeps one per loaded batch (table
/// `loaded_windows`, written in the load's transaction), so a report can tell a week nobody
/// extracted from a week without activity, and a window read in part from one read whole.
public struct LoadedWindow: Sendable, Hashable, Codable {
    /// The batch whose load recorded it (empty in a window that was not loaded yet).
    public var batchId: String
    /// The member (`employee_id` of the window's events).
    public var member: String
    /// The source (`source_kind_id` of the window's events), e.g. `launchpad`.
    public var sourceKind: String
    /// The window's first day, `YYYY-MM-DD` (UTC).
    public var firstDay: String
    /// The window's last day, inclusive.
    public var lastDay: String
    /// What the extraction could not read, one sentence each (its `skipped` notes); empty when
    /// it read everything it looked for.
    public var skipped: [String]
    /// The Launchpad the events were read from (`StoreLaunchpad.key`); the load binds the store
    /// to it and refuses another. Nil for sources that are not a Launchpad, and in windows of
    /// older runs (not kept in `loaded_windows`: the store holds one).
    public var launchpad: String?
    /// Who the extraction read Launchpad as (`LaunchpadAccess`: `anonymous`, `oauth:…` or
    /// `mixed`). Nil for other sources, and in windows of older runs. A load that names it
    /// replaces the window's stored events with what it read, when that is safe (`StaleEvents`).
    public var access: String?
    /// What its load kept of the stored events its read no longer found, and why (one note, from
    /// `loaded_batches.kept_rows` and `kept_because`; see `StaleEvents`): the window's events may
    /// hold some Launchpad no longer shows, so a report does not count its days as read whole.
    /// Nil when the load kept none; filled by `loadedWindows()` only (not encoded).
    public var keptNotFound: String? = nil
    /// When its read started (`loaded_batches.read_started_at`; for a batch staged by a release
    /// that did not record it, when it was loaded), as the store writes times: text that sorts
    /// in time order within one store. Filled by `loadedWindows()` only (not encoded). A report
    /// orders the reads of a day by it: a read that kept stored events it no longer found makes
    /// the day partial unless a clean read started after it. (Loads need not come in the order
    /// of their reads: `NewerReads`.)
    public var readStartedAt: String? = nil
    /// The version of the event builders that built its events (`EventBuilders.version`, from
    /// its batch's checkpoint; `loaded_batches.event_builders`). Nil for loads that recorded none
    /// (other sources, earlier releases). Filled by `loadedWindows()` only (not encoded).
    public var eventBuilders: Int? = nil

    /// Creates a window.
    public init(
        batchId: String = "", member: String, sourceKind: String, firstDay: String, lastDay: String, skipped: [String] = [],
        launchpad: String? = nil, access: String? = nil
    ) {
        self.batchId = batchId
        self.member = member
        self.sourceKind = sourceKind
        self.firstDay = firstDay
        self.lastDay = lastDay
        self.skipped = skipped
        self.launchpad = launchpad
        self.access = access
    }

    private enum CodingKeys: String, CodingKey {
        case batchId = "batch_id"
        case member
        case sourceKind = "source_kind"
        case firstDay = "first_day"
        case lastDay = "last_day"
        case skipped
        case launchpad
        case access
    }

    /// Its skipped notes, `keptNotFound` and `olderBuildersNote`: what a report says of it.
    public var notes: [String] { skipped + (keptNotFound.map { [$0] } ?? []) + (olderBuildersNote.map { [$0] } ?? []) }

    /// Said of a window whose events builders older than this build's built: the same activity
    /// gives other events now (`EventBuilders.version`'s list), so its days are not counted as
    /// this build counts them until read again. Nil when none were recorded.
    public var olderBuildersNote: String? {
        guard let built = eventBuilders, built < EventBuilders.version else { return nil }
        return
            "loaded by event builders version \(built), which counted some activity otherwise than this build's (version \(EventBuilders.version)): read these days again to count them as it does"
    }

    /// The `keptNotFound` note of a load that kept `rows` events it no longer found (stored
    /// `loaded_batches.kept_rows`), for `reason` (`kept_because`); nil when it kept none.
    static func keptNote(rows: Int?, reason: String?) -> String? {
        guard let rows, rows > 0 else { return nil }
        return "stored events its read no longer found were kept: \(reason ?? "no reason recorded")"
    }

    /// The skipped notes as stored: a JSON array of strings, nil when there are none.
    var storedSkipped: String? { skipped.isEmpty ? nil : JSONValue.array(skipped.map { .string($0) }).serialized() }

    /// Reads stored skipped notes (text that is not a JSON array of strings is one note).
    static func skipped(fromStored text: String?) -> [String] {
        guard let text, !text.isEmpty else { return [] }
        guard case .array(let items)? = try? JSONParser.parse(text) else { return [text] }
        return items.map { $0.stringValue ?? $0.serialized() }
    }
}
