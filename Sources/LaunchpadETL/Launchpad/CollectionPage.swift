/// One page of a Launchpad collection.
public struct CollectionPage: Sendable, Hashable {
    /// The entries on this page (may be fewer than `ws.size`: privacy filtering).
    public var entries: [JSONValue]
    /// The next page, verbatim from the server; `nil` on the last page.
    public var nextLink: String?
    /// `total_size` when inline (last page, or 1.0/beta).
    public var totalSize: Int?
    /// Where the total is when it is not inline (`total_size_link`: named operations on devel,
    /// on pages before the last; a GET of it answers the count as a bare integer).
    public var totalSizeLink: String?
    /// Offset of the first entry.
    public var start: Int

    /// Reads a page from its JSON, or `nil` when the value is not a collection page.
    /// A field that is there but of the wrong type (a next link that is not a string, a total
    /// or start that is not an integer) makes it not a page: read as absent, it would end the
    /// collection early.
    public init?(json: JSONValue) {
        guard let entries = json["entries"]?.arrayValue else { return nil }
        func present(_ key: String) -> Bool {
            switch json[key] {
            case nil, .null?: return false
            default: return true
            }
        }
        self.entries = entries
        nextLink = json["next_collection_link"]?.stringValue
        totalSize = json["total_size"]?.intValue
        totalSizeLink = json["total_size_link"]?.stringValue
        start = json["start"]?.intValue ?? 0
        guard nextLink != nil || !present("next_collection_link"), totalSize != nil || !present("total_size"),
            json["start"]?.intValue != nil || !present("start")
        else { return nil }
    }
}
