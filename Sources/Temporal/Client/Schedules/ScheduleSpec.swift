public import TemporalProto

#if canImport(FoundationEssentials)
public import FoundationEssentials
#else
public import Foundation
#endif

// MARK: - Spec

/// What happens when a scheduled action is due while the previous one is still running.
public typealias ScheduleOverlapPolicy = Temporal_Api_Enums_V1_ScheduleOverlapPolicy
/// One schedule as `listSchedules` reports it.
public typealias ScheduleListEntry = Temporal_Api_Schedule_V1_ScheduleListEntry

/// Every `every` (e.g. 1 hour), shifted by `offset` from the Unix epoch (e.g. 15 minutes past).
public struct ScheduleIntervalSpec: Sendable, Hashable {
    /// The period.
    public var every: Duration
    /// The phase within the period.
    public var offset: Duration

    /// Creates an interval.
    public init(every: Duration, offset: Duration = .zero) {
        self.every = every
        self.offset = offset
    }
}

/// Calendar times matched in the schedule's time zone (UTC unless `ScheduleSpec.timeZoneName`
/// says otherwise). Empty `daysOfWeek`, `daysOfMonth` and `months` match all; empty `seconds`,
/// `minutes` and `hours` mean 0, as in Go's SDK (the server matches no time at all for an
/// empty one: such a schedule never ran, and read back as 0).
public struct ScheduleCalendarSpec: Sendable, Hashable {
    /// Seconds (0–59).
    public var seconds: [Int]
    /// Minutes (0–59).
    public var minutes: [Int]
    /// Hours (0–23).
    public var hours: [Int]
    /// Days of the week, 0 = Sunday … 6 = Saturday; empty: every day.
    public var daysOfWeek: [Int]
    /// Days of the month (1–31); empty: every day.
    public var daysOfMonth: [Int]
    /// Months (1–12); empty: every month.
    public var months: [Int]
    /// Years (e.g. 2027); empty: every year.
    public var years: [Int]
    /// Free text shown with the spec.
    public var comment: String

    /// Creates a calendar spec.
    public init(
        seconds: [Int] = [0], minutes: [Int] = [0], hours: [Int] = [0], daysOfWeek: [Int] = [],
        daysOfMonth: [Int] = [], months: [Int] = [], years: [Int] = [], comment: String = ""
    ) {
        self.seconds = seconds
        self.minutes = minutes
        self.hours = hours
        self.daysOfWeek = daysOfWeek
        self.daysOfMonth = daysOfMonth
        self.months = months
        self.years = years
        self.comment = comment
    }

    /// The wire form.
    public var proto: Temporal_Api_Schedule_V1_StructuredCalendarSpec {
        var p = Temporal_Api_Schedule_V1_StructuredCalendarSpec()
        p.second = ScheduleSpec.ranges(seconds.isEmpty ? [0] : seconds, all: nil)
        p.minute = ScheduleSpec.ranges(minutes.isEmpty ? [0] : minutes, all: nil)
        p.hour = ScheduleSpec.ranges(hours.isEmpty ? [0] : hours, all: nil)
        p.dayOfWeek = ScheduleSpec.ranges(daysOfWeek, all: (0, 6))
        p.dayOfMonth = ScheduleSpec.ranges(daysOfMonth, all: (1, 31))
        p.month = ScheduleSpec.ranges(months, all: (1, 12))
        p.year = years.isEmpty ? [] : ScheduleSpec.ranges(years, all: nil)
        p.comment = comment
        return p
    }

    /// Reads a calendar spec back.
    public init(proto p: Temporal_Api_Schedule_V1_StructuredCalendarSpec) {
        self.init(
            seconds: ScheduleSpec.values(p.second, all: nil), minutes: ScheduleSpec.values(p.minute, all: nil),
            hours: ScheduleSpec.values(p.hour, all: nil), daysOfWeek: ScheduleSpec.values(p.dayOfWeek, all: (0, 6)),
            daysOfMonth: ScheduleSpec.values(p.dayOfMonth, all: (1, 31)), months: ScheduleSpec.values(p.month, all: (1, 12)),
            years: p.year.isEmpty ? [] : ScheduleSpec.values(p.year, all: nil), comment: p.comment)
    }
}

/// When a schedule's action runs: intervals and/or calendar times (their union).
public struct ScheduleSpec: Sendable, Hashable {
    /// Periodic times.
    public var intervals: [ScheduleIntervalSpec]
    /// Calendar times.
    public var calendars: [ScheduleCalendarSpec]
    /// Cron expressions (`30 2 * * 1`, five to seven fields, `@daily`, `@every 1h`, `CRON_TZ=…`
    /// prefixes), as Go's `CronExpressions`: the server turns each into calendar times (`@every`
    /// into an interval, `CRON_TZ` into `timeZoneName`), so a spec read back has them there and
    /// none here.
    public var cronExpressions: [String] = []
    /// Random delay up to this much added to each action time (nil: none).
    public var jitter: Duration?
    /// IANA time zone of the calendar times (empty: UTC).
    public var timeZoneName: String
    /// Calendar times excluded from `intervals` and `calendars` (e.g. holidays).
    public var excludedCalendars: [ScheduleCalendarSpec]
    /// No action before this time (nil: none).
    public var startTime: Date?
    /// No action after this time (nil: none).
    public var endTime: Date?
    /// What the wire form holds that this type does not model (e.g. `timezone_data`), kept
    /// from `init(proto:)` so that a spec read back, changed and sent again loses none of it.
    var unmodelled: Temporal_Api_Schedule_V1_ScheduleSpec?

    /// Creates a spec.
    public init(
        intervals: [ScheduleIntervalSpec] = [], calendars: [ScheduleCalendarSpec] = [],
        jitter: Duration? = nil, timeZoneName: String = "", excludedCalendars: [ScheduleCalendarSpec] = [],
        startTime: Date? = nil, endTime: Date? = nil
    ) {
        self.intervals = intervals
        self.calendars = calendars
        self.jitter = jitter
        self.timeZoneName = timeZoneName
        self.excludedCalendars = excludedCalendars
        self.startTime = startTime
        self.endTime = endTime
    }

    /// Every `every`, shifted by `offset`.
    public static func interval(every: Duration, offset: Duration = .zero) -> ScheduleSpec {
        ScheduleSpec(intervals: [ScheduleIntervalSpec(every: every, offset: offset)])
    }

    /// At the times a cron expression (`30 2 * * 1`: Mondays at 02:30) names; see `cronExpressions`.
    public static func cron(_ expression: String, timeZoneName: String = "") -> ScheduleSpec {
        var spec = ScheduleSpec(timeZoneName: timeZoneName)
        spec.cronExpressions = [expression]
        return spec
    }

    /// At the calendar times `calendar` matches.
    public static func calendar(_ calendar: ScheduleCalendarSpec, timeZoneName: String = "") -> ScheduleSpec {
        ScheduleSpec(calendars: [calendar], timeZoneName: timeZoneName)
    }

    /// Every day at `hour:minute` (UTC unless `timeZoneName` is set).
    public static func daily(hour: Int, minute: Int = 0, timeZoneName: String = "") -> ScheduleSpec {
        .calendar(ScheduleCalendarSpec(minutes: [minute], hours: [hour], comment: "daily"), timeZoneName: timeZoneName)
    }

    /// Every week on `weekday` (0 = Sunday … 6 = Saturday) at `hour:minute`.
    public static func weekly(on weekday: Int, hour: Int, minute: Int = 0, timeZoneName: String = "") -> ScheduleSpec {
        .calendar(
            ScheduleCalendarSpec(minutes: [minute], hours: [hour], daysOfWeek: [weekday], comment: "weekly"),
            timeZoneName: timeZoneName)
    }

    /// The wire form.
    public var proto: Temporal_Api_Schedule_V1_ScheduleSpec {
        var spec = unmodelled ?? Temporal_Api_Schedule_V1_ScheduleSpec()
        spec.interval = intervals.map { interval in
            var p = Temporal_Api_Schedule_V1_IntervalSpec()
            p.interval = .init(duration: interval.every)
            if interval.offset != .zero { p.phase = .init(duration: interval.offset) }
            return p
        }
        spec.structuredCalendar = calendars.map(\.proto)
        spec.cronString = cronExpressions
        spec.excludeStructuredCalendar = excludedCalendars.map(\.proto)
        if let jitter { spec.jitter = .init(duration: jitter) } else { spec.clearJitter() }
        if let startTime { spec.startTime = Google_Protobuf_Timestamp(date: startTime) } else { spec.clearStartTime() }
        if let endTime { spec.endTime = Google_Protobuf_Timestamp(date: endTime) } else { spec.clearEndTime() }
        // The zone's rules go with its name: another name must not keep the old zone's data.
        if spec.timezoneName != timeZoneName { spec.timezoneData = Data() }
        spec.timezoneName = timeZoneName
        return spec
    }

    /// Reads a spec back (as `describe` returns it; the server reports calendars in structured
    /// form). Keeps what it does not model, for `proto`.
    public init(proto: Temporal_Api_Schedule_V1_ScheduleSpec) {
        self.init(
            intervals: proto.interval.map { ScheduleIntervalSpec(every: Self.duration($0.interval), offset: Self.duration($0.phase)) },
            calendars: proto.structuredCalendar.map(ScheduleCalendarSpec.init(proto:)),
            jitter: proto.hasJitter ? Self.duration(proto.jitter) : nil, timeZoneName: proto.timezoneName,
            excludedCalendars: proto.excludeStructuredCalendar.map(ScheduleCalendarSpec.init(proto:)),
            startTime: proto.hasStartTime ? proto.startTime.date : nil, endTime: proto.hasEndTime ? proto.endTime.date : nil)
        // Cron strings and unstructured calendars are what the server turns into structured
        // calendars (it reports none): kept, they would bring back a calendar taken out of
        // `calendars`.
        var rest = proto
        rest.cronString = []
        rest.calendar = []
        unmodelled = rest
    }

    /// Equal when the modelled parts are (what `init(proto:)` kept aside does not count).
    public static func == (lhs: ScheduleSpec, rhs: ScheduleSpec) -> Bool {
        lhs.intervals == rhs.intervals && lhs.calendars == rhs.calendars && lhs.cronExpressions == rhs.cronExpressions
            && lhs.jitter == rhs.jitter
            && lhs.timeZoneName == rhs.timeZoneName && lhs.excludedCalendars == rhs.excludedCalendars
            && lhs.startTime == rhs.startTime && lhs.endTime == rhs.endTime
    }

    /// Hashes the modelled parts (a subset of what `==` compares).
    public func hash(into hasher: inout Hasher) {
        hasher.combine(intervals)
        hasher.combine(calendars)
        hasher.combine(timeZoneName)
    }

    static func ranges(_ values: [Int], all: (Int, Int)?) -> [Temporal_Api_Schedule_V1_Range] {
        if values.isEmpty, let all {
            var r = Temporal_Api_Schedule_V1_Range()
            r.start = Int32(all.0)
            r.end = Int32(all.1)
            r.step = 1
            return [r]
        }
        return values.map { value in
            var r = Temporal_Api_Schedule_V1_Range()
            r.start = Int32(clamping: value)
            r.end = Int32(clamping: value)
            r.step = 1
            return r
        }
    }

    static func values(_ ranges: [Temporal_Api_Schedule_V1_Range], all: (Int, Int)?) -> [Int] {
        var out: [Int] = []
        for r in ranges {
            let start = Int(r.start)
            let end = max(start, Int(r.end))
            let step = max(1, Int(r.step))
            out.append(contentsOf: stride(from: start, through: end, by: step))
        }
        if let all, out == Array(all.0...all.1) { return [] }
        return ranges.isEmpty && all == nil ? [0] : out
    }

    private static func duration(_ d: Google_Protobuf_Duration) -> Duration {
        .seconds(d.seconds) + .nanoseconds(Int64(d.nanos))
    }
}
