public import Logging
import Synchronization
import Tracing

/// What an extraction staged.
public struct ExtractionResult: Sendable, Hashable, Codable {
    /// The staged events' reference (what goes through workflow history).
    public var batch: StagedBatch
    /// HTTP requests this run sent (retries included).
    public var requests: Int
    /// Phases skipped, with the reason (e.g. questions on API 1.0).
    public var skippedPhases: [String]
    /// New connections the client opened (for HTTPS, TLS handshakes); the other requests reused one.
    public var connections: Int?
    /// True when an attempt read anonymously (public data only; see
    /// `ExtractionCheckpoint.readAnonymously`); nil otherwise.
    public var readAnonymously: Bool?
    /// Who the extraction read Launchpad as (`LaunchpadAccess`): the one reader every attempt
    /// of this start of the batch read as, or `mixed` (`StagingStore.readers`).
    public var access: String?
    /// Projects the member's teams own that were not searched for the member's reviews: they
    /// rank last among review targets, after the limit (`LP_REVIEW_TARGETS`) was reached. Not
    /// a partial read (they are searched as far as the limit allows, beyond what the run
    /// guarantees), but said, so that an analyst can raise the limit; nil when none.
    public var teamProjectsNotSearched: Int?

    private enum CodingKeys: String, CodingKey {
        case batch
        case requests
        case connections
        case skippedPhases = "skipped_phases"
        case readAnonymously = "read_anonymously"
        case access
        case teamProjectsNotSearched = "team_projects_not_searched"
    }
}

/// Extracts one member's Launchpad activity for a window into the staging tables, resumably.
///
/// Discovery (complete, unlike the original): bugs the member reported in the window
/// (`searchTasks bug_reporter`) and bugs they commented on or changed since the window
/// opened (`bug_commenter` + `modified_since`, which covers comments on older bugs), every
/// status, duplicates included; merge proposals from their repositories and those they were
/// asked to review, every status; questions they took part in, every status. Every collection
/// is read to its last page. Per item, messages/activity/comments are read (bounded
/// concurrency) and filtered by actor and window client-side.
public struct LaunchpadExtractor: Sendable {
    /// The client used for requests.
    public let client: LaunchpadClient
    /// Where events, items and checkpoints are staged.
    public let store: any StagingStore
    /// The member (lowercase username).
    public let member: String
    /// In a team's run, the team (`FlowInput.creditTeam`).
    private let team: String?
    /// In a team's run, its people as the team's run listed them (`FlowInput.creditPeople`);
    /// nil: read again by each attempt.
    private let creditPeople: [String]?
    /// The window covered.
    public let window: ExtractionWindow
    /// Items processed between checkpoints in detail phases (default 16).
    public var chunkSize: Int = 16
    /// Review targets searched for merge proposals (default: the client configuration's,
    /// `LP_REVIEW_TARGETS`, else `ReviewTargets.defaultLimit`).
    public var reviewTargetLimit: Int
    private let logger: Logger
    /// `convertedBugs`'s index, for this extractor (one attempt).
    private let convertedBugIndex = SharedValue<ConvertedBugs?>(nil)

    /// Every bug task status (the server's default omits resolved bugs).
    public static let allBugStatuses = LaunchpadEnums.bugTaskStatuses
    /// Every merge proposal status (the server's default omits merged/rejected/superseded).
    public static let allMergeProposalStatuses = LaunchpadEnums.mergeProposalStatuses
    /// Every question status (the server's default omits Expired and Invalid).
    public static let allQuestionStatuses = LaunchpadEnums.questionStatuses

    /// Creates an extractor for `query`, using `client` and staging into `store`.
    /// `creditingTeam`: in a team's run, the team (`FlowInput.creditTeam`), whose other people's
    /// reviews and comments on the proposals read are kept too; `creditPeople`: those people as
    /// the team's run listed them (`FlowInput.creditPeople`; nil: read from the team).
    public init(
        query: LaunchpadQuery, client: LaunchpadClient, store: any StagingStore, creditingTeam: String? = nil,
        creditPeople: [String]? = nil, logger: Logger = Logger(label: "LaunchpadETL.Extractor")
    ) throws(ETLError) {
        self.client = client
        self.store = store
        self.member = query.member
        self.team = creditingTeam
        self.creditPeople = creditingTeam == nil ? nil : creditPeople
        self.window = try query.window()
        self.logger = logger
        self.reviewTargetLimit = client.configuration.reviewTargetLimit
    }

    /// Runs (or resumes) the extraction into staging batch `batchId`.
    ///
    /// - Parameters:
    ///   - resumeFrom: a checkpoint from an earlier attempt (heartbeat details, or
    ///     `StagingStore.loadCheckpoint`); `nil` starts afresh, clearing the batch first.
    ///   - onCheckpoint: called after every page and every chunk of items with the new
    ///     checkpoint (also saved in the store); activities heartbeat it.
    /// - Returns: the staged batch reference and request statistics.
    public func run(
        batchId: String,
        resumeFrom: ExtractionCheckpoint? = nil,
        onCheckpoint: @escaping @Sendable (ExtractionCheckpoint) async -> Void = { _ in }
    ) async throws(ETLError) -> ExtractionResult {
        let requestsBefore = client.requestCount
        let connectionsBefore = client.connectionCount
        var checkpoint: ExtractionCheckpoint
        if let resumeFrom {
            guard resumeFrom.batchId == batchId else {
                throw ETLError(.invalidCheckpoint, "checkpoint is for batch '\(resumeFrom.batchId)', not '\(batchId)'", nonRetryable: true)
            }
            checkpoint = resumeFrom
            checkpoint.storeId = store.identity.id
            if checkpoint.generation == nil {
                // Written before checkpoints had generations: this attempt's start becomes one.
                checkpoint.generation = Self.newGeneration()
                try await save(checkpoint, onCheckpoint, replacing: .noGeneration)
            }
            // Recorded before this attempt stages anything: a load removes stored events the
            // batch lacks only if every row in it was read as the same reader (`StaleEvents`).
            // An attempt of an older release (first, or in between: its saves drop the marker,
            // and its restart of the batch leaves the readers table alone) recorded nothing:
            // whom it read as is unknown. Rows staged by other event builders may lack events
            // that these build, so the batch cannot tell what disappeared from Launchpad either.
            let recorded = try await store.readers(batchId: batchId)
            let otherBuilders = checkpoint.eventBuilders != EventBuilders.version
            if checkpoint.readersRecorded != true || recorded.isEmpty || otherBuilders {
                try await store.recordReader(LaunchpadAccess.mixed, batchId: batchId, claim: checkpoint.claim)
            }
            try await store.recordReader(LaunchpadAccess.reader(of: client.configuration), batchId: batchId, claim: checkpoint.claim)
            if otherBuilders, checkpoint.rowsSoFar > 0 || (checkpoint.itemsSoFar ?? 0) > 0 {
                // What an attempt of another release read before this one may lack events these
                // builders make (version 6: review requests kept in vote references): not read
                // as these would read it, so the result says so (partial) rather than be green.
                let earlier = checkpoint.eventBuilders.map { "version \($0)" } ?? "an unrecorded version"
                checkpoint.noteSkipped(
                    "this batch was begun by another release (event builders \(earlier), this one's \(EventBuilders.version)): what that release read may lack events this one makes; read the window again (a new run) to have it whole"
                )
            }
            if checkpoint.readersRecorded != true || otherBuilders {
                checkpoint.readersRecorded = true
                checkpoint.eventBuilders = EventBuilders.version
                try await save(checkpoint, onCheckpoint)
            }
            logger.info("resuming extraction", metadata: ["batch": "\(batchId)", "phase": "\(checkpoint.phase.rawValue)"])
        } else {
            // Before anything slow (the person lookup may retry for a minute): the batch is
            // cleared and claimed by this start at once, so an attempt that outlived its timeout
            // cannot clear a later attempt's rows unnoticed — every later save of a checkpoint
            // checks that the batch is still this start's.
            try await store.deleteStagedBatch(batchId)
            checkpoint = ExtractionCheckpoint(
                batchId: batchId, phase: .bugsReported, rowsSoFar: 0, itemsSoFar: 0,
                storeId: store.identity.id, generation: Self.newGeneration())
            checkpoint.readersRecorded = true
            checkpoint.bugTargetsLinked = true
            checkpoint.eventBuilders = EventBuilders.version
            // Saved at once, so that an attempt failing before its first page still leaves a
            // checkpoint the next one resumes from (and counts as stalled at; see `ExtractionStall`);
            // and before the reader is recorded, which is a write of this start (`BatchClaim`).
            try await save(checkpoint, onCheckpoint, replacing: .anything)
            try await store.recordReader(LaunchpadAccess.reader(of: client.configuration), batchId: batchId, claim: checkpoint.claim)
        }
        if client.configuration.credentials == .anonymous || client.configuration.credentialsWithheld != nil {
            // Kept in the checkpoint, so that the attempt that finishes says so even when it
            // reads with credentials itself (a worker configured otherwise).
            checkpoint.readAnonymously = true
        }
        if let withheld = client.configuration.credentialsWithheld {
            // An anonymous read of a root chosen by workflow input. Kept in the checkpoint, so
            // that the result says so even when a later attempt (a worker configured otherwise)
            // reads with credentials.
            checkpoint.noteSkipped(Self.withheldNote(withheld))
        }
        let person = try await client.person(named: member)
        guard let personLink = person["self_link"]?.stringValue else {
            throw ETLError(.malformedResponse, "person '\(member)' has no self_link", nonRetryable: false)
        }
        try await requireOwnEmployeeId()
        // Read when the proposals' details are (once per attempt): no other phase needs them.
        var coMembers: Set<String>?
        while checkpoint.phase != .done {
            // Stop between pages/chunks when the activity is cancelled (worker shutdown, timeout):
            // the saved checkpoint lets the next attempt resume here.
            if Task.isCancelled {
                throw ETLError(
                    .transport, "extraction of batch '\(batchId)' cancelled at phase \(checkpoint.phase.rawValue)", nonRetryable: false)
            }
            let phase = checkpoint.phase
            switch phase {
            case .mergeProposalsOwned, .mergeProposalsRequested:
                try await proposalListing(phase, personLink: personLink, checkpoint: &checkpoint)
                if phase == .mergeProposalsOwned { try await stageTeamTargets(person, checkpoint: checkpoint) }
            case .bugsReported, .bugsTouched, .questions:
                if phase == .questions && client.configuration.version != "devel" {
                    checkpoint.noteSkipped(
                        "questions: searchQuestions exists only in the devel API (version is \(client.configuration.version))")
                } else {
                    if try await page(phase, personLink: personLink, checkpoint: &checkpoint, onCheckpoint: onCheckpoint) { continue }
                    if phase == .bugsTouched { try await stageUnlistedBugs(&checkpoint) }
                }
            case .bugDetails, .mergeProposalDetails, .questionDetails:
                if phase == .mergeProposalDetails, coMembers == nil { coMembers = try await self.coMembers(&checkpoint) }
                if try await detailChunk(phase, coMembers: coMembers ?? [], checkpoint: &checkpoint, onCheckpoint: onCheckpoint) {
                    continue
                }
            case .reviewTargets:
                if try await reviewTarget(checkpoint: &checkpoint, onCheckpoint: onCheckpoint) { continue }
            case .done:
                break
            }
            checkpoint.phase = Self.phase(after: phase)
            checkpoint.nextPageLink = nil
            checkpoint.pageAnchors = nil
            checkpoint.listingRestarts = nil
            checkpoint.itemCursor = nil
            try await save(checkpoint, onCheckpoint)
        }
        var batch = try await store.stagedBatch(batchId)
        // The reference is this start's rows only if no other attempt restarted the batch
        // before it was read (a restart after it changes the rows, which the load's check sees).
        try await store.requireGeneration(checkpoint.generation, batchId: batchId)
        guard batch.rowCount >= checkpoint.rowsSoFar else {
            throw ETLError(
                .stagingMismatch,
                "staged batch '\(batchId)' in \(store.identity) holds \(batch.rowCount) events, fewer than the \(checkpoint.rowsSoFar) its extraction staged; something deleted staging rows meanwhile, so the extraction starts again",
                nonRetryable: false)
        }
        batch.storeId = store.identity.id
        var result = ExtractionResult(
            batch: batch, requests: client.requestCount - requestsBefore, skippedPhases: checkpoint.skipped ?? [],
            connections: client.connectionCount - connectionsBefore, readAnonymously: checkpoint.readAnonymously,
            access: Self.access(readers: try await store.readers(batchId: batchId), readAnonymously: checkpoint.readAnonymously == true))
        result.teamProjectsNotSearched = checkpoint.teamProjectsLeft
        return result
    }

    /// The indices in `ordered` of the targets to search: the first `ReviewTargets.teamLimit`
    /// teams (none when `limit` is 0), and the first `limit` of the others. With the teams
    /// first (`orderedReviewTargets`), they are the start of `ordered` (but for teams past
    /// their limit), so what an attempt's cursor passed was searched, and what is left after
    /// the choice is named: with the teams among the others, targets the limit cut before
    /// them were passed over in silence.
    static func chosenReviewTargets(_ ordered: [(key: String, payload: JSONValue)], limit: Int) -> [Int] {
        var (others, teams) = (max(0, limit), limit > 0 ? ReviewTargets.teamLimit : 0)
        return ordered.indices.filter { index in
            if ordered[index].payload.intValue == ReviewTargets.Rank.teams.rawValue {
                guard teams > 0 else { return false }
                teams -= 1
            } else {
                guard others > 0 else { return false }
                others -= 1
            }
            return true
        }
    }

    /// The batch's review targets in the order they are searched: the teams first (searched
    /// besides the limit), then by rank (`ReviewTargets.Rank`), by name within a rank.
    private func orderedReviewTargets(_ batchId: String) async throws(ETLError) -> [(key: String, payload: JSONValue)] {
        let all = try await store.stagedItems(kind: .reviewTarget, batchId: batchId, after: nil, limit: 1_000_000)
        return Self.searchOrder(all)
    }

    static func searchOrder(_ targets: [(key: String, payload: JSONValue)]) -> [(key: String, payload: JSONValue)] {
        func order(_ target: (key: String, payload: JSONValue)) -> Int {
            let rank = target.payload.intValue ?? ReviewTargets.Rank.active.rawValue
            return rank == ReviewTargets.Rank.teams.rawValue ? -1 : rank
        }
        return targets.sorted { (order($0), $0.key) < (order($1), $1.key) }
    }

    /// Whom an extraction whose attempts recorded `readers` read as; `mixed` as well when the
    /// checkpoint says an attempt read anonymously and the readers do not (an attempt of an
    /// older release, which records no reader, did).
    static func access(readers: [String], readAnonymously: Bool) -> String {
        let combined = LaunchpadAccess.combining(readers)
        return readAnonymously && combined != LaunchpadAccess.anonymous ? LaunchpadAccess.mixed : combined
    }

    /// The `skipped` note of an extraction that read without the environment's credentials.
    static func withheldNote(_ reason: String) -> String { "private data: \(reason)" }

    /// A random id for a new start of a batch (see `ExtractionCheckpoint.generation`).
    static func newGeneration() -> String {
        String(UInt64.random(in: 0...UInt64.max), radix: 16) + String(UInt64.random(in: 0...UInt64.max), radix: 16)
    }

    /// Sets the checkpoint's counts to what the store holds now.
    private func recount(_ checkpoint: inout ExtractionCheckpoint) async throws(ETLError) {
        let progress = try await store.stagingProgress(checkpoint.batchId)
        checkpoint.rowsSoFar = progress.rows
        checkpoint.itemsSoFar = progress.items
    }

    static func phase(after phase: ExtractionPhase) -> ExtractionPhase {
        let all = ExtractionPhase.allCases
        guard let index = all.firstIndex(of: phase), index + 1 < all.count else { return .done }
        return all[index + 1]
    }

    /// Which stored checkpoint a save may replace (`StagingStore.replaceCheckpointState`).
    enum Replacing {
        /// Only one of this start of the batch: the checkpoint's own generation.
        case sameStart
        /// Only one without a generation, written by an older release.
        case noGeneration
        /// Any: the first save of a fresh start, right after it cleared the batch.
        case anything
    }

    /// Saves `checkpoint` and reports it. By default only while the store still holds this
    /// start of the batch, so an attempt whose batch another attempt restarted stops at its next
    /// checkpoint.
    private func save(
        _ checkpoint: ExtractionCheckpoint, _ onCheckpoint: @Sendable (ExtractionCheckpoint) async -> Void,
        replacing: Replacing = .sameStart
    ) async throws(ETLError) {
        var checkpoint = checkpoint
        checkpoint.stalledAttempts = nil  // got further
        checkpoint.stalledSince = nil
        switch replacing {
        case .sameStart: try await store.replaceCheckpoint(checkpoint, generation: checkpoint.generation)
        case .noGeneration: try await store.replaceCheckpoint(checkpoint, generation: nil)
        case .anything: try await store.saveCheckpoint(checkpoint)
        }
        await onCheckpoint(checkpoint)
    }

    /// The first URL of a paging phase.
    func initialURL(_ phase: ExtractionPhase, personLink: String) -> String {
        let base = client.apiBase
        let memberPath = "~" + member
        let padStart = UTCTimestamp(startOf: window.firstDay.adding(days: -1)).launchpadParameter
        let padEnd = UTCTimestamp(startOf: window.lastDay.adding(days: 2)).launchpadParameter
        switch phase {
        case .bugsReported:
            // Not created_since/created_before: they compare the *task's* creation date, and a
            // bug re-targeted later has only tasks newer than the bug. Every bug reported in the
            // window was last updated after the window opened; the bug's own date_created is
            // checked when its events are built.
            return LaunchpadURL.make(
                base: base, path: "bugs", operation: "searchTasks",
                parameters: [
                    ("bug_reporter", .string(personLink)), ("modified_since", .string(padStart)),
                    ("status", .list(Self.allBugStatuses)), ("omit_duplicates", .bool(false)), ("order_by", .list(["id"])),
                ])
        case .bugsTouched:
            return LaunchpadURL.make(
                base: base, path: "bugs", operation: "searchTasks",
                parameters: [
                    ("bug_commenter", .string(personLink)), ("modified_since", .string(padStart)),
                    ("status", .list(Self.allBugStatuses)), ("omit_duplicates", .bool(false)), ("order_by", .list(["id"])),
                ])
        case .mergeProposalsOwned:
            return LaunchpadURL.make(
                base: base, path: memberPath, operation: "getMergeProposals",
                parameters: [
                    ("status", .list(Self.allMergeProposalStatuses)), ("created_before", .string(padEnd)),
                ])
        case .mergeProposalsRequested:
            return LaunchpadURL.make(
                base: base, path: memberPath, operation: "getRequestedReviews",
                parameters: [
                    ("status", .list(Self.allMergeProposalStatuses))
                ])
        case .questions:
            return LaunchpadURL.make(
                base: base, path: memberPath, operation: "searchQuestions",
                parameters: [
                    ("status", .list(Self.allQuestionStatuses)), ("created_before", .string(padEnd)),
                ])
        default:
            return base
        }
    }

    static func key(_ id: Int) -> String {
        let text = String(id)
        return String(repeating: "0", count: max(0, 12 - text.count)) + text
    }

    /// Fetches one page of a paging phase, stages its items and advances the checkpoint;
    /// `true` while the phase has more to read.
    private func page(
        _ phase: ExtractionPhase, personLink: String, checkpoint: inout ExtractionCheckpoint,
        onCheckpoint: @Sendable (ExtractionCheckpoint) async -> Void
    ) async throws(ETLError) -> Bool {
        let link = checkpoint.nextPageLink ?? client.firstPageURL(initialURL(phase, personLink: personLink))
        // A page cut smaller after server timeouts is kept in the checkpoint at once: the next
        // attempt starts from that size, not from the one that timed out.
        var current = checkpoint
        let keepSmallerPages = { (size: Int) async throws(ETLError) -> Void in
            current.nextPageLink = LaunchpadURL.setting("ws.size", to: String(size), in: link)
            try await self.save(current, onCheckpoint)
        }
        let read = try await client.page(
            link, after: checkpoint.pageAnchors ?? [], key: { $0["self_link"]?.stringValue }, onSmallerPages: keepSmallerPages)
        checkpoint = current
        guard let page = read else {
            // The listing changed by more than a page overlaps: read it again from its first page
            // (items already staged are kept; staging them again changes nothing).
            let restarts = (checkpoint.listingRestarts ?? 0) + 1
            checkpoint.nextPageLink = nil
            checkpoint.pageAnchors = nil
            checkpoint.listingRestarts = restarts < LaunchpadClient.listingReads ? restarts : nil
            try await save(checkpoint, onCheckpoint)
            guard restarts < LaunchpadClient.listingReads else {
                // Saved first: the next attempt reads the listing from its first page again,
                // rather than from a page whose anchors are gone for good.
                throw ETLError(
                    .listingChanging,
                    "the \(phase.rawValue) listing changed by more rows than a page overlaps \(restarts) times while it was read (at \(link)); a later attempt reads it again from its first page",
                    nonRetryable: false)
            }
            return true
        }
        var items: [(key: String, payload: JSONValue)] = []
        let kind: StagedItemKind
        switch phase {
        case .bugsReported, .bugsTouched:
            kind = .bug
            var targets: [(key: String, payload: JSONValue)] = []
            var links: [(key: String, payload: JSONValue)] = []
            for task in page.entries {
                guard let bugId = EventBuilders.trailingInt(task["bug_link"], after: "/bugs/") else {
                    throw ETLError(.malformedResponse, "bug task without a bug_link on \(link)", nonRetryable: false)
                }
                items.append((Self.key(bugId), .int(bugId)))
                if let target = task["target_link"]?.stringValue.flatMap({ ReviewTargets.target(ofBugTarget: $0, apiBase: client.apiBase) })
                {
                    targets.append((target, .int(ReviewTargets.Rank.active.rawValue)))
                    links.append((ReviewTargets.bugTargetKey(target, bugKey: Self.key(bugId)), .int(bugId)))
                }
            }
            try await store.stageItems(targets, kind: .reviewTarget, batchId: checkpoint.batchId, claim: checkpoint.claim)
            try await store.stageItems(links, kind: .bugTarget, batchId: checkpoint.batchId, claim: checkpoint.claim)
        default:
            kind = .question
            for question in page.entries {
                guard let id = question["id"]?.intValue ?? EventBuilders.trailingInt(question["self_link"], after: "/+question/") else {
                    throw ETLError(.malformedResponse, "question without an id on \(link)", nonRetryable: false)
                }
                items.append((Self.key(id), question))
            }
        }
        try await store.stageItems(items, kind: kind, batchId: checkpoint.batchId, claim: checkpoint.claim)
        try await recount(&checkpoint)
        checkpoint.nextPageLink = page.nextLink
        checkpoint.pageAnchors = page.nextLink == nil ? nil : page.anchors
        if page.nextLink != nil { try await save(checkpoint, onCheckpoint) }
        return page.nextLink != nil
    }

    /// A deactivated account's events are stored under the name it had (`EmployeeId`): refused
    /// when that name now belongs to another account, whose events (in the same store) would
    /// then be taken for this one's — and a load of either could remove the other's.
    /// A numbered suffix (`NAME-deactivatedaccount1`) means the unnumbered name was taken when
    /// this account was deactivated — in practice by an earlier holder of `NAME`: that one is
    /// checked too. A suspended account (410) under either name is another account.
    private func requireOwnEmployeeId() async throws(ETLError) {
        let employee = EmployeeId.of(account: member)
        guard employee != member else { return }
        let unnumbered = employee + EmployeeId.deactivatedSuffix
        for name in [employee] + (member == unnumbered ? [] : [unnumbered]) {
            do {
                _ = try await client.person(named: name)
            } catch  where error.code == .unknownMember {
                continue  // free: no other account's events under this employee id
            } catch  where error.code == .invalidQuery {
                continue  // a team holds it: a team has no events of its own to mix in
            } catch  where error.code != .memberGone {
                throw error
            }
            throw ETLError(
                .deactivatedNameTaken,
                "'\(member)' is a deactivated account, whose events are stored under the name it had, '\(employee)'; but '\(name)' is another Launchpad account, whose events would mix with this one's under '\(employee)': extract '\(member)' into a store without '\(employee)', or leave it out",
                nonRetryable: true)
        }
    }

    /// The other side of `requireOwnEmployeeId`: a name whose earlier holder Launchpad renamed
    /// `<name>-deactivatedaccount` (freeing the name, which this member registered since) has
    /// that account's events under it too, from runs before its deactivation. Built from links
    /// that now name `<name>-deactivatedaccount`, a read of this member finds none of them, and
    /// a load would take them for gone and remove them. So, when the store holds events of the
    /// window, the read notes it (a skipped note: its load removes nothing, and the run is
    /// partial).
    private func noteEarlierHolder(_ checkpoint: inout ExtractionCheckpoint) async throws(ETLError) {
        guard EmployeeId.of(account: member) == member else { return }
        let earlier = member + EmployeeId.deactivatedSuffix
        do {
            _ = try await client.person(named: earlier)
        } catch  where error.code == .unknownMember || error.code == .invalidQuery {
            return  // no earlier holder (or a team took the name: it has no events of its own)
        } catch  where error.code != .memberGone {
            throw error
        }
        checkpoint.noteSkipped(
            "stored events: '\(earlier)', an account deactivated since, held the name '\(member)' before this account, and events stored under '\(member)' may be that account's: those this read no longer finds are kept, not removed (extract '\(member)' into a store that never held the earlier account's events to have these days read whole)"
        )
    }

    /// In a team's run, the team's other current people (`team`, sub-teams' included), whose
    /// reviews, merges, comments and votes on the proposals this batch reads are credited to
    /// them: a member's review of another's proposal is otherwise found only when the reviewer's
    /// own review targets hold the proposal's project. The people the team's run listed when it
    /// started (`creditPeople`), so that every member's run credits the same people, whoever
    /// left or joined since; in runs of releases before that, read again by each attempt (the
    /// roster as of then). A team this reader cannot read (404/410) is noted, and only the
    /// member's own activity is kept.
    private func coMembers(_ checkpoint: inout ExtractionCheckpoint) async throws(ETLError) -> Set<String> {
        guard let team else { return [] }
        if let creditPeople { return Set(creditPeople).subtracting([member]) }
        do {
            return Set(try await client.teamPeople(team: team).people).subtracting([member])
        } catch  where [.unknownTeam, .notFound, .gone].contains(error.code) || Self.deniedToThisReader(error) {
            checkpoint.noteSkipped(
                "\(ExtractionPhase.mergeProposalDetails.rawValue): the people of ~\(team) could not be read (\(Self.deniedToThisReader(error) ? "seen by name only" : "\(error.code)")), so their reviews and comments on the proposals this member's run reads are left to their own runs"
            )
            return []
        }
    }

    /// Stages, for `bugDetails` to read, the bugs with events stored for the window that neither
    /// search listed (`StagingStore.storedItems`), also as `unlistedBug`. Launchpad's searches
    /// leave out the tasks of deactivated projects (`bugtasksearch`: "Remove bugtasks from
    /// deactivated products"), so a bug whose tasks are all on one is no longer listed, though
    /// it still reads at its own URL: its events are there, and a load would take them for
    /// gone. Read directly, its events are built as any listed bug's; one made private or
    /// deleted since answers 404 and is read as absent. Staging again changes nothing, so a
    /// resumed attempt may repeat it.
    private func stageUnlistedBugs(_ checkpoint: inout ExtractionCheckpoint) async throws(ETLError) {
        let stored = try await store.storedItems(
            in: LoadedWindow(
                member: EmployeeId.of(account: member), sourceKind: Event.launchpadSourceKind, firstDay: window.firstDay.description,
                lastDay: window.lastDay.description, skipped: []))
        let listed = Set(try await store.stagedItems(kind: .bug, batchId: checkpoint.batchId, after: nil, limit: 1_000_000).map(\.key))
        let unlisted: [(id: Int, link: String?)] = stored.compactMap { item in
            guard item.parentId.hasPrefix("b-"), let id = Int(item.parentId.dropFirst(2)), !listed.contains(Self.key(id)) else {
                return nil
            }
            return (id, item.targetLink)
        }
        if !stored.isEmpty { try await noteEarlierHolder(&checkpoint) }
        guard !unlisted.isEmpty else { return }
        logger.notice(
            "bugs with stored events that the searches no longer list are read directly (a project deactivated since, or the bug made private)",
            metadata: ["bugs": "\(unlisted.prefix(20).map { String($0.id) }.joined(separator: ","))\(unlisted.count > 20 ? ",…" : "")"])
        // The unlisted item keeps the stored link that names the bug's target, if any: what
        // tells a deactivated project's bug from one made private (`readsAsGone`).
        try await store.stageItems(
            unlisted.map { (Self.key($0.id), $0.link.map(JSONValue.string) ?? .null) }, kind: .unlistedBug, batchId: checkpoint.batchId,
            claim: checkpoint.claim)
        try await store.stageItems(
            unlisted.map { (Self.key($0.id), .int($0.id)) }, kind: .bug, batchId: checkpoint.batchId, claim: checkpoint.claim)
        try await recount(&checkpoint)
    }

    /// Processes the next chunk of items of a detail phase; `false` when none are left.
    private func detailChunk(
        _ phase: ExtractionPhase, coMembers: Set<String>, checkpoint: inout ExtractionCheckpoint,
        onCheckpoint: @Sendable (ExtractionCheckpoint) async -> Void
    ) async throws(ETLError) -> Bool {
        let kind: StagedItemKind = phase == .bugDetails ? .bug : phase == .mergeProposalDetails ? .mergeProposal : .question
        let items = try await store.stagedItems(
            kind: kind, batchId: checkpoint.batchId, after: checkpoint.itemCursor, limit: max(1, chunkSize))
        guard let last = items.last else { return false }
        if kind == .bug && client.configuration.version != "devel" {
            // Launchpad keeps comments its admins hid (spam, abuse) in the list; only devel's
            // message entries say which (`visible`), so elsewhere they are counted.
            checkpoint.noteSkipped(
                "hidden bug comments: the \(client.configuration.version) API does not say which comments Launchpad hid, so they count as activity; the devel API does"
            )
        }
        // The chunk's bugs no search listed (`stageUnlistedBugs`): they are among the first of
        // the batch's unlisted bugs after the cursor, since every one is a bug item too.
        let unlistedLinks: [String: String?] =
            kind == .bug
            ? Dictionary(
                try await store.stagedItems(
                    kind: .unlistedBug, batchId: checkpoint.batchId, after: checkpoint.itemCursor, limit: items.count
                )
                .map { ($0.key, $0.payload.stringValue) }, uniquingKeysWith: { first, _ in first }) : [:]
        let unlisted = Set(unlistedLinks.keys)
        var events: [Event]
        let notes: [String]
        let vanishedUnlisted: [String]
        do {
            (events, notes, vanishedUnlisted) = try await withThrowingTaskGroup(
                of: (key: String, read: (events: [Event], note: String?)?).self
            ) { group in
                for item in items {
                    let listed = !unlisted.contains(item.key)
                    group.addTask {
                        (item.key, try await self.events(for: item.payload, kind: kind, listed: listed, coMembers: coMembers))
                    }
                }
                var all: [Event] = []
                var notes: [String] = []
                var vanished: [String] = []
                for try await (key, read) in group {
                    if let read {
                        all.append(contentsOf: read.events)
                        if let note = read.note { notes.append(note) }
                    } else {
                        vanished.append(key)
                    }
                }
                // One item made private or deleted since the listing is Launchpad's truth; every
                // item of a chunk is more likely a path that answers 404 (a proxy, a changed
                // root): read as absent, it would make a green run with nothing in it. Unless
                // an item of the kind listed in an earlier chunk still reads: then the root
                // serves these paths, and the chunk's items did vanish. Bugs no search listed
                // are expected to answer 404, so they do not count.
                if vanished.count == items.count, vanished.count(where: { !unlisted.contains($0) }) > 1,
                    try await !earlierItemStillReads(kind, checkpoint),
                    kind != .mergeProposal ? true : try await !proposalSourcesAreGone(items.map(\.payload))
                {
                    throw ETLError(
                        .notFound,
                        "every \(kind.rawValue) of a chunk of \(items.count) listed ones answered 404 or 410 when its details were read; that is a service root or proxy that does not serve them rather than items made private since the listing, so the extraction stops (check the service root and any proxy in front of Launchpad)",
                        nonRetryable: false)
                }
                if kind == .mergeProposal {
                    // Launchpad serves a proposal only under its source repository's (or
                    // branch's) current path: one renamed or moved to another owner since the
                    // listing answers 404 at the listed link, as a deleted proposal does. Its
                    // events may well exist: the result says they were not read.
                    let links = Dictionary(items.map { ($0.key, $0.payload["self_link"]?.stringValue) }, uniquingKeysWith: { a, _ in a })
                    for key in vanished {
                        notes.append(
                            "merge_proposal_details: \((links[key] ?? nil) ?? key) could not be read after it was listed (404, 410, or denied to this reader): its source repository or branch was renamed or moved since, or the proposal was deleted or hidden; its events are not read (a later run lists it where it is now)"
                        )
                    }
                }
                return (all, notes.sorted(), vanished.filter(unlisted.contains).sorted())
            }
        } catch let error as ETLError {
            throw error
        } catch {
            throw ETLError(.transport, "extraction of \(kind) details failed: \(error)", nonRetryable: false, cause: error)
        }
        if !vanishedUnlisted.isEmpty, LaunchpadAccess.reader(of: client.configuration) != LaunchpadAccess.anonymous {
            // To a reader with credentials, Launchpad answers 404 for a private bug whose tasks
            // are all on deactivated projects: it checks who may see a private bug with a bug
            // search (`Bug.userCanView`), which leaves those tasks out. Such a bug is not read,
            // and its events are kept (`StaleEvents.itemRead`); one made private from this
            // reader, or deleted, is read as gone. Anonymously, a 404 is always the latter: a
            // public bug always reads.
            var unread: [String] = []
            var goneIn: [String: Bool] = [:]  // by project: one GET each, however many of its bugs
            for key in vanishedUnlisted {
                guard let project = Self.project(ofTargetLink: unlistedLinks[key] ?? nil) else { continue }  // gone
                let gone: Bool
                if let known = goneIn[project] {
                    gone = known
                } else {
                    gone = try await readsAsGone(project: project)
                    goneIn[project] = gone
                }
                if !gone { unread.append(key) }
            }
            if !unread.isEmpty {
                logger.notice(
                    "bugs with stored events that no search listed answered 404, and so did their project (deactivated): their events are kept",
                    metadata: ["bugs": "\(unread.map { String(Int($0) ?? 0) }.joined(separator: ","))"])
                try await store.stageItems(
                    unread.map { ($0, JSONValue.bool(true)) }, kind: .unreadBug, batchId: checkpoint.batchId, claim: checkpoint.claim)
            }
        }
        for note in notes { checkpoint.noteSkipped(note) }
        if kind == .question { events = try await withoutConvertedBugCopies(events, batchId: checkpoint.batchId) }
        let span = InstrumentationSystem.tracer.startAnySpan("store.stageEvents", context: ServiceContext.current ?? .topLevel)
        span.attributes["events"] = events.count
        defer { span.end() }
        do { try await store.stageEvents(events, batchId: checkpoint.batchId, claim: checkpoint.claim) } catch {
            span.recordError(error)  // the tracer marks the span failed (its message only if it exports them)
            throw error
        }
        try await recount(&checkpoint)
        checkpoint.itemCursor = last.key
        try await save(checkpoint, onCheckpoint)
        return true
    }

    /// The teams the member participates in (`super_teams`: directly or through other teams,
    /// as Launchpad's `TeamParticipation` holds them), as review targets after the others
    /// (priority 2): a person's `getMergeProposals` lists only proposals from repositories
    /// the person owns, so one the member registered from a team's repository is listed by the
    /// team's `getMergeProposals` alone (Launchpad's `HasMergeProposalsMixin`: `ownedBy`).
    private func stageTeamTargets(_ person: JSONValue, checkpoint: ExtractionCheckpoint) async throws(ETLError) {
        guard let link = person["super_teams_collection_link"]?.stringValue else { return }
        let teams = try await client.collection(link)
        let targets: [(key: String, payload: JSONValue)] = teams.compactMap { team in
            team["name"]?.stringValue.map { ("~" + $0, .int(ReviewTargets.Rank.teams.rawValue)) }
        }
        try await store.stageItems(targets, kind: .reviewTarget, batchId: checkpoint.batchId, claim: checkpoint.claim)
    }

    /// A merge-proposal listing of the member, read whole (its order is not stable across
    /// pages: see `LaunchpadClient.distinctCollection`), staged with its proposals' targets.
    private func proposalListing(_ phase: ExtractionPhase, personLink: String, checkpoint: inout ExtractionCheckpoint)
        async throws(ETLError)
    {
        let url = initialURL(phase, personLink: personLink)
        let listing = try await client.distinctListing(url, key: { EventBuilders.mergeProposalId($0).map(String.init) })
        // Requested reviews are listed once per vote reference of the member, and Launchpad keeps
        // one per person and proposal (asking again, or voting, reuses it): a shortfall there is
        // as much a loss as in the member's own proposals (its order, by vote alone, is no more
        // stable across pages).
        noteShortfall(listing, "\(phase.rawValue): the member's listing", url: url, &checkpoint)
        let proposals = listing.entries
        var items: [(key: String, payload: JSONValue)] = []
        var targets: [(key: String, payload: JSONValue)] = []
        for proposal in proposals {
            guard let id = EventBuilders.mergeProposalId(proposal) else {
                throw ETLError(.malformedResponse, "merge proposal without a +merge/<id> self_link on \(url)", nonRetryable: false)
            }
            items.append((Self.key(id), proposal))
            // A Git proposal's repository, or a Bazaar one's branch (its Git fields are null).
            if let target = proposal["target_git_repository_link"]?.stringValue.flatMap({
                ReviewTargets.target(ofRepository: $0, apiBase: client.apiBase)
            }) ?? proposal["target_branch_link"]?.stringValue.flatMap({ ReviewTargets.target(ofBranch: $0, apiBase: client.apiBase) }) {
                targets.append((target, .int(ReviewTargets.Rank.ownProposals.rawValue)))
            }
        }
        try await store.stageItems(targets, kind: .reviewTarget, batchId: checkpoint.batchId, claim: checkpoint.claim)
        try await store.stageItems(items, kind: .mergeProposal, batchId: checkpoint.batchId, claim: checkpoint.claim)
        try await recount(&checkpoint)
    }

    /// Notes in the result (and logs) what a merge proposal listing's passes settled short of
    /// (`DistinctListing.shortfallNote`), if anything.
    private func noteShortfall(_ listing: DistinctListing, _ what: String, url: String, _ checkpoint: inout ExtractionCheckpoint) {
        guard let note = listing.shortfallNote(what, kind: "proposals") else { return }
        logger.warning("a merge proposal listing was read short", metadata: ["url": "\(url)", "note": "\(note)"])
        checkpoint.noteSkipped(note)
    }

    /// Lists the merge proposals of the next review target (every page, every status) and
    /// stages those that can hold the member's activity; `false` when no target is left.
    private func reviewTarget(
        checkpoint: inout ExtractionCheckpoint,
        onCheckpoint: @Sendable (ExtractionCheckpoint) async -> Void
    ) async throws(ETLError) -> Bool {
        // Ranked once, as the phase starts; the ranks are kept in the items, so every attempt
        // (of any release) goes through the targets in the same order.
        if checkpoint.itemCursor == nil, reviewTargetLimit > 0 { try await rankReviewTargets(&checkpoint) }
        let ordered = try await orderedReviewTargets(checkpoint.batchId)
        let chosen = Self.chosenReviewTargets(ordered, limit: reviewTargetLimit)
        // The cursor may lie past targets this worker's limits leave out: an earlier attempt on
        // a worker allowed more searched them, and they are neither searched again nor named
        // as skipped.
        let searched = checkpoint.itemCursor.flatMap { cursor in ordered.firstIndex { $0.key == cursor } } ?? -1
        guard let next = chosen.first(where: { $0 > searched }) else {
            let chosenSet = Set(chosen)
            let left = ordered.indices.filter { $0 > searched && !chosenSet.contains($0) }
            if !left.isEmpty {
                // The teams' projects are searched as far as the limit allows, and not named when
                // left (a big team owns hundreds): every window of its members would read as
                // partial. The result counts them (`teamProjectsLeft`, kept in the checkpoint).
                let teamProjectsRank = ReviewTargets.Rank.teamProjects.rawValue
                let rest = left.map { ordered[$0] }.filter { $0.payload.intValue != teamProjectsRank }
                let names = rest.map(\.key)
                let otherBugsCount = rest.count { $0.payload.intValue == ReviewTargets.Rank.otherBugs.rawValue }
                let total = ordered.count { $0.payload.intValue != teamProjectsRank }
                let teamsLeft = rest.count { $0.payload.intValue == ReviewTargets.Rank.teams.rawValue }
                if !rest.isEmpty {
                    checkpoint.noteSkipped(
                        "review_targets: \(rest.count) of \(total) targets not searched for reviews (limit \(max(0, reviewTargetLimit)), LP_REVIEW_TARGETS\(teamsLeft > 0 && reviewTargetLimit > 0 ? "; teams: \(ReviewTargets.teamLimit) besides it" : ""))\(otherBugsCount > 0 ? ", \(otherBugsCount) of them only from bugs without the member's events in the window" : ""): \(names.prefix(10).joined(separator: ", "))\(names.count > 10 ? ", …" : "")"
                    )
                }
                let projectsLeft = left.count - rest.count
                checkpoint.teamProjectsLeft = projectsLeft > 0 ? projectsLeft : nil
            }
            return false
        }
        let target = ordered[next].key
        let url = LaunchpadURL.make(
            base: client.apiBase, path: target, operation: "getMergeProposals",
            parameters: [("status", .list(Self.allMergeProposalStatuses))])
        do throws(ETLError) {
            let listing = try await client.distinctListing(url, key: { EventBuilders.mergeProposalId($0).map(String.init) })
            noteShortfall(listing, "review_targets: \(target)'s merge proposals", url: url, &checkpoint)
            let proposals = listing.entries
            var created: [String: UTCTimestamp] = [:]
            for proposal in proposals {
                if let link = proposal["self_link"]?.stringValue, let time = EventBuilders.time(proposal["date_created"]) {
                    created[link] = time
                }
            }
            var items: [(key: String, payload: JSONValue)] = []
            for proposal in proposals where ReviewTargets.worthReading(proposal, window: window, createdAt: { created[$0] }) {
                guard let id = EventBuilders.mergeProposalId(proposal) else { continue }
                items.append((Self.key(id), proposal))
            }
            try await store.stageItems(items, kind: .mergeProposal, batchId: checkpoint.batchId, claim: checkpoint.claim)
        } catch
            where [.notFound, .gone].contains(error.code) || ReviewTargets.lacksTheOperation(error, target: target)
            || Self.deniedToThisReader(error)
        {
            // 404/410: removed or private; 401 naming launchpad.View: a private team (one of the
            // member's super teams) or a proprietary project (a shared bug's) this reader sees by
            // name only; their proposals exist but cannot be read, which the result says. A 400
            // where the operation may not exist: a whole distribution holds no proposals
            // (nothing to say); a personal repository lists them only on devel.
            logger.notice("review target skipped", metadata: ["target": "\(target)", "reason": "\(error.message.prefix(200))"])
            let reason: String? =
                switch error.code {
                case .gone: "410 Gone: removed, or not visible to this client"
                case .notFound: "404 Not Found: removed, or not visible to this client"
                case .unauthorized:
                    "401: this worker's Launchpad account may see \(target.hasPrefix("~") && !target.contains("/") ? "the private team" : target.hasPrefix("~") ? "the repository" : "the project") by name only"
                default:
                    ReviewTargets.isPersonalRepository(target)
                        ? "400: repositories have getMergeProposals only in the devel API, version is \(client.configuration.version)" : nil
                }
            if let reason { checkpoint.noteSkipped("review_targets: \(target) could not list its merge proposals (\(reason))") }
        }
        try await recount(&checkpoint)
        checkpoint.itemCursor = target
        try await save(checkpoint, onCheckpoint)
        return true
    }

    /// Ranks the review targets (`ReviewTargets.Rank`) before the first is searched, and adds
    /// the projects the member and their teams own (`getOwnedProjects`, devel only: Launchpad
    /// lists direct ownership only, so each team is asked). A bug target counts as `active`
    /// when the member has events on one of its bugs in the window (staged by `bugDetails`,
    /// which runs before); a bug listed by `modified_since` may have been changed by others
    /// only. The ranks are kept in the items, so that every later attempt, of any release,
    /// goes through the targets in the same order.
    ///
    /// Recomputed from its sources each time (idempotent): ranks staged by the listing phases
    /// (own proposals, teams) stay. In a batch where an earlier release listed bugs (not
    /// `bugTargetsLinked`), some bugs have no `bugTarget` items, so no bug target is ranked
    /// below `active`.
    private func rankReviewTargets(_ checkpoint: inout ExtractionCheckpoint) async throws(ETLError) {
        let batchId = checkpoint.batchId
        let staged = try await store.stagedItems(kind: .reviewTarget, batchId: batchId, after: nil, limit: 1_000_000)
        let links = try await store.stagedItems(kind: .bugTarget, batchId: batchId, after: nil, limit: 1_000_000)
        let linkedFully = checkpoint.bugTargetsLinked == true
        let activeBugs = Set(
            try await store.stagedEvents(batchId).compactMap { event in
                event.parentId.hasPrefix("b-") ? Int(event.parentId.dropFirst(2)) : nil
            })
        var linked: Set<String> = []
        var active: Set<String> = []
        for link in links {
            let target = ReviewTargets.target(ofBugTargetKey: link.key)
            linked.insert(target)
            if activeBugs.contains(link.payload.intValue ?? -1) { active.insert(target) }
        }
        let teams = staged.map(\.key).filter { $0.hasPrefix("~") && !$0.contains("/") }
        let owned = try await ownedProjects(teams: teams, &checkpoint)
        var ranks: [String: Int] = [:]
        for item in staged { ranks[item.key] = item.payload.intValue ?? ReviewTargets.Rank.active.rawValue }
        var changed: [(key: String, payload: JSONValue)] = []
        for target in Set(ranks.keys).union(owned.member).union(owned.teams) {
            let current = ranks[target]
            if current == ReviewTargets.Rank.ownProposals.rawValue || current == ReviewTargets.Rank.teams.rawValue { continue }
            // Where an earlier release listed bugs, a bug target keeps its rank (`active`, the best
            // any source gives a target that is not an own proposal's).
            if !linkedFully && current == ReviewTargets.Rank.active.rawValue { continue }
            var candidates: [ReviewTargets.Rank] = []
            if linked.contains(target) { candidates.append(active.contains(target) ? .active : .otherBugs) }
            if owned.member.contains(target) { candidates.append(.active) }
            if owned.teams.contains(target) { candidates.append(.teamProjects) }
            guard let rank = candidates.min(by: { $0.rawValue < $1.rawValue })?.rawValue else { continue }
            if rank != current { changed.append((target, .int(rank))) }
        }
        try await store.stageItems(changed, kind: .reviewTarget, batchId: batchId, claim: checkpoint.claim)
    }

    /// The projects the member owns, and those their teams own (`~x?ws.op=getOwnedProjects`,
    /// read concurrently). A team that answers 404 or 410 (private, renamed), or 401 (a private
    /// team this reader sees by name only), is left out: its own search says so. Before devel the operation does not exist, which is noted.
    private func ownedProjects(teams: [String], _ checkpoint: inout ExtractionCheckpoint) async throws(ETLError) -> (
        member: Set<String>, teams: Set<String>
    ) {
        guard client.configuration.version == "devel" else {
            checkpoint.noteSkipped(
                "review_targets: projects the member or their teams own are not searched for reviews: getOwnedProjects exists only in the devel API (version is \(client.configuration.version))"
            )
            return ([], [])
        }
        do {
            return try await withThrowingTaskGroup(of: (isTeam: Bool, projects: [String]).self) { group in
                group.addTask { (false, try await self.projects(ownedBy: "~" + self.member, isTeam: false)) }
                for team in teams { group.addTask { (true, try await self.projects(ownedBy: team, isTeam: true)) } }
                var owned: (member: Set<String>, teams: Set<String>) = ([], [])
                for try await list in group {
                    if list.isTeam { owned.teams.formUnion(list.projects) } else { owned.member.formUnion(list.projects) }
                }
                return owned
            }
        } catch let error as ETLError {
            throw error
        } catch {
            throw ETLError(.transport, "listing owned projects failed: \(error)", nonRetryable: false, cause: error)
        }
    }

    /// The names of the projects `owner` (`~name`) owns directly; none for a team that answers
    /// 404 or 410.
    private func projects(ownedBy owner: String, isTeam: Bool) async throws(ETLError) -> [String] {
        let url = LaunchpadURL.make(base: client.apiBase, path: owner, operation: "getOwnedProjects")
        do {
            return try await client.collection(url).compactMap { $0["name"]?.stringValue }
        } catch  where isTeam && (error.code == .notFound || error.code == .gone || Self.deniedToThisReader(error)) {
            logger.notice(
                "a team's projects could not be listed", metadata: ["team": "\(owner)", "reason": "\(error.message.prefix(200))"])
            return []
        }
    }

    /// Whether an unlisted bug that answered 404 to credentials is gone for this reader (made
    /// private from it, or deleted), given the project its stored link names: false when that
    /// project answers 404 too (deactivated: its private bugs answer 404 even to their
    /// subscribers). A bug whose target is unknown, or not a project (a distribution's
    /// package), is taken as gone without asking.
    private func readsAsGone(project: String) async throws(ETLError) -> Bool {
        do {
            _ = try await client.get(client.apiBase + project)
            return true
        } catch {
            let failure = Self.etl(error)
            guard failure.code == .notFound || failure.code == .gone else { throw failure }
            return false
        }
    }

    /// The project a link under a bug's target names (`https://host/<project>/+bug/N…`); nil
    /// for another target (`ubuntu/+source/pkg`, a series) or a link without one.
    static func project(ofTargetLink link: String?) -> String? {
        guard let link, let bug = link.firstRange(of: "/+bug/"), let schemeEnd = link.firstRange(of: "://"),
            schemeEnd.upperBound <= bug.lowerBound
        else { return nil }
        let path = link[schemeEnd.upperBound..<bug.lowerBound].split(separator: "/").dropFirst()  // after the host
        guard path.count == 1, let name = path.first, !name.hasPrefix("+"), !name.hasPrefix("~") else { return nil }
        return String(name)
    }

    /// Whether the proposals of a chunk that all answered 404 are gone with their source: a
    /// proposal is served only under its source repository's (or branch's) path, so a source
    /// renamed or moved to another owner since the listing takes every proposal from it along
    /// (a member's own proposals often come from one repository). True when the sources of the
    /// first two (one GET each) answer 404 or 410 while the member's own entry reads (the root
    /// serves the API); false when a source still reads (its proposal's path is what is not
    /// served) or a proposal names none.
    private func proposalSourcesAreGone(_ proposals: [JSONValue]) async throws(ETLError) -> Bool {
        for proposal in proposals.prefix(2) {
            // A Git proposal's repository, or a Bazaar one's branch (its Git fields are null).
            guard let source = proposal["source_git_repository_link"]?.stringValue ?? proposal["source_branch_link"]?.stringValue else {
                return false
            }
            do {
                _ = try await client.get(source)
                return false
            } catch {
                let failure = Self.etl(error)
                guard Self.readsAsGone(failure) else { throw failure }
            }
        }
        _ = try await client.get(client.apiBase + "~" + member)
        return true
    }

    /// Whether one of the batch's first items of `kind`, in chunks before the current one,
    /// still answers (one GET of its own URL each, up to three, since one of them may have
    /// vanished too); false when the current chunk is the first, or none answers.
    private func earlierItemStillReads(_ kind: StagedItemKind, _ checkpoint: ExtractionCheckpoint) async throws(ETLError) -> Bool {
        guard let cursor = checkpoint.itemCursor else { return false }
        // Listed ones only: a bug no search listed may answer 404 as well.
        let unlisted =
            kind == .bug
            ? Set(try await store.stagedItems(kind: .unlistedBug, batchId: checkpoint.batchId, after: nil, limit: 1_000_000).map(\.key))
            : []
        var earlier: [(key: String, payload: JSONValue)] = []
        var after: String?
        while earlier.count < 3 {
            let page = try await store.stagedItems(kind: kind, batchId: checkpoint.batchId, after: after, limit: 64)
            earlier += page.filter { $0.key <= cursor && !unlisted.contains($0.key) }.prefix(3 - earlier.count)
            guard let next = page.last?.key, next < cursor, page.count == 64 else { break }
            after = next
        }
        for item in earlier {
            let url = kind == .bug ? client.apiBase + "bugs/\(item.payload.intValue ?? 0)" : item.payload["self_link"]?.stringValue
            guard let url else { continue }
            do {
                _ = try await client.get(url)
                return true
            } catch {
                let failure = Self.etl(error)
                guard failure.code == .notFound || failure.code == .gone else { throw failure }
            }
        }
        return false
    }

    /// The events of one staged item, and what of it could not be read (a note for the
    /// result); nil when it is no longer visible (`noLongerVisible`).
    private func events(for payload: JSONValue, kind: StagedItemKind, listed: Bool = true, coMembers: Set<String> = [])
        async throws(ETLError) -> (
            events: [Event], note: String?
        )?
    {
        switch kind {
        case .bug:
            // The bug and its two collections at once (their URLs are the bug's plus a fixed
            // suffix on every Launchpad): one round trip per bug instead of two.
            let bugId = payload.intValue ?? 0
            let bugLink = client.apiBase + "bugs/\(bugId)"
            async let bug = client.get(bugLink)
            async let messages = client.collection(bugLink + "/messages")
            async let activity = client.collection(bugLink + "/activity")
            // Gone only when the bug itself does not read: its collections answering 404 while
            // it reads is a path the server (or a proxy before it) does not serve, and reading
            // the bug as gone would remove its stored events.
            let entry: JSONValue
            do { entry = try await bug } catch {
                let failure = Self.etl(error)
                if noLongerVisible(failure, "bug \(bugId)", listed: listed) { return nil }
                throw failure
            }
            let fetched: ([JSONValue], [JSONValue])
            do { fetched = try await (messages, activity) } catch {
                try await goneOrUnserved(Self.etl(error), entry: bugLink, "bug \(bugId)", "its messages or activity", listed: listed)
                return nil
            }
            return (
                try EventBuilders.bugEvents(bug: entry, messages: fetched.0, activity: fetched.1, member: member, window: window), nil
            )
        case .mergeProposal:
            // Launchpad lists a proposal's comments and its vote references in no stable order
            // (no ORDER BY): each is read as a listing whose pages may overlap and skip,
            // deduplicated by entry. Both at once: one round trip per proposal. Not the vote
            // references of a proposal closed long before the window (a member's own are all
            // read, however old): nobody asks for reviews of those.
            let link = try Self.link(payload, "all_comments_collection_link", of: "merge proposal")
            let votesLink =
                ReviewTargets.worthReading(payload, window: window)
                ? try Self.link(payload, "votes_collection_link", of: "merge proposal") : nil
            async let commentListing = client.distinctListing(link, key: { $0["self_link"]?.stringValue })
            async let voteListing = optionalListing(votesLink)
            let comments: DistinctListing
            let votes: DistinctListing?
            do { (comments, votes) = try await (commentListing, voteListing) } catch {
                let entry = payload["self_link"]?.stringValue
                try await goneOrUnserved(
                    Self.etl(error), entry: entry, "merge proposal \(entry ?? link)", "its comments or vote references")
                return nil
            }
            let notes = [
                comments.shortfallNote("merge_proposal_details: \(link)", kind: "comments"),
                votes?.shortfallNote("merge_proposal_details: \(votesLink ?? "")", kind: "vote references"),
            ].compactMap { $0 }
            for note in notes { logger.warning("a merge proposal's comments or votes were read short", metadata: ["note": "\(note)"]) }
            return (
                try EventBuilders.mergeProposalEvents(
                    proposal: payload, comments: comments.entries, votes: votes?.entries ?? [], member: member, coMembers: coMembers,
                    window: window), notes.isEmpty ? nil : notes.joined(separator: "; ")
            )
        case .reviewTarget, .bugTarget, .unlistedBug, .unreadBug:
            return ([], nil)  // targets lead to proposals (staged as such); they have no events of their own
        case .question:
            let link = try Self.link(payload, "messages_collection_link", of: "question")
            let messages: [JSONValue]
            do { messages = try await client.collection(link) } catch {
                // Gone only when the question itself does not read (as bugs and proposals).
                let entry = payload["self_link"]?.stringValue
                try await goneOrUnserved(error, entry: entry, "question \(entry ?? link)", "its messages")
                return nil
            }
            return (try EventBuilders.questionEvents(question: payload, messages: messages, member: member, window: window), nil)
        }
    }

    /// The listing at `link` as `distinctListing` reads it (by `self_link`); nil for no link.
    private func optionalListing(_ link: String?) async throws(ETLError) -> DistinctListing? {
        guard let link else { return nil }
        return try await client.distinctListing(link, key: { $0["self_link"]?.stringValue })
    }

    /// `events` (a chunk's question events) without the copies Launchpad makes when a bug is
    /// converted to a question (`createQuestionFromBug`): the question takes the bug's owner,
    /// title and creation time, and a copy of the bug's last comment with its owner and time.
    /// They are not acts: the bug's events (staged earlier in the batch: bugs come first) count
    /// them already. A question is taken for a converted bug when the bug's conversion row is
    /// the member's (`converted to question`, naming the question), or when the member created
    /// both at the same instant with the same title; then its events at the instant of one of
    /// that bug's events are left out. A question converted by someone else (no conversion row
    /// of the member's, a creation outside the window or not the member's) still holds a copy
    /// of the member's comment when it was the bug's last: a question message at the very
    /// instant (microseconds) of one of the member's bug comments is that copy, left out too.
    private func withoutConvertedBugCopies(_ events: [Event], batchId: String) async throws(ETLError) -> [Event] {
        guard events.contains(where: { $0.type.hasPrefix("question:") }) else { return events }
        let bugs = try await convertedBugs(batchId)
        var source: [String: Int] = [:]  // question parent id → bug id
        for question in events where question.type == "question:created" {
            let key = ConvertedBugs.Creation(time: question.timeUTC, title: question.relationProperties["title"])
            if let bug = bugs.createdAt[key] { source[question.parentId] = bug }
        }
        let kept = events.filter { event in
            guard let bug = source[event.parentId] ?? bugs.convertedTo[event.parentId] else {
                return !(event.type == "question:commented" && bugs.commentTimes.contains(event.timeUTC))
            }
            return bugs.times[bug]?.contains(event.timeUTC) != true
        }
        if kept.count < events.count {
            logger.info(
                "questions copy bugs they were converted from: their copies are left out",
                metadata: ["left_out": "\(events.count - kept.count)"])
        }
        return kept
    }

    /// What the batch's staged bug events say about conversions, read once per attempt (bugs are
    /// staged before questions).
    private func convertedBugs(_ batchId: String) async throws(ETLError) -> ConvertedBugs {
        if let index = convertedBugIndex.value { return index }
        var index = ConvertedBugs()
        for event in try await store.stagedEvents(batchId) where event.type.hasPrefix("bug:") {
            guard let bug = event.relationProperties["bug_id"]?.intValue else { continue }
            switch event.type {
            case "bug:updated":
                if event.relationProperties["what_changed"] == "converted to question",
                    let question = event.relationProperties["new_value"]?.stringValue
                {
                    index.convertedTo["q-\(question)"] = bug
                }
            case "bug:created":
                index.createdAt[ConvertedBugs.Creation(time: event.timeUTC, title: event.relationProperties["title"])] = bug
                index.times[bug, default: []].insert(event.timeUTC)
            case "bug:commented":
                index.commentTimes.insert(event.timeUTC)
                index.times[bug, default: []].insert(event.timeUTC)
            default:
                index.times[bug, default: []].insert(event.timeUTC)
            }
        }
        convertedBugIndex.value = index
        return index
    }

    /// Whether `error` says an item listed earlier in the extraction is no longer there for this
    /// client (404, 410: made private, or deleted, since the listing was read). Such an item is
    /// read as a listing read now would: not at all. It has no events, and the read is not
    /// partial, so a load may remove what an earlier read stored of it (`StaleEvents`).
    func noLongerVisible(_ error: ETLError, _ item: String, listed: Bool = true) -> Bool {
        guard Self.readsAsGone(error) else { return false }
        logger.warning(
            listed
                ? "a listed item is no longer visible; read as absent"
                : "a bug with stored events that no search listed is not visible; read as absent",
            metadata: ["item": "\(item)", "reason": "\(error.message.prefix(200))"])
        return true
    }

    /// Whether `error` on an item's page says the item is gone or hidden from this reader.
    static func readsAsGone(_ error: ETLError) -> Bool {
        error.code == .notFound || error.code == .gone || deniedToThisReader(error)
    }

    /// After `error` reading `what` (a collection) of `item`: returns when `item` is gone (its
    /// `entry` no longer reads, as a bug made private between the reads), and throws otherwise —
    /// `error` as it is when it does not say "gone", else a retryable not-found naming the path
    /// not served (a proxy before Launchpad, a rewritten path): reading the item as gone while it
    /// reads would remove its stored events. Without an `entry` to read again, "gone" is taken.
    func goneOrUnserved(_ error: ETLError, entry: String?, _ item: String, _ what: String, listed: Bool = true)
        async throws(ETLError)
    {
        guard Self.readsAsGone(error), let entry else {
            if noLongerVisible(error, item, listed: listed) { return }
            throw error
        }
        do { _ = try await client.get(entry) } catch {
            if noLongerVisible(error, item, listed: listed) { return }
            throw error
        }
        // Not found whatever the answer was: a 401's or 410's type is non-retryable.
        throw ETLError(
            .notFound,
            "\(item) reads, but \(what) answered \(error.message.prefix(160)): not read as gone (that would remove its stored events); check any proxy in front of Launchpad",
            nonRetryable: false, cause: error)
    }

    /// Whether a 401/403 on one item's page is Launchpad denying this reader that item
    /// (`LaunchpadClient.deniedToThisReader`): the extraction failed for good on such an item,
    /// blaming the token.
    static func deniedToThisReader(_ error: ETLError) -> Bool { LaunchpadClient.deniedToThisReader(error) }

    /// A collection link every entry of its kind carries: missing is a malformed response (its
    /// comments or messages would silently count as none).
    static func link(_ entry: JSONValue, _ field: String, of kind: String) throws(ETLError) -> String {
        guard let link = entry[field]?.stringValue else {
            throw ETLError(
                .malformedResponse,
                "a \(kind) entry has no \(field) (kept from its listing, so retrying cannot help; re-run the flow): \(entry.serialized().prefix(160))",
                nonRetryable: true)
        }
        return link
    }

    static func etl(_ error: any Error) -> ETLError {
        (error as? ETLError) ?? ETLError(.transport, "\(error)", nonRetryable: false, cause: error)
    }
}

/// The member's staged bug events as `LaunchpadExtractor.withoutConvertedBugCopies` reads them.
struct ConvertedBugs: Sendable {
    /// A bug's creation: its instant and title.
    struct Creation: Hashable, Sendable {
        var time: String
        var title: JSONValue?
    }
    /// Questions (`q-<id>`) the member's conversion rows name, to their bug.
    var convertedTo: [String: Int] = [:]
    /// Bugs the member created, by creation.
    var createdAt: [Creation: Int] = [:]
    /// The instants of each bug's creation and comments.
    var times: [Int: Set<String>] = [:]
    /// The instants of the member's bug comments, whatever the bug.
    var commentTimes: Set<String> = []
}
