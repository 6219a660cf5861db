/// Events per member and ISO week, by type: what analysts look at (`LaunchpadReport`); and,
/// from the store's record of loaded windows, which of those weeks were extracted at all.
public struct ActivityReport: Sendable, Hashable {
    /// Members with events or loaded windows of the report's sources, in any week (one with
    /// nothing in the report's weeks shows as not extracted), limited to the requested ones; sorted.
    public let members: [String]
    /// Mondays of every week from the first to the last with events or a loaded window (empty
    /// weeks included), `YYYY-MM-DD`.
    public let weeks: [String]
    /// Whether the weeks stop at `maximumWeeks` before the last one asked for or holding data.
    public let weeksCut: Bool
    /// Event types, sorted.
    public let types: [String]
    /// The store's counts within the report's weeks.
    public let counts: [EventCount]
    /// The loaded windows (of the report's sources and members) that overlap its weeks.
    public let windows: [LoadedWindow]
    /// Whether the store records what its loads of the report's sources covered (whatever the
    /// member and date filters): false for stores only loaded by releases before the record
    /// existed, whose report shows counts alone.
    public let recordsCoverage: Bool
    /// Sources of the store's counts that the report leaves out (e.g. `mock`), sorted.
    public let otherSources: [String]
    /// Members the report was limited to that the store knows nothing of (no events, no
    /// loaded window, any date and source), sorted: a typo, or a member never extracted.
    public let unknownMembers: [String]
    /// Every member the store knows (events or loaded windows), sorted.
    public let knownMembers: [String]
    /// The members the report was limited to (lowercase, sorted); nil when not limited.
    public let requestedMembers: [String]?
    /// Per member: the days (since the epoch) some window covered, and those some window
    /// covered without a note of what it could not read.
    let coveredDays: [String: Set<Int>]
    let completeDays: [String: Set<Int>]
    /// Member-weeks holding events of a source that no window of that source covers on any day
    /// of the week (the mock flows' events beside a Launchpad window, say): marked `?`.
    private let uncovered: Set<Key>
    private let totals: [Key: Int]
    private let typeTotals: [TypeKey: Int]

    private struct Key: Hashable {
        var member: String
        var week: String
    }
    private struct TypeKey: Hashable {
        var member: String
        var type: String
    }

    /// The most weeks a report shows (about 96 years; `LaunchpadReport` refuses a longer span).
    public static let maximumWeeks = 5_000

    /// Builds the report from a store's `eventCounts()` and `loadedWindows()`, optionally
    /// limited to the weeks containing `from`…`to` (`YYYY-MM-DD`), to some members, and to some
    /// sources (default: Launchpad's; nil: all, e.g. with the mock flows' `mock` rows).
    public init(
        counts stored: [EventCount], windows allWindows: [LoadedWindow] = [], from: CivilDate? = nil, to: CivilDate? = nil,
        members requested: Set<String>? = nil, sources: Set<String>? = [Event.launchpadSourceKind]
    ) {
        let all = Self.mondays(stored)
        // Launchpad names are lowercase, and so are the stored member ids.
        let only = requested.map { Set($0.map { $0.lowercased() }) }
        let known = Set(all.map(\.member) + allWindows.map(\.member))
        knownMembers = known.sorted()
        requestedMembers = only?.sorted()
        unknownMembers = (only ?? []).subtracting(known).sorted()
        let first = from?.mondayOfWeek.description
        let last = to?.mondayOfWeek.description
        let counts = all.filter { count in
            (first.map { count.week >= $0 } ?? true) && (last.map { count.week <= $0 } ?? true)
                && (only.map { $0.contains(count.member) } ?? true) && (sources.map { $0.contains(count.sourceKind) } ?? true)
        }
        // A window counts for the weeks it overlaps (its first day's week to its last day's).
        let windows = allWindows.filter { window in
            guard let firstWeek = CivilDate(iso: window.firstDay)?.mondayOfWeek.description,
                let lastWeek = CivilDate(iso: window.lastDay)?.mondayOfWeek.description
            else { return false }
            return (first.map { lastWeek >= $0 } ?? true) && (last.map { firstWeek <= $0 } ?? true)
                && (only.map { $0.contains(window.member) } ?? true) && (sources.map { $0.contains(window.sourceKind) } ?? true)
        }
        self.counts = counts
        self.windows = windows
        recordsCoverage = allWindows.contains { sources?.contains($0.sourceKind) ?? true }
        otherSources = Array(Set(all.map(\.sourceKind).filter { !(sources?.contains($0) ?? true) })).sorted()
        var coveredDays: [String: Set<Int>] = [:]
        var completeDays: [String: Set<Int>] = [:]
        let days = { (window: LoadedWindow) -> ClosedRange<Int>? in
            guard let first = CivilDate(iso: window.firstDay)?.daysSinceEpoch, let last = CivilDate(iso: window.lastDay)?.daysSinceEpoch,
                first <= last
            else { return nil }
            return first...last
        }
        let keeping = Dictionary(grouping: windows.filter { $0.keptNotFound != nil }, by: \.member)
        for window in windows {
            guard let span = days(window) else { continue }
            coveredDays[window.member, default: []].formUnion(span)
            // A load removes only events a read of the day that skipped nothing no longer finds
            // (`StaleEvents`): a day read whole, by a load that kept none of the stored events its
            // read no longer found, has what Launchpad still shows and nothing more, unless a
            // read that started after it kept such events of the day (a later read as another
            // reader, which may not remove what the first one stored). Without a known order,
            // such a read counts as later. Before, any clean read of the day hid a later read's
            // kept events. An older read loaded after a newer one keeps what the newer one
            // stored and it lacks, and says nothing against the newer one's days.
            guard window.notes.isEmpty else { continue }
            var complete = Set(span)
            for kept in keeping[window.member] ?? [] {
                guard let keptSpan = days(kept), keptSpan.overlaps(span) else { continue }
                if let clean = window.readStartedAt, let keptAt = kept.readStartedAt, keptAt < clean { continue }
                complete.subtract(keptSpan)
            }
            completeDays[window.member, default: []].formUnion(complete)
        }
        self.coveredDays = coveredDays
        self.completeDays = completeDays
        // Coverage is of a source: another source's window says nothing of these events (they
        // showed as read whole beside a Launchpad window).
        var sourceDays: [String: Set<Int>] = [:]
        for window in windows {
            if let span = days(window) { sourceDays[window.member + "\u{1F}" + window.sourceKind, default: []].formUnion(span) }
        }
        var uncovered: Set<Key> = []
        for count in counts where count.count > 0 {
            guard let monday = CivilDate(iso: count.week)?.daysSinceEpoch else { continue }
            let covered = sourceDays[count.member + "\u{1F}" + count.sourceKind] ?? []
            if !(monday...(monday + 6)).contains(where: covered.contains) { uncovered.insert(Key(member: count.member, week: count.week)) }
        }
        self.uncovered = uncovered
        // With a record of coverage, every member the store holds for these sources, whatever
        // the weeks: one whose runs of the weeks shown failed or were skipped keeps a row of "-"
        // (not extracted) instead of leaving the report, which read as a team without them.
        // Without one (a store of earlier releases, the mock flows) such a row would read 0.
        let selected = { (member: String, source: String) in
            (only.map { $0.contains(member) } ?? true) && (sources.map { $0.contains(source) } ?? true)
        }
        members = Array(
            Set(
                recordsCoverage
                    ? all.filter { selected($0.member, $0.sourceKind) }.map(\.member)
                        + allWindows.filter { selected($0.member, $0.sourceKind) }.map(\.member)
                    : counts.map(\.member) + windows.map(\.member))
        ).sorted()
        types = Array(Set(counts.map(\.type))).sorted()
        let windowWeeks = windows.flatMap { [$0.firstDay, $0.lastDay] }.compactMap { CivilDate(iso: $0)?.mondayOfWeek.description }
        let allWeeks = counts.map(\.week) + windowWeeks
        var weeks: [String] = []
        var weeksCut = false
        // A bound given alone, with nothing stored beyond it, is the other bound too: the week
        // it names is shown (as not extracted), not no week at all, which read as members idle.
        if let start = ((first ?? allWeeks.min() ?? last).flatMap { CivilDate(iso: $0) }),
            let end = ((last ?? allWeeks.max() ?? first).flatMap { CivilDate(iso: $0) }), start <= end
        {
            var week = start
            while week <= end && weeks.count < Self.maximumWeeks {
                weeks.append(week.description)
                week = week.adding(days: 7)
            }
            weeksCut = week <= end
        }
        self.weeks = weeks
        self.weeksCut = weeksCut
        var totals: [Key: Int] = [:]
        var typeTotals: [TypeKey: Int] = [:]
        for count in counts {
            totals[Key(member: count.member, week: count.week), default: 0] += count.count
            typeTotals[TypeKey(member: count.member, type: count.type), default: 0] += count.count
        }
        self.totals = totals
        self.typeTotals = typeTotals
    }

    /// `counts` with each week on its Monday, counts of the same member, week, type and source
    /// summed. This ETL stores Mondays; rows other tools wrote in the same table need not (the
    /// original project's mock flow wrote Sundays), and one such week as the report's first
    /// shifted every column off the Mondays the other counts are keyed by.
    static func mondays(_ counts: [EventCount]) -> [EventCount] {
        guard counts.contains(where: { CivilDate(iso: $0.week).map { $0.mondayOfWeek.description != $0.description } ?? false }) else {
            return counts
        }
        var merged: [EventCount] = []
        var index: [EventCount: Int] = [:]
        for count in counts {
            var key = count
            key.week = CivilDate(iso: count.week)?.mondayOfWeek.description ?? count.week
            key.count = 0
            if let at = index[key] {
                merged[at].count += count.count
            } else {
                index[key] = merged.count
                merged.append(
                    EventCount(member: key.member, week: key.week, type: key.type, count: count.count, sourceKind: key.sourceKind))
            }
        }
        return merged
    }

    /// Whether `member`'s `week` holds events of a source no window of it covers.
    func holdsUncoveredEvents(member: String, week: String) -> Bool { uncovered.contains(Key(member: member, week: week)) }

    /// A member's events in a week (all types).
    public func total(member: String, week: String) -> Int { totals[Key(member: member, week: week)] ?? 0 }

    /// A member's events of a type over the report's weeks.
    public func total(member: String, type: String) -> Int { typeTotals[TypeKey(member: member, type: type)] ?? 0 }

    /// A member's events over the report's weeks.
    public func total(member: String) -> Int { types.reduce(0) { $0 + total(member: member, type: $1) } }

    /// Every event in the report.
    public var total: Int { counts.reduce(0) { $0 + $1.count } }

    /// The largest member-week total (the heatmap's scale).
    public var busiestWeek: Int { totals.values.max() ?? 0 }

    /// The ISO 8601 week of a Monday, e.g. `2024-W10`.
    public static func isoWeek(_ monday: String) -> String {
        guard let date = CivilDate(iso: monday) else { return monday }
        let thursday = date.mondayOfWeek.adding(days: 3)  // the ISO week's year is its Thursday's
        guard let january1 = CivilDate(year: thursday.year, month: 1, day: 1) else { return monday }
        let week = (thursday.daysSinceEpoch - january1.daysSinceEpoch) / 7 + 1
        return "\(thursday.year)-W\(week < 10 ? "0" : "")\(week)"
    }
}
