/// What a load leaves as a newer read found it.
///
/// Loads need not come in the order of their reads: a long or retried extraction can be loaded
/// after a newer read of the same days. Its rows are then older than what is stored, so the load
/// of a batch whose read started at `readStart` (`staged_readers.recorded_at` of its first
/// reader) writes neither of these:
/// - a row the load of a read that started later added or changed (`events.loaded_by`, whose
///   `loaded_batches.read_started_at` is later): that read saw the event after this one did;
/// - an event the load of a read that started later removed (`removed_events`), when that read
///   saw at least what this one could (the same reader, or this read was anonymous): the event
///   was hidden, deleted or made private after this read saw it. A later read that finds it
///   again stores it again. A later read whose load came while this batch was staged also
///   records the events of this batch it did not find on the bugs and questions it read, as if
///   it had removed them (`supersedeOlderStaging`): never stored, they left no other trace.
///
/// The load counts such rows (`LoadOutcome.superseded`). A batch staged by a release that did
/// not record its read's start is loaded as before, over whatever is stored.
///
/// Both stores build their statements from these conditions, with their own placeholders.
enum NewerReads {
    /// SQL: the stored row `events` was last added or changed by a load whose read started
    /// after `readStart` (a placeholder or expression).
    static func storedSince(_ readStart: String) -> String {
        "EXISTS (SELECT 1 FROM loaded_batches b WHERE b.batch_id = events.loaded_by AND b.read_started_at > \(readStart))"
    }

    /// SQL: the event whose id is `id` (an expression) was removed by the load of a read that
    /// started after `readStart` and saw at least what `reader` (a placeholder: this read's
    /// `LaunchpadAccess` label) could; `anonymous` is a placeholder for `LaunchpadAccess.anonymous`.
    static func removedSince(id: String, readStart: String, reader: String, anonymous: String) -> String {
        """
        EXISTS (SELECT 1 FROM removed_events r WHERE r.id = \(id) AND r.read_started_at > \(readStart)
            AND (r.reader = \(reader) OR \(reader) = \(anonymous)))
        """
    }

    /// SQL: the number of rows of staged batch `batch` (a placeholder) the load leaves as a
    /// newer read found them: those a newer read removed, and those a newer read stored that
    /// differ from the stored row (`differs`: SQL comparing `events` with `staged_events`; an
    /// equal row would not be written anyway). `id` is the staged row's current event id (an
    /// expression on `staged_events`); `filter` is SQL the load also applies to staged rows.
    static func countSuperseded(
        batch: String, id: String, readStart: String, reader: String, anonymous: String, differs: String, filter: String = ""
    ) -> String {
        """
        SELECT count(*) FROM staged_events WHERE batch_id = \(batch) \(filter) AND (
            (\(removedSince(id: id, readStart: readStart, reader: reader, anonymous: anonymous))
                AND NOT EXISTS (SELECT 1 FROM events WHERE events.id = \(id) AND NOT (\(differs))))
            OR EXISTS (SELECT 1 FROM events WHERE events.id = \(id) AND \(storedSince(readStart)) AND \(differs)))
        """
    }

    /// SQL: the upsert of a tombstone for each event `SELECT`ed by `source` (which yields
    /// `id, removed_by, reader, read_started_at`): one per event and reader, keeping the
    /// latest removal of each reader (an older one does not replace a newer one's start).
    static func recordRemoved(_ source: String) -> String {
        """
        INSERT INTO removed_events (id, removed_by, reader, read_started_at) \(source)
        ON CONFLICT (id, reader) DO UPDATE SET removed_by = excluded.removed_by, read_started_at = excluded.read_started_at
            WHERE excluded.read_started_at > removed_events.read_started_at
        """
    }

    /// SQL: the tombstones (`recordRemoved`) a load leaves for the events older reads still
    /// staged hold that its own read did not find: bug and question events of the load's
    /// member and source (placeholders `member`, `source`), on its window's days (`firstDay`,
    /// `lastDay`), of the bugs and questions its read looked at (`StaleEvents.itemRead`), staged
    /// by a batch whose read started before this one's (`batch`; `reader` its reader) and not
    /// staged by it. Its read would have removed them, stored; never stored, nothing recorded
    /// that it did not find them, and the older read, loaded later, wrote back a comment hidden
    /// or deleted between the two reads. Only batches whose one reader is this load's or
    /// anonymous (`removedSince` holds back no other), and only rows staged by then: reads are
    /// ordered by their start, as everywhere here, so a row an older read staged after this
    /// read looked is held back too, and one it stages after this load is not.
    static func supersedeOlderStaging(
        member: String, source: String, firstDay: String, lastDay: String, batch: String, reader: String, anonymous: String
    ) -> String {
        let readStart = "(SELECT min(recorded_at) FROM staged_readers WHERE batch_id = \(batch))"
        return recordRemoved(
            """
            SELECT DISTINCT o.id, \(batch), \(reader), \(readStart) FROM staged_events o
            WHERE o.batch_id IN (
                    SELECT batch_id FROM staged_readers WHERE batch_id <> \(batch) GROUP BY batch_id
                    HAVING min(recorded_at) < \(readStart) AND min(reader) = max(reader) AND (min(reader) = \(reader) OR min(reader) = \(anonymous)))
                AND o.employee_id = \(member) AND o.source_kind_id = \(source) AND substr(o.event_time_utc, 1, 10) BETWEEN \(firstDay) AND \(lastDay)
                AND (o.event_type LIKE 'bug:%' OR o.event_type LIKE 'question:%') AND o.\(StaleEvents.itemRead(batch: batch))
                AND o.id NOT IN (SELECT id FROM staged_events WHERE batch_id = \(batch))
            """)
    }

    /// SQL: whether any load's read started after `readStart`; when none did, a load needs none
    /// of these conditions (its statements stay the plain ones).
    static func anyLoadSince(_ readStart: String) -> String {
        "SELECT count(*) FROM (SELECT 1 FROM loaded_batches WHERE read_started_at > \(readStart) LIMIT 1) AS later"
    }
}
