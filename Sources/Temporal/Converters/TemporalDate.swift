#if canImport(FoundationEssentials)
public import FoundationEssentials
#else
public import Foundation
#endif

/// ISO-8601 date-times as Temporal SDKs exchange them in JSON payloads.
public enum TemporalDate {
    /// Formats as `2024-03-05T14:22:31.482Z` (UTC), or `2024-03-05T14:22:31.482137Z` when the
    /// date has microseconds: to the nearest microsecond, as Python writes dates (a date from
    /// Go or Python with microseconds came back a millisecond value, no longer equal to the
    /// one sent).
    ///
    /// Computed from whole microseconds: Foundation's ISO-8601 style truncates the fraction of
    /// a `Date` stored a hair below its value, writing about half of all millisecond values
    /// (`.001`, `.004`, …) one millisecond early, so other SDKs read another instant.
    public static func format(_ date: Date) -> String {
        let time = date.timeIntervalSince1970
        guard time.isFinite, abs(time) < 9e12 else { return "\(date)" }
        var whole = time.rounded(.down)
        var fraction = ((time - whole) * 1_000_000).rounded()
        if fraction >= 1_000_000 { (whole, fraction) = (whole + 1, 0) }
        let (seconds, microsecond) = (Int64(whole), Int64(fraction))
        let (days, secondOfDay) = floorDivision(seconds, 86_400)
        let (year, month, day) = civilDate(daysSinceEpoch: days)
        guard (0...9999).contains(year) else { return "\(date)" }
        var text = ""
        text.reserveCapacity(27)
        func append(_ value: Int64, width: Int) {
            let digits = String(value)
            text += String(repeating: "0", count: max(0, width - digits.count)) + digits
        }
        append(year, width: 4)
        text += "-"
        append(month, width: 2)
        text += "-"
        append(day, width: 2)
        text += "T"
        append(secondOfDay / 3600, width: 2)
        text += ":"
        append(secondOfDay / 60 % 60, width: 2)
        text += ":"
        append(secondOfDay % 60, width: 2)
        text += "."
        if microsecond % 1000 == 0 { append(microsecond / 1000, width: 3) } else { append(microsecond, width: 6) }
        text += "Z"
        return text
    }

    /// Whether `format` writes `date` as RFC 3339 (years 0000 to 9999), which `parse` and
    /// every SDK read back; Go's `time.MarshalJSON` refuses the others too.
    public static func isRepresentable(_ date: Date) -> Bool {
        let time = date.timeIntervalSince1970
        guard time.isFinite else { return false }
        // 0000-01-01T00:00:00Z and 10000-01-01T00:00:00Z, in seconds from 1970.
        return time >= -62_167_219_200 && time < 253_402_300_800
    }

    /// Quotient and non-negative remainder.
    private static func floorDivision(_ value: Int64, _ divisor: Int64) -> (Int64, Int64) {
        let remainder = ((value % divisor) + divisor) % divisor
        return ((value - remainder) / divisor, remainder)
    }

    /// The proleptic Gregorian (year, month, day) of a day count from 1970-01-01.
    private static func civilDate(daysSinceEpoch: Int64) -> (Int64, Int64, Int64) {
        let z = daysSinceEpoch + 719_468  // days since 0000-03-01
        let (era, dayOfEra) = floorDivision(z, 146_097)  // 400-year eras
        let yearOfEra = (dayOfEra - dayOfEra / 1460 + dayOfEra / 36524 - dayOfEra / 146_096) / 365
        let dayOfYear = dayOfEra - (365 * yearOfEra + yearOfEra / 4 - yearOfEra / 100)  // from March 1st
        let shiftedMonth = (5 * dayOfYear + 2) / 153
        let day = dayOfYear - (153 * shiftedMonth + 2) / 5 + 1
        let month = shiftedMonth < 10 ? shiftedMonth + 3 : shiftedMonth - 9
        return (yearOfEra + era * 400 + (month <= 2 ? 1 : 0), month, day)
    }

    /// Parses ISO-8601 date-times tolerantly: fractional seconds of any length or none; `Z`,
    /// `±HH:MM`, `±HHMM` or no zone (read as UTC, like Python's naive `isoformat()`); a space
    /// instead of `T`; or a date alone (midnight UTC). Returns nil for anything else.
    public static func parse(_ text: String) -> Date? {
        let s = Array(text.utf8)
        var i = 0
        func digits(_ n: Int) -> Int? {
            guard i + n <= s.count else { return nil }
            var v = 0
            for k in 0..<n {
                let c = s[i + k]
                guard c >= 48 && c <= 57 else { return nil }
                v = v * 10 + Int(c - 48)
            }
            i += n
            return v
        }
        func expect(_ c: UInt8) -> Bool {
            guard i < s.count, s[i] == c else { return false }
            i += 1
            return true
        }
        guard let year = digits(4), expect(45), let month = digits(2), expect(45), let day = digits(2) else { return nil }
        var hour = 0
        var minute = 0
        var second = 0
        var fraction = 0.0
        var offsetSeconds = 0
        if i < s.count {
            guard s[i] == 84 || s[i] == 116 || s[i] == 32 else { return nil }  // T, t or space
            i += 1
            guard let h = digits(2), expect(58), let m = digits(2) else { return nil }
            hour = h
            minute = m
            if expect(58) {
                guard let sec = digits(2) else { return nil }
                second = sec
                if i < s.count, s[i] == 46 || s[i] == 44 {  // . or ,
                    i += 1
                    // Up to nanoseconds as an integer, then one division: `.001` is 1/1000.
                    var digitsRead = 0
                    var nanoseconds = 0
                    while i < s.count, s[i] >= 48, s[i] <= 57 {
                        if digitsRead < 9 { nanoseconds = nanoseconds * 10 + Int(s[i] - 48) }
                        digitsRead += 1
                        i += 1
                    }
                    guard digitsRead > 0 else { return nil }
                    for _ in min(digitsRead, 9)..<9 { nanoseconds *= 10 }
                    fraction = Double(nanoseconds) / 1e9
                }
            }
            if i < s.count {
                if s[i] == 90 || s[i] == 122 {  // Z
                    i += 1
                } else if s[i] == 43 || s[i] == 45 {  // + or -
                    let sign = s[i] == 45 ? -1 : 1
                    i += 1
                    guard let oh = digits(2), oh <= 23 else { return nil }
                    _ = expect(58)
                    let om = digits(2) ?? 0
                    guard om <= 59 else { return nil }  // +05:99 is no offset
                    offsetSeconds = sign * (oh * 3600 + om * 60)
                } else {
                    return nil
                }
            }
        }
        guard i == s.count, (1...12).contains(month), hour < 24, minute < 60, second < 61 else { return nil }
        let days = daysSinceEpoch(year: Int64(year), month: Int64(month), day: Int64(day))
        // A day the month does not have (2023-02-29) comes back as another date.
        guard civilDate(daysSinceEpoch: days) == (Int64(year), Int64(month), Int64(day)) else { return nil }
        let seconds = days * 86_400 + Int64(hour * 3600 + minute * 60 + second - offsetSeconds)
        return Date(timeIntervalSince1970: Double(seconds) + fraction)
    }

    /// Days from 1970-01-01 to a proleptic Gregorian date (the inverse of `civilDate`), as
    /// `format` counts them, for dates before 1582 too.
    private static func daysSinceEpoch(year: Int64, month: Int64, day: Int64) -> Int64 {
        let y = month <= 2 ? year - 1 : year  // years from March 1st
        let era = (y >= 0 ? y : y - 399) / 400
        let yearOfEra = y - era * 400
        let shiftedMonth = month > 2 ? month - 3 : month + 9
        let dayOfYear = (153 * shiftedMonth + 2) / 5 + day - 1
        let dayOfEra = yearOfEra * 365 + yearOfEra / 4 - yearOfEra / 100 + dayOfYear
        return era * 146_097 + dayOfEra - 719_468
    }
}
