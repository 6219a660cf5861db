extension LaunchpadClient {
    /// The people whose membership of one of `teams` has ended but may have been active
    /// during `window`, in first-seen order, without `excluding` (the current members).
    ///
    /// Launchpad lists them in `~team/expired_members` and `~team/deactivated_members` (person
    /// entries), and their membership at `~team/+member/NAME` (`date_joined`, `date_expires`,
    /// `status`). Kept: a membership that began before the window ends and, when it expired, did
    /// so after the window began. A deactivation has no date on Launchpad (its membership keeps
    /// the expiry it had, if any), so a deactivated member who joined before the window ends is
    /// kept unless an expiry before the window says otherwise: their run is empty if they left
    /// long before, which costs requests, not data.
    ///
    /// A sub-team that left is kept by the same rule, and its people (its members now, sub-teams
    /// expanded: Launchpad keeps no roster of the past) join the former members: they were
    /// members through it. So do its own former members whose membership of it may have
    /// overlapped the part of the window it was a member for, one level down and so on (each
    /// team once).
    ///
    /// `hidden`: what the members listings of sub-teams that left did not show (see
    /// `teamPeople`).
    ///
    /// - Throws: what a listing or a membership throws; a membership that is gone (404) is
    ///   skipped. Memberships are read as many at a time as the client allows.
    public func formerMembers(of teams: [String], during window: ExtractionWindow, excluding current: Set<String>) async throws(ETLError)
        -> (people: [String], hidden: [String])
    {
        var selected = current
        var seenTeams = Set(teams)
        return try await formerMembers(of: teams, from: window.start, to: window.end, selected: &selected, seenTeams: &seenTeams)
    }

    /// One level of `formerMembers(of:during:excluding:)`: the former members of `teams` whose
    /// membership may have overlapped `start..<end`; then, for each sub-team that left, its
    /// people now and (one level down, over the part of the span it was a member for) its own
    /// former members. `selected` and `seenTeams` carry what is already found across levels,
    /// so each person and each team is taken once and a membership cycle ends.
    private func formerMembers(
        of teams: [String], from start: UTCTimestamp, to end: UTCTimestamp, selected: inout Set<String>, seenTeams: inout Set<String>
    ) async throws(ETLError) -> (people: [String], hidden: [String]) {
        // The candidates first (listings in order), then their memberships, all asked for at
        // once: the client keeps `maxConcurrentRequests` in flight (more over HTTP/2).
        // Each membership is a candidate of its own: a person (or sub-team) whose membership of
        // one team ended before the window may have been in another during it.
        var candidates: [(team: String, name: String, isTeam: Bool)] = []
        var listed: Set<String> = []
        var hidden: [String] = []
        for team in teams {
            for listing in ["expired_members", "deactivated_members"] {
                let url = apiBase + "~" + LaunchpadURL.queryEncode(team) + "/" + listing
                let (entries, total) = try await orderedCollectionAndTotal(url, key: Self.memberKey)
                if let total, total > entries.count {
                    hidden.append(
                        "~\(team)/\(listing) lists \(entries.count) of the \(total) it counts to this worker (the others, private teams or accounts it may not see, are not extracted)"
                    )
                }
                for (index, entry) in entries.enumerated() {
                    let name = try memberName(entry, index: index, team: team, listing: listing)
                    let isTeam = entry["is_team"]?.boolValue == true
                    guard !(isTeam ? seenTeams.contains(name) : selected.contains(name)), listed.insert("\(team)/\(name)").inserted else {
                        continue
                    }
                    candidates.append((team, name, isTeam))
                }
            }
        }
        let spans = await withTaskGroup(of: (Int, Result<MembershipSpan?, ETLError>).self) { group in
            for (index, (team, name, _)) in candidates.enumerated() {
                group.addTask {
                    let url = self.apiBase + "~" + LaunchpadURL.queryEncode(team) + "/+member/" + LaunchpadURL.queryEncode(name)
                    do throws(ETLError) {
                        return (index, .success(MembershipSpan(try await self.get(url), overlapping: start, end)))
                    } catch  where error.code == .notFound {
                        return (index, .success(nil))  // no such membership any more
                    } catch {
                        return (index, .failure(error))
                    }
                }
            }
            var spans = [Result<MembershipSpan?, ETLError>](repeating: .success(nil), count: candidates.count)
            for await (index, result) in group { spans[index] = result }
            return spans
        }
        var found: [String] = []
        var leftTeams: [(name: String, span: MembershipSpan)] = []
        for (candidate, result) in zip(candidates, spans) {
            guard let span = try result.get() else { continue }
            if candidate.isTeam {
                if let known = leftTeams.firstIndex(where: { $0.name == candidate.name }) {
                    leftTeams[known].span = leftTeams[known].span.hull(span)
                } else {
                    leftTeams.append((candidate.name, span))
                }
            } else if selected.insert(candidate.name).inserted {
                found.append(candidate.name)
            }
        }
        for (team, span) in leftTeams where seenTeams.insert(team).inserted {
            let roster: (people: [String], subTeams: [String], hidden: [String])
            do throws(ETLError) {
                roster = try await teamPeople(team: team)
            } catch  where error.code == .unknownTeam || error.code == .notFound || error.code == .gone {
                // Renamed, deleted or merged since it left: its people cannot be named.
                hidden.append("~\(team), a sub-team that left, cannot be read (\(error.code)): its people are not extracted")
                continue
            }
            for person in roster.people where selected.insert(person).inserted { found.append(person) }
            hidden += roster.hidden
            // Those who left it (or its sub-teams) while it was a member were members too.
            let deeper = [team] + roster.subTeams.filter { seenTeams.insert($0).inserted }
            let former = try await formerMembers(of: deeper, from: span.start, to: span.end, selected: &selected, seenTeams: &seenTeams)
            found += former.people
            hidden += former.hidden
        }
        return (found, hidden)
    }

    /// The part of a span of time a team_membership that ended may have covered: from its
    /// `date_joined` (or the span's start) to its `date_expires` (or the span's end: a
    /// deactivation has no date); `nil` when the two do not meet.
    struct MembershipSpan: Equatable {
        var start: UTCTimestamp
        var end: UTCTimestamp

        init?(_ membership: JSONValue, overlapping start: UTCTimestamp, _ end: UTCTimestamp) {
            let joined = EventBuilders.time(membership["date_joined"])
            // An expiry is the last moment of the membership, so it counts when it is the start.
            let expires = EventBuilders.time(membership["date_expires"]).map {
                UTCTimestamp(microsecondsSinceEpoch: $0.microsecondsSinceEpoch + 1)
            }
            self.start = max(start, joined ?? start)
            self.end = min(end, expires ?? end)
            guard self.start < self.end else { return nil }
        }

        /// The smallest span holding both.
        func hull(_ other: MembershipSpan) -> MembershipSpan {
            var result = self
            (result.start, result.end) = (min(start, other.start), max(end, other.end))
            return result
        }
    }
}
