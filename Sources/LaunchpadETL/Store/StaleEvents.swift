/// What a load did to `events` (`StagingStore.loadBatch`).
public struct LoadOutcome: Sendable, Hashable {
    /// Rows that were new or changed.
    public var changed: Int
    /// Stored events of the loaded window that its read no longer found (a comment hidden or
    /// deleted since, a bug made private), removed by the load; nil when the load did not look
    /// (its window names no reader, or an older release loaded the batch).
    public var removed: Int?
    /// Such events the load kept, because removing them was not safe (`keptBecause`); nil when
    /// the load did not look.
    public var kept: Int?
    /// Why the load kept events its read no longer found; nil when it kept none.
    public var keptBecause: String?
    /// Rows of the batch the load left as a read that started later stored or removed them
    /// (`NewerReads`): this read's view of them is older.
    public var superseded: Int
    /// True when an earlier call loaded the batch and this one returned what that load recorded
    /// (a retry after a lost completion, or an attempt racing one that committed first): what it
    /// says was done once, so metrics count it only where this is false. Not part of equality.
    public var loadedBefore = false

    public static func == (left: LoadOutcome, right: LoadOutcome) -> Bool {
        (left.changed, left.removed, left.kept, left.keptBecause, left.superseded)
            == (right.changed, right.removed, right.kept, right.keptBecause, right.superseded)
    }

    public func hash(into hasher: inout Hasher) {
        hasher.combine(changed)
        hasher.combine(removed)
        hasher.combine(kept)
        hasher.combine(keptBecause)
        hasher.combine(superseded)
    }

    /// Creates an outcome.
    public init(changed: Int, removed: Int? = nil, kept: Int? = nil, keptBecause: String? = nil, superseded: Int = 0) {
        self.changed = changed
        self.removed = removed
        self.kept = kept
        self.keptBecause = keptBecause
        self.superseded = superseded
    }
}

/// When a load may remove stored events its window's read no longer finds.
///
/// An event stored by an earlier read of a member's days that a new read of those days does not
/// find was hidden, deleted or made private since, or the new reader may not see it. The load
/// of a window that names its reader (`LoadedWindow.access`) removes such an event only when
/// all of these hold:
/// - it is a bug or question event (`removableTypes`). Their discovery does not depend on the
///   window, and Launchpad keeps their record. Merge proposal events are never removed: review,
///   request and merge events are built from fields Launchpad overwrites (`ProposalEventId`),
///   and comments and votes are found through review targets, which depend on the window;
/// - the read looked at its bug or question (`itemRead`): listed it, or read the bug directly
///   because it had stored events. A bug or question of a project deactivated since is no longer
///   listed, and its events are still there;
/// - the read skipped nothing that may concern bugs or questions (no `skipped` notes but those on
///   merge proposals alone, `concernsProposalsOnly`), and every attempt of it read as one reader
///   (`LaunchpadAccess`, not `mixed`);
/// - every earlier loaded window of the member and source that overlaps it was read as the same
///   reader or anonymously: not as another reader, as several, or by an older release that
///   recorded no reader;
/// - the load that last added or changed the event (`events.loaded_by`) recorded such a window.
///   An event an older release loaded, or inserted directly, is kept: who could see it is
///   unknown;
/// - that load, and every load of a window holding the event's day, came before this batch's
///   read started (`staged_readers.recorded_at` of its first reader; an unchanged row keeps the
///   loader that stored it, so later loads that saw it are found by their windows). Loads need
///   not come in the order of their reads: a long or retried read loaded after a newer one
///   must not remove what the newer one found (a comment posted, or shown again, between the
///   two reads). A batch staged by a release that did not record the start removes nothing.
///
/// The load keeps the others and says why (`LoadOutcome.keptBecause`). A load whose window names
/// no reader (older workflows, other sources) removes nothing and reports nothing.
public enum StaleEvents {
    /// An earlier loaded window that overlaps the one being loaded.
    public struct EarlierRead: Sendable, Hashable {
        /// Its batch.
        public var batchId: String
        /// Who it read as (nil: an older release did not record it).
        public var access: String?

        /// Creates one.
        public init(batchId: String, access: String?) {
            self.batchId = batchId
            self.access = access
        }
    }

    /// The event types a load may remove, as an SQL condition on `event_type`.
    static let removableTypes = "(event_type LIKE 'bug:%' OR event_type LIKE 'question:%')"

    /// SQL: the stored event (a row of `events`) belongs to an item the read of batch `batch`
    /// (a placeholder) looked at: a bug or question it staged (`staged_items`, keyed by the
    /// zero-padded id), listed by a search or, for a bug, read because it had stored events
    /// (`StagedItemKind.unlistedBug`), unless that bug answered 404 to credentials
    /// (`StagedItemKind.unreadBug`). Only such an event can the read say is gone: Launchpad's
    /// searches leave out bugs and questions of deactivated projects (`bugtasksearch`, "Remove
    /// bugtasks from deactivated products"; `QuestionSearch`'s active-pillar condition), whose
    /// questions then no longer read at all (an inactive project's pages answer 404 to anyone
    /// but an admin), so not finding them says nothing about their events.
    static func itemRead(batch: String) -> String {
        """
        parent_id IN (
            SELECT 'b-' || ltrim(item_key, '0') FROM staged_items WHERE batch_id = \(batch) AND kind = 'bug' AND item_key NOT IN (
                SELECT item_key FROM staged_items WHERE batch_id = \(batch) AND kind = 'unread_bug')
            UNION ALL SELECT 'q-' || ltrim(item_key, '0') FROM staged_items WHERE batch_id = \(batch) AND kind = 'question')
        """
    }

    /// Why events a load could otherwise remove were kept: their bug or question was not among
    /// the items the read looked at (`itemRead`).
    static let itemNotRead =
        "the read did not find their question (Launchpad's searches leave out questions of deactivated projects, whose pages then answer 404) or could not read their bug (a private bug of a deactivated project answers 404 even with credentials; or a batch staged before bugs with stored events were read again)"

    /// Whether the load of `window` may remove the events its read did not find that a load of
    /// the same reader, or an anonymous one, stored (`earlier`: the windows overlapping it).
    public static func mayRemove(_ window: LoadedWindow, earlier: [EarlierRead]) -> Bool {
        refusal(window) == nil && !earlier.contains { !mayReplace($0.access, by: reader(window)) }
    }

    /// Why events a load could otherwise remove were kept: a read that started after this one
    /// (it may have seen Launchpad later) was loaded first, or this batch was staged by a
    /// release that did not record when its read started.
    static let newerReadLoaded =
        "a load of these days came after this read started (its read may have seen Launchpad later), or this batch's read start is unknown (staged by an earlier release)"

    /// Why the load of `window` kept events its read did not find (`earlier`: the windows
    /// overlapping it).
    public static func keptBecause(_ window: LoadedWindow, earlier: [EarlierRead]) -> String {
        if let refusal = refusal(window) { return refusal }
        if let read = earlier.first(where: { !mayReplace($0.access, by: reader(window)) }) {
            return
                "batch '\(read.batchId)' stored events of the window reading \(describe(read.access)), and this read, \(describe(reader(window))), may not see them all"
        }
        return "they were stored by an older release, or inserted directly, so who could see them is unknown"
    }

    /// Why a load of `window` that may remove events (`mayRemove`) kept `kept` of them: `newer`
    /// because a read that may have seen Launchpad later was loaded first, `notRead` because the
    /// read did not look at their item (`itemRead`), `either` for one reason or the other; the
    /// rest because of who stored them (`keptBecause(_:earlier:)`). The reasons that apply,
    /// joined by " | " (a team's result joins its members' with "; ").
    static func keptBecause(_ window: LoadedWindow, earlier: [EarlierRead], kept: Int, newer: Int, notRead: Int, either: Int) -> String {
        var reasons: [String] = []
        if newer > 0 { reasons.append(newerReadLoaded) }
        if notRead > 0 { reasons.append(itemNotRead) }
        if kept > either { reasons.append(keptBecause(window, earlier: earlier)) }
        return reasons.joined(separator: " | ")
    }

    /// Why the load of `window` may remove nothing whatever the earlier windows, or nil: a note
    /// of something its read could not read (`LoadedWindow.skipped`) that may concern bugs or
    /// questions — notes on merge proposals alone do not, as a load removes no proposal events.
    static func refusal(_ window: LoadedWindow) -> String? {
        let notes = window.skipped.filter { !concernsProposalsOnly($0) }
        if !notes.isEmpty {
            return "the read did not read everything (\(notes.joined(separator: "; ")))"
        }
        if reader(window) == LaunchpadAccess.mixed {
            return "the read's attempts read Launchpad as different readers (\(describe(LaunchpadAccess.mixed)))"
        }
        return nil
    }

    /// Where the notes of what a read could not read about merge proposals alone begin: the
    /// review targets' searches, the member's own proposal listings and a proposal's comments
    /// (`LaunchpadExtractor`). Any other note may concern bugs or questions.
    static let proposalNotePrefixes = [
        "\(ExtractionPhase.reviewTargets.rawValue):", "\(ExtractionPhase.mergeProposalsOwned.rawValue):",
        "\(ExtractionPhase.mergeProposalsRequested.rawValue):", "\(ExtractionPhase.mergeProposalDetails.rawValue):",
    ]

    /// Whether `note` (a `LoadedWindow.skipped` entry) concerns merge proposals alone.
    static func concernsProposalsOnly(_ note: String) -> Bool {
        proposalNotePrefixes.contains { note.hasPrefix($0) }
    }

    /// Whether events stored by a read as `earlier` (nil: not recorded) may be removed by a read
    /// as `reader`: the same reader, or an anonymous earlier read.
    static func mayReplace(_ earlier: String?, by reader: String) -> Bool {
        earlier == reader || earlier == LaunchpadAccess.anonymous
    }

    static func reader(_ window: LoadedWindow) -> String { window.access ?? LaunchpadAccess.mixed }

    /// The parameters of both stores' query of the events a load may remove, in order: member,
    /// source, the Monday of the first day and the last day (`week`, for the index), the first
    /// day and the day after the last (`event_time_utc`), and the batch.
    static func scopeValues(of window: LoadedWindow, batchId: String) throws(ETLError) -> [String] {
        guard let first = CivilDate(iso: window.firstDay), let last = CivilDate(iso: window.lastDay), !(last < first) else {
            throw ETLError(
                .invalidQuery, "the window \(window.firstDay)…\(window.lastDay) of batch '\(batchId)' is not a range of days",
                nonRetryable: true)
        }
        return [
            window.member, window.sourceKind, first.mondayOfWeek.description, window.lastDay, window.firstDay,
            last.adding(days: 1).description, batchId,
        ]
    }

    /// How a reader reads, for messages.
    static func describe(_ access: String?) -> String {
        switch access {
        case LaunchpadAccess.anonymous?: "anonymously (public data only)"
        case LaunchpadAccess.mixed?: "as several readers"
        case let label?: "with the credentials \(label)"
        case nil: "with credentials an older release did not record"
        }
    }
}
