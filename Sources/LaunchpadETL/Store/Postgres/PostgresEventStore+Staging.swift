/// Staging on the shared PostgreSQL server: every worker of a queue, on any machine, sees the
/// same batches, checkpoints and load records (see `StagingStore`).
extension PostgresEventStore: StagingStore {
    @discardableResult
    public func stageEvents(_ events: [Event], batchId: String, claim: BatchClaim?) async throws(ETLError) -> Int {
        guard !events.isEmpty else { return 0 }
        let statements = Self.statements(for: events)
        return try await performTransaction { connection throws(ETLError) -> Int in
            try Self.lockForStaging(batchId, connection)
            try Self.require(claim, batchId, connection)
            var changed = 0
            for rows in statements {
                let values = rows.flatMap { [batchId] + Self.values(of: $0) }
                changed += try connection.query(Self.stageSQL(rows: rows.count), values).affected
            }
            return changed
        }
    }

    public func stagedBatch(_ batchId: String) async throws(ETLError) -> StagedBatch {
        try await perform { connection throws(ETLError) in try Self.reference(batchId, connection) }
    }

    public func stagedEvents(_ batchId: String) async throws(ETLError) -> [Event] {
        try await perform { connection throws(ETLError) in
            let result = try connection.query(
                "SELECT \(Self.stagedColumns) FROM staged_events WHERE batch_id = $1 ORDER BY id COLLATE \"C\"", [batchId])
            var events: [Event] = []
            events.reserveCapacity(result.rows.count)
            for row in result.rows { events.append(try Self.event(from: row)) }
            return events
        }
    }

    public func loadBatch(_ batch: StagedBatch) async throws(ETLError) -> LoadOutcome {
        do {
            return try await loadBatchOnce(batch)
        } catch  where PostgresConnection.isLockTimeout(error) {
            throw ETLError(
                error.code,
                "the load of batch '\(batch.batchId)' waited \(PostgresConnection.lockTimeoutSeconds) s for a lock another worker holds (the batch's\(batch.window.map { ", the windows of \($0.member)" } ?? ""), or the store's: its loads run one at a time): it is retried; if it keeps failing, look for a stalled session in pg_stat_activity and pg_locks, or for loads that take long",
                nonRetryable: false, cause: error.cause)
        }
    }

    private func loadBatchOnce(_ batch: StagedBatch) async throws(ETLError) -> LoadOutcome {
        try await performTransaction { connection throws(ETLError) -> LoadOutcome in
            // Durable whatever the server's default: once this returns, the flow records the load
            // and nothing loads the batch again (as SQLite's load is).
            try connection.execute("SET LOCAL synchronous_commit = on")
            // One loader per batch at a time, whichever worker it runs on, and no staging write
            // of the batch in between (they hold the same lock, shared).
            try connection.query("SELECT pg_advisory_xact_lock(hashtextextended($1, 0))", [batch.batchId])
            // Loads of a member's windows one at a time, whether they settle stale events or not:
            // one that settles must see the windows and rows of every load before it.
            if let window = batch.window {
                try connection.query("SELECT pg_advisory_xact_lock(hashtextextended($1, 1))", ["windows of " + window.member])
            }
            // And every load of the store one at a time, as SQLite's are: whether a newer read
            // was loaded (`NewerReads`) is decided before the rows are written, and a load of
            // another member's batch holding the same events (a team run) committing in between
            // was overwritten by this older read. Taken last, so waits always go the same way.
            try connection.query("SELECT pg_advisory_xact_lock(hashtextextended('loads of the store', 2))")
            if var recorded = try Self.loadedOutcome(batch.batchId, connection) {
                recorded.loadedBefore = true
                // Loaded by an attempt of an older worker, which kept no window: keep it now.
                try Self.recordWindow(of: batch, connection)
                return recorded
            }
            if let launchpad = batch.window?.launchpad {
                try connection.query(
                    "INSERT INTO store_launchpad (singleton, service_root) VALUES (1, $1) ON CONFLICT (singleton) DO NOTHING", [launchpad])
                try StoreLaunchpad.require(launchpad, boundTo: try Self.boundLaunchpad(connection), store: self.identity)
            }
            let actual = try Self.reference(batch.batchId, connection)
            guard actual.holdsTheSameRows(as: batch) else {
                throw ETLError(
                    .stagingMismatch,
                    "staged batch '\(batch.batchId)' \(actual.difference(from: batch)); re-run the extraction for this batch",
                    nonRetryable: false)
            }
            // When this batch's read started (nil: staged by an earlier release), and whether a
            // read that started later was loaded first (`NewerReads`). In UTC with its offset
            // written out: `::text` follows the session's DateStyle and TimeZone, whose zone
            // abbreviations read back ambiguously (Shanghai's "CST" as US Central, 14 h off).
            let readStart =
                try connection.query(
                    """
                    SELECT to_char(min(recorded_at) AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"')
                    FROM staged_readers WHERE batch_id = $1
                    """, [batch.batchId]
                ).rows.first?.first ?? nil
            let newerLoaded = try readStart.map { start throws(ETLError) in
                try connection.scalarInt(NewerReads.anyLoadSince("$1::timestamptz"), [start]) > 0
            }
            var superseded = 0
            let changed: Int
            if newerLoaded == true {
                let values = [batch.batchId, readStart, batch.window?.access, LaunchpadAccess.anonymous]
                superseded = try connection.scalarInt(Self.countSupersededSQL, values)
                changed = try connection.query(Self.loadUnlessNewerSQL, values).affected
            } else {
                changed = try connection.query(Self.loadSQL, [batch.batchId]).affected
            }
            var outcome = LoadOutcome(changed: changed, superseded: superseded)
            if try connection.scalarInt(ProposalEventId.batchHasRequests(postgres: true), [batch.batchId]) == 1 {
                try connection.query(ProposalEventId.postgresTwinLock)
                try connection.query(ProposalEventId.dropTwinsOfBatch(postgres: true), [batch.batchId])
            }
            if let window = batch.window, window.access != nil {
                try Self.settleStaleEvents(of: batch.batchId, window, &outcome, connection)
                if StaleEvents.refusal(window) == nil {
                    try connection.query(
                        Self.supersedeOlderStagingSQL,
                        [
                            window.member, window.sourceKind, window.firstDay, window.lastDay, batch.batchId, StaleEvents.reader(window),
                            LaunchpadAccess.anonymous,
                        ])
                }
            }
            let checkpoint =
                try connection.query("SELECT checkpoint FROM extraction_checkpoints WHERE batch_id = $1", [batch.batchId]).rows.first?
                .first ?? nil
            let builders = ExtractionCheckpoint.eventBuilders(inState: checkpoint)
            try Self.deleteStaging(batch.batchId, connection)
            try connection.query(
                """
                INSERT INTO loaded_batches (batch_id, row_count, changed_rows, removed_rows, kept_rows, kept_because, read_started_at,
                    superseded_rows, event_builders)
                VALUES ($1, $2::integer, $3::integer, $4::integer, $5::integer, $6, $7::timestamptz, $8::integer, $9::integer)
                """,
                [
                    batch.batchId, String(batch.rowCount), String(outcome.changed), outcome.removed.map { String($0) },
                    outcome.kept.map { String($0) }, outcome.keptBecause, readStart, String(outcome.superseded),
                    builders.map { String($0) },
                ])
            try Self.recordWindow(of: batch, connection)
            return outcome
        }
    }

    /// The staged rows of batch `$1` as `events` rows. Rows staged by a release before schema 4
    /// may carry a legacy proposal event id.
    private static func loadSQL(unless removed: String = "", upsert: String) -> String {
        """
        INSERT INTO events (\(columns), loaded_by)
        SELECT \(ProposalEventId.postgresCurrentId), parent_id, week::date, employee_id, source_kind_id, event_type,
               event_time_utc::timestamptz, relation_properties::jsonb, $1
        FROM staged_events WHERE batch_id = $1 \(ProposalEventId.postgresLegacyTwinFilter)\(removed) ORDER BY id COLLATE "C"
        \(upsert)
        """
    }

    /// The load of staged batch `$1` into `events`.
    static let loadSQL = loadSQL(upsert: loadUpsertClause)

    /// `loadSQL` leaving what a newer read stored or removed (`NewerReads`): `$2` is when the
    /// batch's read started, `$3` its reader, `$4` `LaunchpadAccess.anonymous`.
    static let loadUnlessNewerSQL = loadSQL(
        unless: " AND NOT "
            + NewerReads.removedSince(id: ProposalEventId.postgresCurrentId, readStart: "$2::timestamptz", reader: "$3", anonymous: "$4"),
        upsert: loadUpsertClause(unless: NewerReads.storedSince("$2::timestamptz")))

    /// How many rows `loadUnlessNewerSQL` leaves, with its parameters.
    static let countSupersededSQL = NewerReads.countSuperseded(
        batch: "$1", id: ProposalEventId.postgresCurrentId, readStart: "$2::timestamptz", reader: "$3", anonymous: "$4",
        differs: """
            (events.parent_id, events.week, events.employee_id, events.source_kind_id, events.event_type, events.event_time_utc,
             events.relation_properties)
            IS DISTINCT FROM
            (staged_events.parent_id, staged_events.week::date, staged_events.employee_id, staged_events.source_kind_id,
             staged_events.event_type, staged_events.event_time_utc::timestamptz, staged_events.relation_properties::jsonb)
            """,
        filter: ProposalEventId.postgresLegacyTwinFilter)

    /// `NewerReads.supersedeOlderStaging`: member, source, first and last day, batch, reader.
    static let supersedeOlderStagingSQL = NewerReads.supersedeOlderStaging(
        member: "$1::text", source: "$2::text", firstDay: "$3::text", lastDay: "$4::text", batch: "$5::text", reader: "$6::text",
        anonymous: "$7::text")

    /// Removes the stored events of `window` that batch `batchId`, still staged, does not hold,
    /// where that is safe, and counts the others (`StaleEvents`). Runs before the window is
    /// recorded, under the member's lock (`loadBatch`).
    static func settleStaleEvents(
        of batchId: String, _ window: LoadedWindow, _ outcome: inout LoadOutcome, _ connection: PostgresConnection
    ) throws(ETLError) {
        let values: [String?] = try StaleEvents.scopeValues(of: window, batchId: batchId)
        // The window's bug and question events of the member and source the batch lacks.
        let scope = """
            FROM events WHERE \(windowEvents)
                AND id NOT IN (SELECT \(ProposalEventId.postgresCurrentId) FROM staged_events WHERE batch_id = $7)
            """
        let earlier = try connection.query(
            """
            SELECT batch_id, access FROM loaded_windows
            WHERE member = $1 AND source_kind_id = $2 AND first_day <= $3::date AND last_day >= $4::date ORDER BY batch_id COLLATE "C"
            """, [window.member, window.sourceKind, window.lastDay, window.firstDay]
        ).rows.map { row in
            StaleEvents.EarlierRead(batchId: (row.first ?? nil) ?? "", access: row.count > 1 ? row[1] : nil)
        }
        outcome.removed = 0
        // When this batch's read started (its first reader's record; NULL for a batch an older
        // release staged, which then removes nothing): loads that ended after it may have read
        // Launchpad later than this read did.
        let readStart = "(SELECT min(recorded_at) FROM staged_readers WHERE batch_id = $7)"
        // A load since then of a window holding the event's day: its read may have seen the
        // event unchanged (an unchanged row keeps its older `loaded_by`).
        let seenSince = """
            EXISTS (SELECT 1 FROM loaded_windows n WHERE n.member = $1 AND n.source_kind_id = $2 AND n.loaded_at >= \(readStart)
                AND (events.event_time_utc AT TIME ZONE 'UTC')::date BETWEEN n.first_day AND n.last_day)
            """
        let mayRemove = StaleEvents.mayRemove(window, earlier: earlier)
        if mayRemove {
            // Only events a load of the same reader, or an anonymous one, added or changed, and
            // finished before this read started. Each is remembered (`NewerReads`), so a read
            // older than this one, loaded later, does not store it again.
            outcome.removed = try connection.scalarInt(
                """
                WITH gone AS (
                    DELETE \(scope) AND \(StaleEvents.itemRead(batch: "$7")) AND loaded_by IN (
                        SELECT batch_id FROM loaded_windows WHERE member = $1 AND source_kind_id = $2 AND (access = $8 OR access = $9)
                            AND loaded_at < \(readStart))
                        AND NOT \(seenSince)
                    RETURNING id),
                noted AS (\(NewerReads.recordRemoved("SELECT id, $7, $8, \(readStart) FROM gone")))
                SELECT count(*) FROM gone
                """, values + [StaleEvents.reader(window), LaunchpadAccess.anonymous])
        }
        let kept = try connection.scalarInt("SELECT count(*) \(scope)", values)
        outcome.kept = kept
        guard kept > 0 else { return }
        guard mayRemove else {
            outcome.keptBecause = StaleEvents.keptBecause(window, earlier: earlier)
            return
        }
        let newerLoad = """
            (\(readStart) IS NULL OR \(seenSince) OR loaded_by IN (
                SELECT batch_id FROM loaded_windows WHERE member = $1 AND source_kind_id = $2 AND loaded_at >= \(readStart)))
            """
        let notRead = "NOT \(StaleEvents.itemRead(batch: "$7"))"
        outcome.keptBecause = StaleEvents.keptBecause(
            window, earlier: earlier, kept: kept, newer: try connection.scalarInt("SELECT count(*) \(scope) AND \(newerLoad)", values),
            notRead: try connection.scalarInt("SELECT count(*) \(scope) AND \(notRead)", values),
            either: try connection.scalarInt("SELECT count(*) \(scope) AND (\(newerLoad) OR \(notRead))", values))
    }

    /// The window's bug and question events of its member and source, with `StaleEvents.scopeValues`'
    /// first six parameters; `week` first, for the index.
    static let windowEvents = """
        employee_id = $1 AND source_kind_id = $2 AND week BETWEEN $3::date AND $4::date
            AND event_time_utc >= $5::date::timestamp AT TIME ZONE 'UTC' AND event_time_utc < $6::date::timestamp AT TIME ZONE 'UTC'
            AND \(StaleEvents.removableTypes)
        """

    public func storedItems(in window: LoadedWindow) async throws(ETLError) -> [StoredItem] {
        let values: [String?] = Array(try StaleEvents.scopeValues(of: window, batchId: "").prefix(6))
        return try await perform { connection throws(ETLError) in
            try connection.query(
                """
                SELECT parent_id, max(CASE WHEN relation_properties->>'link' LIKE '%/+bug/%' THEN relation_properties->>'link' END)
                FROM events WHERE \(Self.windowEvents) GROUP BY parent_id ORDER BY parent_id COLLATE "C"
                """, values
            ).rows.map { row in StoredItem(parentId: (row.first ?? nil) ?? "", targetLink: row.count > 1 ? row[1] : nil) }
        }
    }

    public func boundLaunchpad() async throws(ETLError) -> String? {
        try await perform { connection throws(ETLError) in try Self.boundLaunchpad(connection) }
    }

    public func requireLaunchpad(_ launchpad: String) async throws(ETLError) {
        try await perform { connection throws(ETLError) in
            try StoreLaunchpad.require(launchpad, boundTo: try Self.boundLaunchpad(connection), store: self.identity)
        }
    }

    /// The Launchpad the store is bound to, if any.
    static func boundLaunchpad(_ connection: PostgresConnection) throws(ETLError) -> String? {
        try connection.query("SELECT service_root FROM store_launchpad WHERE singleton = 1").rows.first?.first ?? nil
    }

    /// Records what the load of `batch` covered (once per batch), if the reference says.
    static func recordWindow(of batch: StagedBatch, _ connection: PostgresConnection) throws(ETLError) {
        guard let window = batch.window else { return }
        try connection.query(
            """
            INSERT INTO loaded_windows (batch_id, member, source_kind_id, first_day, last_day, skipped, access)
            VALUES ($1, $2, $3, $4::date, $5::date, $6, $7) ON CONFLICT (batch_id) DO NOTHING
            """, [batch.batchId, window.member, window.sourceKind, window.firstDay, window.lastDay, window.storedSkipped, window.access])
    }

    /// What every load recorded it covered, ordered by member, first day and batch.
    public func loadedWindows() async throws(ETLError) -> [LoadedWindow] {
        try await perform { connection throws(ETLError) in try Self.loadedWindows(connection) }
    }

    static func loadedWindows(_ connection: PostgresConnection) throws(ETLError) -> [LoadedWindow] {
        let result = try connection.query(
            """
            SELECT w.batch_id, w.member, w.source_kind_id, to_char(w.first_day, 'YYYY-MM-DD'), to_char(w.last_day, 'YYYY-MM-DD'),
                   w.skipped, w.access, b.kept_rows, b.kept_because,
                   to_char(coalesce(b.read_started_at, w.loaded_at) AT TIME ZONE 'UTC', 'YYYY-MM-DD HH24:MI:SS.US'), b.event_builders
            FROM loaded_windows w LEFT JOIN loaded_batches b ON b.batch_id = w.batch_id
            ORDER BY w.member COLLATE "C", w.first_day, w.batch_id COLLATE "C"
            """)
        return result.rows.map { row in
            func column(_ index: Int) -> String? { index < row.count ? row[index] : nil }
            var window = LoadedWindow(
                batchId: column(0) ?? "", member: column(1) ?? "", sourceKind: column(2) ?? "", firstDay: column(3) ?? "",
                lastDay: column(4) ?? "", skipped: LoadedWindow.skipped(fromStored: column(5)), access: column(6))
            window.keptNotFound = LoadedWindow.keptNote(rows: column(7).flatMap { Int($0) }, reason: column(8))
            window.readStartedAt = column(9)
            window.eventBuilders = column(10).flatMap { Int($0) }
            return window
        }
    }

    /// How many events and discovered items are staged under `batchId`.
    public func stagingProgress(_ batchId: String) async throws(ETLError) -> StagingProgress {
        try await perform { connection throws(ETLError) in
            let rows = try connection.scalarInt("SELECT count(*) FROM staged_events WHERE batch_id = $1", [batchId])
            let items = try connection.scalarInt("SELECT count(*) FROM staged_items WHERE batch_id = $1", [batchId])
            return StagingProgress(rows: rows, items: items)
        }
    }

    public func loadedRowCount(_ batchId: String) async throws(ETLError) -> Int? {
        try await perform { connection throws(ETLError) in try Self.loadedRowCount(batchId, connection) }
    }

    public func deleteStagedBatch(_ batchId: String) async throws(ETLError) {
        try await performTransaction { connection throws(ETLError) in
            // The staging writes' shared lock: a load (exclusive) is never cut short between its
            // check and its copy, and a loaded batch is not touched.
            try Self.lockForStaging(batchId, connection)
            try Self.deleteStaging(batchId, connection)
        }
    }

    public func saveCheckpointState(_ text: String, batchId: String) async throws(ETLError) {
        _ = try await performTransaction { connection throws(ETLError) in
            try Self.lockForStaging(batchId, connection)
            return try connection.query(
                """
                INSERT INTO extraction_checkpoints (batch_id, checkpoint) VALUES ($1, $2)
                ON CONFLICT (batch_id) DO UPDATE SET checkpoint = excluded.checkpoint, updated_at = now()
                """, [batchId, text])
        }
    }

    public func replaceCheckpointState(_ text: String, batchId: String, generation: String?) async throws(ETLError) {
        _ = try await performTransaction { connection throws(ETLError) in
            try Self.lockForStaging(batchId, connection)
            // The row lock orders this against a concurrent restart's DELETE: after it, no row.
            let stored =
                try connection.query("SELECT checkpoint FROM extraction_checkpoints WHERE batch_id = $1 FOR UPDATE", [batchId]).rows.first?
                .first ?? nil
            try ExtractionCheckpoint.requireGeneration(generation, stored: stored, batchId: batchId)
            return try connection.query(
                "UPDATE extraction_checkpoints SET checkpoint = $2, updated_at = now() WHERE batch_id = $1", [batchId, text])
        }
    }

    public func loadCheckpointState(batchId: String) async throws(ETLError) -> String? {
        try await perform { connection throws(ETLError) in
            try connection.query("SELECT checkpoint FROM extraction_checkpoints WHERE batch_id = $1", [batchId]).rows.first?.first ?? nil
        }
    }

    public func recordReader(_ reader: String, batchId: String, claim: BatchClaim?) async throws(ETLError) {
        try await performTransaction { connection throws(ETLError) in
            try Self.lockForStaging(batchId, connection)
            try Self.require(claim, batchId, connection)
            try connection.query(
                "INSERT INTO staged_readers (batch_id, reader, recorded_at) VALUES ($1, $2, clock_timestamp()) ON CONFLICT (batch_id, reader) DO NOTHING",
                [batchId, reader])
        }
    }

    public func readers(batchId: String) async throws(ETLError) -> [String] {
        try await perform { connection throws(ETLError) in
            try connection.query("SELECT reader FROM staged_readers WHERE batch_id = $1 ORDER BY reader COLLATE \"C\"", [batchId]).rows
                .map { ($0.first ?? nil) ?? "" }
        }
    }

    public func stageItems(_ items: [(key: String, payload: JSONValue)], kind: StagedItemKind, batchId: String, claim: BatchClaim?)
        async throws(ETLError)
    {
        guard !items.isEmpty else { return }
        // The last payload of a key repeated within `items` wins, as in SQLite.
        var latest: [String: String] = [:]
        for item in items { latest[item.key] = item.payload.serialized() }
        let rows = latest.sorted { $0.key < $1.key }
        try await performTransaction { connection throws(ETLError) in
            try Self.lockForStaging(batchId, connection)
            try Self.require(claim, batchId, connection)
            var start = 0
            while start < rows.count {
                let chunk = rows[start..<min(rows.count, start + Self.rowsPerStatement)]
                var sql = "INSERT INTO staged_items (batch_id, kind, item_key, payload) VALUES "
                var values: [String?] = []
                for (index, row) in chunk.enumerated() {
                    let p = index * 4
                    sql += (index > 0 ? ", " : "") + "($\(p + 1), $\(p + 2), $\(p + 3), $\(p + 4))"
                    values += [batchId, kind.rawValue, row.key, row.value]
                }
                sql += " ON CONFLICT (batch_id, kind, item_key) DO UPDATE SET payload = excluded.payload"
                try connection.query(sql, values)
                start += chunk.count
            }
        }
    }

    public func stagedItems(kind: StagedItemKind, batchId: String, after cursor: String?, limit: Int) async throws(ETLError) -> [(
        key: String, payload: JSONValue
    )] {
        let rows = try await perform { connection throws(ETLError) in
            try connection.query(
                """
                SELECT item_key, payload FROM staged_items WHERE batch_id = $1 AND kind = $2 AND item_key COLLATE "C" > $3
                ORDER BY item_key COLLATE "C" LIMIT $4::integer
                """, [batchId, kind.rawValue, cursor ?? "", String(limit)]
            ).rows
        }
        var items: [(key: String, payload: JSONValue)] = []
        for row in rows {
            let key = row.first.flatMap { $0 } ?? ""
            guard row.count > 1, let text = row[1], let payload = try? JSONParser.parse(text) else {
                throw ETLError(
                    .database, "staged item \(kind.rawValue) '\(key)' of batch '\(batchId)' is not valid JSON", nonRetryable: false)
            }
            items.append((key, payload))
        }
        return items
    }

    static let stagedColumns = "id, parent_id, week, employee_id, source_kind_id, event_type, event_time_utc, relation_properties"

    /// `INSERT INTO staged_events … VALUES ($1 … $9), … ON CONFLICT (batch_id, id) …` for `rows` rows.
    static func stageSQL(rows: Int) -> String {
        var sql = "INSERT INTO staged_events (batch_id, \(stagedColumns)) VALUES "
        for row in 0..<rows {
            let p = row * 9
            sql += (row > 0 ? ", " : "") + "(" + (1...9).map { "$\(p + $0)" }.joined(separator: ", ") + ")"
        }
        return sql + """
             ON CONFLICT (batch_id, id) DO UPDATE SET
                parent_id = excluded.parent_id, week = excluded.week, employee_id = excluded.employee_id,
                source_kind_id = excluded.source_kind_id, event_type = excluded.event_type,
                event_time_utc = excluded.event_time_utc, relation_properties = excluded.relation_properties
            WHERE (staged_events.parent_id, staged_events.week, staged_events.employee_id, staged_events.source_kind_id,
                   staged_events.event_type, staged_events.event_time_utc, staged_events.relation_properties)
                  IS DISTINCT FROM
                  (excluded.parent_id, excluded.week, excluded.employee_id, excluded.source_kind_id,
                   excluded.event_type, excluded.event_time_utc, excluded.relation_properties)
            """
    }

    /// Count and SHA-256 of the staged rows in id order, hashed exactly as the SQLite store does.
    /// Ids are ordered bytewise (`COLLATE "C"`), as SQLite orders them.
    static func reference(_ batchId: String, _ connection: PostgresConnection) throws(ETLError) -> StagedBatch {
        let result = try connection.query(
            "SELECT \(stagedColumns) FROM staged_events WHERE batch_id = $1 ORDER BY id COLLATE \"C\"", [batchId])
        var hash = SHA256()
        for row in result.rows { StagedRowHash.update(&hash, columns: row.map { $0 ?? "" }) }
        var batch = StagedBatch(batchId: batchId, rowCount: result.rows.count, sha256: hash.hexDigest())
        let items = try connection.query(
            "SELECT kind, item_key FROM staged_items WHERE batch_id = $1 AND kind = ANY($2::text[]) ORDER BY kind COLLATE \"C\", item_key COLLATE \"C\"",
            [batchId, "{" + StagedRowHash.itemKindsALoadReads.joined(separator: ",") + "}"])
        batch.itemsSHA256 = StagedRowHash.items(items.rows.map { ($0[0] ?? "", $0[1] ?? "") })
        return batch
    }

    /// Refuses a write of `claim`'s start when the batch's stored checkpoint is of another. The
    /// checkpoint row is locked shared until the write commits: a restart of the batch (which
    /// deletes that row first, `deleteStaging`) waits for the write, then deletes its rows too.
    static func require(_ claim: BatchClaim?, _ batchId: String, _ connection: PostgresConnection) throws(ETLError) {
        guard let claim else { return }
        let stored =
            try connection.query("SELECT checkpoint FROM extraction_checkpoints WHERE batch_id = $1 FOR SHARE", [batchId]).rows
            .first?.first ?? nil
        try ExtractionCheckpoint.requireGeneration(claim.generation, stored: stored, batchId: batchId)
    }

    /// Takes the batch's advisory lock shared (so a load, which takes it exclusively, never
    /// interleaves with a staging write) and refuses the write once the batch is loaded: a late
    /// write from an attempt that outlived its timeout would otherwise leave orphaned rows.
    static func lockForStaging(_ batchId: String, _ connection: PostgresConnection) throws(ETLError) {
        try connection.query("SELECT pg_advisory_xact_lock_shared(hashtextextended($1, 0))", [batchId])
        if try loadedRowCount(batchId, connection) != nil { throw .alreadyLoaded(batchId) }
    }

    static func loadedRowCount(_ batchId: String, _ connection: PostgresConnection) throws(ETLError) -> Int? {
        let rows = try connection.query("SELECT changed_rows FROM loaded_batches WHERE batch_id = $1", [batchId]).rows
        return rows.first?.first.flatMap { $0 }.flatMap { Int($0) }
    }

    /// What the load of `batchId` recorded, or nil if it was never loaded.
    static func loadedOutcome(_ batchId: String, _ connection: PostgresConnection) throws(ETLError) -> LoadOutcome? {
        let rows = try connection.query(
            "SELECT changed_rows, removed_rows, kept_rows, kept_because, superseded_rows FROM loaded_batches WHERE batch_id = $1", [batchId]
        ).rows
        guard let row = rows.first, row.count == 5 else { return nil }
        func number(_ index: Int) -> Int? { row[index].flatMap { Int($0) } }
        return LoadOutcome(
            changed: number(0) ?? 0, removed: number(1), kept: number(2), keptBecause: row[3], superseded: number(4) ?? 0)
    }

    public func purgeAbandonedStaging(olderThan age: Duration, atMost limit: Int) async throws(ETLError) -> Int {
        let seconds = String(max(0, age.components.seconds))
        return try await performTransaction { connection throws(ETLError) -> Int in
            // The checkpoints first (as `deleteStaging`): a claimed write in flight holds its row.
            // Rows another worker's purge holds are left to it, and so are batches a load holds
            // (its advisory lock, exclusive): under READ COMMITTED a purge committing between the
            // load's check of the staged rows and its copy left it nothing to copy, and it
            // succeeded. Holding the lock shared, the purge makes a later load wait and then
            // find the rows gone (a staging mismatch, loud).
            // The lock is tried on the chosen few only (a materialized CTE): in the scan's
            // filter it could run on every stale row, and hold their locks to the commit.
            let batches = try connection.query(
                """
                WITH candidates AS MATERIALIZED (
                  SELECT batch_id FROM extraction_checkpoints
                  WHERE updated_at < now() - make_interval(secs => $1::double precision)
                  ORDER BY updated_at LIMIT $2 FOR UPDATE SKIP LOCKED)
                DELETE FROM extraction_checkpoints c USING candidates
                WHERE c.batch_id = candidates.batch_id
                  AND pg_try_advisory_xact_lock_shared(hashtextextended(candidates.batch_id, 0))
                RETURNING c.batch_id
                """,
                [seconds, String(max(1, limit))]
            ).rows.compactMap { $0.first ?? nil }
            for start in stride(from: 0, to: batches.count, by: Self.rowsPerStatement) {
                let chunk = Array(batches[start..<min(batches.count, start + Self.rowsPerStatement)])
                let list = chunk.indices.map { "$\($0 + 1)" }.joined(separator: ", ")
                for table in ["staged_events", "staged_items", "staged_readers"] {
                    try connection.query("DELETE FROM \(table) WHERE batch_id IN (\(list))", chunk)
                }
            }
            return batches.count
        }
    }

    static func deleteStaging(_ batchId: String, _ connection: PostgresConnection) throws(ETLError) {
        // The checkpoint first: its row lock waits for claimed writes in flight (they hold it
        // shared, `require`), so their rows are committed before the rows are deleted, and
        // later ones find no checkpoint of their start.
        for table in ["extraction_checkpoints", "staged_events", "staged_items", "staged_readers"] {
            try connection.query("DELETE FROM \(table) WHERE batch_id = $1", [batchId])
        }
    }
}
