extension SQLiteEventStore {
    /// Stages events under `batchId` (upsert on `(batchId, id)`, one transaction); staging the
    /// same events again changes nothing. Returns how many staged rows were new or changed.
    @discardableResult
    public func stageEvents(_ events: [Event], batchId: String, claim: BatchClaim?) async throws(ETLError) -> Int {
        guard !events.isEmpty else { return 0 }
        return try await perform { connection throws(ETLError) in
            try connection.transaction { () throws(ETLError) -> Int in
                try Self.refuseIfLoaded(batchId, connection)
                try Self.require(claim, batchId, connection)
                return try Self.upsert(events, connection, sql: Self.stageSQL(rows:), firstColumn: 2) { statement throws(ETLError) in
                    try statement.bind(1, batchId)
                }
            }
        }
    }

    /// The reference for what is staged under `batchId`: row count and a SHA-256 over the
    /// rows in id order (columns joined by U+001F, rows ended by `\n`).
    public func stagedBatch(_ batchId: String) async throws(ETLError) -> StagedBatch {
        try await perform { connection throws(ETLError) in try Self.reference(batchId, connection) }
    }

    /// The staged events of `batchId`, ordered by id.
    public func stagedEvents(_ batchId: String) async throws(ETLError) -> [Event] {
        try await perform { connection throws(ETLError) in
            let statement = try connection.statement("SELECT \(Self.columns) FROM staged_events WHERE batch_id = ?1 ORDER BY id")
            defer { statement.reset() }
            try statement.bind([.text(batchId)])
            var events: [Event] = []
            while try statement.step() { events.append(try Self.event(from: statement)) }
            return events
        }
    }

    /// Moves a staged batch into `events` in one transaction (see `StagingStore`): checks the
    /// reference, upserts, removes the window's stale events when that is safe (`StaleEvents`),
    /// deletes the staging rows and records the outcome, so a second load of the same batch
    /// returns the recorded outcome and changes nothing.
    /// Throws `.stagingMismatch` (retryable: re-extracting fixes it) when the check fails.
    public func loadBatch(_ batch: StagedBatch) async throws(ETLError) -> LoadOutcome {
        try await perform { connection throws(ETLError) in
            // Durable: once this returns, the flow records the load and nothing loads it again.
            try connection.durableTransaction { () throws(ETLError) -> LoadOutcome in
                if var recorded = try Self.loadedOutcome(batch.batchId, connection) {
                    recorded.loadedBefore = true
                    // Loaded by an attempt of an older worker, which kept no window: keep it now.
                    try Self.recordWindow(of: batch, connection)
                    return recorded
                }
                if let launchpad = batch.window?.launchpad { try self.bindLaunchpad(launchpad, connection) }
                let actual = try Self.reference(batch.batchId, connection)
                guard actual.holdsTheSameRows(as: batch) else {
                    throw ETLError(
                        .stagingMismatch,
                        "staged batch '\(batch.batchId)' \(actual.difference(from: batch)); re-run the extraction for this batch",
                        nonRetryable: false)
                }
                // When this batch's read started (nil: staged by an earlier release), and whether
                // a read that started later was loaded first (`NewerReads`).
                let readStart = try Self.readStart(batch.batchId, connection)
                let newerLoaded = try readStart.map { start throws(ETLError) in
                    try connection.scalarInt(NewerReads.anyLoadSince("?1"), [.text(start)]) > 0
                }
                var superseded = 0
                if newerLoaded == true {
                    let values: [SQLiteValue] = [
                        .text(batch.batchId), .optional(readStart), .optional(batch.window?.access), .text(LaunchpadAccess.anonymous),
                    ]
                    superseded = try connection.scalarInt(Self.countSupersededSQL, values)
                    try connection.statement(Self.loadUnlessNewerSQL).run(values)
                } else {
                    try connection.statement(Self.loadSQL).run([.text(batch.batchId)])
                }
                var outcome = LoadOutcome(changed: connection.changes, superseded: superseded)
                if try connection.scalarInt(ProposalEventId.batchHasRequests(postgres: false), [.text(batch.batchId)]) == 1 {
                    try connection.statement(ProposalEventId.dropTwinsOfBatch(postgres: false)).run([.text(batch.batchId)])
                }
                if let window = batch.window, window.access != nil {
                    try Self.settleStaleEvents(of: batch.batchId, window, &outcome, connection)
                    if StaleEvents.refusal(window) == nil {
                        try connection.statement(Self.supersedeOlderStagingSQL).run(
                            [
                                window.member, window.sourceKind, window.firstDay, window.lastDay, batch.batchId,
                                StaleEvents.reader(window),
                                LaunchpadAccess.anonymous,
                            ]
                            .map(SQLiteValue.text))
                    }
                }
                let builders = ExtractionCheckpoint.eventBuilders(inState: try Self.checkpointState(batch.batchId, connection))
                try Self.deleteStaging(batch.batchId, connection)
                try connection.statement(
                    """
                    INSERT INTO loaded_batches (batch_id, row_count, changed_rows, removed_rows, kept_rows, kept_because, read_started_at,
                        superseded_rows, event_builders)
                    VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)
                    """
                )
                .run([
                    .text(batch.batchId), .int(batch.rowCount), .int(outcome.changed), outcome.removed.map(SQLiteValue.int) ?? .null,
                    outcome.kept.map(SQLiteValue.int) ?? .null, .optional(outcome.keptBecause), .optional(readStart),
                    .int(outcome.superseded), builders.map(SQLiteValue.int) ?? .null,
                ])
                try Self.recordWindow(of: batch, connection)
                return outcome
            }
        }
    }

    /// The staged rows of batch `?1` as `events` rows, `removed` SQL filtering them, `upsert` the
    /// conflict clause. Rows staged by a release before schema 5 may carry a legacy proposal
    /// event id.
    private static func loadSQL(unless removed: String = "", upsert: String) -> String {
        """
        INSERT INTO events (\(columns), loaded_by) SELECT \(ProposalEventId.sqliteCurrentId), \(columnsAfterId), ?1 FROM staged_events
        WHERE batch_id = ?1\(removed) ORDER BY id \(upsert)
        """
    }

    /// The load of staged batch `?1` into `events`.
    static let loadSQL = loadSQL(upsert: loadUpsertClause())

    /// `loadSQL` leaving what a newer read stored or removed (`NewerReads`): `?2` is when the
    /// batch's read started, `?3` its reader, `?4` `LaunchpadAccess.anonymous`.
    static let loadUnlessNewerSQL = loadSQL(
        unless: " AND NOT " + NewerReads.removedSince(id: ProposalEventId.sqliteCurrentId, readStart: "?2", reader: "?3", anonymous: "?4"),
        upsert: loadUpsertClause(unless: NewerReads.storedSince("?2")))

    /// `NewerReads.supersedeOlderStaging`: member, source, first and last day, batch, reader.
    static let supersedeOlderStagingSQL = NewerReads.supersedeOlderStaging(
        member: "?1", source: "?2", firstDay: "?3", lastDay: "?4", batch: "?5", reader: "?6", anonymous: "?7")

    /// How many rows `loadUnlessNewerSQL` leaves, with its parameters.
    static let countSupersededSQL = NewerReads.countSuperseded(
        batch: "?1", id: ProposalEventId.sqliteCurrentId, readStart: "?2", reader: "?3", anonymous: "?4",
        differs: "(" + changed(from: "staged_events") + ")")

    /// When batch `batchId`'s read started: when its first reader was recorded (nil for a
    /// batch an earlier release staged).
    static func readStart(_ batchId: String, _ connection: SQLiteConnection) throws(ETLError) -> String? {
        let statement = try connection.statement("SELECT min(recorded_at) FROM staged_readers WHERE batch_id = ?1")
        defer { statement.reset() }
        try statement.bind([.text(batchId)])
        return try statement.step() ? statement.text(0) : nil
    }

    /// Removes the stored events of `window` that batch `batchId`, still staged, does not hold,
    /// where that is safe, and counts the others (`StaleEvents`). Runs before the window is
    /// recorded.
    static func settleStaleEvents(
        of batchId: String, _ window: LoadedWindow, _ outcome: inout LoadOutcome, _ connection: SQLiteConnection
    ) throws(ETLError) {
        let values = try StaleEvents.scopeValues(of: window, batchId: batchId).map(SQLiteValue.text)
        // The window's bug and question events of the member and source the batch lacks.
        let scope = """
            FROM events WHERE \(windowEvents)
                AND id NOT IN (SELECT \(ProposalEventId.sqliteCurrentId) FROM staged_events WHERE batch_id = ?7)
            """
        let earlierStatement = try connection.statement(
            "SELECT batch_id, access FROM loaded_windows WHERE member = ?1 AND source_kind_id = ?2 AND first_day <= ?3 AND last_day >= ?4 ORDER BY batch_id"
        )
        var earlier: [StaleEvents.EarlierRead] = []
        do {
            defer { earlierStatement.reset() }
            try earlierStatement.bind([.text(window.member), .text(window.sourceKind), .text(window.lastDay), .text(window.firstDay)])
            while try earlierStatement.step() {
                earlier.append(StaleEvents.EarlierRead(batchId: earlierStatement.text(0) ?? "", access: earlierStatement.text(1)))
            }
        }
        outcome.removed = 0
        // When this batch's read started (its first reader's record; NULL for a batch an older
        // release staged, which then removes nothing): loads that ended after it may have read
        // Launchpad later than this read did.
        let readStart = "(SELECT min(recorded_at) FROM staged_readers WHERE batch_id = ?7)"
        // A load since then of a window holding the event's day: its read may have seen the
        // event unchanged (an unchanged row keeps its older `loaded_by`).
        let seenSince = """
            EXISTS (SELECT 1 FROM loaded_windows n WHERE n.member = ?1 AND n.source_kind_id = ?2 AND n.loaded_at >= \(readStart)
                AND substr(events.event_time_utc, 1, 10) BETWEEN n.first_day AND n.last_day)
            """
        let mayRemove = StaleEvents.mayRemove(window, earlier: earlier)
        if mayRemove {
            // Only events a load of the same reader, or an anonymous one, added or changed, and
            // finished before this read started. Each is remembered (`NewerReads`), so a read
            // older than this one, loaded later, does not store it again.
            let gone = """
                \(scope) AND \(StaleEvents.itemRead(batch: "?7")) AND loaded_by IN (
                    SELECT batch_id FROM loaded_windows WHERE member = ?1 AND source_kind_id = ?2 AND (access = ?8 OR access = ?9)
                        AND loaded_at < \(readStart))
                    AND NOT \(seenSince)
                """
            let parameters = values + [.text(StaleEvents.reader(window)), .text(LaunchpadAccess.anonymous)]
            try connection.statement(NewerReads.recordRemoved("SELECT id, ?7, ?8, \(readStart) \(gone)")).run(parameters)
            try connection.statement("DELETE \(gone)").run(parameters)
            outcome.removed = connection.changes
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
                SELECT batch_id FROM loaded_windows WHERE member = ?1 AND source_kind_id = ?2 AND loaded_at >= \(readStart)))
            """
        let notRead = "NOT \(StaleEvents.itemRead(batch: "?7"))"
        outcome.keptBecause = StaleEvents.keptBecause(
            window, earlier: earlier, kept: kept, newer: try connection.scalarInt("SELECT count(*) \(scope) AND \(newerLoad)", values),
            notRead: try connection.scalarInt("SELECT count(*) \(scope) AND \(notRead)", values),
            either: try connection.scalarInt("SELECT count(*) \(scope) AND (\(newerLoad) OR \(notRead))", values))
    }

    /// The window's bug and question events of its member and source, with `StaleEvents.scopeValues`'
    /// first six parameters; `week` first, for the index.
    static let windowEvents = """
        employee_id = ?1 AND source_kind_id = ?2 AND week BETWEEN ?3 AND ?4
            AND event_time_utc >= ?5 AND event_time_utc < ?6 AND \(StaleEvents.removableTypes)
        """

    public func storedItems(in window: LoadedWindow) async throws(ETLError) -> [StoredItem] {
        let values = try StaleEvents.scopeValues(of: window, batchId: "").prefix(6).map(SQLiteValue.text)
        let link = "(CASE WHEN json_valid(relation_properties) THEN json_extract(relation_properties, '$.link') END)"
        return try await perform { connection throws(ETLError) in
            let statement = try connection.statement(
                """
                SELECT parent_id, max(CASE WHEN \(link) LIKE '%/+bug/%' THEN \(link) END) FROM events WHERE \(Self.windowEvents)
                GROUP BY parent_id ORDER BY parent_id
                """)
            defer { statement.reset() }
            try statement.bind(Array(values))
            var items: [StoredItem] = []
            while try statement.step() { items.append(StoredItem(parentId: statement.text(0) ?? "", targetLink: statement.text(1))) }
            return items
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

    /// Binds the store to `launchpad` unless it is bound already, then refuses another.
    func bindLaunchpad(_ launchpad: String, _ connection: SQLiteConnection) throws(ETLError) {
        try connection.statement("INSERT OR IGNORE INTO store_launchpad (singleton, service_root) VALUES (1, ?1)").run([.text(launchpad)])
        try StoreLaunchpad.require(launchpad, boundTo: try Self.boundLaunchpad(connection), store: identity)
    }

    /// The Launchpad the store is bound to, if any.
    static func boundLaunchpad(_ connection: SQLiteConnection) throws(ETLError) -> String? {
        let statement = try connection.statement("SELECT service_root FROM store_launchpad WHERE singleton = 1")
        defer { statement.reset() }
        return try statement.step() ? statement.text(0) : nil
    }

    /// Records what the load of `batch` covered (once per batch), if the reference says.
    static func recordWindow(of batch: StagedBatch, _ connection: SQLiteConnection) throws(ETLError) {
        guard let window = batch.window else { return }
        try connection.statement(
            "INSERT OR IGNORE INTO loaded_windows (batch_id, member, source_kind_id, first_day, last_day, skipped, access, loaded_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, \(SQLiteSchema.nowMilliseconds))"
        )
        .run([
            .text(batch.batchId), .text(window.member), .text(window.sourceKind), .text(window.firstDay), .text(window.lastDay),
            .optional(window.storedSkipped), .optional(window.access),
        ])
    }

    /// What every load recorded it covered, ordered by member, first day and batch.
    public func loadedWindows() async throws(ETLError) -> [LoadedWindow] {
        try await perform { connection throws(ETLError) in try Self.loadedWindows(connection) }
    }

    static func loadedWindows(_ connection: SQLiteConnection) throws(ETLError) -> [LoadedWindow] {
        let statement = try connection.statement(
            """
            SELECT w.batch_id, w.member, w.source_kind_id, w.first_day, w.last_day, w.skipped, w.access, b.kept_rows, b.kept_because,
                coalesce(b.read_started_at, w.loaded_at), b.event_builders
            FROM loaded_windows w LEFT JOIN loaded_batches b ON b.batch_id = w.batch_id ORDER BY w.member, w.first_day, w.batch_id
            """
        )
        defer { statement.reset() }
        var windows: [LoadedWindow] = []
        while try statement.step() {
            var window = LoadedWindow(
                batchId: statement.text(0) ?? "", member: statement.text(1) ?? "", sourceKind: statement.text(2) ?? "",
                firstDay: statement.text(3) ?? "", lastDay: statement.text(4) ?? "",
                skipped: LoadedWindow.skipped(fromStored: statement.text(5)), access: statement.text(6))
            window.keptNotFound = LoadedWindow.keptNote(rows: statement.text(7).flatMap { Int($0) }, reason: statement.text(8))
            window.readStartedAt = statement.text(9)
            window.eventBuilders = statement.text(10).flatMap { Int($0) }
            windows.append(window)
        }
        return windows
    }

    /// How many `events` rows the load of `batchId` changed, or nil if it was never loaded.
    public func loadedRowCount(_ batchId: String) async throws(ETLError) -> Int? {
        try await perform { connection throws(ETLError) in try Self.loadedRowCount(batchId, connection) }
    }

    /// Deletes a batch's staged events, discovered items and checkpoint.
    public func deleteStagedBatch(_ batchId: String) async throws(ETLError) {
        try await perform { connection throws(ETLError) in
            try connection.transaction { () throws(ETLError) in
                try Self.refuseIfLoaded(batchId, connection)
                try Self.deleteStaging(batchId, connection)
            }
        }
    }

    /// How many events and discovered items are staged under `batchId`.
    public func stagingProgress(_ batchId: String) async throws(ETLError) -> StagingProgress {
        try await perform { connection throws(ETLError) in
            var counts: [Int] = []
            for table in ["staged_events", "staged_items"] {
                let statement = try connection.statement("SELECT count(*) FROM \(table) WHERE batch_id = ?1")
                defer { statement.reset() }
                try statement.bind([.text(batchId)])
                counts.append(try statement.step() ? statement.int(0) : 0)
            }
            return StagingProgress(rows: counts[0], items: counts[1])
        }
    }

    /// The id in `store_identity` (one row, made by migration 4).
    static func storeId(_ connection: SQLiteConnection) throws(ETLError) -> String {
        let statement = try connection.statement("SELECT store_id FROM store_identity WHERE singleton = 1")
        defer { statement.reset() }
        guard try statement.step(), let id = statement.text(0), !id.isEmpty else {
            throw ETLError(
                .database,
                "the database '\(connection.path)' has no store identity (table store_identity is empty); restore it from a backup or use another ETL_DB_PATH",
                nonRetryable: true)
        }
        return id
    }

    public func purgeAbandonedStaging(olderThan age: Duration, atMost limit: Int) async throws(ETLError) -> Int {
        let cutoff = "-\(max(0, age.components.seconds)) seconds"
        return try await perform { connection throws(ETLError) in
            try connection.transaction { () throws(ETLError) -> Int in
                // The batches first, then each one's staging: one list for every delete, so
                // none loses its checkpoint and keeps staged rows no later purge would find.
                let old = try connection.statement(
                    "SELECT batch_id FROM extraction_checkpoints WHERE updated_at < datetime('now', ?1) ORDER BY updated_at LIMIT ?2")
                defer { old.reset() }
                try old.bind([.text(cutoff), .int(max(1, limit))])
                var batches: [String] = []
                while try old.step() { if let batch = old.text(0) { batches.append(batch) } }
                old.reset()
                for batch in batches { try Self.deleteStaging(batch, connection) }
                return batches.count
            }
        }
    }

    static func deleteStaging(_ batchId: String, _ connection: SQLiteConnection) throws(ETLError) {
        for table in ["staged_events", "staged_items", "extraction_checkpoints", "staged_readers"] {
            try connection.statement("DELETE FROM \(table) WHERE batch_id = ?1").run([.text(batchId)])
        }
    }

    /// Staging writes run after the batch's load only when an attempt outlived its timeout;
    /// refusing them (inside the writer's transaction) keeps loaded batches free of orphans.
    static func refuseIfLoaded(_ batchId: String, _ connection: SQLiteConnection) throws(ETLError) {
        if try loadedRowCount(batchId, connection) != nil { throw .alreadyLoaded(batchId) }
    }

    static func loadedRowCount(_ batchId: String, _ connection: SQLiteConnection) throws(ETLError) -> Int? {
        try loadedOutcome(batchId, connection)?.changed
    }

    /// What the load of `batchId` recorded, or nil if it was never loaded.
    static func loadedOutcome(_ batchId: String, _ connection: SQLiteConnection) throws(ETLError) -> LoadOutcome? {
        let statement = try connection.statement(
            "SELECT changed_rows, removed_rows, kept_rows, kept_because, superseded_rows FROM loaded_batches WHERE batch_id = ?1")
        defer { statement.reset() }
        try statement.bind([.text(batchId)])
        guard try statement.step() else { return nil }
        return LoadOutcome(
            changed: statement.int(0), removed: statement.text(1).flatMap { Int($0) }, kept: statement.text(2).flatMap { Int($0) },
            keptBecause: statement.text(3), superseded: statement.int(4))
    }

    /// The upsert of `rows` events into `staged_events`: `?1` is the batch id of every row,
    /// the events' columns follow from `?2`.
    static func stageSQL(rows: Int) -> String {
        rows == 1 ? singleRowStageSQL : rows == rowsPerUpsert ? chunkStageSQL : makeStageSQL(rows: rows)
    }

    private static let singleRowStageSQL = makeStageSQL(rows: 1)
    private static let chunkStageSQL = makeStageSQL(rows: rowsPerUpsert)

    private static func makeStageSQL(rows: Int) -> String {
        "INSERT INTO staged_events (batch_id, \(columns)) VALUES \(placeholders(rows: rows, firstColumn: 2, prefix: "?1, ")) \(stageUpsertClause)"
    }

    static let stageUpsertClause = """
        ON CONFLICT (batch_id, id) DO UPDATE SET
            parent_id = excluded.parent_id, week = excluded.week, employee_id = excluded.employee_id,
            source_kind_id = excluded.source_kind_id, event_type = excluded.event_type,
            event_time_utc = excluded.event_time_utc, relation_properties = excluded.relation_properties
        WHERE staged_events.parent_id IS NOT excluded.parent_id OR staged_events.week IS NOT excluded.week
            OR staged_events.employee_id IS NOT excluded.employee_id OR staged_events.source_kind_id IS NOT excluded.source_kind_id
            OR staged_events.event_type IS NOT excluded.event_type OR staged_events.event_time_utc IS NOT excluded.event_time_utc
            OR staged_events.relation_properties IS NOT excluded.relation_properties
        """

    /// How many bytes of hash input `reference` gathers before handing them to SHA-256.
    private static let hashChunk = 32_768

    static func reference(_ batchId: String, _ connection: SQLiteConnection) throws(ETLError) -> StagedBatch {
        let statement = try connection.statement("SELECT \(columns) FROM staged_events WHERE batch_id = ?1 ORDER BY id")
        defer { statement.reset() }
        try statement.bind([.text(batchId)])
        var hash = SHA256()
        var count = 0
        // The rows' hash input, built from SQLite's own bytes (no `String` per column) and
        // hashed in large pieces; the same bytes `StagedRowHash.update` hashes.
        var input: [UInt8] = []
        input.reserveCapacity(Self.hashChunk + 4_096)
        while try statement.step() {
            for column in Int32(0)..<8 {
                if column > 0 { input.append(StagedRowHash.columnSeparator) }
                statement.appendText(column, to: &input)
            }
            input.append(StagedRowHash.rowTerminator)
            count += 1
            if input.count >= Self.hashChunk {
                hash.update(input)
                input.removeAll(keepingCapacity: true)
            }
        }
        hash.update(input)
        var batch = StagedBatch(batchId: batchId, rowCount: count, sha256: hash.hexDigest())
        let kinds = StagedRowHash.itemKindsALoadReads.map { "'\($0)'" }.joined(separator: ", ")
        let items = try connection.statement(
            "SELECT kind, item_key FROM staged_items WHERE batch_id = ?1 AND kind IN (\(kinds)) ORDER BY kind, item_key")
        defer { items.reset() }
        try items.bind([.text(batchId)])
        var rows: [(kind: String, key: String)] = []
        while try items.step() { rows.append((items.text(0) ?? "", items.text(1) ?? "")) }
        batch.itemsSHA256 = StagedRowHash.items(rows)
        return batch
    }
}
