/// Events per member and ISO week, by type: what analysts look at (`LaunchpadReport`).
public struct ActivityReport: Sendable, Hashable {
    /// Members, sorted.
    public let members: [String]
    /// Mondays of every week from the first to the last with events (empty weeks included),
    /// `YYYY-MM-DD`.
    public let weeks: [String]
    /// Event types, sorted.
    public let types: [String]
    /// The store's counts within the report's weeks.
    public let counts: [EventCount]
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

    /// Builds the report from a store's `eventCounts()`, optionally limited to the weeks
    /// containing `from`…`to` (`YYYY-MM-DD`) and to some members.
    public init(counts all: [EventCount], from: CivilDate? = nil, to: CivilDate? = nil, members only: Set<String>? = nil) {
        let first = from?.mondayOfWeek.description
        let last = to?.mondayOfWeek.description
        let counts = all.filter { count in
            (first.map { count.week >= $0 } ?? true) && (last.map { count.week <= $0 } ?? true)
                && (only.map { $0.contains(count.member) } ?? true)
        }
        self.counts = counts
        members = Array(Set(counts.map(\.member))).sorted()
        types = Array(Set(counts.map(\.type))).sorted()
        var weeks: [String] = []
        if let start = (first.flatMap { CivilDate(iso: $0) } ?? counts.map(\.week).min().flatMap { CivilDate(iso: $0) }),
            let end = (last.flatMap { CivilDate(iso: $0) } ?? counts.map(\.week).max().flatMap { CivilDate(iso: $0) }), start <= end
        {
            var week = start
            while week <= end && weeks.count < 5_000 {
                weeks.append(week.description)
                week = week.adding(days: 7)
            }
        }
        self.weeks = weeks
        var totals: [Key: Int] = [:]
        var typeTotals: [TypeKey: Int] = [:]
        for count in counts {
            totals[Key(member: count.member, week: count.week), default: 0] += count.count
            typeTotals[TypeKey(member: count.member, type: count.type), default: 0] += count.count
        }
        self.totals = totals
        self.typeTotals = typeTotals
    }

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
