import Foundation
public import Logging
import Synchronization
import Tracing

/// A Launchpad REST client over libcurl: JSON GETs with retries, whole collections, bounded
/// concurrency, anonymous or OAuth PLAINTEXT.
public final class LaunchpadClient: Sendable {
    /// The configuration in use.
    public let configuration: LaunchpadClientConfiguration
    private let transport: CurlTransport
    private let permits: AsyncSemaphore
    /// Requests, retries, connections and HTTP/2 answers so far, and whether the permits are
    /// raised for HTTP/2 (`maxConcurrentRequestsOverHTTP2`).
    private let counters = Mutex<(requests: Int, retries: Int, connections: Int, http2: Int, raised: Bool, changes: Int)>(
        (0, 0, 0, 0, false, 0))
    let logger: Logger

    /// Creates a client.
    public init(configuration: LaunchpadClientConfiguration, logger: Logger = Logger(label: "LaunchpadETL.LaunchpadClient")) {
        self.configuration = configuration
        self.logger = logger
        permits = AsyncSemaphore(permits: max(1, configuration.maxConcurrentRequests))
        var transport = CurlTransport(
            userAgent: configuration.userAgent,
            connectTimeoutMilliseconds: Self.milliseconds(configuration.connectTimeout),
            requestTimeoutMilliseconds: Self.milliseconds(configuration.requestTimeout),
            reuseConnections: configuration.reuseConnections, caFile: configuration.caFile,
            maxHostConnections: configuration.maxConcurrentRequests
        )
        transport.maxBodyBytes = max(1, configuration.maxResponseBytes)
        self.transport = transport
    }

    /// `https://api.launchpad.net/devel/`-style base of every API URL.
    public var apiBase: String { configuration.apiBase }

    /// HTTP requests sent so far (retries included).
    public var requestCount: Int { counters.withLock { $0.requests } }
    /// Retries performed so far.
    public var retryCount: Int { counters.withLock { $0.retries } }
    /// New connections opened so far (for HTTPS, TLS handshakes); the rest reused one.
    public var connectionCount: Int { counters.withLock { $0.connections } }
    /// Requests allowed in flight now: `maxConcurrentRequests`, raised to
    /// `maxConcurrentRequestsOverHTTP2` once a response came over HTTP/2.
    public var concurrencyLimit: Int { get async { await permits.permits } }
    /// Responses received over HTTP/2 so far (streams multiplexed on a shared connection).
    public var http2ResponseCount: Int { counters.withLock { $0.http2 } }

    /// The person entry for `name`. A 404 becomes `.unknownMember` ("no Launchpad person
    /// named X") and a team's entry (`is_team`) `.invalidQuery`, both non-retryable.
    public func person(named name: String) async throws(ETLError) -> JSONValue {
        let url = apiBase + "~" + LaunchpadURL.queryEncode(name)
        let person: JSONValue
        do throws(ETLError) {
            person = try await get(url)
        } catch {
            if error.code == .gone {
                throw ETLError(
                    .memberGone,
                    "the Launchpad account '\(name)' on \(configuration.serviceRoot.url) is suspended (HTTP 410 Gone for \(url)); its activity cannot be read through the API: remove it from the query (a team skips such members and names them under skipped_members)",
                    nonRetryable: true)
            }
            guard error.code == .notFound else { throw error }
            throw ETLError(
                .unknownMember,
                "no Launchpad person named '\(name)' on \(configuration.serviceRoot.url) (HTTP 404 for \(url)); check the member's username (the part after ~ in launchpad.net/~name). An account deactivated since is renamed '\(name)\(EmployeeId.deactivatedSuffix)' (its events are still stored and reported as '\(name)'s); one merged into another, or renamed, goes by the new name",
                nonRetryable: true)
        }
        guard person["self_link"]?.stringValue != nil else {
            throw ETLError(.malformedResponse, "the person entry at \(url) has no self_link", nonRetryable: false)
        }
        // A team's entry is a person entry with `is_team`; a team acts through its members,
        // so extracting it as one person reads almost nothing and would look like a quiet member.
        if person["is_team"]?.boolValue == true {
            throw ETLError(
                .invalidQuery,
                "'\(name)' on \(configuration.serviceRoot.url) is a Launchpad team, not a person: extract its members with --team \(name) (TeamLaunchpadFlow), or name a person as the member",
                nonRetryable: true)
        }
        return person
    }

    /// The names of the direct members of Launchpad team `team` (`GET ~team/members`, every
    /// page, each member once even when members join or leave meanwhile: see
    /// `orderedCollection`), in the order Launchpad lists them.
    ///
    /// A 404 becomes `.unknownTeam` ("no Launchpad team named X"), non-retryable; so does a
    /// name that belongs to a person rather than a team (Launchpad lists no members for it).
    public func teamMembers(team: String) async throws(ETLError) -> [String] {
        var names: [String] = []
        for (index, entry) in try await teamMemberEntries(team: team).enumerated() {
            names.append(try memberName(entry, index: index, team: team))
        }
        return names
    }

    /// What tells members apart in a members listing (ordered by display name, then name: see
    /// `orderedCollection`).
    static func memberKey(_ entry: JSONValue) -> String? { entry["name"]?.stringValue }

    /// The `name` of member entry `index` of `team`'s `listing` (`members`, `expired_members`, …).
    func memberName(_ entry: JSONValue, index: Int, team: String, listing: String = "members") throws(ETLError) -> String {
        guard let name = entry["name"]?.stringValue else {
            throw ETLError(
                .malformedResponse, "member \(index) of \(apiBase)~\(team)/\(listing) has no name: \(entry.serialized().prefix(120))",
                nonRetryable: false)
        }
        return name
    }

    /// The entries of `~team/members` (every page); an unknown team, or a person, is `.unknownTeam`.
    func teamMemberEntries(team: String) async throws(ETLError) -> [JSONValue] {
        try await teamMemberEntriesAndTotal(team: team).entries
    }

    /// `teamMemberEntries`, and the listing's `total_size` (members hidden from this client
    /// included).
    func teamMemberEntriesAndTotal(team: String) async throws(ETLError) -> (entries: [JSONValue], total: Int?) {
        let teamURL = apiBase + "~" + LaunchpadURL.queryEncode(team)
        let url = teamURL + "/members"
        let entries: [JSONValue]
        let total: Int?
        do throws(ETLError) {
            (entries, total) = try await orderedCollectionAndTotal(url, key: Self.memberKey)
        } catch {
            if Self.deniedToThisReader(error) {
                throw ETLError(
                    .unauthorized,
                    "~\(team) is a private team whose members this worker's Launchpad account may not see (it may see the team by name only: Launchpad answered its members listing 401 naming launchpad.View, a permission, not the token): run with the token of an account that is a member of ~\(team) or of a team holding it",
                    nonRetryable: true, cause: error)
            }
            guard error.code == .notFound else { throw error }
            throw ETLError(
                .unknownTeam,
                "no Launchpad team named '\(team)' on \(configuration.serviceRoot.url) (HTTP 404 for \(url)); check the team's name (the part after ~ in launchpad.net/~team)",
                nonRetryable: true)
        }
        if entries.isEmpty, try await get(teamURL)["is_team"]?.boolValue != true {
            throw ETLError(
                .unknownTeam, "'\(team)' on \(configuration.serviceRoot.url) is a Launchpad person, not a team, so it has no members",
                nonRetryable: true)
        }
        return (entries, total)
    }

    /// The people in Launchpad team `team`, sub-teams expanded: `~team/members` lists direct
    /// members, and a member can be a team (`is_team`), whose members are listed in turn —
    /// transitively, each team once (membership cycles are allowed on Launchpad), each person
    /// once, in first-seen order. Teams are never returned as members themselves.
    ///
    /// `hidden` says, one sentence per team, when a members listing counts more members in its
    /// `total_size` than this client was shown (Launchpad drops the entries a client may not
    /// see after it counts them: private teams, whose people are then not extracted), and names
    /// a sub-team whose own listing answers 404 or 410 (renamed, merged or deleted since it was
    /// listed).
    ///
    /// - Throws: what `teamMembers(team:)` throws for the top team.
    public func teamPeople(team: String) async throws(ETLError) -> (people: [String], subTeams: [String], hidden: [String]) {
        var people: [String] = []
        var seenPeople: Set<String> = []
        var subTeams: [String] = []
        var seenTeams: Set<String> = [team]
        var queue = [team]
        var hidden: [String] = []
        while !queue.isEmpty {
            let current = queue.removeFirst()
            let entries: [JSONValue]
            let total: Int?
            if current == team {
                (entries, total) = try await teamMemberEntriesAndTotal(team: team)
            } else {
                do throws(ETLError) {
                    (entries, total) = try await orderedCollectionAndTotal(
                        apiBase + "~" + LaunchpadURL.queryEncode(current) + "/members", key: Self.memberKey)
                } catch  where error.code == .notFound || error.code == .gone || Self.deniedToThisReader(error) {
                    // Listed as a member a moment ago, gone now (renamed, merged or deleted
                    // since), or a private team this reader may see by name only: its people
                    // cannot be named, which is said rather than failing the whole team.
                    hidden.append(
                        Self.deniedToThisReader(error)
                            ? "~\(current), a private sub-team this worker's Launchpad account may see by name only, cannot be read: its people are not extracted"
                            : "~\(current), a sub-team, cannot be read (\(error.code)): its people are not extracted")
                    subTeams.removeAll { $0 == current }  // nothing more is asked of it
                    continue
                }
            }
            if let total, total > entries.count {
                hidden.append(
                    "~\(current) lists \(entries.count) of its \(total) members to this worker (the others, private teams or accounts it may not see, are not extracted)"
                )
            }
            for (index, entry) in entries.enumerated() {
                let name = try memberName(entry, index: index, team: current)
                if entry["is_team"]?.boolValue == true {
                    if seenTeams.insert(name).inserted {
                        subTeams.append(name)
                        queue.append(name)
                    }
                } else if seenPeople.insert(name).inserted {
                    people.append(name)
                }
            }
        }
        return (people, subTeams, hidden)
    }

    /// Whether a 401/403 is Launchpad denying this reader the object read (made private, moved
    /// to a proprietary project since it was listed, a private team seen by name only:
    /// lazr.restful answers such a read 401 or 404 depending on the object), not refusing the
    /// credentials — whose messages name the token, consumer, signature or account.
    static func deniedToThisReader(_ error: ETLError) -> Bool {
        // Only lazr.restful's permission denial, which names the permission checked
        // (`(<Bug at 0x…>, 'title', 'launchpad.View')`): anything else (a nonce or clock
        // refusal, a proxy's 403 page, a cut-off message) fails loudly as before, since reading
        // it as absent would remove the item's stored events.
        guard error.code == .unauthorized else { return false }
        if let cause = error.cause as? ETLError, deniedToThisReader(cause) { return true }  // a team seen by name only
        return error.message.contains("'launchpad.View'") || error.message.contains("'launchpad.LimitedView'")
    }

    /// Why a team's listing could not be read, for a note: its error code, or that the reader
    /// may see the private team by name only.
    static func unreadable(_ error: ETLError) -> String {
        deniedToThisReader(error) ? "this worker's Launchpad account may see the private team by name only" : "\(error.code)"
    }

    /// GETs `url` and parses its JSON body, retrying transient failures (a GET is idempotent:
    /// 429 and 5xx answers, connection errors, timeouts, and truncated or unparsable bodies
    /// are retried with backoff and jitter, honouring `Retry-After`; see `HTTPRetryPolicy`).
    public func get(_ url: String) async throws(ETLError) -> JSONValue {
        try await getServed(url).json
    }

    /// `get`, with the URL that served the JSON: `url`, or where redirects within its origin led.
    /// `paged`: a page of a collection (`page`), which may be asked for again in smaller pages.
    func getServed(_ url: String, paged: Bool = false) async throws(ETLError) -> (json: JSONValue, url: String) {
        try await fetch(url, paged: paged) { result, served throws(ETLError) in
            do throws(JSONParseError) {
                return (try JSONParser.parse(result.body), served)
            } catch {
                let contentType = result.headers["content-type"] ?? "no content type"
                throw ETLError(
                    .malformedResponse,
                    "malformed JSON from \(url): \(error.reason) at byte offset \(error.offset) of \(result.body.count) bytes (\(contentType)); the response was truncated or not JSON, retry later",
                    nonRetryable: false)
            }
        }
    }

    /// One page of a collection. `url` is used verbatim (follow `nextLink`s as given), except
    /// when Launchpad times out on it (503 with a `Retry-After` beyond what the retry policy
    /// waits): the same page is asked for in halves of its `ws.size` (300 → 150 → 75 …, down to
    /// `HTTPRetryPolicy.minimumPageSize`). The server's next link keeps the smaller size, so the
    /// rest of the collection — and a resumed attempt, whose checkpoint holds that link — stays
    /// small. Each smaller size is told to `onSmallerPages` before it is asked for, so that a
    /// caller can keep it (an attempt may end while it waits for the next answer: each size
    /// costs two request timeouts when nothing answers).
    public func page(_ url: String, onSmallerPages: (Int) async throws(ETLError) -> Void = { _ in }) async throws(ETLError)
        -> CollectionPage
    {
        var link = url
        while true {
            do throws(ETLError) {
                return try await pageAsGiven(link)
            } catch  where error.code == .serverTimeout {
                let size = LaunchpadURL.value("ws.size", in: link).flatMap { Int($0) } ?? 75
                let smaller = max(configuration.retry.minimumPageSize, size / 2)
                guard smaller < size else { throw error }
                logger.warning(
                    "Launchpad timed out on a page (or it was over the size limit); asking for smaller pages",
                    metadata: ["url": "\(link)", "ws.size": "\(size) → \(smaller)"])
                counters.withLock { $0.retries += 1 }
                try await onSmallerPages(smaller)
                link = LaunchpadURL.setting("ws.size", to: String(smaller), in: link)
            }
        }
    }

    private func pageAsGiven(_ url: String) async throws(ETLError) -> CollectionPage {
        // Checked against the URL that served the page: Launchpad builds the next link from
        // it, and redirects (a renamed person's or project's old name, `~Name` for `~name`)
        // move the path. Checked against the URL asked for, a redirected collection failed
        // for good at its second page.
        let (json, served) = try await getServed(url, paged: true)
        guard let page = CollectionPage(json: json) else {
            throw ETLError(
                .malformedResponse,
                "expected a collection page (an object with \"entries\") from \(url), got \(json.serialized().prefix(120))",
                nonRetryable: false)
        }
        if let next = page.nextLink {
            try Self.requireContinuation(next, of: served)
            try Self.requireAdvance(next, from: served)
        }
        return page
    }

    /// Throws when `next` (a page's `next_collection_link`) does not lead further than `url`:
    /// the same link, or an offset (`ws.start`) not past this page's. A proxy or cache that
    /// ignores the query string answers every page with the first one; followed, its next link
    /// would be read again and again — a paging phase that never ends, saving the same
    /// checkpoint until its attempts run out.
    static func requireAdvance(_ next: String, from url: String) throws(ETLError) {
        func offset(_ link: String) -> Int? { LaunchpadURL.value("ws.start", in: link).flatMap { Int($0) } }
        let stays = next == url || offset(next).map { $0 <= (offset(url) ?? 0) } == true
        guard stays else { return }
        throw ETLError(
            .malformedResponse,
            "Launchpad returned a next_collection_link that does not advance: \(url) leads to \(next); a proxy or cache in front of Launchpad that ignores the query string causes this (it answers every page with the first one)",
            nonRetryable: false)
    }

    /// The first-page URL of a collection: `url` with `ws.size` set to the configured size.
    public func firstPageURL(_ url: String) -> String {
        LaunchpadURL.setting("ws.size", to: String(configuredPageSize), in: url)
    }

    /// `ws.size` of first pages: the configured size, within Launchpad's 1…300.
    var configuredPageSize: Int { min(300, max(1, configuration.pageSize)) }

    /// Page sizes of the passes that read a listing again (`distinctCollection`), largest first,
    /// none a multiple of another.
    static let rereadPageSizes = [300, 277, 251, 229, 211, 199]
    /// Launchpad's largest page (`max_batch_size`).
    static let largestPage = 300
    /// Empty pages in a row that may still link on in a listing that says no count (entries
    /// left out after the cut as private can empty a few); more is a server making up pages.
    static let emptyPagesInARow = 10

    /// Every distinct entry of a listing whose order is not stable across pages (merge
    /// proposals: Launchpad unions Bazaar and Git queries without ORDER BY and pages by
    /// offset, so entries can shift between pages — repeated on one, skipped on another).
    /// Entries are deduplicated by `key`. When the last page's `total_size` counts more than
    /// were read, or the count went down while it was read (an entry that left between two
    /// pages skips one while the last page's count still matches), or the first page's count was
    /// not served (so that could not be seen), the listing is read again,
    /// each pass in pages of another size (300, Launchpad's maximum, then 277, 251, 229: other
    /// offsets and limits, so a listing whose order depends on the page asked for is not read
    /// the same way twice), and the passes are merged, until one of them settles it:
    /// - a pass read in one page: one query, nothing can shift within it;
    /// - a pass after the first that finds nothing new: the listing has stopped changing.
    ///
    /// What is still short of `total_size` then is the listing's `shortfall`: entries hidden
    /// from this client after the count (a collection Launchpad does not filter in SQL), or
    /// entries no pass was served. Merge proposal listings are filtered in SQL
    /// (`visibleByUser`), so for them it is the latter, and the caller says so. Order: first seen.
    ///
    /// - Throws: `listingChanging` (retryable) when the last of `maxPasses` passes still
    ///   found new entries and the listing is short: entries may be missing. A malformed
    ///   response when an entry has no `key`.
    public func distinctListing(_ url: String, key: (JSONValue) -> String?, maxPasses: Int = 4) async throws(ETLError)
        -> DistinctListing
    {
        var byKey: [String: JSONValue] = [:]
        var order: [String] = []
        let passes = max(1, maxPasses)
        var sizes = Self.rereadPageSizes.filter { $0 != configuredPageSize }.makeIterator()
        var total: Int?
        var passesRead = 0
        var lastPages = 1
        for pass in 1...passes {
            let read = try await collectionTotals(url, pageSize: pass == 1 ? nil : sizes.next() ?? 300)
            (passesRead, lastPages) = (pass, read.pages)
            total = read.total
            var found = 0
            for entry in read.entries {
                let id = try Self.key(of: entry, url, key)
                if byKey.updateValue(entry, forKey: id) == nil {
                    order.append(id)
                    found += 1
                }
            }
            // Read again when short of the count, or when the count went down while it was read
            // (one that left shifts the rest back a row: one is skipped while the count matches).
            guard let total = read.total, byKey.count < total || read.totalShrank, read.pages > 1, pass == 1 || found > 0 else {
                break
            }
            guard pass < passes else {
                // Still changing, but holding as many as it counts (entries that left since
                // included): read as it is, as before.
                if byKey.count >= total { break }

                throw ETLError(
                    .listingChanging,
                    "the listing \(url) kept changing while it was read: after \(passes) passes it holds \(byKey.count) distinct entries of the \(total) its total_size counts, and the last pass still found \(found) new ones, so some may be missing; nothing of it is kept, and a later attempt reads it again",
                    nonRetryable: false)
            }
            logger.notice(
                "a listing shifted between pages; reading it again",
                metadata: [
                    "url": "\(url)", "pass": "\(pass)", "distinct": "\(byKey.count)", "total_size": "\(total)",
                ])
        }
        return DistinctListing(entries: order.compactMap { byKey[$0] }, totalSize: total, passes: passesRead, lastPassPages: lastPages)
    }

    /// The entries of `distinctListing`, whatever its shortfall.
    public func distinctCollection(_ url: String, key: (JSONValue) -> String?, maxPasses: Int = 4) async throws(ETLError) -> [JSONValue] {
        try await distinctListing(url, key: key, maxPasses: maxPasses).entries
    }

    /// Every entry of a collection, following `next_collection_link` until it is absent.
    public func collection(_ url: String) async throws(ETLError) -> [JSONValue] {
        try await collectionAndTotal(url).entries
    }

    /// Every entry of a collection, the `total_size` its last page reports (if any), and the
    /// number of pages read.
    func collectionAndTotal(_ url: String, pageSize: Int? = nil) async throws(ETLError) -> (entries: [JSONValue], total: Int?, pages: Int) {
        let read = try await collectionTotals(url, pageSize: pageSize, watchingTheCount: false)
        return (read.entries, read.total, read.pages)
    }

    /// `collectionAndTotal`, and whether the listing's count went down while it was read (or
    /// may have: its first count was not served): an
    /// entry that left between two pages shifts the rest back, skipping one, while the last
    /// page's count still matches what was read. The count when the read began is the first
    /// page's `total_size`, or its `total_size_link` (named operations on devel give the count
    /// inline on the last page only): one more request, for reads of more than one page
    /// `watchingTheCount`.
    func collectionTotals(_ url: String, pageSize: Int? = nil, watchingTheCount: Bool = true) async throws(ETLError) -> (
        entries: [JSONValue], total: Int?, pages: Int, totalShrank: Bool
    ) {
        var entries: [JSONValue] = []
        var next: String? = pageSize.map { LaunchpadURL.setting("ws.size", to: String($0), in: url) } ?? firstPageURL(url)
        var seen: Set<String> = []
        var total: Int?
        var highest: Int?
        var shrank = false
        var emptyInARow = 0
        while let link = next {
            guard seen.insert(link).inserted else {
                throw ETLError(.malformedResponse, "Launchpad returned a next_collection_link loop at \(link)", nonRetryable: false)
            }
            let page = try await page(link)
            entries.append(contentsOf: page.entries)
            next = page.nextLink
            total = page.totalSize
            // An empty page that still links on, past what the listing counts (a proxy or a
            // broken server making up pages): each link was new and further on, so the read
            // never ended.
            emptyInARow = page.entries.isEmpty ? emptyInARow + 1 : 0
            let start = page.nextLink.flatMap { LaunchpadURL.value("ws.start", in: $0) }.flatMap { Int($0) }
            // With no count to go by, a run of empty pages (all of them left out as private
            // after the cut would be a rare listing).
            let counted = highest ?? page.totalSize
            if page.entries.isEmpty, page.nextLink != nil,
                counted.map({ (start ?? 0) > $0 + 2 * Self.largestPage }) ?? (emptyInARow > Self.emptyPagesInARow)
            {
                let count = counted.map(String.init) ?? "unknown number of"
                let start = start.map(String.init) ?? "?"
                throw ETLError(
                    .malformedResponse,
                    "Launchpad kept linking empty pages past the \(count) entries the listing counts (next at ws.start=\(start), \(emptyInARow) empty in a row) at \(link); nothing of it is kept, and a later attempt reads it again",
                    nonRetryable: false)
            }
            var count = page.totalSize
            if watchingTheCount, count == nil, seen.count == 1, page.nextLink != nil, let totalLink = page.totalSizeLink {
                count = await countIfServed(totalLink)
                // Unknown, it may have gone down: read as if it did (the caller reads the listing
                // again in other pages), or an entry that left between two pages would skip
                // another while the last page's count matched what was read.
                if count == nil { shrank = true }
            }
            if let count {
                if let highest, count < highest { shrank = true }
                highest = max(highest ?? count, count)
            }
        }
        return (entries, total, seen.count, shrank)
    }

    /// The count a listing's `total_size_link` gives, asked for once: nil when it fails. It only
    /// watches for the listing shrinking while it is read, and Launchpad may time out on the
    /// COUNT it runs (503, minutes of Retry-After) while serving every page: retried, it failed
    /// the listing on every attempt.
    private func countIfServed(_ link: String) async -> Int? {
        do {
            return try await fetch(link, attempts: 1) { result, _ throws(ETLError) in
                do throws(JSONParseError) {
                    return try JSONParser.parse(result.body).intValue
                } catch {
                    throw ETLError(.malformedResponse, "the count is not a number: \(error.reason)", nonRetryable: false)
                }
            }
        } catch {
            logger.warning(
                "a listing's count could not be read; the listing is read without it, and read again if it takes more than one page (a shrinking listing would otherwise go unnoticed)",
                metadata: ["url": "\(link)", "reason": "\(error.message.prefix(200))"])
            return nil
        }
    }

    /// Throws unless `next` (a page's `next_collection_link`) continues the collection at `url`:
    /// the same origin and path. One to another collection or host would mix its entries in.
    /// Every page read checks its own next link (`page(_:)`), whoever follows it.
    static func requireContinuation(_ next: String, of url: String) throws(ETLError) {
        func key(_ link: String) -> String? {
            guard let origin = LaunchpadURL.origin(of: link), let path = LaunchpadURL.path(of: link) else { return nil }
            var decoded = LaunchpadURL.pathDecode(Substring(path))
            if decoded.count > 1, decoded.hasSuffix("/") { decoded.removeLast() }
            return origin + decoded
        }
        guard let expected = key(url), key(next) == expected else {
            throw ETLError(
                .malformedResponse,
                "the next_collection_link of \(url) leads to another collection or host: \(next); its entries are not this collection's, so the read stops here (a proxy in front of Launchpad that rewrites Host or X-Forwarded-Proto causes this)",
                nonRetryable: true)
        }
    }

    /// The path of `url` without its query (a span name that does not vary per page).
    static func spanPath(_ url: String) -> String {
        LaunchpadURL.path(of: url) ?? url.split(separator: "?", maxSplits: 1).first.map(String.init) ?? url
    }

    /// GET with retries: returns what `decode` makes of a 2xx response, or throws a
    /// classified `ETLError`. A URL the credentials may not go to is not requested
    /// (`linkNotTrusted`); redirects are followed here, within the origin (see
    /// `followRedirect`). Retried, up to `HTTPRetryPolicy.maxAttempts` in all: 429 and 5xx
    /// statuses (after `Retry-After` when given, up to `HTTPRetryPolicy.maxRetryAfter`), retryable
    /// transport failures (connect, timeout, reset, partial transfer) and bodies `decode`
    /// rejects with a retryable error (truncated or unparsable JSON). `attempts` lowers the
    /// number of attempts for a read the caller can do without; `paged` says the URL is a page
    /// of a collection that `page` asks for in smaller pages when it is too heavy or too large.
    func fetch<T>(
        _ url: String, redirects: Int = 0, attempts: Int? = nil, paged: Bool = false,
        decode: (HTTPResult, _ served: String) throws(ETLError) -> T
    ) async throws(ETLError) -> T {
        if configuration.credentials != .anonymous, let refusal = configuration.accessPolicy.credentialRefusal(for: url) {
            // Read anonymously, the page would hold only public entries while the run succeeds.
            throw ETLError(
                .linkNotTrusted,
                "GET \(url): Launchpad linked to a URL the worker's credentials may not go to (\(refusal)); read without them it would leave private data out, so it is not read. A proxy in front of Launchpad that rewrites links (Host, X-Forwarded-Proto) causes this: fix it, or list its host in LP_CREDENTIAL_HOSTS",
                nonRetryable: true)
        }
        // Off the root and not a host the operator trusts (a Launchpad API host, LP_CREDENTIAL_HOSTS).
        if let refusal = offRootRefusal(url), configuration.accessPolicy.credentialRefusal(for: url) != nil {
            throw ETLError(
                .linkNotTrusted,
                "GET \(url): Launchpad linked to a URL off its service root \(apiBase) (\(refusal)), which is not followed: the links of a service root named by workflow input could otherwise lead the worker to any host (an internal service, a cloud metadata address). A proxy in front of Launchpad that rewrites links (Host, X-Forwarded-Proto) causes this: fix it, or list the host the links name in LP_CREDENTIAL_HOSTS (https only)",
                nonRetryable: true)
        }
        let policy = configuration.retry
        var attempt = 1
        var unanswered = 0
        var freshConnection = false
        var longWaits = 0  // 503s in a row asking to wait longer than the policy does
        while true {
            let sent = await permits.withPermit { () async -> Result<HTTPResult, TransportFailure>? in
                // Cancelled while it waited for its permit (an activity cancelled, a search ended
                // by an earlier failure): not sent.
                if Task.isCancelled { return nil }
                counters.withLock { $0.requests += 1 }
                logger.debug("GET \(url)", metadata: ["attempt": "\(attempt)"])
                // A span per request, under the activity's (task-local context).
                let span = InstrumentationSystem.tracer.startAnySpan(
                    "GET \(Self.spanPath(url))", context: ServiceContext.current ?? .topLevel,
                    ofKind: .client)
                span.attributes["http.url"] = url
                span.attributes["http.attempt"] = attempt
                let result = await transport.get(url, headers: authorizationHeaders(for: url), freshConnection: freshConnection)
                switch result {
                case .success(let response):
                    span.attributes["http.status_code"] = response.status
                    // A client span of a 4xx or 5xx is an error (OpenTelemetry's HTTP conventions).
                    if response.status >= 400 { span.setStatus(SpanStatus(code: .error, message: "HTTP \(response.status)")) }
                case .failure(let failure): span.setStatus(SpanStatus(code: .error, message: "\(failure)"))
                }
                span.end()
                return result
            }
            guard let outcome = sent else {
                throw ETLError(.transport, "GET \(url): cancelled before it was sent", nonRetryable: false)
            }
            if case .success(let response) = outcome {
                // More streams only where they share a connection: without reuse each request
                // opens its own, and the ones beyond the connection limit would wait inside
                // libcurl with their timeouts running. So too when answers come over HTTP/1.1
                // again (a front end changed, a proxy): back to the connection limit.
                let change = counters.withLock { c -> (raised: Bool, generation: Int)? in
                    c.connections += response.newConnections
                    if response.overHTTP2 { c.http2 += 1 }
                    guard configuration.reuseConnections, response.overHTTP2 != c.raised else { return nil }
                    c.raised = response.overHTTP2
                    c.changes += 1
                    return (c.raised, c.changes)
                }
                // Applied in the order decided (an HTTP/2 answer and an HTTP/1.1 one arriving
                // together reached the semaphore in either order: 8 permits left over HTTP/1.1).
                if let change {
                    // Never fewer streams than connections were allowed (the documented floor).
                    let connections = max(1, configuration.maxConcurrentRequests)
                    let limit = change.raised ? max(configuration.maxConcurrentRequestsOverHTTP2, connections) : connections
                    await permits.set(to: limit, generation: change.generation)
                }
            }
            let failure: ETLError
            var retryAfter: Int?
            if case .success(let response) = outcome, response.status == 503 {} else { longWaits = 0 }
            switch outcome {
            case .success(let response) where (200..<300).contains(response.status):
                do throws(ETLError) {
                    return try decode(response, url)
                } catch {
                    guard !error.nonRetryable else { throw error }
                    failure = error
                }
            case .success(let response) where (300..<400).contains(response.status):
                return try await followRedirect(response, from: url, redirects: redirects, attempts: attempts, paged: paged, decode: decode)
            case .success(let response):
                let credentialed =
                    configuration.credentials != .anonymous && configuration.accessPolicy.credentialRefusal(for: url) == nil
                failure = Self.classify(
                    response, url: url, credentialed: credentialed, redacting: configuration.credentials.valuesToRedact)
                guard Self.retryableStatuses.contains(response.status) else { throw failure }
                retryAfter = response.headers["retry-after"].flatMap {
                    HTTPRetryPolicy.retryAfterSeconds($0, now: Double(ContinuousClockEpoch.unixSeconds()))
                }
                // Launchpad's own timeout on a heavy query: 503 asking for minutes, with the
                // OOPS it logged. Waiting that long rarely helps (the same query times out
                // again); say so, and let a paged caller ask for less. Without an OOPS id (a
                // front end's 503 during a deploy or the daily maintenance says the same), only
                // the second such answer in a row: smaller pages cost more requests for the rest
                // of the listing.
                let longWait = response.status == 503 && retryAfter.map { Duration.seconds($0) > policy.maxRetryAfter } == true
                longWaits = longWait ? longWaits + 1 : 0
                if longWait, let wait = retryAfter, Self.namesAnOOPS(response) || longWaits >= 2,
                    let size = LaunchpadURL.value("ws.size", in: url).flatMap({ Int($0) }), size > policy.minimumPageSize
                {
                    throw ETLError(
                        .serverTimeout,
                        "Launchpad timed out on GET \(url) (503, Retry-After \(wait == Int.max ? (response.headers["retry-after"] ?? "\(wait)") : "\(wait)") s, more than the \(policy.maxRetryAfter) this worker waits; LP_MAX_RETRY_AFTER sets it)\(response.headers["x-lazr-oopsid"].map { ", OOPS \($0)" } ?? "")",
                        nonRetryable: false)
                }
            case .failure(let transportFailure):
                let what = transportFailure.timedOut ? "timed out" : "failed"
                failure = ETLError(
                    .transport, "GET \(url) \(what): \(transportFailure.message) (libcurl error \(transportFailure.code))",
                    nonRetryable: false)
                // What no retry changes (a body over the size limit, a URL or a certificate file
                // libcurl refuses) fails for good: retried by the activity, it only ended as a
                // stalled extraction hours later. Anything else this client does not retry itself
                // (a proxy's name not resolving, a garbled reply, a certificate not valid yet on a
                // clock that is off) may pass: the activity tries again.
                // A page over the size limit (hundreds of long comments at 300 a page) fits in
                // smaller pages, as a page too heavy for Launchpad does (`page`).
                if paged, transportFailure.tooLarge, let size = LaunchpadURL.value("ws.size", in: url).flatMap({ Int($0) }),
                    size > policy.minimumPageSize
                {
                    throw ETLError(.serverTimeout, "GET \(url): \(transportFailure.message) at ws.size=\(size)", nonRetryable: false)
                }
                guard transportFailure.retryable else {
                    throw ETLError(.transport, failure.message, nonRetryable: transportFailure.permanent)
                }
            }
            // No answer in time, twice in a row: the gateway's 504 or this client's own timeout
            // once the request was sent (not a connect timeout: an unreachable server is not a
            // heavy page). A page is then most likely too heavy to be served, as with
            // Launchpad's own 503; let a paged caller ask for less rather than spend every
            // attempt on the same query (after the backoff it would have waited).
            if case .failure(let transportFailure) = outcome, transportFailure.onKeptConnection {
                freshConnection = true
            } else {
                freshConnection = false  // an answer came: the connection it came on lives
            }
            switch outcome {
            case .success(let response) where response.status == 504: unanswered += 1
            // A body still arriving at the timeout counts too: the same page would be cut off
            // on every attempt (a slow link, a huge page), where a smaller one fits.
            case .failure(let transportFailure) where transportFailure.unanswered || transportFailure.bodyTimedOut: unanswered += 1
            default: unanswered = 0
            }
            if unanswered >= 2, let size = LaunchpadURL.value("ws.size", in: url).flatMap({ Int($0) }), size > policy.minimumPageSize {
                do {
                    try await Task.sleep(for: policy.delay(beforeRetry: attempt, retryAfterSeconds: nil))
                } catch {
                    throw ETLError(failure.code, "\(failure.message) — cancelled while waiting to retry", nonRetryable: false)
                }
                throw ETLError(
                    .serverTimeout,
                    "Launchpad did not answer GET \(url), or send all of it, in time twice (a gateway timeout or this worker's \(configuration.requestTimeout) request timeout): \(failure.message)",
                    nonRetryable: false)
            }
            guard attempt < min(policy.maxAttempts, attempts ?? policy.maxAttempts) else {
                throw ETLError(failure.code, "\(failure.message) — gave up after \(attempt) attempts", nonRetryable: false)
            }
            let delay = policy.delay(beforeRetry: attempt, retryAfterSeconds: retryAfter)
            logger.warning(
                "retrying Launchpad request",
                metadata: ["url": "\(url)", "attempt": "\(attempt)", "delay": "\(delay)", "reason": "\(failure.message.prefix(200))"])
            counters.withLock { $0.retries += 1 }
            attempt += 1
            do {
                try await Task.sleep(for: delay)
            } catch {
                throw ETLError(failure.code, "\(failure.message) — cancelled while waiting to retry", nonRetryable: false)
            }
        }
    }

    /// Whether an error response is Launchpad's own, with the OOPS it logged: in the
    /// `X-Lazr-OopsId` header, or in the page's text (`OOPS-…`, as help.launchpad.net/Oops says
    /// its error pages show it).
    static func namesAnOOPS(_ response: HTTPResult) -> Bool {
        if response.headers["x-lazr-oopsid"] != nil { return true }
        return response.body.prefix(64 * 1024).firstRange(of: Array("OOPS-".utf8)) != nil
    }

    /// A redirect is followed only within the URL's own origin (scheme, host and port), or from
    /// http to https on the same host, five times at most: one elsewhere, or from https to
    /// http, would be read without the credentials or from another service, and fails instead.
    private func followRedirect<T>(
        _ response: HTTPResult, from url: String, redirects: Int, attempts: Int?, paged: Bool,
        decode: (HTTPResult, _ served: String) throws(ETLError) -> T
    ) async throws(ETLError) -> T {
        let location = response.headers["location"] ?? ""
        let origin = LaunchpadURL.origin(of: url)
        let target = Self.resolve(location, against: url)
        // The same origin, or the same host upgraded from http to https (Launchpad's answer to
        // an http root).
        let upgrade =
            url.lowercased().hasPrefix("http://") && target?.lowercased().hasPrefix("https://") == true
            && LaunchpadURL.host(of: url) == target.flatMap(LaunchpadURL.host(of:))
        guard let target, let origin, LaunchpadURL.origin(of: target) == origin || upgrade, redirects < 5 else {
            throw ETLError(
                .linkNotTrusted,
                "Launchpad answered GET \(url) with \(response.status), a redirect to \(location.isEmpty ? "nowhere" : location)\(redirects >= 5 ? " (after 5 redirects)" : ""); only redirects within \(origin ?? "the same host") are followed: check the service root",
                nonRetryable: true)
        }
        return try await fetch(target, redirects: redirects + 1, attempts: attempts, paged: paged, decode: decode)
    }

    /// `location` (a redirect's) as an absolute URL, resolved against `url` as RFC 3986 says:
    /// `//host/path` keeps the scheme only, `/path` the origin, `path` and `?query` the path.
    /// Nil when it does not parse.
    static func resolve(_ location: String, against url: String) -> String? {
        guard !location.isEmpty else { return nil }
        let lowered = location.lowercased()
        if lowered.hasPrefix("https://") || lowered.hasPrefix("http://") { return location }
        guard let base = URL(string: url), let resolved = URL(string: location, relativeTo: base)?.absoluteString else { return nil }
        return resolved
    }

    /// Why `url` is off this client's service root, or nil when it is on it: the root's origin,
    /// or its host upgraded from http to https. Every URL a read follows (next links, entry
    /// links, redirects) comes from Launchpad's answers; only the root comes from its caller.
    func offRootRefusal(_ url: String) -> String? {
        guard let root = LaunchpadURL.origin(of: apiBase) else { return nil }
        guard let origin = LaunchpadURL.origin(of: url) else { return "\(url) is not an http(s) URL with a host" }
        if origin == root { return nil }
        if root.hasPrefix("http://"), origin.hasPrefix("https://"), LaunchpadURL.host(of: url) == LaunchpadURL.host(of: apiBase) {
            return nil
        }
        return "\(origin) is not \(root)"
    }

    /// Statuses worth retrying: Launchpad's front ends answer 502/503/504 under load and 503
    /// for server-side timeouts, 500 for most "OOPS" errors (often transient), 429 when throttling.
    static let retryableStatuses: Set<Int> = [408, 429, 500, 502, 503, 504]

    /// The OAuth header for `url`: none when anonymous, and none for a URL the access policy
    /// does not trust (a next link or redirect pointing elsewhere never carries the secret).
    private func authorizationHeaders(for url: String) -> [String] {
        guard configuration.credentials != .anonymous, configuration.accessPolicy.credentialRefusal(for: url) == nil else { return [] }
        let nonce = String(UInt64.random(in: 1...UInt64.max))
        let timestamp = Int(ContinuousClockEpoch.unixSeconds())
        guard let header = configuration.credentials.authorizationHeader(nonce: nonce, timestamp: timestamp) else { return [] }
        return ["Authorization: " + header]
    }

    /// Maps a non-2xx response to an error with what to do about it.
    /// - Parameters:
    ///   - credentialed: the request carried the worker's OAuth header (a 401 or 403 of one that
    ///     did not is not about credentials it has).
    ///   - redacting: values the body must not carry into the error (Launchpad names the token in
    ///     `Unknown access token (key).`, and errors end up in workflow histories).
    static func classify(_ response: HTTPResult, url: String, credentialed: Bool = true, redacting: [String] = []) -> ETLError {
        let text = bodySnippet(response, redacting: redacting)
        let oops = response.headers["x-lazr-oopsid"].map { " (OOPS \($0))" } ?? ""
        switch response.status {
        case 400:
            return ETLError(
                .badRequest, "Launchpad rejected GET \(url) with 400 Bad Request: \(text); this is a client bug or an invalid parameter",
                nonRetryable: true)
        case 401 where !credentialed:
            return ETLError(
                .unauthorized,
                "Launchpad asks for credentials for \(url) (401 Unauthorized: \(text)), which this read did not send: the page is private or needs a logged-in reader; give the worker Launchpad credentials (LP_ACCESS_TOKEN/LP_ACCESS_SECRET, for an https Launchpad host) to read it",
                nonRetryable: true)
        case 403 where !credentialed:
            return ETLError(
                .unauthorized,
                "Launchpad (or a proxy in front of it) forbids \(url) to this anonymous read (403 Forbidden: \(text))",
                nonRetryable: true)
        case 401:
            return ETLError(
                .unauthorized,
                "Launchpad refused the credentials for \(url) (401 Unauthorized: \(text)); check LP_ACCESS_TOKEN/LP_ACCESS_SECRET, and that the consumer key (LP_CONSUMER_KEY, else the run's application_name) is the application the token was issued to, or use anonymous access",
                nonRetryable: true)
        case 403:
            return ETLError(
                .unauthorized, "Launchpad forbids access to \(url) (403 Forbidden: \(text)); the token lacks permission", nonRetryable: true
            )
        case 404:
            return ETLError(.notFound, "Launchpad has nothing at \(url) (\(response.status): \(text))", nonRetryable: true)
        case 410:
            return ETLError(
                .gone, "Launchpad says \(url) is gone (410 Gone: \(text)); a suspended account, or a removed object",
                nonRetryable: true)
        case 429, 502, 503, 504:
            return ETLError(.unavailable, "Launchpad is unavailable: \(response.status) for \(url)\(oops): \(text)", nonRetryable: false)
        case 500..<600:
            return ETLError(
                .serverError, "Launchpad failed with \(response.status) for \(url)\(oops): \(text); an internal error, retry later",
                nonRetryable: false)
        default:
            return ETLError(.unexpectedStatus, "unexpected HTTP \(response.status) for \(url): \(text)", nonRetryable: true)
        }
    }

    /// The first ~200 characters of a body, HTML tags stripped, whitespace collapsed, and each of
    /// `redacting` replaced by `[redacted]`.
    static func bodySnippet(_ response: HTTPResult, redacting: [String] = []) -> String {
        var text = String(decoding: response.body.prefix(4096), as: UTF8.self)
        for value in redacting where !value.isEmpty { text = text.replacingOccurrences(of: value, with: "[redacted]") }
        if (response.headers["content-type"] ?? "").contains("html") || text.hasPrefix("<") {
            var stripped = ""
            var inTag = false
            for character in text {
                if character == "<" {
                    inTag = true
                    stripped.append(" ")
                    continue
                }
                if character == ">" {
                    inTag = false
                    continue
                }
                if !inTag { stripped.append(character) }
            }
            text = stripped
        }
        let collapsed = text.split(whereSeparator: { $0.isWhitespace }).joined(separator: " ")
        if collapsed.isEmpty { return "empty body" }
        return collapsed.count > 200 ? String(collapsed.prefix(200)) + "…" : collapsed
    }

    static func milliseconds(_ duration: Duration) -> Int {
        let (seconds, attoseconds) = duration.components
        return Int(seconds) * 1000 + Int(attoseconds / 1_000_000_000_000_000)
    }
}

/// Wall-clock seconds since 1970 (OAuth timestamps).
enum ContinuousClockEpoch {
    static func unixSeconds() -> Int64 {
        var spec = timespec()
        clock_gettime(CLOCK_REALTIME, &spec)
        return Int64(spec.tv_sec)
    }
}
