public import TemporalProto

#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
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
/// says otherwise). Empty `daysOfWeek`, `daysOfMonth` and `months` match all.
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
    /// Free text shown with the spec.
    public var comment: String

    /// Creates a calendar spec.
    public init(
        seconds: [Int] = [0], minutes: [Int] = [0], hours: [Int] = [0], daysOfWeek: [Int] = [],
        daysOfMonth: [Int] = [], months: [Int] = [], comment: String = ""
    ) {
        self.seconds = seconds
        self.minutes = minutes
        self.hours = hours
        self.daysOfWeek = daysOfWeek
        self.daysOfMonth = daysOfMonth
        self.months = months
        self.comment = comment
    }
}

/// When a schedule's action runs: intervals and/or calendar times (their union).
public struct ScheduleSpec: Sendable, Hashable {
    /// Periodic times.
    public var intervals: [ScheduleIntervalSpec]
    /// Calendar times.
    public var calendars: [ScheduleCalendarSpec]
    /// Random delay up to this much added to each action time (nil: none).
    public var jitter: Duration?
    /// IANA time zone of the calendar times (empty: UTC).
    public var timeZoneName: String

    /// Creates a spec.
    public init(
        intervals: [ScheduleIntervalSpec] = [], calendars: [ScheduleCalendarSpec] = [],
        jitter: Duration? = nil, timeZoneName: String = ""
    ) {
        self.intervals = intervals
        self.calendars = calendars
        self.jitter = jitter
        self.timeZoneName = timeZoneName
    }

    /// Every `every`, shifted by `offset`.
    public static func interval(every: Duration, offset: Duration = .zero) -> ScheduleSpec {
        ScheduleSpec(intervals: [ScheduleIntervalSpec(every: every, offset: offset)])
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
        var spec = Temporal_Api_Schedule_V1_ScheduleSpec()
        spec.interval = intervals.map { interval in
            var p = Temporal_Api_Schedule_V1_IntervalSpec()
            p.interval = .init(duration: interval.every)
            if interval.offset != .zero { p.phase = .init(duration: interval.offset) }
            return p
        }
        spec.structuredCalendar = calendars.map { calendar in
            var p = Temporal_Api_Schedule_V1_StructuredCalendarSpec()
            p.second = Self.ranges(calendar.seconds, all: nil)
            p.minute = Self.ranges(calendar.minutes, all: nil)
            p.hour = Self.ranges(calendar.hours, all: nil)
            p.dayOfWeek = Self.ranges(calendar.daysOfWeek, all: (0, 6))
            p.dayOfMonth = Self.ranges(calendar.daysOfMonth, all: (1, 31))
            p.month = Self.ranges(calendar.months, all: (1, 12))
            p.comment = calendar.comment
            return p
        }
        if let jitter { spec.jitter = .init(duration: jitter) }
        spec.timezoneName = timeZoneName
        return spec
    }

    /// Reads a spec back (as `describe` returns it; the server reports calendars in structured form).
    public init(proto: Temporal_Api_Schedule_V1_ScheduleSpec) {
        intervals = proto.interval.map {
            ScheduleIntervalSpec(every: Self.duration($0.interval), offset: Self.duration($0.phase))
        }
        calendars = proto.structuredCalendar.map { p in
            ScheduleCalendarSpec(
                seconds: Self.values(p.second, all: nil), minutes: Self.values(p.minute, all: nil),
                hours: Self.values(p.hour, all: nil), daysOfWeek: Self.values(p.dayOfWeek, all: (0, 6)),
                daysOfMonth: Self.values(p.dayOfMonth, all: (1, 31)), months: Self.values(p.month, all: (1, 12)),
                comment: p.comment)
        }
        jitter = proto.hasJitter ? Self.duration(proto.jitter) : nil
        timeZoneName = proto.timezoneName
    }

    private static func ranges(_ values: [Int], all: (Int, Int)?) -> [Temporal_Api_Schedule_V1_Range] {
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

    private static func values(_ ranges: [Temporal_Api_Schedule_V1_Range], all: (Int, Int)?) -> [Int] {
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
