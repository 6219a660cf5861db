public import Foundation

/// The input of `TeamLaunchpadFlow`: `{"team", "data_date_start", "data_date_end"}` for one
/// window, or `{"team", "period": "daily"|"weekly"}` for a schedule (the window is then the
/// previous period before the scheduled time), plus optional `service_root`, `version`,
/// `application_name`, `max_parallel` (members extracted at once, default 4, 1…50),
/// `former_members` (true: also people whose membership ended but may have been active during
/// the window; see `LaunchpadClient.formerMembers`) and, with a period, `lookback_days` (see
/// `ScheduledLaunchpadFlow.defaultLookbackDays`).
public struct TeamLaunchpadInput: Sendable, Hashable, Codable {
    /// The Launchpad team whose direct members are extracted.
    public var team: String
    /// An explicit window (both set), or nil with `period` set.
    public var dataDateStart: String?
    /// The last day of an explicit window.
    public var dataDateEnd: String?
    /// The previous period to extract when run by a schedule.
    public var period: LaunchpadSchedulePeriod?
    /// `production`, `staging`, … or a URL.
    public var serviceRoot: String
    /// Launchpad API version.
    public var version: String
    /// The Launchpad application name (nil: the default).
    public var applicationName: String?
    /// Members whose flows run at once (child workflows in flight).
    public var maxParallel: Int
    /// With a period: days before it that each run reads again (nil: the default).
    public var lookbackDays: Int?
    /// Whether people whose membership ended, but may have been active during the window, are
    /// extracted too (by default the team's members as of the run).
    public var formerMembers: Bool

    /// The default number of members extracted at once.
    public static let defaultMaxParallel = 4

    enum CodingKeys: String, CodingKey {
        case team, period, version
        case dataDateStart = "data_date_start"
        case dataDateEnd = "data_date_end"
        case serviceRoot = "service_root"
        case applicationName = "application_name"
        case maxParallel = "max_parallel"
        case lookbackDays = "lookback_days"
        case formerMembers = "former_members"
    }

    /// Creates an input; give either both dates or a period.
    public init(
        team: String, dataDateStart: String? = nil, dataDateEnd: String? = nil, period: LaunchpadSchedulePeriod? = nil,
        serviceRoot: String = "production", version: String = "devel", applicationName: String? = nil,
        maxParallel: Int = TeamLaunchpadInput.defaultMaxParallel, lookbackDays: Int? = nil, formerMembers: Bool = false
    ) {
        self.team = team
        self.dataDateStart = dataDateStart
        self.dataDateEnd = dataDateEnd
        self.period = period
        self.serviceRoot = serviceRoot
        self.version = version
        self.applicationName = applicationName
        self.maxParallel = maxParallel
        self.lookbackDays = lookbackDays
        self.formerMembers = formerMembers
    }

    /// Decodes as `init(json:)` reads (an input without `former_members` is one without them).
    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        self.init(
            team: try c.decode(String.self, forKey: .team), dataDateStart: try c.decodeIfPresent(String.self, forKey: .dataDateStart),
            dataDateEnd: try c.decodeIfPresent(String.self, forKey: .dataDateEnd),
            period: try c.decodeIfPresent(LaunchpadSchedulePeriod.self, forKey: .period),
            serviceRoot: try c.decodeIfPresent(String.self, forKey: .serviceRoot) ?? "production",
            version: try c.decodeIfPresent(String.self, forKey: .version) ?? "devel",
            applicationName: try c.decodeIfPresent(String.self, forKey: .applicationName),
            maxParallel: try c.decodeIfPresent(Int.self, forKey: .maxParallel) ?? Self.defaultMaxParallel,
            lookbackDays: try c.decodeIfPresent(Int.self, forKey: .lookbackDays),
            formerMembers: try c.decodeIfPresent(Bool.self, forKey: .formerMembers) ?? false)
    }

    /// Reads and checks the input, with a non-retryable `InvalidQuery` error saying what is wrong.
    public init(json: JSONValue) throws(ETLError) {
        func invalid(_ message: String) -> ETLError { ETLError(.invalidQuery, "TeamLaunchpadFlow's input \(message)", nonRetryable: true) }
        guard let fields = json.objectValue else {
            throw invalid(
                "must be a JSON object like {\"team\": \"ubuntu-server\", \"data_date_start\": \"2024-03-01\", \"data_date_end\": \"2024-03-31\"}"
            )
        }
        let known = Set(CodingKeys.allRawValues)
        if let unknown = fields.keys.sorted().first(where: { !known.contains($0) }) {
            throw invalid("has no field '\(unknown)'; the fields are \(known.sorted().joined(separator: ", "))")
        }
        guard let team = fields["team"]?.stringValue, !team.trimmingCharacters(in: .whitespaces).isEmpty else {
            throw invalid("needs a 'team' string (the Launchpad team's name, as in launchpad.net/~team)")
        }
        // Said as a team here: the check of every member's query would call it a member.
        guard LaunchpadQuery.isValidMemberName(team.lowercased()) else {
            throw invalid(
                "has 'team' \(JSONValue.string(team).serialized()), which is not a Launchpad team name; names are lowercase letters, digits and . + - (e.g. \"ubuntu-server\"), without the leading '~'"
            )
        }
        // A null field is an absent one (clients that write unset fields as null), as for
        // `LaunchpadQuery` and the text fields.
        let present = { (key: String) -> JSONValue? in
            guard let value = fields[key], !value.isNull else { return Optional.none }  // JSONValue takes `nil` as null
            return value
        }
        var period: LaunchpadSchedulePeriod?
        if let value = present("period") {
            guard let text = value.stringValue, let parsed = LaunchpadSchedulePeriod(rawValue: text) else {
                throw invalid("has 'period' \(value.serialized()); use \"daily\" or \"weekly\"")
            }
            period = parsed
        }
        // A date of another type (a number) is refused, not read as absent.
        let start = try ScheduledLaunchpadFlow.optionalText(fields["data_date_start"], "data_date_start", of: "TeamLaunchpadFlow")
        let end = try ScheduledLaunchpadFlow.optionalText(fields["data_date_end"], "data_date_end", of: "TeamLaunchpadFlow")
        if period == nil && (start == nil || end == nil) {
            throw invalid("needs 'data_date_start' and 'data_date_end' (YYYY-MM-DD), or a 'period' (daily or weekly)")
        }
        if period != nil && (start != nil || end != nil) {
            throw invalid("has both a 'period' and dates; give one or the other")
        }
        var maxParallel = Self.defaultMaxParallel
        if let value = present("max_parallel") {
            guard case .int(let n) = value, (1...50).contains(n) else {
                throw invalid("has 'max_parallel' \(value.serialized()); use a whole number from 1 to 50")
            }
            maxParallel = n
        }
        var formerMembers = false
        if let value = present("former_members") {
            guard case .bool(let flag) = value else {
                throw invalid("has 'former_members' \(value.serialized()); use true or false")
            }
            formerMembers = flag
        }
        let lookbackDays = try ScheduledLaunchpadFlow.lookbackDays(present("lookback_days"), of: "TeamLaunchpadFlow")
        if lookbackDays != nil && period == nil {
            throw invalid("has 'lookback_days' without a 'period'; with dates, move 'data_date_start' instead")
        }
        let text = { (key: String) throws(ETLError) -> String? in
            try ScheduledLaunchpadFlow.optionalText(fields[key], key, of: "TeamLaunchpadFlow")
        }
        self.init(
            team: team.lowercased(), dataDateStart: start, dataDateEnd: end, period: period,
            serviceRoot: try text("service_root") ?? "production",
            version: try text("version") ?? "devel",
            applicationName: try text("application_name"), maxParallel: maxParallel, lookbackDays: lookbackDays,
            formerMembers: formerMembers)
    }

    /// The input as JSON (what a schedule or a starter sends).
    public var json: JSONValue {
        var fields: [String: JSONValue] = [
            "team": .string(team), "service_root": .string(serviceRoot), "version": .string(version),
            "max_parallel": .int(maxParallel),
        ]
        if let dataDateStart { fields["data_date_start"] = .string(dataDateStart) }
        if let dataDateEnd { fields["data_date_end"] = .string(dataDateEnd) }
        if let period { fields["period"] = .string(period.rawValue) }
        if let applicationName { fields["application_name"] = .string(applicationName) }
        if let lookbackDays { fields["lookback_days"] = .int(lookbackDays) }
        if formerMembers { fields["former_members"] = .bool(true) }  // absent otherwise: older workers accept the input
        return .object(fields)
    }

    /// The window: the explicit dates, or the previous `period` before `now` with its start
    /// moved `lookbackDays` earlier (the caller decides them: see `ScheduledLaunchpadFlow`).
    public func window(now: Date, lookbackDays: Int = 0) -> (start: String, end: String) {
        if let period { return ScheduledLaunchpadFlow.window(period, now: now, lookbackDays: lookbackDays) }
        return (dataDateStart ?? "", dataDateEnd ?? "")
    }

    /// One member's validated `LaunchpadQuery` over `window`.
    public func query(member: String, window: (start: String, end: String)) throws(ETLError) -> LaunchpadQuery {
        try LaunchpadQuery(
            applicationName: applicationName ?? LaunchpadQuery.defaultApplicationName, serviceRoot: serviceRoot,
            version: version, member: member, dataDateStart: window.start, dataDateEnd: window.end)
    }
}

extension TeamLaunchpadInput.CodingKeys: CaseIterable {
    static var allRawValues: [String] { allCases.map(\.rawValue) }
}

/// What the roster activity (`TeamLaunchpadFlow.rosterActivityName`) found: the people to run,
/// and one sentence per members listing that counted members it did not show.
public struct TeamRoster: Sendable, Hashable, Codable {
    /// The people, current members first, then former ones.
    public var people: [String]
    /// What the members listings did not show (see `LaunchpadClient.teamPeople`).
    public var hidden: [String]
    /// For former members, the days of the window they may have been members on (their
    /// flow reads only those); a person not named here is read over the whole window. Absent
    /// from the results of earlier releases, whose runs read every former member's whole window.
    public var periods: [String: Period]?

    /// Days `first` to `last`, `YYYY-MM-DD`, both included.
    public struct Period: Sendable, Hashable, Codable {
        public var first: String
        public var last: String
        public init(first: String, last: String) {
            self.first = first
            self.last = last
        }
    }

    /// Creates a roster.
    public init(people: [String], hidden: [String] = [], periods: [String: Period]? = nil) {
        self.people = people
        self.hidden = hidden
        self.periods = periods
    }
}
