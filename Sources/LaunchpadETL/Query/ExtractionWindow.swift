public import Foundation

/// The half-open UTC interval an extraction covers: `[firstDay 00:00Z, lastDay + 1 00:00Z)`.
public struct ExtractionWindow: Sendable, Hashable {
    /// The first day covered.
    public var firstDay: CivilDate
    /// The last day covered (inclusive).
    public var lastDay: CivilDate

    /// Creates a window covering `firstDay...lastDay`.
    public init(firstDay: CivilDate, lastDay: CivilDate) {
        self.firstDay = firstDay
        self.lastDay = lastDay
    }

    /// Inclusive lower bound.
    public var start: UTCTimestamp { UTCTimestamp(startOf: firstDay) }
    /// Exclusive upper bound.
    public var end: UTCTimestamp { UTCTimestamp(startOf: lastDay.adding(days: 1)) }

    /// `now` as a timestamp (microseconds, rounded down).
    public static func timestamp(_ now: Date) -> UTCTimestamp {
        UTCTimestamp(microsecondsSinceEpoch: Int64((now.timeIntervalSince1970 * 1_000_000).rounded(.down)))
    }

    /// Whether the window is over at `now`: its end (midnight UTC after the last day) has come.
    public func hasEnded(by now: Date) -> Bool { end <= Self.timestamp(now) }

    /// Whether `time` falls inside the window.
    public func contains(_ time: UTCTimestamp) -> Bool { time >= start && time < end }
}
