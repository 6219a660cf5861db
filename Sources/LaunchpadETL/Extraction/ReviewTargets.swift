/// Where to look for merge proposals a member reviewed or commented on but does not own.
///
/// Launchpad has no API call that lists Git proposals by reviewer or voter:
/// `~person?ws.op=getRequestedReviews` covers Bazaar branches only, and
/// `~person?ws.op=getMergeProposals` only proposals from the person's own repositories. A
/// project's (or a distribution source package's) `getMergeProposals` does cover every Git
/// proposal into its repositories, so the extractor collects **review targets** — the projects
/// and packages the member's own proposals go to, those of the bugs they were active on in the
/// window and the projects they own, the teams the member participates in (a team's
/// `getMergeProposals` lists the proposals from its repositories, which the member may have
/// registered), the targets of their other listed bugs, then, as far as the limit allows, the
/// projects those teams own (`Rank`) — and lists each target's proposals. Comments and votes
/// by the member on those proposals then become events like any other. What this cannot see:
/// reviews on projects the member neither proposes to, files bugs against, nor owns (directly
/// or through a team), and proposals into personal repositories of others.
public enum ReviewTargets {
    /// Targets examined per extraction (default 25), by `Rank`, in name order within a rank.
    /// Others are reported as skipped, except the teams' projects. The teams do not count
    /// against it: see `teamLimit`.
    public static let defaultLimit = 25

    /// Teams examined per extraction besides `defaultLimit`'s targets (none when that limit is
    /// 0). Launchpad's `super_teams` holds indirect memberships too, so a staff member is in
    /// dozens of teams, most owning no repository (one empty page each, and ranking asks each
    /// for its projects already): counted against the limit, they filled it, and every run of
    /// such a member was partial, the teams past it named as not searched.
    public static let teamLimit = 200

    /// The order in which targets are searched; the raw value is what a staged target holds.
    public enum Rank: Int, Sendable {
        /// The targets of the member's own proposals.
        case ownProposals = 0
        /// The targets of bugs the member has activity on in the window, and the projects the
        /// member owns. (Before the phase ranks them: every bug target.)
        case active = 1
        /// The teams the member participates in.
        case teams = 2
        /// The targets of the member's other listed bugs: ones they reported or touched at any
        /// time, listed because someone changed them since the window began, with none of the
        /// member's events in the window.
        case otherBugs = 3
        /// The projects the member's teams own: searched as far as the limit allows, and not
        /// named as skipped when left (a big team owns hundreds, so every window of its members
        /// would read as partial).
        case teamProjects = 4
    }

    /// The key of a `bugTarget` staged item: the target, a space, the bug's item key.
    static func bugTargetKey(_ target: String, bugKey: String) -> String { target + " " + bugKey }

    /// The target part of a `bugTarget` key (`bugTargetKey`).
    static func target(ofBugTargetKey key: String) -> String {
        key.lastIndex(of: " ").map { String(key[..<$0]) } ?? key
    }

    /// Proposals closed (merged, rejected, superseded) this long before the window opens are
    /// not read: comments on long-closed proposals are rare, and a big project has thousands.
    public static let closedLongBefore = 90

    /// The target whose `getMergeProposals` lists proposals into `repositoryLink` (a Git
    /// repository URL): `~o/<project>/+git/r` → `<project>`, `~o/<distro>/+source/<pkg>/+git/r`
    /// → `<distro>/+source/<pkg>`, a personal `~o/+git/r` → that repository itself.
    static func target(ofRepository repositoryLink: String, apiBase: String) -> String? {
        guard repositoryLink.hasPrefix(apiBase) else { return nil }
        let segments = repositoryLink.dropFirst(apiBase.count).split(separator: "/").map(String.init)
        guard segments.count >= 3, segments[0].hasPrefix("~"), segments[segments.count - 2] == "+git" else { return nil }
        switch segments.count {
        case 3: return segments.joined(separator: "/")  // ~o/+git/r
        case 4: return segments[1]  // ~o/project/+git/r
        case 6 where segments[2] == "+source": return segments[1...3].joined(separator: "/")  // ~o/distro/+source/pkg/+git/r
        default: return nil  // OCI projects and the like
        }
    }

    /// The target whose `getMergeProposals` lists proposals into `branchLink` (a Bazaar branch
    /// URL): `~o/<project>/<branch>` → `<project>`, a package branch
    /// `~o/<distro>/<series>/<pkg>/<branch>` → `<distro>/+source/<pkg>`; a personal `+junk`
    /// branch has none.
    static func target(ofBranch branchLink: String, apiBase: String) -> String? {
        guard branchLink.hasPrefix(apiBase) else { return nil }
        let segments = branchLink.dropFirst(apiBase.count).split(separator: "/").map(String.init)
        guard segments.first?.hasPrefix("~") == true, !segments.contains(where: { $0.hasPrefix("+") }) else { return nil }
        switch segments.count {
        case 3: return segments[1]  // ~o/project/branch
        case 5: return segments[1] + "/+source/" + segments[3]  // ~o/distro/series/pkg/branch
        default: return nil
        }
    }

    /// The target of a bug task's `target_link`, when it can list merge proposals: a project
    /// (`<project>`) or a distribution source package (`<distro>/+source/<pkg>`). Series and
    /// whole distributions cannot.
    static func target(ofBugTarget targetLink: String, apiBase: String) -> String? {
        guard targetLink.hasPrefix(apiBase) else { return nil }
        let segments = targetLink.dropFirst(apiBase.count).split(separator: "/").map(String.init)
        if segments.count == 1, !segments[0].hasPrefix("~"), !segments[0].hasPrefix("+") { return segments[0] }
        if segments.count == 3, segments[1] == "+source" { return segments.joined(separator: "/") }
        return nil
    }

    /// Whether `target` may have no `getMergeProposals` at all, so that Launchpad answers 400:
    /// a whole distribution (one segment, like a project: a bug task's target link does not
    /// tell them apart), which holds no proposals; a personal repository (`~owner/+git/name`)
    /// on API versions before devel, which is noted as skipped.
    static func mayNotListProposals(_ target: String) -> Bool {
        (!target.contains("/") && !target.hasPrefix("~")) || isPersonalRepository(target)
    }

    /// Whether `error`, from listing `target`'s merge proposals, says only that the target has no
    /// such operation (Launchpad's 400 "No such operation: …"), on a target that may lack it.
    /// Any other 400 (an invalid parameter: a client bug) fails the extraction.
    static func lacksTheOperation(_ error: ETLError, target: String) -> Bool {
        error.code == .badRequest && error.message.contains("No such operation") && mayNotListProposals(target)
    }

    /// A personal Git repository (`~owner/+git/name`); a team (`~team`) is not one.
    static func isPersonalRepository(_ target: String) -> Bool { target.hasPrefix("~") && target.contains("/+git/") }

    /// Whether a listed proposal can hold the member's activity in `window`: created before
    /// the window ends, and not known to have closed long before it opens.
    ///
    /// When it closed: a merged one at `date_merged`, a rejected one at `date_reviewed`; a
    /// superseded one when its successor (`superseded_by_link`) was created, which
    /// `createdAt` looks up among the same listing's proposals (Launchpad records no date for
    /// superseding, and `date_reviewed` is an earlier review, if any). A close it cannot date
    /// is read: skipping it could drop activity up to the day it closed.
    static func worthReading(
        _ proposal: JSONValue, window: ExtractionWindow, createdAt: (String) -> UTCTimestamp? = { _ in nil }
    ) -> Bool {
        if let created = EventBuilders.time(proposal["date_created"]), created >= window.end { return false }
        let closed: UTCTimestamp?
        switch proposal["queue_status"]?.stringValue {
        case "Merged": closed = EventBuilders.time(proposal["date_merged"]) ?? EventBuilders.time(proposal["date_reviewed"])
        case "Rejected": closed = EventBuilders.time(proposal["date_reviewed"])
        case "Superseded": closed = proposal["superseded_by_link"]?.stringValue.flatMap(createdAt)
        default: return true  // open
        }
        guard let closed else { return true }
        return closed >= UTCTimestamp(startOf: window.firstDay.adding(days: -closedLongBefore))
    }
}
