/// The id of a `merge_proposal:reviewed` event: `mp-<proposal id>-r<unix seconds of the review>`.
///
/// Launchpad keeps one reviewer and one review date per merge proposal and overwrites both when
/// someone reviews it again, so the proposal alone does not name a review. Releases before
/// schema 5 (SQLite) / 4 (PostgreSQL) used `mp-<id>-r`, a slot that a later reviewer's run
/// overwrote, taking the earlier reviewer's event away. Such ids ("legacy") are renamed
/// wherever they still appear: in stored events by the migration, in staged rows at load, and
/// in `Event.init` for events built elsewhere (for example read back from a workflow history).
enum ReviewEventId {
    /// The event type these ids belong to.
    static let eventType = "merge_proposal:reviewed"

    /// The id of the review of merge proposal `parent` (`mp-<id>`) made at `time`.
    static func make(parent: String, time: UTCTimestamp) -> String {
        parent + "-r" + String(seconds(time))
    }

    /// `id` in the current scheme: a legacy `mp-<digits>-r` of a reviewed event gets the
    /// review's unix seconds appended; every other id is returned unchanged.
    static func current(id: String, type: String, time: UTCTimestamp) -> String {
        guard type == eventType, isLegacy(id) else { return id }
        return id + String(seconds(time))
    }

    /// Whether `id` is exactly `mp-<digits>-r`.
    static func isLegacy(_ id: String) -> Bool {
        let bytes = id.utf8
        guard bytes.count > 5, id.hasPrefix("mp-"), id.hasSuffix("-r") else { return false }
        let digits = bytes.dropFirst(3).dropLast(2)
        return digits.allSatisfy { (UInt8(ascii: "0")...UInt8(ascii: "9")).contains($0) }
    }

    /// Whole seconds since the epoch, rounded down (as SQL reads them from the stored time).
    static func seconds(_ time: UTCTimestamp) -> Int64 {
        let micros = time.microsecondsSinceEpoch
        return micros >= 0 ? micros / 1_000_000 : (micros - 999_999) / 1_000_000
    }

    /// SQLite: the id a staged or stored row should have, from its `id`, `event_type` and
    /// `event_time_utc` columns (canonical text, whose first 19 characters are the second).
    static let sqliteCurrentId = """
        CASE WHEN event_type = '\(eventType)' AND id GLOB 'mp-[0-9]*-r' AND substr(id, 4, length(id) - 5) NOT GLOB '*[^0-9]*'
        THEN id || strftime('%s', substr(event_time_utc, 1, 19)) ELSE id END
        """

    /// PostgreSQL: the same, for `staged_events` rows (whose time is canonical text).
    static let postgresCurrentId = """
        CASE WHEN event_type = '\(eventType)' AND id ~ '^mp-[0-9]+-r$'
        THEN id || floor(extract(epoch FROM event_time_utc::timestamptz))::bigint::text ELSE id END
        """
}
