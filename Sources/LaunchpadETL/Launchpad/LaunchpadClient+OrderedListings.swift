import Logging

/// The entries of a page of an ordered listing that follow the page before it, read by
/// `LaunchpadClient.page(_:after:key:)`.
public struct OrderedPage: Sendable, Hashable {
    /// The entries after the previous page's last ones (those of the overlap are left out).
    public var entries: [JSONValue]
    /// The next page, at this listing's page size; nil on the last page.
    public var nextLink: String?
    /// Keys of this page's last entries, to pass as `after` with `nextLink`.
    public var anchors: [String]
    /// The listing's `total_size` as this page reports it (entries hidden from this client
    /// included), when it does.
    public var totalSize: Int? = nil
}

extension LaunchpadClient {
    /// How many rows before a page are read again with it, in turn, until the previous page's
    /// last entries are among them (each fewer than the page size, so that a request still gets
    /// further).
    static let pageOverlaps = [5, 50, 299]
    /// How many keys of a page's last entries are kept to find the continuation.
    static let anchorCount = 5

    /// The page at `url` (a next link) of a listing in a stable total order (bug tasks by id,
    /// questions by date, team members by display name then name — a member who renames
    /// themselves moves, which this cannot see: one moving before the offset between two pages
    /// is missed, an anchor moving further on drops the entries before it), with only the
    /// entries that follow the
    /// previous page, whose last entries have keys `anchors`.
    ///
    /// Launchpad pages by offset (`memo` and `ws.start` are the same offset): an entry that
    /// leaves the listing before the offset between two requests (a bug made private, a task
    /// deleted, a member who left) shifts the rest back, and the next page would skip one. So
    /// the page is asked for with some rows before it, and read from the last anchor on. When
    /// no anchor is among them, more rows before it are read. When none is found within the
    /// last overlap: a page that holds every row it asked for (nothing hidden by privacy) proves
    /// the listing changed by more than that, and the result is nil — read the listing again
    /// from its first page; a page with hidden rows cannot tell, and is taken as it is.
    /// Without anchors or an offset (a first page), the page is read as given.
    ///
    /// Smaller page sizes (`page(_:onSmallerPages:)`) are told to `onSmallerPages`.
    ///
    /// - Throws: what `page(_:)` throws; a malformed response for an entry without a key.
    public func page(
        _ url: String, after anchors: [String], key: (JSONValue) -> String?,
        onSmallerPages: (Int) async throws(ETLError) -> Void = { _ in }
    ) async throws(ETLError) -> OrderedPage? {
        let start = LaunchpadURL.value("ws.start", in: url).flatMap { Int($0) } ?? 0
        let size = LaunchpadURL.value("ws.size", in: url).flatMap { Int($0) } ?? 75
        // Each request keeps the listing's page size (a larger one could be the one that times
        // out) and starts fewer rows back than that, so that it still gets further.
        let overlaps = Array(Set(Self.pageOverlaps.map { min($0, size - 1) })).sorted()
        guard !anchors.isEmpty, start > 0, let widest = overlaps.last, widest > 0 else {
            let page = try await page(url, onSmallerPages: onSmallerPages)
            return OrderedPage(
                entries: page.entries, nextLink: page.nextLink, anchors: try Self.anchors(page.entries, url, key, else: anchors),
                totalSize: page.totalSize)
        }
        for back in overlaps {
            let from = max(0, start - back)
            let link = LaunchpadURL.setting("memo", to: String(from), in: LaunchpadURL.setting("ws.start", to: String(from), in: url))
            let page = try await page(link, onSmallerPages: onSmallerPages)
            if let next = page.nextLink, (LaunchpadURL.value("ws.start", in: next).flatMap { Int($0) } ?? 0) <= start {
                if let smaller = LaunchpadURL.value("ws.size", in: next).flatMap({ Int($0) }), smaller < size {
                    // Halved on a server timeout to less than the overlap: the page again at that
                    // size, with overlaps below it (read as given, without one, the rows that had
                    // moved back before it were skipped).
                    logger.notice(
                        "a page was cut smaller than its overlap (server timeout); reading it again at that size",
                        metadata: ["url": "\(url)", "rows_before": "\(back)", "size": "\(smaller)"])
                    return try await self.page(
                        LaunchpadURL.setting("ws.size", to: String(smaller), in: url), after: anchors, key: key,
                        onSmallerPages: onSmallerPages)
                }
                // Not past where it began at its own size: a server that ignores the query (the
                // page read as given says so: it does not advance).
                let plain = try await self.page(url, onSmallerPages: onSmallerPages)
                return OrderedPage(
                    entries: plain.entries, nextLink: plain.nextLink, anchors: try Self.anchors(plain.entries, url, key, else: anchors),
                    totalSize: plain.totalSize)
            }
            var keys: [String] = []
            for entry in page.entries { keys.append(try Self.key(of: entry, url, key)) }
            let anchorsAfter = keys.isEmpty ? anchors : Array(keys.suffix(Self.anchorCount))
            if let last = keys.lastIndex(where: anchors.contains) {
                return OrderedPage(
                    entries: Array(page.entries[(last + 1)...]), nextLink: page.nextLink, anchors: anchorsAfter, totalSize: page.totalSize)
            }
            // Rows this request covered: a page's worth, or up to the end on the last page
            // (the size may have been halved on a server timeout: see `page(_:)`).
            let asked = page.nextLink.flatMap { LaunchpadURL.value("ws.size", in: $0) }.flatMap { Int($0) } ?? size
            let rows = page.nextLink == nil ? page.totalSize.map { max(0, $0 - from) } ?? asked : asked
            let hidden = page.entries.count < rows
            if from == 0 || (back == widest && hidden) {
                // From the first row nothing before can be missed; with hidden rows nothing can be told.
                return OrderedPage(entries: page.entries, nextLink: page.nextLink, anchors: anchorsAfter, totalSize: page.totalSize)
            }
            if back == widest { break }
            logger.notice(
                "entries left a listing before the page being read; reading further back",
                metadata: ["url": "\(url)", "rows_before": "\(back)"])
        }
        logger.warning(
            "a listing changed by more rows than a page overlaps; reading it again from its first page", metadata: ["url": "\(url)"])
        return nil
    }

    /// `key` of an entry of the listing at `url`; an entry without one is a malformed response.
    static func key(of entry: JSONValue, _ url: String, _ key: (JSONValue) -> String?) throws(ETLError) -> String {
        guard let value = key(entry) else {
            throw ETLError(.malformedResponse, "an entry of \(url) has no id: \(entry.serialized().prefix(160))", nonRetryable: false)
        }
        return value
    }

    private static func anchors(_ entries: [JSONValue], _ url: String, _ key: (JSONValue) -> String?, else previous: [String])
        throws(ETLError) -> [String]
    {
        guard !entries.isEmpty else { return previous }
        var keys: [String] = []
        for entry in entries.suffix(anchorCount) { keys.append(try Self.key(of: entry, url, key)) }
        return keys
    }

    /// How many times an ordered listing is read from its first page at most, in one attempt.
    public static let listingReads = 3

    /// Every entry of an ordered listing (see `page(_:after:key:)`), each once, read again from
    /// its first page when it changed by more than a page overlaps (`listingReads` in all).
    ///
    /// - Throws: `listingChanging` when it changed that much every time.
    public func orderedCollection(_ url: String, key: (JSONValue) -> String?) async throws(ETLError) -> [JSONValue] {
        try await orderedCollectionAndTotal(url, key: key).entries
    }

    /// `orderedCollection`, and the `total_size` its last page reports (entries hidden from
    /// this client included; nil when the page reports none).
    public func orderedCollectionAndTotal(_ url: String, key: (JSONValue) -> String?) async throws(ETLError)
        -> (entries: [JSONValue], total: Int?)
    {
        for _ in 1...Self.listingReads {
            var total: Int?
            var entries: [JSONValue] = []
            var seen: Set<String> = []
            var next: String? = firstPageURL(url)
            var anchors: [String] = []
            var lastStart = -1
            var complete = true
            while let link = next {
                let start = LaunchpadURL.value("ws.start", in: link).flatMap { Int($0) } ?? 0
                guard start > lastStart else {
                    throw ETLError(
                        .malformedResponse, "Launchpad returned a next_collection_link that does not advance: \(link)", nonRetryable: false)
                }
                lastStart = start
                guard let page = try await page(link, after: anchors, key: key) else {
                    complete = false
                    break
                }
                for entry in page.entries where seen.insert(try Self.key(of: entry, url, key)).inserted { entries.append(entry) }
                anchors = page.anchors
                next = page.nextLink
                total = page.totalSize
            }
            if complete { return (entries, total) }
        }
        throw ETLError(
            .listingChanging,
            "the listing \(url) changed by more rows than a page overlaps \(Self.listingReads) times while it was read; a later attempt reads it again",
            nonRetryable: false)
    }
}
