import Logging
import Temporal
import TemporalWorker

/// Notes kept up to about `TeamLaunchpadFlow.bounded`'s limit, then only counted: what a team
/// run says per member, carried from run to run of a long team's chain (`TeamContinuation`)
/// without growing past what its result can show.
struct NoteList: Codable, Sendable, Equatable {
    /// The notes kept, in the order they came.
    var notes: [String] = []
    /// How many more came once the kept ones reached the bound.
    var more = 0
    /// UTF-8 bytes of the kept notes (derived: not carried in a continuation).
    private var bytes = 0

    private enum CodingKeys: String, CodingKey { case notes, more }

    init() {}

    init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        notes = try c.decodeIfPresent([String].self, forKey: .notes) ?? []
        more = try c.decodeIfPresent(Int.self, forKey: .more) ?? 0
        bytes = notes.reduce(0) { $0 + $1.utf8.count }
    }

    /// All notes, kept and counted.
    var count: Int { notes.count + more }
    var isEmpty: Bool { count == 0 }

    /// Keeps `note`, or counts it once the kept ones fill the bound (the first is always kept).
    mutating func append(_ note: String) {
        let size = note.utf8.count
        if !notes.isEmpty, more > 0 || bytes + size > TeamLaunchpadFlow.noteLimit {
            more += 1
        } else {
            notes.append(note)
            bytes += size
        }
    }

    /// The notes joined as `TeamLaunchpadFlow.bounded` joins them, the counted ones included
    /// in its "… and N more".
    func joined(separator: String) -> String {
        TeamLaunchpadFlow.bounded(notes, separator: separator, more: more)
    }
}

/// What a team's members' runs came to, summed member by member (in the roster's order) over
/// every run of the team's chain: the numbers, and the notes its result or failure names.
struct TeamTally: Codable, Sendable, Equatable {
    var processed = 0
    var inserted = 0
    /// Nil until a member's result says how many events its load removed.
    var removed: Int?
    var kept = NoteList()
    var failures = NoteList()
    var nameTaken = NoteList()
    var skipped = NoteList()
    var unread = NoteList()
    var anonymous = 0
    var teamProjectsLeft = NoteList()
    var superseded = NoteList()
    var reread = NoteList()
    /// Members whose own result says a load of theirs may also be in another store.
    var memberSplits = NoteList()
    /// Store short id → the members whose events went there.
    var stores: [String: NoteList] = [:]

    /// Adds one member's outcome (nil: it has none, which fails the team).
    mutating func add(_ member: String, _ outcome: Result<FlowResult, ApplicationError>?, logger: Logger) {
        switch outcome {
        case .success(let result)?:
            if let store = result.summary[FlowResult.storeKey] { stores[store, default: NoteList()].append(member) }
            processed += result.itemsProcessed
            inserted += result.itemsInserted
            if let count = result.itemsRemoved { removed = (removed ?? 0) + count }
            if let note = result.summary[FlowResult.keptKey] { kept.append("\(member): \(note)") }
            if let note = result.summary[FlowResult.supersededKey] { superseded.append("\(member): \(note)") }
            if result.summary[FlowResult.accessKey] != nil { anonymous += 1 }
            if let note = result.summary[FlowResult.teamProjectsNotSearchedKey] { teamProjectsLeft.append("\(member): \(note)") }
            if let notes = result.summary[FlowResult.skippedKey] { unread.append("\(member): \(notes)") }
            if result.summary[FlowResult.rereadKey] != nil { reread.append(member) }
            if let note = result.summary[FlowResult.splitStoresKey] { memberSplits.append("\(member): \(note)") }
        case .failure(let error)? where error.type == ETLError.Code.memberGone.rawValue:
            // A suspended account cannot be read (410): named in the result, which is partial.
            skipped.append(member)
            logger.warning("skipping a member whose account is gone", metadata: ["member": "\(member)", "reason": "\(error.message)"])
        case .failure(let error)? where error.type == ETLError.Code.deactivatedNameTaken.rawValue:
            // No re-run can change it: named in the result, which is partial, as a suspended one.
            nameTaken.append(member)
            logger.warning(
                "skipping a deactivated member whose old name another account holds",
                metadata: ["member": "\(member)", "reason": "\(error.message)"])
        case .failure(let error)?:
            failures.append("\(member): \(error.type): \(error.message)")
        case nil:
            failures.append("\(member): no result")
        }
    }

    /// The team's result: `base` (the team's query summary) with the tally's numbers and notes;
    /// `total` is the roster's size and `hidden` what its listings did not show.
    func result(base: [String: String], team: String, total: Int, hidden: [String], workflowID: String, logger: Logger)
        -> FlowResult
    {
        var summary = base
        summary.removeValue(forKey: "member")
        summary["team"] = team
        summary["members"] = String(total)
        let skippedMembers =
            skipped.notes.map { "\($0) (account suspended)" }
            + nameTaken.notes.map { "\($0) (deactivated, and its old name is another account's now)" }
        if !skippedMembers.isEmpty {
            summary[FlowResult.skippedMembersKey] = TeamLaunchpadFlow.bounded(
                skippedMembers, separator: ", ", more: skipped.more + nameTaken.more)
        }
        // What the roster did not show comes first: whole people missing, not parts of a run.
        let notRead = hidden.map { "team roster: \($0)" } + unread.notes
        if !notRead.isEmpty { summary[FlowResult.skippedKey] = TeamLaunchpadFlow.bounded(notRead, separator: "; ", more: unread.more) }
        if !reread.isEmpty {
            summary[FlowResult.rereadKey] =
                "listings were read short of their total_size for " + reread.joined(separator: ", ") + "; read these days again"
        }
        if anonymous > 0 {
            summary[FlowResult.accessKey] =
                FlowResult.anonymousAccess + (anonymous < total - skipped.count - nameTaken.count ? ", \(anonymous) of the members" : "")
        }
        if !kept.isEmpty { summary[FlowResult.keptKey] = kept.joined(separator: "; ") }
        if !superseded.isEmpty { summary[FlowResult.supersededKey] = superseded.joined(separator: "; ") }
        if !teamProjectsLeft.isEmpty { summary[FlowResult.teamProjectsNotSearchedKey] = teamProjectsLeft.joined(separator: "; ") }
        let splits = [TeamLaunchpadFlow.splitStoresNote(stores), memberSplits.isEmpty ? nil : memberSplits.joined(separator: "; ")]
            .compactMap { $0 }
        if !splits.isEmpty {
            let split = splits.joined(separator: "; ")
            summary[FlowResult.splitStoresKey] = split
            logger.warning("the team's events went to several event stores", metadata: ["stores": "\(split)"])
        }
        var result = FlowResult(summary: summary, workflowId: workflowID, itemsProcessed: processed, itemsInserted: inserted)
        result.itemsRemoved = removed
        return result
    }
}

extension TeamTally {
    /// Reads a tally a team run carried (`TeamContinuation`), each field missing taken as
    /// none: a chain continued by a release that adds a field to the tally goes on from the
    /// runs of the release before it (a required field failed the chain's next run).
    init(from decoder: any Decoder) throws {
        self.init()
        let c = try decoder.container(keyedBy: CodingKeys.self)
        processed = try c.decodeIfPresent(Int.self, forKey: .processed) ?? 0
        inserted = try c.decodeIfPresent(Int.self, forKey: .inserted) ?? 0
        removed = try c.decodeIfPresent(Int.self, forKey: .removed)
        kept = try c.decodeIfPresent(NoteList.self, forKey: .kept) ?? NoteList()
        failures = try c.decodeIfPresent(NoteList.self, forKey: .failures) ?? NoteList()
        nameTaken = try c.decodeIfPresent(NoteList.self, forKey: .nameTaken) ?? NoteList()
        skipped = try c.decodeIfPresent(NoteList.self, forKey: .skipped) ?? NoteList()
        unread = try c.decodeIfPresent(NoteList.self, forKey: .unread) ?? NoteList()
        anonymous = try c.decodeIfPresent(Int.self, forKey: .anonymous) ?? 0
        teamProjectsLeft = try c.decodeIfPresent(NoteList.self, forKey: .teamProjectsLeft) ?? NoteList()
        superseded = try c.decodeIfPresent(NoteList.self, forKey: .superseded) ?? NoteList()
        reread = try c.decodeIfPresent(NoteList.self, forKey: .reread) ?? NoteList()
        memberSplits = try c.decodeIfPresent(NoteList.self, forKey: .memberSplits) ?? NoteList()
        stores = try c.decodeIfPresent([String: NoteList].self, forKey: .stores) ?? [:]
    }
}
