public import LaunchpadETL

/// Latency and fault injection for the fixture server, reproducible: faults are scripted by
/// request number (`503@3,500@5,truncate@7x2,stall@9`) or drawn at a fixed rate from a
/// seeded generator.
public struct FixtureFaults: Sendable, Hashable {
    /// What a faulty response looks like.
    public enum Kind: String, Sendable, Hashable, CaseIterable {
        /// 503 with `Retry-After` and an HTML body (Launchpad's front end under load).
        case unavailable = "503"
        /// 502 with an HTML body.
        case badGateway = "502"
        /// 500 with an HTML "Oops!" page and `X-Lazr-OopsId`.
        case oops = "500"
        /// 200 with the JSON body cut in half.
        case truncate
        /// The normal response, after `stallMilliseconds`.
        case stall
    }

    /// Request number (1-based, counting API requests) → fault.
    public var scripted: [Int: Kind] = [:]
    /// Probability of a random fault per request (0 = none).
    public var rate: Double = 0
    /// Kinds drawn from when `rate` > 0.
    public var randomKinds: [Kind] = [.unavailable, .oops, .truncate, .stall]
    /// Seed of the random draw.
    public var seed: UInt64 = 1
    /// Delay added to every response.
    public var latencyMilliseconds: Int = 0
    /// How long a stall lasts.
    public var stallMilliseconds: Int = 5_000
    /// `Retry-After` seconds sent with 503s.
    public var retryAfterSeconds: Int = 1
    /// Launchpad's server-side timeout, modelled: a named operation (`ws.op`) asked for pages
    /// larger than this answers 503 with `Retry-After: 900` and an OOPS id, every time (the
    /// same heavy query keeps timing out). Nil: no such timeouts.
    public var timeoutAbovePageSize: Int?
    /// Merge-proposal listings in a different order at every request, as Launchpad's union of
    /// Bazaar and Git queries without ORDER BY can be: offset paging then repeats some
    /// proposals and skips others.
    public var shiftListings = false
    /// Merge-proposal listings in an order that depends on how many rows the request asks the
    /// database for (offset + page size), as a query planner may pick its plan from a LIMIT:
    /// up to 300 rows by id, more in a fixed scrambled order. Every request of the same page
    /// gets the same rows, and the pages of one read overlap and miss, so reading a listing
    /// again with the same pages repeats exactly what the first read got.
    public var planDependentListings = false
    /// Ordered listings read by offset (bug task searches, question searches, team members)
    /// lose their first entry after their first request, as when a bug is made private, a task
    /// deleted or a member leaves while a client pages: later pages shift back by one, so
    /// plain offset paging skips an entry.
    public var entriesLeave = false
    /// Like `entriesLeave`, but one more entry leaves at every later request of the listing:
    /// a listing that keeps changing faster than a client can page through it.
    public var entriesKeepLeaving = false
    /// Projects and packages whose merge-proposal listing answers 404, as Launchpad answers an
    /// anonymous client once a project is made proprietary (its listing reads as not found);
    /// a team named here (`~team`) answers 404 to `getOwnedProjects` (made private, renamed).
    public var unreadableTargets: Set<String> = []
    /// Projects deactivated since the standard world was written, as Launchpad's admins do: bug
    /// and question searches in a person's or the global context leave out their tasks and
    /// questions (`bugtasksearch`, "Remove bugtasks from deactivated products";
    /// `QuestionSearch`), `getOwnedProjects` leaves them out, and every page under the project
    /// (its questions, its merge-proposal listing) answers 404 to anyone but an admin. A bug
    /// still reads at `bugs/N`.
    public var deactivatedProjects: Set<String> = []
    /// Bugs made private since the standard world was written: no longer listed, and their own
    /// URLs answer 404 (the fixture serves anonymous readers).
    public var privateBugs: Set<Int> = []
    /// Merge proposals whose source repository (or branch) was renamed or moved to another
    /// owner after the listings were read, taking every proposal from it along: the listings
    /// give the links they had, and those (and the source's own) answer 404, as Launchpad
    /// serves a proposal only under its source's current path.
    public var movedProposals: Set<Int> = []
    /// People whose name an earlier account held: Launchpad renamed that account
    /// `<name>-deactivatedaccount` when it was deactivated (freeing the name, which the person
    /// named here registered since), and it reads under that name.
    public var deactivatedNamesakes: Set<String> = []
    /// People who leave every team once a team's members were listed whole a first time (a team
    /// run lists its people at its start; its members' runs may read the listing again later):
    /// later listings leave them out.
    public var peopleLeaving: Set<String> = []
    /// Bug task searches and merge-proposal listings count private entries in `total_size` and
    /// drop them after the batch is cut (lazr.restful's permission check on each entry), as a
    /// collection Launchpad does not filter in SQL would. Off, as on Launchpad: its bug search
    /// (`bugtasksearch`'s privacy filter) and proposal listings (`visibleByUser`) leave out what
    /// the caller may not see before they count and cut, so `total_size` is what it can read
    /// and pages are full. Team member listings always drop private teams after the cut.
    public var privacyAfterTheCut = false

    /// No faults, no latency.
    public init() {}

    /// Parses a script such as `503@3,500@5,truncate@7x2,stall@9` (kind `@` request number,
    /// optional `x` repeat count for consecutive requests).
    public static func parseScript(_ script: String) throws(ETLError) -> [Int: Kind] {
        var result: [Int: Kind] = [:]
        for token in script.split(separator: ",") where !token.trimmingCharactersSpaces.isEmpty {
            let parts = token.trimmingCharactersSpaces.split(separator: "@")
            guard parts.count == 2, let kind = Kind(rawValue: String(parts[0])) else {
                throw ETLError(
                    .fixture,
                    "fault '\(token)' is not KIND@N[xCOUNT] with KIND one of \(Kind.allCases.map(\.rawValue).joined(separator: ", "))",
                    nonRetryable: true)
            }
            let numbers = parts[1].split(separator: "x")
            guard let first = numbers.first.flatMap({ Int($0) }), first > 0, numbers.count <= 2 else {
                throw ETLError(.fixture, "fault '\(token)' needs a positive request number after '@'", nonRetryable: true)
            }
            let count = numbers.count == 2 ? Int(numbers[1]) ?? 1 : 1
            for number in first..<first + max(1, count) { result[number] = kind }
        }
        return result
    }

    /// The fault for request `number`, if any.
    public func fault(forRequest number: Int) -> Kind? {
        if let kind = scripted[number] { return kind }
        guard rate > 0, !randomKinds.isEmpty else { return nil }
        var state = seed &+ UInt64(number) &* 0x9E37_79B9_7F4A_7C15
        state = (state ^ (state >> 30)) &* 0xBF58_476D_1CE4_E5B9
        state = (state ^ (state >> 27)) &* 0x94D0_49BB_1331_11EB
        state ^= state >> 31
        let draw = Double(state >> 11) / Double(1 << 53)
        guard draw < rate else { return nil }
        return randomKinds[Int(state % UInt64(randomKinds.count))]
    }
}

extension Substring {
    var trimmingCharactersSpaces: String { String(self).trimmingSpaces }
}
