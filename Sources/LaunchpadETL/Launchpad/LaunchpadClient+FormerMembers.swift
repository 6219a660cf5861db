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
    /// - Throws: what a listing or a membership throws; a membership that is gone (404) is
    ///   skipped (the person rejoined and left meanwhile, or the team was renamed).
    public func formerMembers(of teams: [String], during window: ExtractionWindow, excluding current: Set<String>) async throws(ETLError)
        -> [String]
    {
        var found: [String] = []
        var seen = current
        for team in teams {
            let teamURL = apiBase + "~" + LaunchpadURL.queryEncode(team)
            for listing in ["expired_members", "deactivated_members"] {
                let url = teamURL + "/" + listing
                for (index, entry) in try await orderedCollection(url, key: Self.memberKey).enumerated() {
                    guard let name = entry["name"]?.stringValue else {
                        throw ETLError(
                            .malformedResponse, "entry \(index) of \(url) has no name: \(entry.serialized().prefix(120))",
                            nonRetryable: false)
                    }
                    if entry["is_team"]?.boolValue == true || seen.contains(name) { continue }
                    let membership: JSONValue
                    do throws(ETLError) {
                        membership = try await get(teamURL + "/+member/" + LaunchpadURL.queryEncode(name))
                    } catch  where error.code == .notFound {
                        continue
                    }
                    if Self.mayHaveOverlapped(membership, window) {
                        seen.insert(name)
                        found.append(name)
                    }
                }
            }
        }
        return found
    }

    /// Whether a team_membership entry that ended may have been active during `window`.
    static func mayHaveOverlapped(_ membership: JSONValue, _ window: ExtractionWindow) -> Bool {
        if let joined = EventBuilders.time(membership["date_joined"]), joined >= window.end { return false }
        if let expires = EventBuilders.time(membership["date_expires"]), expires < window.start { return false }
        return true
    }
}
