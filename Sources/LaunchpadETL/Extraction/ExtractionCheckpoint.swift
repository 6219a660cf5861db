/// The phases of one member's extraction, in the order they run.
public enum ExtractionPhase: String, Sendable, Hashable, Codable, CaseIterable {
    /// Paging `searchTasks(bug_reporter=P, modified_since)`: bugs P reported (each bug's own
    /// `date_created` decides whether its report falls in the window).
    case bugsReported = "bugs_reported"
    /// Paging `searchTasks(bug_commenter=P, modified_since)`: bugs P commented on or changed.
    case bugsTouched = "bugs_touched"
    /// Per discovered bug: the bug, its messages and its activity (all pages).
    case bugDetails = "bug_details"
    /// Paging `getMergeProposals` on P (MPs from P's branches/repositories).
    case mergeProposalsOwned = "merge_proposals_owned"
    /// Paging `getRequestedReviews` on P (Bazaar MPs P was asked to review or voted on).
    case mergeProposalsRequested = "merge_proposals_requested"
    /// Per review target (projects and packages of P's MPs and bugs, P's teams and the projects
    /// P and they own), ranked as the phase starts: its `getMergeProposals`, every page, for
    /// Git MPs P may have reviewed (see `ReviewTargets`).
    case reviewTargets = "review_targets"
    /// Per discovered MP: its comments (all pages).
    case mergeProposalDetails = "merge_proposal_details"
    /// Paging `searchQuestions` on P (every participation, every status).
    case questions
    /// Per discovered question: its messages (all pages).
    case questionDetails = "question_details"
    /// Everything is staged.
    case done
}

/// Where an extraction is, small enough to heartbeat: the phase, the next page to fetch
/// (paging phases) or the last finished item (detail phases), what the store held when it was
/// written, and which store that was.
///
/// Discovered items and extracted events live in the store's staging tables under `batchId`,
/// so resuming from a checkpoint redoes at most one page or one chunk of items — but only in
/// the store that holds them: an attempt resumes from a checkpoint only when `storeId` is its
/// own store's and that store still holds at least `rowsSoFar` events and `itemsSoFar` items
/// of the batch under the same `generation` (see `ResumePlan`).
public struct ExtractionCheckpoint: Sendable, Hashable, Codable {
    /// The staging batch this extraction writes.
    public var batchId: String
    /// The phase to (re)start.
    public var phase: ExtractionPhase
    /// The page to fetch next in a paging phase (`nil`: the phase's first page).
    public var nextPageLink: String?
    /// Keys of the last entries of the page before `nextPageLink`, to find where it continues
    /// when entries left the listing meanwhile (see `LaunchpadClient.page(_:after:key:)`); nil
    /// in checkpoints written before, whose next link is followed as given.
    public var pageAnchors: [String]?
    /// How many times this paging phase went back to its first page because its listing
    /// changed by more than a page overlaps (nil: none).
    public var listingRestarts: Int?
    /// The key of the last item fully processed in a detail phase (`nil`: none yet).
    public var itemCursor: String?
    /// Distinct events staged in the store when the checkpoint was written.
    public var rowsSoFar: Int
    /// Discovered items staged in the store when the checkpoint was written (nil in
    /// checkpoints written before stores had identities).
    public var itemsSoFar: Int?
    /// The identity of the store the batch is staged in (nil in older checkpoints).
    public var storeId: String?
    /// A random id made when the extraction (re)started from the beginning: a restart clears
    /// the batch, so a checkpoint of an earlier generation describes rows that are gone.
    public var generation: String?
    /// What this start's staging writes claim (`BatchClaim`).
    public var claim: BatchClaim { BatchClaim(generation: generation) }
    /// How many attempts in a row resumed from this checkpoint without getting further (nil:
    /// none). Every save of a new checkpoint clears it; see `ExtractionStall`.
    public var stalledAttempts: Int?
    /// When the first of those attempts began, in seconds since 1970 (nil: none); cleared with
    /// `stalledAttempts`.
    public var stalledSince: Int?
    /// What this start of the batch could not read so far, one sentence each (a phase the API
    /// version lacks, review targets beyond the limit or that cannot list proposals); nil when
    /// nothing. Kept in the checkpoint so that the attempt that finishes reports what earlier
    /// attempts skipped too.
    public var skipped: [String]?
    /// Whether an attempt of this start of the batch read Launchpad anonymously (public data
    /// only: a worker without credentials, or credentials withheld from the service root);
    /// nil when every attempt so far read with credentials.
    public var readAnonymously: Bool?
    /// Whether every attempt of this start of the batch recorded whom it read as
    /// (`StagingStore.recordReader`). Releases before that drop the key when they save, so an
    /// attempt of one in between leaves it unset, and the batch's reader is unknown (`mixed`).
    public var readersRecorded: Bool?
    /// Whether every attempt of this start of the batch linked the bugs it listed to their
    /// review targets (`StagedItemKind.bugTarget`), so that a bug target without a link to a bug
    /// with the member's events may be ranked below the teams (`ReviewTargets.Rank.otherBugs`).
    /// Releases before that drop the key when they save; bug targets then keep the rank they
    /// were staged with.
    public var bugTargetsLinked: Bool?
    /// The `EventBuilders.version` every attempt of this start of the batch built its events
    /// with (nil: not every attempt said so). Releases before the field drop it when they save;
    /// a resume across versions reads as `mixed`, since rows built by other builders may lack
    /// events that this release would build (no stale-event removal).
    public var eventBuilders: Int?
    /// Projects the member's teams own that the review-target limit left unsearched, counted
    /// as the review phase ends (`ExtractionResult.teamProjectsNotSearched`); nil when none.
    public var teamProjectsLeft: Int?

    /// Creates a checkpoint.
    public init(
        batchId: String, phase: ExtractionPhase, nextPageLink: String? = nil, itemCursor: String? = nil, rowsSoFar: Int = 0,
        itemsSoFar: Int? = nil, storeId: String? = nil, generation: String? = nil
    ) {
        self.batchId = batchId
        self.phase = phase
        self.nextPageLink = nextPageLink
        self.itemCursor = itemCursor
        self.rowsSoFar = rowsSoFar
        self.itemsSoFar = itemsSoFar
        self.storeId = storeId
        self.generation = generation
    }

    private enum CodingKeys: String, CodingKey {
        case batchId = "batch_id"
        case phase
        case nextPageLink = "next_page_link"
        case itemCursor = "item_cursor"
        case rowsSoFar = "rows_so_far"
        case itemsSoFar = "items_so_far"
        case storeId = "store_id"
        case generation
        case stalledAttempts = "stalled_attempts"
        case stalledSince = "stalled_since"
        case skipped
        case pageAnchors = "page_anchors"
        case listingRestarts = "listing_restarts"
        case readAnonymously = "read_anonymously"
        case readersRecorded = "readers_recorded"
        case bugTargetsLinked = "bug_targets_linked"
        case eventBuilders = "event_builders"
        case teamProjectsLeft = "team_projects_left"
    }

    /// The checkpoint as a JSON object (snake_case keys).
    public var json: JSONValue {
        .object([
            "batch_id": .string(batchId), "phase": .string(phase.rawValue), "next_page_link": .optional(nextPageLink),
            "item_cursor": .optional(itemCursor), "rows_so_far": .int(rowsSoFar), "items_so_far": itemsSoFar.map(JSONValue.int) ?? .null,
            "store_id": .optional(storeId), "generation": .optional(generation),
            "stalled_attempts": stalledAttempts.map(JSONValue.int) ?? .null,
            "stalled_since": stalledSince.map(JSONValue.int) ?? .null,
            "skipped": skipped.map { .array($0.map(JSONValue.string)) } ?? .null,
            "page_anchors": pageAnchors.map { .array($0.map(JSONValue.string)) } ?? .null,
            "listing_restarts": listingRestarts.map(JSONValue.int) ?? .null,
            "read_anonymously": readAnonymously.map(JSONValue.bool) ?? .null,
            "readers_recorded": readersRecorded.map(JSONValue.bool) ?? .null,
            "bug_targets_linked": bugTargetsLinked.map(JSONValue.bool) ?? .null,
            "event_builders": eventBuilders.map(JSONValue.int) ?? .null,
            "team_projects_left": teamProjectsLeft.map(JSONValue.int) ?? .null,
        ])
    }

    /// Reads a checkpoint from its JSON object form.
    public init(json value: JSONValue) throws(ETLError) {
        guard let batchId = value["batch_id"]?.stringValue, let phaseName = value["phase"]?.stringValue,
            let phase = ExtractionPhase(rawValue: phaseName)
        else {
            throw ETLError(
                .invalidCheckpoint,
                "checkpoint \(value.serialized().prefix(200)) lacks batch_id or a known phase (\(ExtractionPhase.allCases.map(\.rawValue).joined(separator: ", ")))",
                nonRetryable: false)
        }
        self.init(
            batchId: batchId, phase: phase, nextPageLink: value["next_page_link"]?.stringValue,
            itemCursor: value["item_cursor"]?.stringValue, rowsSoFar: value["rows_so_far"]?.intValue ?? 0,
            itemsSoFar: value["items_so_far"]?.intValue, storeId: value["store_id"]?.stringValue,
            generation: value["generation"]?.stringValue
        )
        stalledAttempts = value["stalled_attempts"]?.intValue
        stalledSince = value["stalled_since"]?.intValue
        skipped = value["skipped"]?.arrayValue?.compactMap(\.stringValue)
        pageAnchors = value["page_anchors"]?.arrayValue?.compactMap(\.stringValue)
        listingRestarts = value["listing_restarts"]?.intValue
        readAnonymously = value["read_anonymously"]?.boolValue
        readersRecorded = value["readers_recorded"]?.boolValue
        bugTargetsLinked = value["bug_targets_linked"]?.boolValue
        eventBuilders = value["event_builders"]?.intValue
        teamProjectsLeft = value["team_projects_left"]?.intValue
    }

    /// How far the extraction had got, comparable between checkpoints of one batch: phase
    /// first, then items discovered, the detail cursor, and rows staged. Not the review-target
    /// cursor: targets go in rank order, not in their names' (a heartbeat at "zope", rank 1,
    /// won over the store's checkpoint at "bzr", rank 3, and the attempt searched targets again).
    var progressKey: (Int, Int, String, Int) {
        (ExtractionPhase.allCases.firstIndex(of: phase) ?? 0, itemsSoFar ?? 0, phase == .reviewTargets ? "" : itemCursor ?? "", rowsSoFar)
    }

    /// Whether `self` is further along than `other`.
    func isFurther(than other: ExtractionCheckpoint) -> Bool { progressKey > other.progressKey }

    /// The `eventBuilders` of a stored checkpoint's text (nil: none stored, none recorded, or
    /// text that does not parse), read by a load without decoding the rest.
    static func eventBuilders(inState text: String?) -> Int? {
        guard let text, let state = try? JSONParser.parse(text) else { return nil }
        return state["event_builders"]?.intValue
    }

    /// Records something the extraction could not read (once), in `skipped`.
    mutating func noteSkipped(_ note: String) {
        if skipped?.contains(note) == true { return }
        skipped = (skipped ?? []) + [note]
    }
}

extension ExtractionCheckpoint {
    /// Parses a checkpoint as a store saved it (`json.serialized()`).
    init(storedText text: String, batchId: String) throws(ETLError) {
        do {
            self = try ExtractionCheckpoint(json: try JSONParser.parse(text))
        } catch let error as ETLError {
            throw error
        } catch {
            throw ETLError(
                .invalidCheckpoint, "the stored checkpoint of batch '\(batchId)' is not valid JSON (\(error))", nonRetryable: false)
        }
    }
}
