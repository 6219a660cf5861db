/// An instant in UTC with microsecond precision, parsed tolerantly from Launchpad's timestamps.
///
/// Accepts `2024-03-05T14:22:31.482910+00:00`, `2004-08-20T00:00:00+00:00`,
/// `2023-10-01T00:00:00Z`, a space instead of `T`, 1–9 fraction digits, and any `±HH:MM` /
/// `±HHMM` offset (converted to UTC). Writes the canonical `YYYY-MM-DDTHH:MM:SS[.ffffff]Z`.
public struct UTCTimestamp: Sendable, Hashable, Comparable, CustomStringConvertible {
    /// Microseconds since 1970-01-01T00:00:00Z.
    public var microsecondsSinceEpoch: Int64

    /// Creates a timestamp from microseconds since the epoch.
    public init(microsecondsSinceEpoch: Int64) { self.microsecondsSinceEpoch = microsecondsSinceEpoch }

    /// Midnight UTC at the start of `date`.
    public init(startOf date: CivilDate) {
        microsecondsSinceEpoch = Int64(date.daysSinceEpoch) * 86_400_000_000
    }

    /// Parses a Launchpad/ISO-8601 timestamp; `nil` when it is not one.
    public init?(parsing text: String) {
        let bytes = Array(text.utf8)
        guard bytes.count >= 19, bytes[4] == UInt8(ascii: "-"), bytes[7] == UInt8(ascii: "-"),
            bytes[10] == UInt8(ascii: "T") || bytes[10] == UInt8(ascii: " ") || bytes[10] == UInt8(ascii: "t"),
            bytes[13] == UInt8(ascii: ":"), bytes[16] == UInt8(ascii: ":"),
            let year = CivilDate.number(bytes[0..<4]), let month = CivilDate.number(bytes[5..<7]),
            let day = CivilDate.number(bytes[8..<10]), let hour = CivilDate.number(bytes[11..<13]),
            let minute = CivilDate.number(bytes[14..<16]), let second = CivilDate.number(bytes[17..<19]),
            let date = CivilDate(year: year, month: month, day: day), hour < 24, minute < 60, second < 61
        else { return nil }
        var index = 19
        var micros = 0
        if index < bytes.count, bytes[index] == UInt8(ascii: ".") || bytes[index] == UInt8(ascii: ",") {
            index += 1
            var digits = 0
            while index < bytes.count, (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(bytes[index]) {
                if digits < 6 { micros = micros * 10 + Int(bytes[index] - UInt8(ascii: "0")) }
                digits += 1
                index += 1
            }
            guard digits > 0 else { return nil }
            for _ in digits..<max(digits, 6) { micros *= 10 }
        }
        var offsetSeconds = 0
        if index == bytes.count || bytes[index] == UInt8(ascii: "Z") || bytes[index] == UInt8(ascii: "z") {
            if index < bytes.count { index += 1 }
        } else if bytes[index] == UInt8(ascii: "+") || bytes[index] == UInt8(ascii: "-") {
            let sign = bytes[index] == UInt8(ascii: "-") ? -1 : 1
            index += 1
            let rest = bytes[index...]
            let hours: Int?
            let minutes: Int?
            if rest.count == 5, rest[rest.startIndex + 2] == UInt8(ascii: ":") {
                hours = CivilDate.number(rest.prefix(2))
                minutes = CivilDate.number(rest.suffix(2))
            } else if rest.count == 4 {
                hours = CivilDate.number(rest.prefix(2))
                minutes = CivilDate.number(rest.suffix(2))
            } else if rest.count == 2 {
                hours = CivilDate.number(rest)
                minutes = 0
            } else {
                return nil
            }
            guard let hours, let minutes, hours < 24, minutes < 60 else { return nil }
            offsetSeconds = sign * (hours * 3600 + minutes * 60)
            index = bytes.count
        } else {
            return nil
        }
        guard index == bytes.count else { return nil }
        let seconds = Int64(date.daysSinceEpoch) * 86_400 + Int64(hour * 3600 + minute * 60 + min(second, 59)) - Int64(offsetSeconds)
        microsecondsSinceEpoch = seconds * 1_000_000 + Int64(micros)
    }

    /// The UTC calendar date of this instant.
    public var date: CivilDate {
        let days =
            microsecondsSinceEpoch >= 0
            ? microsecondsSinceEpoch / 86_400_000_000
            : (microsecondsSinceEpoch - 86_399_999_999) / 86_400_000_000
        return CivilDate(daysSinceEpoch: Int(days))
    }

    /// Canonical text: `YYYY-MM-DDTHH:MM:SSZ`, with `.ffffff` when the fraction is not zero.
    public var description: String {
        let day = date
        let microsOfDay = microsecondsSinceEpoch - Int64(day.daysSinceEpoch) * 86_400_000_000
        let secondsOfDay = Int(microsOfDay / 1_000_000)
        let fraction = Int(microsOfDay % 1_000_000)
        var text =
            day.description + "T" + CivilDate.pad(secondsOfDay / 3600, 2) + ":" + CivilDate.pad(secondsOfDay / 60 % 60, 2)
            + ":" + CivilDate.pad(secondsOfDay % 60, 2)
        if fraction != 0 { text += "." + CivilDate.pad(fraction, 6) }
        return text + "Z"
    }

    /// Launchpad's own format for query parameters: `YYYY-MM-DDTHH:MM:SS.ffffff+00:00`.
    public var launchpadParameter: String {
        let canonical = description.dropLast()
        return (canonical.contains(".") ? String(canonical) : String(canonical) + ".000000") + "+00:00"
    }

    public static func < (lhs: UTCTimestamp, rhs: UTCTimestamp) -> Bool { lhs.microsecondsSinceEpoch < rhs.microsecondsSinceEpoch }
}
