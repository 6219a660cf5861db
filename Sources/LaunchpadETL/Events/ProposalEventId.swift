/// The ids of the merge proposal events Launchpad keeps one field of: its review
/// (`mp-<id>-r<unix seconds>`), its review request (`-rq<unix seconds>`) and its merge
/// (`-m<unix seconds>`).
///
/// Launchpad keeps one reviewer and review date per proposal, overwritten by the next review;
/// one review-request date, overwritten each time the proposal goes back to Needs review; one
/// merger and merge date, overwritten when a proposal taken out of Merged is merged again. So
/// the proposal alone does not name such an event: each is named by its time as well. Releases
/// before schema 5 (SQLite) / 4 (PostgreSQL) used `mp-<id>-r`, `-rq` and `-m`, slots in which
/// a later run overwrote the earlier event (a later reviewer's run took an earlier reviewer's
/// review away). Such ids ("legacy") are renamed wherever they still appear: in stored events
/// whenever a store is opened and holds any (`repairSQLite`/`repairPostgres`), in staged rows at load, and
/// in `Event.init` for events built elsewhere (for example read back from a workflow history).
enum ProposalEventId {
    /// The id suffix and event type of each such event.
    static let kinds: [(suffix: String, type: String)] = [
        ("r", "merge_proposal:reviewed"), ("rq", "merge_proposal:review_requested"), ("m", "merge_proposal:merged"),
    ]

    /// The id of the `suffix` event of merge proposal `parent` (`mp-<id>`) made at `time`.
    static func make(parent: String, suffix: String, time: UTCTimestamp) -> String {
        parent + "-" + suffix + String(seconds(time))
    }

    /// `id` in the current scheme: a legacy `mp-<digits>-<suffix>` of its kind's type gets the
    /// event's unix seconds appended; every other id is returned unchanged.
    static func current(id: String, type: String, time: UTCTimestamp) -> String {
        isLegacy(id, type: type) ? id + String(seconds(time)) : id
    }

    /// Whether `id` is exactly `mp-<digits>-<suffix>` for the suffix of `type`.
    static func isLegacy(_ id: String, type: String) -> Bool {
        guard let suffix = kinds.first(where: { $0.type == type })?.suffix, id.hasPrefix("mp-"), id.hasSuffix("-" + suffix) else {
            return false
        }
        let digits = id.utf8.dropFirst(3).dropLast(suffix.utf8.count + 1)
        return !digits.isEmpty && digits.allSatisfy { (UInt8(ascii: "0")...UInt8(ascii: "9")).contains($0) }
    }

    /// Whole seconds since the epoch, rounded down (as SQL reads them from the stored time).
    static func seconds(_ time: UTCTimestamp) -> Int64 {
        let micros = time.microsecondsSinceEpoch
        return micros >= 0 ? micros / 1_000_000 : (micros - 999_999) / 1_000_000
    }

    /// SQLite: whether the row of `table` (`id`, `event_type`; unqualified when nil) has a
    /// legacy id. Unqualified, it is also the condition of the partial index
    /// `events_legacy_proposal_ids` (schema 5): keep it as it is.
    static func sqliteIsLegacy(_ table: String?) -> String {
        let t = table.map { $0 + "." } ?? ""
        return "("
            + kinds.map { kind in
                "(\(t)event_type = '\(kind.type)' AND \(t)id GLOB 'mp-[0-9]*-\(kind.suffix)' AND \(t)id NOT GLOB 'mp-*[^0-9]*-\(kind.suffix)')"
            }
            .joined(separator: " OR ") + ")"
    }

    /// SQLite: the partial index on the rows with legacy ids (normally none), so that finding
    /// them at every open costs nothing on a large store.
    static let sqliteLegacyIndex = "CREATE INDEX IF NOT EXISTS events_legacy_proposal_ids ON events (id) WHERE \(sqliteIsLegacy(nil));"

    /// SQLite: 1 when `events` holds a legacy id (read through the partial index), else 0.
    static let sqliteHasLegacy = "SELECT EXISTS (SELECT 1 FROM events INDEXED BY events_legacy_proposal_ids WHERE \(sqliteIsLegacy(nil)))"

    /// SQLite: the current id of a row of `table` with a legacy id (its time is canonical
    /// text, whose first 19 characters are the second).
    static func sqliteRenamed(_ table: String) -> String {
        "\(table).id || strftime('%s', substr(\(table).event_time_utc, 1, 19))"
    }

    /// SQLite: the id a staged row should have when it is loaded.
    static let sqliteCurrentId =
        "CASE WHEN \(sqliteIsLegacy("staged_events")) THEN \(sqliteRenamed("staged_events")) ELSE staged_events.id END"

    /// SQLite: renames the legacy ids in `events` (dropping those whose current twin is
    /// there, written by a newer worker beside an older one). Run when a store is opened.
    static let repairSQLite = """
        DELETE FROM events WHERE \(sqliteIsLegacy("events"))
            AND EXISTS (SELECT 1 FROM events twin WHERE twin.id = \(sqliteRenamed("events")));
        UPDATE events SET id = \(sqliteRenamed("events")) WHERE \(sqliteIsLegacy("events"));
        """

    /// PostgreSQL: whether the row of `table` (unqualified when nil) has a legacy id; also
    /// the partial index's condition (schema 4): keep it as it is.
    static func postgresIsLegacy(_ table: String?) -> String {
        let t = table.map { $0 + "." } ?? ""
        return "("
            + kinds.map { kind in "(\(t)event_type = '\(kind.type)' AND \(t)id ~ '^mp-[0-9]+-\(kind.suffix)$')" }
            .joined(separator: " OR ") + ")"
    }

    /// PostgreSQL: the partial index on the rows with legacy ids (see `sqliteLegacyIndex`).
    static let postgresLegacyIndex = "CREATE INDEX IF NOT EXISTS events_legacy_proposal_ids ON events (id) WHERE \(postgresIsLegacy(nil));"

    /// PostgreSQL: 1 when `events` holds a legacy id, else 0.
    static let postgresHasLegacy = "SELECT EXISTS (SELECT 1 FROM events WHERE \(postgresIsLegacy(nil)))::int"

    /// PostgreSQL: the current id of a row of `table` with a legacy id; `time` is its time as
    /// a `timestamptz` expression.
    static func postgresRenamed(_ table: String, time: String) -> String {
        "\(table).id || floor(extract(epoch FROM \(time)))::bigint::text"
    }

    /// PostgreSQL: the id a staged row (time as canonical text) should have when it is loaded.
    static let postgresCurrentId = """
        CASE WHEN \(postgresIsLegacy("staged_events"))
        THEN \(postgresRenamed("staged_events", time: "staged_events.event_time_utc::timestamptz")) ELSE staged_events.id END
        """

    /// PostgreSQL: leaves out a legacy staged row whose current twin the batch also holds
    /// (staged after the upgrade by a resumed attempt): one upsert may not touch a row twice.
    static let postgresLegacyTwinFilter = """
        AND NOT (\(postgresIsLegacy("staged_events")) AND EXISTS (
            SELECT 1 FROM staged_events twin WHERE twin.batch_id = staged_events.batch_id
                AND twin.id = \(postgresRenamed("staged_events", time: "staged_events.event_time_utc::timestamptz"))))
        """

    // A review request someone other than the registrant made at the instant of the proposal's
    // request date: builders before version 6 (`EventBuilders.version`) credited it to the
    // registrant as `-rq<unix seconds>`, from that date; version 6 credits it to whoever asked,
    // as `-rr<reference id>`, from the vote reference, and makes no `-rq` at that instant (one
    // act, one id: the form that asks sets both in one transaction, at the same microsecond).
    // A re-read by version 6 stores the `-rr` beside the older `-rq`, which no stale-event
    // removal touches (proposal events are never removed): the act counted twice, once under
    // the wrong person. The `-rq` gives way wherever both are stored at the same instant, at each
    // load (for the proposals of the batch, whichever of the two it holds) and at each open.

    /// A review request named by its time (`-rq<unix seconds>`), as a condition on a row of
    /// `events` (unqualified), for PostgreSQL or SQLite; `byReference`: one named by its vote reference
    /// (`-rr<reference id>`) instead.
    static func isRequest(byReference: Bool, postgres: Bool) -> String {
        let suffix = byReference ? "rr" : "rq"
        return "event_type = 'merge_proposal:review_requested' AND "
            + (postgres ? "id ~ '^mp-[0-9]+-\(suffix)[0-9]+$'" : "id GLOB 'mp-[0-9]*-\(suffix)[0-9]*'")
    }

    /// SQL: the `-rq` rows of `events` with an `-rr` twin (same proposal, same instant), among
    /// the proposals `scope` (an SQL condition on `parent_id`, or "" for all) selects.
    static func requestsWithTwins(scope: String, postgres: Bool) -> String {
        let scoped = scope.isEmpty ? "" : " AND " + scope
        return """
            \(isRequest(byReference: false, postgres: postgres))\(scoped) AND (parent_id, event_time_utc) IN (
                SELECT parent_id, event_time_utc FROM events WHERE \(isRequest(byReference: true, postgres: postgres))\(scoped))
            """
    }

    /// 1 when batch `?1` / `$1` staged a review request (else its load skips the twin drop, which
    /// reads every stored review request).
    static func batchHasRequests(postgres: Bool) -> String {
        "SELECT EXISTS (SELECT 1 FROM staged_events WHERE batch_id = \(postgres ? "$1" : "?1") AND event_type = 'merge_proposal:review_requested')"
            + (postgres ? "::int" : "")
    }

    /// PostgreSQL: taken (to commit) before a load's twin drop, so that two loads of the two
    /// twins (different members, loading at once) drop in turn: the later one's statement sees
    /// the earlier one's rows (READ COMMITTED), and neither leaves its twin for lack of seeing
    /// the other's.
    static let postgresTwinLock = "SELECT pg_advisory_xact_lock(hashtextextended('review request twins', 2))"

    /// Deletes the `-rq` twins among the proposals of the review requests staged in batch `?1`
    /// (SQLite) or `$1` (PostgreSQL): run by its load.
    static func dropTwinsOfBatch(postgres: Bool) -> String {
        let batch = postgres ? "$1" : "?1"
        return "DELETE FROM events WHERE "
            + requestsWithTwins(
                scope:
                    "parent_id IN (SELECT parent_id FROM staged_events WHERE batch_id = \(batch) AND event_type = 'merge_proposal:review_requested')",
                postgres: postgres)
    }

    /// 1 when `events` holds an `-rq` twin anywhere (read at open, before any write).
    static func hasTwins(postgres: Bool) -> String {
        "SELECT EXISTS (SELECT 1 FROM events WHERE \(requestsWithTwins(scope: "", postgres: postgres)))" + (postgres ? "::int" : "")
    }

    /// Deletes every `-rq` twin (at open, when `hasTwins`).
    static func dropTwins(postgres: Bool) -> String { "DELETE FROM events WHERE " + requestsWithTwins(scope: "", postgres: postgres) }

    /// PostgreSQL: `repairSQLite`'s statements for `events` (time is `timestamptz`).
    static let repairPostgres = """
        DELETE FROM events WHERE \(postgresIsLegacy("events"))
            AND EXISTS (SELECT 1 FROM events twin WHERE twin.id = \(postgresRenamed("events", time: "events.event_time_utc")));
        UPDATE events SET id = \(postgresRenamed("events", time: "events.event_time_utc")) WHERE \(postgresIsLegacy("events"));
        """
}
