public import Foundation

/// One Launchpad member's activity over a date range (the seed's `LaunchpadQuery`).
///
/// Dates are inclusive calendar days in UTC: `data_date_start = 2024-03-01` and
/// `data_date_end = 2024-03-31` cover `[2024-03-01T00:00Z, 2024-04-01T00:00Z)`.
public struct LaunchpadQuery: Query, Hashable, Codable {
    public static let typeName = "LaunchpadQuery"
    /// The API versions Launchpad serves.
    public static let versions = ServiceRoot.apiVersions
    /// The application name used when `application_name` is absent (and `LP_APP_ID` unset).
    public static let defaultApplicationName = "temporal-etl-swift"

    /// Names the client (User-Agent, OAuth consumer key).
    public var applicationName: String
    /// `production`, `staging`, `qastaging`, `dogfood`, or a URL (validated by `ServiceRoot`).
    public var serviceRoot: String
    /// `beta`, `1.0` or `devel` (complete extraction needs `devel`).
    public var version: String
    /// The Launchpad username (lowercase, as in `~name`).
    public var member: String
    /// First day, `YYYY-MM-DD`.
    public var dataDateStart: String
    /// Last day (inclusive), `YYYY-MM-DD`.
    public var dataDateEnd: String

    enum CodingKeys: String, CodingKey, CaseIterable {
        case applicationName = "application_name"
        case serviceRoot = "service_root"
        case version, member
        case dataDateStart = "data_date_start"
        case dataDateEnd = "data_date_end"
    }

    /// Creates and validates a query.
    public init(
        applicationName: String = LaunchpadQuery.defaultApplicationName,
        serviceRoot: String = "production",
        version: String = "devel",
        member: String,
        dataDateStart: String,
        dataDateEnd: String
    ) throws(ETLError) {
        self.applicationName = applicationName
        self.serviceRoot = serviceRoot
        self.version = version
        self.member = member.lowercased()
        self.dataDateStart = dataDateStart
        self.dataDateEnd = dataDateEnd
        try validate()
    }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        var args: [String: JSONValue] = [:]
        for key in [CodingKeys.applicationName, .serviceRoot, .version, .member, .dataDateStart, .dataDateEnd] {
            if let value = try container.decodeIfPresent(String.self, forKey: key) { args[key.rawValue] = .string(value) }
        }
        self = try Self.fromDictionary(args)
    }

    /// Builds a query from `args`. Missing `application_name` defaults to
    /// `defaultApplicationName`, `service_root` to `production`, `version` to `devel`;
    /// `member`, `data_date_start` and `data_date_end` are required.
    public static func fromDictionary(_ arguments: [String: JSONValue]) throws(ETLError) -> LaunchpadQuery {
        let known = Set(CodingKeys.allCases.map(\.rawValue))
        if let unknown = arguments.keys.sorted().first(where: { !known.contains($0) }) {
            throw ETLError(
                .invalidQuery,
                "LaunchpadQuery has no argument '\(unknown)'; the arguments are \(CodingKeys.allCases.map(\.rawValue).joined(separator: ", "))",
                nonRetryable: true)
        }
        func string(_ key: CodingKeys, default fallback: String?) throws(ETLError) -> String {
            switch arguments[key.rawValue] {
            case .string(let text)?:
                return text
            case nil, .null?:
                if let fallback { return fallback }
                throw ETLError(.invalidQuery, "LaunchpadQuery needs '\(key.rawValue)'; add it to the flow input's args", nonRetryable: true)
            case let other?:
                throw ETLError(
                    .invalidQuery, "LaunchpadQuery argument '\(key.rawValue)' must be a string, got \(other.serialized())",
                    nonRetryable: true)
            }
        }
        return try LaunchpadQuery(
            applicationName: try string(.applicationName, default: defaultApplicationName),
            serviceRoot: try string(.serviceRoot, default: "production"),
            version: try string(.version, default: "devel"),
            member: try string(.member, default: nil),
            dataDateStart: try string(.dataDateStart, default: nil),
            dataDateEnd: try string(.dataDateEnd, default: nil)
        )
    }

    public func toDictionary() -> [String: JSONValue] {
        [
            CodingKeys.applicationName.rawValue: .string(applicationName),
            CodingKeys.serviceRoot.rawValue: .string(serviceRoot),
            CodingKeys.version.rawValue: .string(version),
            CodingKeys.member.rawValue: .string(member),
            CodingKeys.dataDateStart.rawValue: .string(dataDateStart),
            CodingKeys.dataDateEnd.rawValue: .string(dataDateEnd),
        ]
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(applicationName, forKey: .applicationName)
        try container.encode(serviceRoot, forKey: .serviceRoot)
        try container.encode(version, forKey: .version)
        try container.encode(member, forKey: .member)
        try container.encode(dataDateStart, forKey: .dataDateStart)
        try container.encode(dataDateEnd, forKey: .dataDateEnd)
    }

    /// `{"launchpad": "<application_name>@<service_root>:<version>", "member", "data_date_start", "data_date_end"}`.
    public func summaryBase() -> [String: String] {
        [
            "launchpad": "\(applicationName)@\(serviceRoot):\(version)",
            "member": member,
            "data_date_start": dataDateStart,
            "data_date_end": dataDateEnd,
        ]
    }

    /// The member's window of Launchpad events, with what the extraction could not read.
    public func loadedWindow(skipped: [String]) -> LoadedWindow? {
        LoadedWindow(
            member: EmployeeId.of(account: member), sourceKind: Event.launchpadSourceKind, firstDay: dataDateStart, lastDay: dataDateEnd,
            skipped: skipped,
            launchpad: (try? resolvedServiceRoot()).map(StoreLaunchpad.key))
    }

    /// The resolved service root.
    public func resolvedServiceRoot() throws(ETLError) -> ServiceRoot { try ServiceRoot(serviceRoot) }

    /// The half-open UTC window `[start 00:00, end + 1 day 00:00)`.
    public func window() throws(ETLError) -> ExtractionWindow {
        guard let start = CivilDate(iso: dataDateStart), let end = CivilDate(iso: dataDateEnd) else {
            throw ETLError(.invalidQuery, "invalid dates", nonRetryable: true)
        }
        return ExtractionWindow(firstDay: start, lastDay: end)
    }

    /// Whether the window has ended at `now` (false for dates that do not parse).
    public func hasEnded(now: Date) -> Bool {
        (try? window())?.hasEnded(by: now) ?? false
    }

    /// How long until the window ends, at `now`; nil once it has ended (or for dates that do
    /// not parse).
    public func timeUntilEnd(now: Date) -> Duration? {
        guard let window = try? window(), !window.hasEnded(by: now) else { return nil }
        let left = window.end.microsecondsSinceEpoch - ExtractionWindow.timestamp(now).microsecondsSinceEpoch
        return .microseconds(left)
    }

    /// Refuses a window that has not ended at `now`: activity after `now` would be missing from
    /// a run that finishes green. A window ends at midnight UTC after `data_date_end`.
    ///
    /// - Throws: a non-retryable `InvalidQuery` that says when the window ends.
    public func requireEnded(now: Date) throws(ETLError) {
        guard !hasEnded(now: now) else { return }
        let window = try window()
        let current = ExtractionWindow.timestamp(now)
        guard window.hasEnded(by: now) else {
            throw ETLError(
                .invalidQuery,
                "the window \(dataDateStart)…\(dataDateEnd) has not ended: it ends at \(window.end) (UTC), and it is \(current) now, so a run would miss what happens until then; choose a data_date_end before today (UTC), or start the run after the window has ended",
                nonRetryable: true)
        }
    }

    /// What makes `text` unsafe in an HTTP header value or a quoted OAuth parameter (a control
    /// character — CR LF would end the header and start another, or another request —, a
    /// quote or a backslash), nil when it is safe.
    static func headerUnsafe(_ text: String) -> String? {
        for scalar in text.unicodeScalars {
            if scalar.value < 0x20 || scalar.value == 0x7F {
                return "a control character (U+\(String(scalar.value, radix: 16, uppercase: true)))"
            }
            if scalar == "\"" || scalar == "\\" { return "a \(scalar == "\"" ? "quote" : "backslash")" }
        }
        return nil
    }

    private func validate() throws(ETLError) {
        if applicationName.trimmingSpaces.isEmpty {
            throw ETLError(
                .invalidQuery,
                "application_name is empty; name the application (it becomes the User-Agent and OAuth consumer key), e.g. \"\(Self.defaultApplicationName)\"",
                nonRetryable: true)
        }
        if let bad = Self.headerUnsafe(applicationName) {
            throw ETLError(
                .invalidQuery,
                "application_name \(JSONValue.string(applicationName).serialized()) has \(bad); it goes into every request's User-Agent and OAuth header, so it may not hold control characters (a line break would start another header), quotes or backslashes",
                nonRetryable: true)
        }
        _ = try ServiceRoot(serviceRoot)
        guard Self.versions.contains(version) else {
            throw ETLError(
                .invalidQuery,
                "version '\(version)' is not a Launchpad API version; use one of \(Self.versions.joined(separator: ", ")) (\"devel\" for complete extraction)",
                nonRetryable: true)
        }
        guard Self.isValidMemberName(member) else {
            throw ETLError(
                .invalidQuery,
                "member '\(member)' is not a Launchpad username; usernames are lowercase letters, digits and . + - (e.g. \"alice-example\"), without the leading '~'",
                nonRetryable: true)
        }
        for (field, value) in [("data_date_start", dataDateStart), ("data_date_end", dataDateEnd)] {
            if let refusal = CivilDate.refusal(iso: value) {
                throw ETLError(.invalidQuery, "\(field) '\(value)' \(refusal)", nonRetryable: true)
            }
        }
        guard let start = CivilDate(iso: dataDateStart), let end = CivilDate(iso: dataDateEnd), start <= end else {
            throw ETLError(
                .invalidQuery,
                "data_date_start \(dataDateStart) is after data_date_end \(dataDateEnd); swap them (both days are inclusive)",
                nonRetryable: true)
        }
    }

    /// The first day a query may start on: Launchpad opened in 2004 and holds nothing older. A
    /// window reaching far back is a mistake (a year 0001 would reach Launchpad as a date it
    /// refuses, after the run started; a year 1900 would store a window no report can show in
    /// its 5,000 weeks). Not part of `validate()`, which workflow code runs on every replay:
    /// runs started before the floor replay as they ran. The starter refuses such a window, and
    /// the flows do under the patch `earliestDayPatch` (`refuseTooEarly`).
    public static let earliestDay = CivilDate(year: 2004, month: 1, day: 1)!

    /// Why `day` (named `name` in the message) is too early for a query, or nil.
    public static func tooEarly(_ day: CivilDate, name: String) -> String? {
        guard day < earliestDay else { return nil }
        return "\(name) \(day) is before \(earliestDay): Launchpad opened in 2004 and holds nothing older; start on \(earliestDay) or later"
    }

    static func isValidMemberName(_ name: String) -> Bool {
        guard let first = name.unicodeScalars.first, ("a"..."z").contains(first) || ("0"..."9").contains(first) else { return false }
        return name.unicodeScalars.allSatisfy {
            ("a"..."z").contains($0) || ("0"..."9").contains($0) || $0 == "." || $0 == "+" || $0 == "-"
        }
    }
}
