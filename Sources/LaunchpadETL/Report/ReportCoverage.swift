/// How much of a member's week the store's loads covered (`LoadedWindow`).
public enum WeekCoverage: String, Sendable, Hashable {
    /// Every day of the week was extracted, and read whole at least once by a load that kept
    /// none of the stored events its read no longer found, with no load after it that did.
    case complete
    /// Some days were extracted, or all of them but some only by reads with parts Launchpad
    /// did not show (the windows' `skipped` notes), or whose loads kept stored events the read
    /// no longer found (`LoadedWindow.keptNotFound`).
    case partial
    /// No load covered any day of the week: its count says nothing about activity.
    case none
}

extension ActivityReport {
    /// How much of `week` (a Monday) the loads of `member` covered. A day counts as read whole
    /// when a window without notes covered it and no load after that one kept stored events of
    /// the day its read no longer found (a later read with skipped notes loses nothing: such a
    /// load removes no events, see `StaleEvents`).
    public func coverage(member: String, week: String) -> WeekCoverage {
        guard let monday = CivilDate(iso: week)?.daysSinceEpoch, let covered = coveredDays[member] else { return .none }
        let days = monday...(monday + 6)
        guard days.contains(where: covered.contains) else { return .none }
        let complete = completeDays[member] ?? []
        return days.allSatisfy(complete.contains) ? .complete : .partial
    }

    /// The text of a member-week cell: the count, `*` after it for a partly covered week, `?`
    /// after it for events no recorded load covers, `-` for a week nobody extracted. Without
    /// any record in the store, the count alone.
    public func cell(member: String, week: String) -> String {
        cell(member: member, week: week, coverage: coverage(member: member, week: week))
    }

    func cell(member: String, week: String, coverage: WeekCoverage) -> String {
        let value = total(member: member, week: week)
        guard recordsCoverage else { return String(value) }
        if holdsUncoveredEvents(member: member, week: week) { return "\(value)?" }
        switch coverage {
        case .complete: return String(value)
        case .partial: return "\(value)*"
        case .none: return value == 0 ? "-" : "\(value)?"
        }
    }

    /// A member's total over the weeks shown, marked as its weeks are: `?` when a week holds
    /// events no recorded load covers, else `*` when a week was not extracted or only in part
    /// (a total over such weeks is not the member's whole activity), else the count alone.
    /// It was the count alone, which read as complete whatever its weeks said.
    public func totalCell(member: String) -> String {
        let value = total(member: member)
        guard recordsCoverage else { return String(value) }
        let marks = weeks.map { week in (coverage(member: member, week: week), total(member: member, week: week)) }
        if value == 0, !marks.isEmpty, marks.allSatisfy({ $0.0 == .none }) { return "-" }  // no week shown was extracted
        if marks.contains(where: { $0.0 == .none && $0.1 > 0 }) || weeks.contains(where: { holdsUncoveredEvents(member: member, week: $0) })
        {
            return "\(value)?"
        }
        return marks.contains(where: { $0.0 != .complete }) ? "\(value)*" : String(value)
    }

    /// What the report's windows could not read: each note once per member and span of days,
    /// with the days of the windows that reported it and how many there were. A window whose every day another
    /// load read whole says nothing here: what it could not read, a clean read of those days
    /// did (a 1.0 read's hidden comments after a devel re-read, say).
    public var notRead: [(member: String, note: String, firstDay: String, lastDay: String, windows: Int)] {
        let current = windows.filter { window in
            guard let first = CivilDate(iso: window.firstDay)?.daysSinceEpoch, let last = CivilDate(iso: window.lastDay)?.daysSinceEpoch,
                first <= last, let complete = completeDays[window.member]
            else { return true }
            return !(first...last).allSatisfy(complete.contains)  // else superseded by clean reads
        }
        return Self.grouped(current, labels: \.notes).map { ($0.member, $0.label, $0.firstDay, $0.lastDay, $0.windows) }
    }

    /// `windows` grouped by member, label and span of days (a window counts once under each of
    /// its `labels`), with the days each group's windows span and how many there were, in the
    /// order first seen. Windows of a label that overlap or touch make one span; a gap starts
    /// another, so a line never claims days no window of it covered (a January and a June
    /// window with the same note read as January to June, the clean April read included).
    static func grouped(_ windows: [LoadedWindow], labels: (LoadedWindow) -> [String])
        -> [(member: String, label: String, firstDay: String, lastDay: String, windows: Int)]
    {
        var groups: [(member: String, label: String, firstDay: String, lastDay: String, windows: Int)] = []
        // Per member and label, the indices of its spans in `groups`.
        var spans: [String: [Int]] = [:]
        // By member and first day (as a store gives them; stable for equal days): a window then
        // can only touch its label's latest span.
        let ordered = windows.enumerated().sorted {
            ($0.element.member, $0.element.firstDay, $0.offset) < ($1.element.member, $1.element.firstDay, $1.offset)
        }
        for window in ordered.map(\.element) {
            for label in labels(window) {
                let key = window.member + "\u{1F}" + label
                let touching = spans[key, default: []].first { index in
                    let group = groups[index]
                    let dayAfter = CivilDate(iso: group.lastDay).map { $0.adding(days: 1).description } ?? group.lastDay
                    return window.firstDay <= dayAfter && window.lastDay >= group.firstDay
                }
                if let index = touching {
                    groups[index].firstDay = min(groups[index].firstDay, window.firstDay)
                    groups[index].lastDay = max(groups[index].lastDay, window.lastDay)
                    groups[index].windows += 1
                } else {
                    spans[key, default: []].append(groups.count)
                    groups.append((window.member, label, window.firstDay, window.lastDay, 1))
                }
            }
        }
        return groups
    }

    /// `notRead` as the report's lines ("not read for …").
    public var notReadLines: [String] { notRead.map { "not read for " + Self.describe($0) } }

    /// One line of `notRead`.
    static func describe(_ item: (member: String, note: String, firstDay: String, lastDay: String, windows: Int)) -> String {
        let reads = item.windows == 1 ? "" : " (\(item.windows) loads)"
        // One line each: a note kept as written may hold line breaks, which broke the table.
        let note = String(item.note.map { $0.isNewline ? " " : $0 })
        return "\(item.member), \(item.firstDay) to \(item.lastDay)\(reads): \(note)"
    }

    /// The legend of the cell marks, shown when the store records coverage.
    public static let legend =
        "-: not extracted; *: partly extracted, or read only with parts Launchpad did not show, or with stored events the read no longer found kept, or by older event builders (listed below); ?: events loaded without a record of what was extracted for that member and source (by a release before the record, a flow that keeps none, such as the mock flows, or a teammate's run that credited them while the member's own run of those days failed or did not run)"
}
