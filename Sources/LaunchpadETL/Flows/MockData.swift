/// Synthetic, deterministic events for `MockFlow` (no network): like the original
/// `run_mock_wf.py` mock, three `bug:created` rows per query.
public enum MockData {
    /// The `source_kind_id` of mock events, so they never mix with real Launchpad rows.
    public static let sourceKind = "mock"
    /// Events per query.
    public static let eventsPerQuery = 3

    /// The events for `query`: ids `mock-<member>-<start>-<i>`, one a day from the window's
    /// first day at 09:00Z (clamped to its last day). Same query, same events.
    public static func events(for query: LaunchpadQuery) throws(ETLError) -> [Event] {
        let window = try query.window()
        var events: [Event] = []
        for index in 1...eventsPerQuery {
            let day = min(window.firstDay.adding(days: index - 1), window.lastDay)
            events.append(
                try Event(
                    id: "mock-\(query.member)-\(query.dataDateStart)-\(index)", parentId: "mock-\(query.member)",
                    employeeId: query.member, type: "bug:created", timeUTC: "\(day)T09:00:00Z", sourceKindId: sourceKind,
                    relationProperties: ["synthetic": true, "index": .int(index), "title": .string("Mock bug \(index) of \(query.member)")]
                ))
        }
        return events
    }
}
