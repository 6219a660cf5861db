/// A listing read by `LaunchpadClient.distinctListing`: its distinct entries and what its
/// `total_size` counts.
public struct DistinctListing: Sendable, Hashable {
    /// Every distinct entry the passes were served, in the order first seen.
    public var entries: [JSONValue]
    /// The `total_size` the last pass reported; nil when its pages said none.
    public var totalSize: Int?
    /// How many times the listing was read.
    public var passes: Int
    /// How many pages the last pass read.
    public var lastPassPages: Int = 1

    /// The words that end every `shortfallNote`: what a listing read short lacks may well be
    /// found by the next read (`FlowResult.rereadKey`).
    public static let rereadHint = "a later run reads the listing again"

    /// Entries `totalSize` counts that no pass was served (0 when the listing was read whole).
    public var shortfall: Int { max(0, (totalSize ?? 0) - entries.count) }

    /// A note for the extraction's result when entries may be missing, nil otherwise: `what`
    /// names the listing ("~gina-prolific's merge proposals"), `kind` its entries ("proposals").
    /// It says the numbers and why the rest is more likely lost than hidden (Launchpad leaves
    /// out of these listings what the caller may not see before it counts). A listing read in
    /// one page gets none: one query cannot skip an entry, so what it lacks was counted but not
    /// served (rows counted twice, entries hidden after the count).
    public func shortfallNote(_ what: String, kind: String) -> String? {
        guard shortfall > 0, lastPassPages > 1, let totalSize else { return nil }
        return
            "\(what): \(entries.count) of the \(totalSize) \(kind) its total_size counts were read in \(passes) \(passes == 1 ? "pass" : "passes"); Launchpad counts only what this client may see, so the other \(shortfall) were more likely skipped by its unordered paging, and their events may be missing (\(Self.rereadHint))"
    }
}
