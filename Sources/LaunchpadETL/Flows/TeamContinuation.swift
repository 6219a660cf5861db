import Foundation

/// What a team run hands the next run of its chain when it continues as new: the members not
/// run yet, the window and catch-up the first run decided, and the tally of the members done.
///
/// Every member's flow is a child of the team run, about nine events each in its history: past
/// the server's limit (51,200 events, about 5,600 members) the run was terminated with no
/// result, and every re-run again. A run now stops starting children when the server suggests
/// continuing as new (its history past 4,096 events or 4 MiB by default) or at
/// `TeamLaunchpadFlow.membersPerRun`, waits for those in flight (a child is cancelled when its
/// parent's run closes), and continues with the rest; the chain's last run returns the team's
/// result, summed over every run. It travels in the input under `continuation`, which only the
/// flow writes.
///
/// A field added to it (or to `TeamTally`, `NoteList`, `ScheduleCatchUp`) by a later release must
/// read as none when missing (`decodeIfPresent` with a default): chains started by the release
/// before carry continuations without it, and a required field fails their next run.
struct TeamContinuation: Codable, Sendable, Equatable {
    /// The input's key.
    static let key = "continuation"

    /// The window every member is read over (a scheduled run's, caught up, as its first run
    /// computed it).
    var windowStart: String
    var windowEnd: String
    /// The members not run yet, in the roster's order.
    var members: [String]
    /// The roster's size (the team's `members`).
    var total: Int
    /// What the roster's listings did not show.
    var hidden: [String]
    /// Former members' days (`TeamRoster.periods`), of the members not run yet.
    var periods: [String: TeamRoster.Period]
    /// Whether members' runs credit the team (`TeamLaunchpadFlow.coMembersPatch`).
    var creditTeam: Bool
    /// The people members' runs credit, as the chain's first run listed them
    /// (`FlowInput.creditPeople`); nil in chains started before it (members' runs read the
    /// team's people themselves).
    var creditPeople: [String]? = nil
    /// The schedule's catch-up, for a scheduled run.
    var catchUp: ScheduleCatchUp?
    /// The members run so far.
    var tally: TeamTally
    /// Runs of the chain before this one.
    var runs: Int

    /// Splits a team run's input into the input proper and the continuation it carries.
    /// - Throws: `InvalidQuery` when `continuation` is not one the flow wrote.
    static func split(_ json: JSONValue) throws(ETLError) -> (input: JSONValue, continuation: TeamContinuation?) {
        guard var fields = json.objectValue, let carried = fields.removeValue(forKey: key) else { return (json, nil) }
        do {
            let data = Data(carried.serialized().utf8)
            return (.object(fields), try JSONDecoder().decode(TeamContinuation.self, from: data))
        } catch {
            throw ETLError(
                .invalidQuery,
                "TeamLaunchpadFlow's input has a '\(key)' that is not one a team run wrote (\(error)); start the team's run without it",
                nonRetryable: true)
        }
    }

    /// Refuses a continuation in the input of a run no run continued into (a start written by
    /// hand): it would run the members and window it names, unchecked.
    static func refuseInAStart() throws(ETLError) {
        throw ETLError(
            .invalidQuery,
            "TeamLaunchpadFlow's input has a '\(key)', which only the runs a team run continues into carry; start the team's run without it",
            nonRetryable: true)
    }

    /// `input` with this continuation under `key`: the next run's input.
    func attached(to input: JSONValue) throws -> JSONValue {
        var fields = input.objectValue ?? [:]
        fields[Self.key] = try JSONDecoder().decode(JSONValue.self, from: JSONEncoder().encode(self))
        return .object(fields)
    }
}

extension ScheduleCatchUp: Codable, Equatable {
    enum CodingKeys: String, CodingKey {
        case windowStart, windowEnd, readThrough, previousMark, previousReread, note, unread, enabled
    }

    init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        self.init(
            window: (try c.decode(String.self, forKey: .windowStart), try c.decode(String.self, forKey: .windowEnd)),
            readThrough: try c.decode(String.self, forKey: .readThrough),
            previousMark: try c.decodeIfPresent(String.self, forKey: .previousMark),
            previousReread: try c.decode(Bool.self, forKey: .previousReread), note: try c.decodeIfPresent(String.self, forKey: .note),
            unread: try c.decodeIfPresent(String.self, forKey: .unread), enabled: try c.decode(Bool.self, forKey: .enabled))
    }

    func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(window.start, forKey: .windowStart)
        try c.encode(window.end, forKey: .windowEnd)
        try c.encode(readThrough, forKey: .readThrough)
        try c.encodeIfPresent(previousMark, forKey: .previousMark)
        try c.encode(previousReread, forKey: .previousReread)
        try c.encodeIfPresent(note, forKey: .note)
        try c.encodeIfPresent(unread, forKey: .unread)
        try c.encode(enabled, forKey: .enabled)
    }

    static func == (a: ScheduleCatchUp, b: ScheduleCatchUp) -> Bool {
        a.window == b.window && a.readThrough == b.readThrough && a.previousMark == b.previousMark
            && a.previousReread == b.previousReread && a.note == b.note && a.unread == b.unread && a.enabled == b.enabled
    }
}
