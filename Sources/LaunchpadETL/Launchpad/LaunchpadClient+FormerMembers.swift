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
    ///   skipped. Memberships are read `maxConcurrentRequests` at a time.
    public func formerMembers(of teams: [String], during window: ExtractionWindow, excluding current: Set<String>) async throws(ETLError)
        -> [String]
    {
        // The candidates first (listings in order), then their memberships, several at once.
        var candidates: [(team: String, name: String)] = []
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
                    if entry["is_team"]?.boolValue == true || !seen.insert(name).inserted { continue }
                    candidates.append((team, name))
                }
            }
        }
        var kept = [Bool](repeating: false, count: candidates.count)
        let width = max(1, configuration.maxConcurrentRequests)
        for start in stride(from: 0, to: candidates.count, by: width) {
            let batch = start..<min(start + width, candidates.count)
            let results = await withTaskGroup(of: (Int, Result<Bool, ETLError>).self) { group in
                for index in batch {
                    let (team, name) = candidates[index]
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
                var results: [(Int, Result<Bool, ETLError>)] = []
                for await result in group { results.append(result) }
                return results
            }
            for (index, result) in results { kept[index] = try result.get() }
        }
        return candidates.indices.filter { kept[$0] }.map { candidates[$0].name }
    }

    /// Whether a team_membership entry that ended may have been active during `window`.
    static func mayHaveOverlapped(_ membership: JSONValue, _ window: ExtractionWindow) -> Bool {
        if let joined = EventBuilders.time(membership["date_joined"]), joined >= window.end { return false }
        if let expires = EventBuilders.time(membership["date_expires"]), expires < window.start { return false }
        return true
    }
}
