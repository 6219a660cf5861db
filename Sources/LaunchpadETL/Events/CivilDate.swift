/// A proleptic Gregorian calendar date, with the day arithmetic the ETL needs (Monday of a
/// week, day ranges) and no dependence on Foundation's calendars or time zones.
public struct CivilDate: Sendable, Hashable, Comparable, CustomStringConvertible {
    public var year: Int
    public var month: Int
    public var day: Int

    /// Creates a date, or `nil` when the components do not name a real day.
    public init?(year: Int, month: Int, day: Int) {
        guard (1...9999).contains(year), (1...12).contains(month), day >= 1, day <= Self.daysIn(month: month, year: year) else {
            return nil
        }
        self.year = year
        self.month = month
        self.day = day
    }

    /// Parses exactly `YYYY-MM-DD`.
    public init?(iso text: String) {
        guard let (year, month, day) = Self.components(iso: text) else { return nil }
        self.init(year: year, month: month, day: day)
    }

    /// The numbers of `YYYY-MM-DD` text, whether or not they name a day.
    private static func components(iso text: String) -> (year: Int, month: Int, day: Int)? {
        let bytes = Array(text.utf8)
        guard bytes.count == 10, bytes[4] == UInt8(ascii: "-"), bytes[7] == UInt8(ascii: "-"), let year = number(bytes[0..<4]),
            let month = number(bytes[5..<7]), let day = number(bytes[8..<10])
        else { return nil }
        return (year, month, day)
    }

    /// What is wrong with `text` as a day (to follow it, quoted, in a message), or nil when it
    /// is one: not in `YYYY-MM-DD` form, or in that form but naming no day (2023-02-29, a 13th
    /// month), which "not a date in YYYY-MM-DD form" would wrongly call a matter of form.
    public static func refusal(iso text: String) -> String? {
        guard CivilDate(iso: text) == nil else { return nil }
        guard let (year, month, _) = components(iso: text) else { return "is not a date in YYYY-MM-DD form (e.g. 2024-03-01)" }
        guard (1...12).contains(month), (1...9999).contains(year) else { return "names no day: a month is 01 to 12, a year 0001 to 9999" }
        return "names no day: \(text.prefix(7)) has \(daysIn(month: month, year: year)) days"
    }

    /// Days since 1970-01-01 (negative before).
    public var daysSinceEpoch: Int {
        let y = month <= 2 ? year - 1 : year
        let era = (y >= 0 ? y : y - 399) / 400
        let yoe = y - era * 400
        let mp = (month + 9) % 12
        let doy = (153 * mp + 2) / 5 + day - 1
        let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy
        return era * 146097 + doe - 719468
    }

    /// The date `days` days after 1970-01-01.
    public init(daysSinceEpoch days: Int) {
        let z = days + 719468
        let era = (z >= 0 ? z : z - 146096) / 146097
        let doe = z - era * 146097
        let yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365
        let doy = doe - (365 * yoe + yoe / 4 - yoe / 100)
        let mp = (5 * doy + 2) / 153
        day = doy - (153 * mp + 2) / 5 + 1
        month = mp < 10 ? mp + 3 : mp - 9
        year = yoe + era * 400 + (month <= 2 ? 1 : 0)
    }

    /// The Monday on or before this date (the original's `get_week_start_date`).
    public var mondayOfWeek: CivilDate {
        let days = daysSinceEpoch
        let weekday = ((days + 3) % 7 + 7) % 7  // 1970-01-01 was a Thursday; Monday = 0.
        return CivilDate(daysSinceEpoch: days - weekday)
    }

    /// This date moved by `count` days.
    public func adding(days count: Int) -> CivilDate { CivilDate(daysSinceEpoch: daysSinceEpoch + count) }

    /// `YYYY-MM-DD`.
    public var description: String {
        Self.pad(year, 4) + "-" + Self.pad(month, 2) + "-" + Self.pad(day, 2)
    }

    public static func < (lhs: CivilDate, rhs: CivilDate) -> Bool { lhs.daysSinceEpoch < rhs.daysSinceEpoch }

    static func daysIn(month: Int, year: Int) -> Int {
        switch month {
        case 2: return (year % 4 == 0 && year % 100 != 0) || year % 400 == 0 ? 29 : 28
        case 4, 6, 9, 11: return 30
        default: return 31
        }
    }

    static func number(_ bytes: ArraySlice<UInt8>) -> Int? {
        var value = 0
        for byte in bytes {
            guard (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(byte) else { return nil }
            value = value * 10 + Int(byte - UInt8(ascii: "0"))
        }
        return value
    }

    static func pad(_ value: Int, _ width: Int) -> String {
        let text = String(value)
        return text.count >= width ? text : String(repeating: "0", count: width - text.count) + text
    }
}
