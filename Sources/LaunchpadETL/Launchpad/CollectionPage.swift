/// One page of a Launchpad collection.
public struct CollectionPage: Sendable, Hashable {
    /// The entries on this page (may be fewer than `ws.size`: privacy filtering).
    public var entries: [JSONValue]
    /// The next page, verbatim from the server; `nil` on the last page.
    public var nextLink: String?
    /// `total_size` when inline (last page, or 1.0/beta).
    public var totalSize: Int?
    /// Offset of the first entry.
    public var start: Int

    /// Reads a page from its JSON, or `nil` when the value is not a collection page.
    public init?(json: JSONValue) {
        guard let entries = json["entries"]?.arrayValue else { return nil }
        self.entries = entries
        nextLink = json["next_collection_link"]?.stringValue
        totalSize = json["total_size"]?.intValue
        start = json["start"]?.intValue ?? 0
    }
}
