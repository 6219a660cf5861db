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
    /// members through it. Before, a sub-team that left was dropped without a word.
    ///
    /// `hidden`: what the members listings of sub-teams that left did not show (see
    /// `teamPeople`).
    ///
    /// - Throws: what a listing or a membership throws; a membership that is gone (404) is
    ///   skipped. Memberships are read as many at a time as the client allows.
    public func formerMembers(of teams: [String], during window: ExtractionWindow, excluding current: Set<String>) async throws(ETLError)
        -> (people: [String], hidden: [String])
    {
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
                    guard !(isTeam ? teams.contains(name) : current.contains(name)), listed.insert("\(team)/\(name)").inserted else {
                        continue
                    }
                    candidates.append((team, name, isTeam))
                }
            }
        }
        let kept = await withTaskGroup(of: (Int, Result<Bool, ETLError>).self) { group in
            for (index, (team, name, _)) in candidates.enumerated() {
                group.addTask {
                    let url = self.apiBase + "~" + LaunchpadURL.queryEncode(team) + "/+member/" + LaunchpadURL.queryEncode(name)
                    do throws(ETLError) {
                        return (index, .success(Self.mayHaveOverlapped(try await self.get(url), window)))
                    } catch  where error.code == .notFound {
                        return (index, .success(false))  // no such membership any more
                    } catch {
                        return (index, .failure(error))
                    }
                }
            }
            var kept = [Result<Bool, ETLError>](repeating: .success(false), count: candidates.count)
            for await (index, result) in group { kept[index] = result }
            return kept
        }
        var found: [String] = []
        var selected = current
        var leftTeams: [String] = []
        for (candidate, result) in zip(candidates, kept) where try result.get() {
            if candidate.isTeam {
                if !leftTeams.contains(candidate.name) { leftTeams.append(candidate.name) }
            } else if selected.insert(candidate.name).inserted {
                found.append(candidate.name)
            }
        }
        for team in leftTeams {
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
        }
        return (found, hidden)
    }

    /// Whether a team_membership entry that ended may have been active during `window`.
    static func mayHaveOverlapped(_ membership: JSONValue, _ window: ExtractionWindow) -> Bool {
        if let joined = EventBuilders.time(membership["date_joined"]), joined >= window.end { return false }
        if let expires = EventBuilders.time(membership["date_expires"]), expires < window.start { return false }
        return true
    }
}
