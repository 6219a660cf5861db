public import Foundation
import Logging
import Temporal
public import TemporalWorker

/// The period a scheduled Launchpad extraction covers: the day or the ISO week (Monday to
/// Sunday, UTC) before the one the run starts in.
public enum LaunchpadSchedulePeriod: String, Sendable, Codable, CaseIterable {
    /// The previous UTC day.
    case daily
    /// The previous ISO week, Monday to Sunday (UTC).
    case weekly
}

/// The input of `ScheduledLaunchpadFlow`: `{"member", "period", "service_root", "version"}`
/// (and optionally `application_name` and `lookback_days`). The date window is not part of it:
/// the flow computes it from its own start time, so one schedule serves every period.
public struct ScheduledLaunchpadInput: Sendable, Hashable, Codable {
    /// The Launchpad username.
    public var member: String
    /// Which previous period to extract.
    public var period: LaunchpadSchedulePeriod
    /// `production`, `staging`, … or a URL.
    public var serviceRoot: String
    /// Launchpad API version.
    public var version: String
    /// The Launchpad application name (nil: the default).
    public var applicationName: String?
    /// Days before the period that each run reads again (nil: `ScheduledLaunchpadFlow.defaultLookbackDays`).
    public var lookbackDays: Int?

    enum CodingKeys: String, CodingKey {
        case member, period, version
        case serviceRoot = "service_root"
        case applicationName = "application_name"
        case lookbackDays = "lookback_days"
    }

    /// Creates an input.
    public init(
        member: String, period: LaunchpadSchedulePeriod, serviceRoot: String = "production",
        version: String = "devel", applicationName: String? = nil, lookbackDays: Int? = nil
    ) {
        self.member = member
        self.period = period
        self.serviceRoot = serviceRoot
        self.version = version
        self.applicationName = applicationName
        self.lookbackDays = lookbackDays
    }

    /// Reads the input from JSON, with a non-retryable `ETLError` (`InvalidQuery`) saying what is wrong.
    public init(json: JSONValue) throws(ETLError) {
        guard let members = json.objectValue else {
            throw ETLError(
                .invalidQuery, "ScheduledLaunchpadFlow's input must be a JSON object like {\"member\": ..., \"period\": \"daily\"}",
                nonRetryable: true)
        }
        let known: Set<String> = ["member", "period", "service_root", "version", "application_name", "lookback_days"]
        if let unknown = members.keys.sorted().first(where: { !known.contains($0) }) {
            throw ETLError(
                .invalidQuery,
                "ScheduledLaunchpadFlow's input has no field '\(unknown)'; the fields are \(known.sorted().joined(separator: ", "))",
                nonRetryable: true)
        }
        guard let member = members["member"]?.stringValue, !member.isEmpty else {
            throw ETLError(.invalidQuery, "ScheduledLaunchpadFlow's input needs a 'member' string", nonRetryable: true)
        }
        guard let periodText = members["period"]?.stringValue, let period = LaunchpadSchedulePeriod(rawValue: periodText) else {
            throw ETLError(.invalidQuery, "ScheduledLaunchpadFlow's input needs 'period': \"daily\" or \"weekly\"", nonRetryable: true)
        }
        let text = { (key: String) throws(ETLError) -> String? in
            try ScheduledLaunchpadFlow.optionalText(members[key], key, of: "ScheduledLaunchpadFlow")
        }
        self.init(
            member: member, period: period,
            serviceRoot: try text("service_root") ?? "production",
            version: try text("version") ?? "devel",
            applicationName: try text("application_name"),
            lookbackDays: try ScheduledLaunchpadFlow.lookbackDays(members["lookback_days"], of: "ScheduledLaunchpadFlow"))
    }

    /// The `LaunchpadQuery` over `window` (validated).
    public func query(window: (start: String, end: String)) throws(ETLError) -> LaunchpadQuery {
        try LaunchpadQuery(
            applicationName: applicationName ?? LaunchpadQuery.defaultApplicationName, serviceRoot: serviceRoot,
            version: version, member: member, dataDateStart: window.start, dataDateEnd: window.end)
    }
}

/// What a Launchpad schedule starts: computes the previous day's or week's window from the
/// time the schedule meant the run to start (`TemporalScheduledStartTime`, so a catch-up run
/// after an outage covers its own period, not today's), or from the workflow clock
/// (`context.now`, deterministic on replay) when started by hand; then extracts, transforms and
/// loads exactly as `LaunchpadFlow` does (same activities, on the same queue).
public final class ScheduledLaunchpadFlow: Flow {
    /// `launchpad-task-queue`: it calls `LaunchpadFlow`'s activities, so it is served with it.
    public static let queueName = LaunchpadFlow.queueName

    /// Creates the instance for one run.
    public init() {}

    /// None of its own: `LaunchpadFlow`'s activities, registered on the same queue, do the work.
    public static func activities(environment: FlowEnvironment) -> [ActivityDefinition] { [] }

    /// Computes the window, then runs `LaunchpadFlow`'s extract → transform → load.
    /// - Throws: a non-retryable `ApplicationError` (`InvalidQuery`) for a bad input.
    public func run(context: WorkflowContext, input: JSONValue) async throws -> FlowResult {
        let query: LaunchpadQuery
        let catchUp: ScheduleCatchUp
        do {
            let scheduled = try ScheduledLaunchpadInput(json: input)
            let lookback = Self.lookbackDays(context, scheduled.lookbackDays)
            let period = Self.window(scheduled.period, now: context.info.scheduledStartTime ?? context.now, lookbackDays: lookback)
            let summary = try scheduled.query(window: period).summaryBase()
            catchUp = ScheduleCatchUp.plan(
                context, window: period, lookbackDays: lookback,
                subject: ["member": scheduled.member, "launchpad": summary["launchpad"] ?? ""])
            query = try scheduled.query(window: catchUp.window)
        } catch {
            throw LaunchpadProgress.failed(context, error.applicationError)
        }
        context.logger.info("ScheduledLaunchpadFlow window", metadata: ["start": "\(query.dataDateStart)", "end": "\(query.dataDateEnd)"])
        let loaded = try await LaunchpadFlow().run(context: context, input: FlowInput(query: query).json)
        let result = catchUp.annotate(loaded)
        // Days left unread make the run partial: say so where runs are found by stage too.
        if catchUp.unread != nil, LaunchpadProgress.isEnabled(context) {
            LaunchpadProgress.report(context, .partial, rows: result.itemsInserted)
        }
        return result
    }

    /// Days before its period that a scheduled run reads again unless its input says otherwise.
    ///
    /// Launchpad dates a comment or message that arrives by email from the email's `Date:`
    /// header (`MessageSet.fromEmail`), not from when it processed it: one written offline, or
    /// held in a mail queue, shows up after the run for its day has read that day. Reading the
    /// days before again finds it; loads are upserts, so what was read before changes nothing.
    public static let defaultLookbackDays = 2

    /// The largest `lookback_days` an input may ask for.
    public static let maxLookbackDays = 31

    /// The patch id under which runs read `lookbackDays` again (runs started before it replay
    /// with the window they had).
    static let lookbackPatch = "scheduled-lookback"

    /// The days to read before the period: none for runs started before the patch, else the
    /// input's `lookback_days` or the default.
    static func lookbackDays(_ context: WorkflowContext, _ requested: Int?) -> Int {
        context.patched(lookbackPatch) ? requested ?? defaultLookbackDays : 0
    }

    /// An optional string field of a flow's input: nil when absent or null (as
    /// `LaunchpadQuery` reads it: clients that write unset fields as null); a value of another
    /// type (a number, a list) is refused rather than read as absent, which would run against
    /// the default Launchpad or API version without a word.
    static func optionalText(_ value: JSONValue?, _ key: String, of flow: String) throws(ETLError) -> String? {
        guard let value, value != .null else { return nil }
        guard let text = value.stringValue else {
            throw ETLError(
                .invalidQuery, "\(flow)'s input has '\(key)' \(value.serialized()); give a string, or leave the field out",
                nonRetryable: true)
        }
        return text
    }

    /// Reads an input's `lookback_days` (absent or null: nil), or throws `InvalidQuery` naming `flow`.
    static func lookbackDays(_ value: JSONValue?, of flow: String) throws(ETLError) -> Int? {
        guard let value, !value.isNull else { return nil }
        guard case .int(let days) = value, (0...maxLookbackDays).contains(days) else {
            throw ETLError(
                .invalidQuery,
                "\(flow)'s input has 'lookback_days' \(value.serialized()); use a whole number of days from 0 to \(maxLookbackDays) (default \(defaultLookbackDays))",
                nonRetryable: true)
        }
        return days
    }

    /// The previous period before `now`, as inclusive `YYYY-MM-DD` dates (UTC), with its start
    /// moved `lookbackDays` earlier: for `.daily` the day before `now`'s day; for `.weekly`
    /// Monday to Sunday of the ISO week before `now`'s week. Pure.
    public static func window(_ period: LaunchpadSchedulePeriod, now: Date, lookbackDays: Int = 0) -> (start: String, end: String) {
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = TimeZone(identifier: "UTC") ?? TimeZone(secondsFromGMT: 0) ?? calendar.timeZone
        let today = calendar.startOfDay(for: now)
        let day: TimeInterval = 86_400
        switch period {
        case .daily:
            let yesterday = today.addingTimeInterval(-day)
            let start = yesterday.addingTimeInterval(-Double(lookbackDays) * day)
            return (format(start, calendar), format(yesterday, calendar))
        case .weekly:
            // weekday: 1 = Sunday … 7 = Saturday; days since this week's Monday: 0…6.
            let sinceMonday = (calendar.component(.weekday, from: today) + 5) % 7
            let thisMonday = today.addingTimeInterval(-Double(sinceMonday) * day)
            let start = thisMonday.addingTimeInterval(-Double(7 + lookbackDays) * day)
            let end = thisMonday.addingTimeInterval(-day)
            return (format(start, calendar), format(end, calendar))
        }
    }

    private static func format(_ date: Date, _ calendar: Calendar) -> String {
        let c = calendar.dateComponents([.year, .month, .day], from: date)
        let year = c.year ?? 1970
        let month = c.month ?? 1
        let day = c.day ?? 1
        return String(format: "%04d-%02d-%02d", year, month, day)
    }
}
