/// Who the report's windows read Launchpad as (`LoadedWindow.access`): an analyst reading the
/// counts needs to know whether private bugs, proposals and teams could be in them.
extension ActivityReport {
    /// One line per member, reader and span of days (windows that touch or overlap), with the
    /// days of the windows read so and how many there were, by member and first day; windows
    /// that record no reader (older releases, other sources) are left out.
    public var readers: [(member: String, reader: String, firstDay: String, lastDay: String, windows: Int)] {
        Self.grouped(windows, labels: { $0.access.map { [$0] } ?? [] }).map { ($0.member, $0.label, $0.firstDay, $0.lastDay, $0.windows) }
    }

    /// What the report says about its readers, one sentence each: a single sentence when every
    /// window that records one was read alike, else one per member, reader and span. Empty when no
    /// window records a reader.
    public var readerLines: [String] {
        let all = readers
        let distinct = Set(all.map(\.reader))
        guard let only = distinct.first else { return [] }
        if distinct.count == 1 {
            return ["every load that records its reader read Launchpad \(Self.describeReader(only))"]
        }
        return all.map { item in
            let reads = item.windows == 1 ? "" : " (\(item.windows) loads)"
            return "read \(Self.describeReader(item.reader)) for \(item.member), \(item.firstDay) to \(item.lastDay)\(reads)"
        }
    }

    /// How a reader reads, for the report.
    static func describeReader(_ access: String) -> String {
        switch access {
        case LaunchpadAccess.anonymous: "anonymously (public data only: private bugs, merge proposals and teams are not counted)"
        case LaunchpadAccess.mixed: "partly anonymously and partly with credentials, or with several (counts may mix what each could see)"
        default: "with the credentials \(access) (what that account may see)"
        }
    }
}
