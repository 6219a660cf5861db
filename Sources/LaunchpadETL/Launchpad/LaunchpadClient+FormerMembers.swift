extension LaunchpadClient {
    /// The people whose membership of one of `teams` has ended but may have been active
    /// during `window`, in first-seen order, without `excluding` (the current members), each
    /// with the days of the window they may have been a member on (`periods`).
    ///
    /// Launchpad lists them in `~team/expired_members` and `~team/deactivated_members` (person
    /// entries), those who have applied or been invited again since in `proposed_members` and
    /// `invited_members` (`formerMemberListings`), and their membership at `~team/+member/NAME`
    /// (`date_joined`, `date_expires`, `status`). Kept: a membership that began before the window ends and, when it expired, did
    /// so after the window began; its period runs from the later of the window's start and the
    /// day it began to the earlier of the window's end and the day it expired. A deactivation
    /// has no date Launchpad publishes (`date_last_changed` is not exported; the membership
    /// keeps the expiry it had, if any), so a deactivated member who joined before the window
    /// ends is kept to the window's end unless an expiry says otherwise: their activity after
    /// they left may be counted, which the README says.
    ///
    /// A sub-team that left is kept by the same rule, and its people (its members now, sub-teams
    /// expanded: Launchpad keeps no roster of the past) join the former members for the part of
    /// the window it was a member for. So do its own former members whose membership of it may
    /// have overlapped that part, one level down and so on (each team read once per span).
    ///
    /// `hidden`: what the listings did not show or could not be read (see `teamPeople`).
    ///
    /// - Throws: what a listing or a membership throws; a membership that is gone (404) is
    ///   skipped. Memberships are read as many at a time as the client allows.
    public func formerMembers(of teams: [String], during window: ExtractionWindow, excluding current: Set<String>) async throws(ETLError)
        -> (people: [String], periods: [String: ExtractionWindow], hidden: [String])
    {
        let whole = MembershipSpan(start: window.start, end: window.end)
        var search = FormerMemberSearch(current: current)
        for team in teams { search.explored[team] = [whole] }
        try await formerMembers(of: teams, over: whole, &search)
        var said: Set<String> = []
        let periods = search.periods.mapValues { span in
            // Whole days: the first day of the span to the day holding its last moment.
            ExtractionWindow(firstDay: span.start.date, lastDay: span.lastMoment.date)
        }
        return (search.people, periods, search.hidden.filter { said.insert($0).inserted })
    }

    /// What `formerMembers` has found so far, across the levels of sub-teams.
    struct FormerMemberSearch {
        /// The members as of the run: never former members.
        let current: Set<String>
        /// The former members in first-seen order, and the span each may have been a member
        /// for (the hull of every membership found: one that left two teams at different times
        /// is read over both and what lies between).
        var people: [String] = []
        var periods: [String: MembershipSpan] = [:]
        /// The spans each team's former members were read over: a team is read again only for
        /// a span outside them (a sub-team reached first through a team that left early, then
        /// on its own for longer), and a membership cycle ends.
        var explored: [String: [MembershipSpan]] = [:]
        var hidden: [String] = []

        mutating func found(_ person: String, for span: MembershipSpan) {
            guard !current.contains(person) else { return }
            if let known = periods[person] {
                periods[person] = MembershipSpan(start: min(known.start, span.start), end: max(known.end, span.end))
            } else {
                people.append(person)
                periods[person] = span
            }
        }

        func isExplored(_ team: String, _ span: MembershipSpan) -> Bool {
            explored[team, default: []].contains { $0.contains(span) }
        }
    }

    /// One level of `formerMembers(of:during:excluding:)`: the former members of `teams` whose
    /// membership may have overlapped `span`; then, for each sub-team that left, its people now
    /// (for the part of the span it was a member for) and, one level down over that part, its
    /// own former members and those of its sub-teams.
    private func formerMembers(of teams: [String], over span: MembershipSpan, _ search: inout FormerMemberSearch) async throws(ETLError) {
        // The candidates first (listings in order), then their memberships, all asked for at
        // once: the client keeps `maxConcurrentRequests` in flight (more over HTTP/2).
        // Each membership is a candidate of its own: a person (or sub-team) whose membership of
        // one team ended before the window may have been in another during it, and a person in
        // two teams' listings may have been a member of each for a different part of it.
        var candidates: [(team: String, name: String, isTeam: Bool, pending: Bool)] = []
        var listed: Set<String> = []
        for team in teams {
            for listing in Self.formerMemberListings {
                let url = apiBase + "~" + LaunchpadURL.queryEncode(team) + "/" + listing
                let entries: [JSONValue]
                let total: Int?
                do throws(ETLError) {
                    (entries, total) = try await orderedCollectionAndTotal(url, key: Self.memberKey)
                } catch  where error.code == .notFound || error.code == .gone || Self.deniedToThisReader(error) {
                    // Renamed or deleted since its roster was read, or a private team this
                    // reader may see by name only: its other listings answer the same.
                    search.hidden.append(
                        "~\(team)'s former members (\(Self.formerMemberListings.joined(separator: ", "))) cannot be read (\(Self.unreadable(error))): they are not extracted"
                    )
                    break
                }
                if let total, total > entries.count {
                    // An application or invitation is mostly of someone never a member.
                    let others =
                        Self.pendingListings.contains(listing)
                        ? "the others, private teams or accounts it may not see, may include former members, who are not extracted"
                        : "the others, private teams or accounts it may not see, are not extracted"
                    search.hidden.append("~\(team)/\(listing) lists \(entries.count) of the \(total) it counts to this worker (\(others))")
                }
                for (index, entry) in entries.enumerated() {
                    let name = try memberName(entry, index: index, team: team, listing: listing)
                    let isTeam = entry["is_team"]?.boolValue == true
                    guard isTeam || !search.current.contains(name), listed.insert("\(team)/\(name)").inserted else { continue }
                    candidates.append((team, name, isTeam, Self.pendingListings.contains(listing)))
                }
            }
        }
        let (spans, firstFailure) = await withTaskGroup(of: (Int, Result<MembershipSpan?, ETLError>).self) { group in
            for (index, (team, name, _, pending)) in candidates.enumerated() {
                group.addTask {
                    // Cancelled by an earlier failure (or with the activity): no request, no permit
                    // waited for. A read already waiting for its permit is not sent either (`get`).
                    if Task.isCancelled {
                        return (index, .failure(ETLError(.transport, "not read: cancelled", nonRetryable: false)))
                    }
                    let url = self.apiBase + "~" + LaunchpadURL.queryEncode(team) + "/+member/" + LaunchpadURL.queryEncode(name)
                    do throws(ETLError) {
                        let membership = try await self.get(url)
                        // An application or invitation of someone never a member: no membership yet.
                        if pending, EventBuilders.time(membership["date_joined"]) == nil { return (index, .success(nil)) }
                        return (index, .success(MembershipSpan(membership, overlapping: span)))
                    } catch  where error.code == .notFound {
                        return (index, .success(nil))  // no such membership any more
                    } catch {
                        return (index, .failure(error))
                    }
                }
            }
            var spans = [Result<MembershipSpan?, ETLError>](repeating: .success(nil), count: candidates.count)
            var firstFailure: ETLError?
            for await (index, result) in group {
                spans[index] = result
                // The first failure ends the search (the listing fails with it): the other reads
                // are cancelled rather than each run through its retries (a 401 from a team of
                // thousands made thousands of reads first). It is the one reported, not a
                // cancellation it caused.
                if case .failure(let error) = result, firstFailure == nil {
                    firstFailure = error
                    group.cancelAll()
                }
            }
            return (spans, firstFailure)
        }
        if let firstFailure { throw firstFailure }
        // A team that left two teams of the list is one entry per membership.
        var leftTeams: [(name: String, span: MembershipSpan)] = []
        for (candidate, result) in zip(candidates, spans) {
            guard let span = try result.get() else { continue }
            if candidate.isTeam {
                leftTeams.append((candidate.name, span))
            } else {
                search.found(candidate.name, for: span)
            }
        }
        for (team, span) in leftTeams where !search.isExplored(team, span) {
            search.explored[team, default: []].append(span)
            let roster: (people: [String], subTeams: [String], hidden: [String])
            do throws(ETLError) {
                roster = try await teamPeople(team: team)
            } catch
                where error.code == .unknownTeam || error.code == .notFound || error.code == .gone
                || Self.deniedToThisReader(error)
            {
                // Renamed, deleted or merged since it left, or private and seen by name only:
                // its people cannot be named.
                search.hidden.append(
                    "~\(team), a sub-team that left, cannot be read (\(Self.unreadable(error))): its people are not extracted"
                )
                continue
            }
            // Its members now stand for its members then (Launchpad keeps no roster of the
            // past): one who joined it after it left is counted for its span too.
            for person in roster.people { search.found(person, for: span) }
            search.hidden += roster.hidden
            // Those who left it (or its sub-teams) while it was a member were members too. Its
            // sub-teams are those of today, as its people are.
            var deeper: [String] = []
            for sub in [team] + roster.subTeams where sub == team || !search.isExplored(sub, span) {
                if sub != team { search.explored[sub, default: []].append(span) }
                deeper.append(sub)
            }
            try await formerMembers(of: deeper, over: span, &search)
        }
    }

    /// Where Launchpad lists the people and teams whose membership is not active now: ended
    /// (expired, deactivated), or moved on to a new application or invitation (proposed,
    /// invited: one membership row per person and team goes from status to status, keeping
    /// `date_joined` and overwriting the old expiry, so such a former member's span runs to the
    /// window's end as a deactivated one's; declined ones are listed nowhere).
    static let formerMemberListings = ["expired_members", "deactivated_members", "proposed_members", "invited_members"]
    /// The listings that also hold people or teams never active (kept only with a `date_joined`).
    static let pendingListings: Set<String> = ["proposed_members", "invited_members"]

    /// The part of a span of time a team_membership that ended may have covered: from its
    /// `date_joined` (or the span's start) to its `date_expires` (or the span's end: a
    /// deactivation has no date); `nil` when the two do not meet.
    struct MembershipSpan: Equatable {
        var start: UTCTimestamp
        var end: UTCTimestamp

        init(start: UTCTimestamp, end: UTCTimestamp) {
            (self.start, self.end) = (start, end)
        }

        init?(_ membership: JSONValue, overlapping span: MembershipSpan) {
            let joined = EventBuilders.time(membership["date_joined"])
            // An expiry is the last moment of the membership, so it counts when it is the start.
            let expires = EventBuilders.time(membership["date_expires"]).map {
                UTCTimestamp(microsecondsSinceEpoch: $0.microsecondsSinceEpoch + 1)
            }
            self.start = max(span.start, joined ?? span.start)
            self.end = min(span.end, expires ?? span.end)
            guard self.start < self.end else { return nil }
        }

        /// The last moment inside the span (its end is excluded).
        var lastMoment: UTCTimestamp { UTCTimestamp(microsecondsSinceEpoch: end.microsecondsSinceEpoch - 1) }

        /// Whether `other` lies within this span.
        func contains(_ other: MembershipSpan) -> Bool { start <= other.start && other.end <= end }
    }
}
