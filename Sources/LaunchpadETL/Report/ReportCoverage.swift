/// How much of a member's week the store's loads covered (`LoadedWindow`).
public enum WeekCoverage: String, Sendable, Hashable {
    /// Every day of the week was extracted, and read whole.
    case complete
    /// Some days were extracted, or all of them but with parts Launchpad did not show (the
    /// windows' `skipped` notes).
    case partial
    /// No load covered any day of the week: its count says nothing about activity.
    case none
}

extension ActivityReport {
    /// How much of `week` (a Monday) the loads of `member` covered.
    public func coverage(member: String, week: String) -> WeekCoverage {
        guard let monday = CivilDate(iso: week) else { return .none }
        let sunday = monday.adding(days: 6)
        var covered = Set<Int>()
        var gaps = false
        for window in windows where window.member == member {
            guard let first = CivilDate(iso: window.firstDay), let last = CivilDate(iso: window.lastDay) else { continue }
            let from = max(first.daysSinceEpoch, monday.daysSinceEpoch)
            let to = min(last.daysSinceEpoch, sunday.daysSinceEpoch)
            guard from <= to else { continue }
            covered.formUnion(from...to)
            if !window.skipped.isEmpty { gaps = true }
        }
        if covered.isEmpty { return .none }
        return covered.count == 7 && !gaps ? .complete : .partial
    }

    /// The text of a member-week cell: the count, `*` after it for a partly covered week, `?`
    /// after it for events no recorded load covers (loaded before loads recorded their
    /// windows), `-` for a week nobody extracted. Without any record, the count alone.
    public func cell(member: String, week: String) -> String {
        let value = total(member: member, week: week)
        guard recordsCoverage else { return String(value) }
        switch coverage(member: member, week: week) {
        case .complete: return String(value)
        case .partial: return "\(value)*"
        case .none: return value == 0 ? "-" : "\(value)?"
        }
    }

    /// What the report's windows could not read, per window (member, days, notes).
    public var notRead: [(window: LoadedWindow, notes: [String])] {
        windows.filter { !$0.skipped.isEmpty }.map { ($0, $0.skipped) }
    }

    /// The legend of the cell marks, shown when the store records coverage.
    public static let legend =
        "-: not extracted; *: partly extracted, or with parts Launchpad did not show (listed below); ?: events loaded without a record of what was extracted (by a release before the record)"
}
