/// The database schema as an ordered list of migrations; `PRAGMA user_version` records how
/// many have run. Append new migrations, never edit old ones.
enum SQLiteSchema {
    static let migrations: [String] = [
        // 1: the events table (the original's columns, parent_id now actually written).
        """
        CREATE TABLE IF NOT EXISTS events (
            id TEXT PRIMARY KEY,
            parent_id TEXT,
            week DATE NOT NULL,
            employee_id TEXT NOT NULL,
            source_kind_id TEXT NOT NULL,
            event_type TEXT NOT NULL,
            event_time_utc TIMESTAMP NOT NULL,
            relation_properties TEXT,
            created_at TIMESTAMP DEFAULT CURRENT_TIMESTAMP
        );
        CREATE INDEX IF NOT EXISTS events_employee_week ON events (employee_id, week);
        CREATE INDEX IF NOT EXISTS events_type ON events (event_type);
        """,
        // 2: staging, so activities pass references (batch id, count, sha256) instead of rows,
        // and extraction checkpoints for resuming pagination.
        """
        CREATE TABLE staged_events (
            batch_id TEXT NOT NULL,
            id TEXT NOT NULL,
            parent_id TEXT NOT NULL,
            week DATE NOT NULL,
            employee_id TEXT NOT NULL,
            source_kind_id TEXT NOT NULL,
            event_type TEXT NOT NULL,
            event_time_utc TIMESTAMP NOT NULL,
            relation_properties TEXT,
            PRIMARY KEY (batch_id, id)
        ) WITHOUT ROWID;
        CREATE TABLE staged_items (
            batch_id TEXT NOT NULL,
            kind TEXT NOT NULL,
            item_key TEXT NOT NULL,
            payload TEXT NOT NULL,
            PRIMARY KEY (batch_id, kind, item_key)
        ) WITHOUT ROWID;
        CREATE TABLE extraction_checkpoints (
            batch_id TEXT PRIMARY KEY,
            checkpoint TEXT NOT NULL,
            updated_at TIMESTAMP DEFAULT CURRENT_TIMESTAMP
        );
        """,
        // 3: one row per loaded batch, so a retried load returns the first load's count.
        """
        CREATE TABLE loaded_batches (
            batch_id TEXT PRIMARY KEY,
            row_count INTEGER NOT NULL,
            changed_rows INTEGER NOT NULL,
            loaded_at TIMESTAMP DEFAULT CURRENT_TIMESTAMP
        ) WITHOUT ROWID;
        """,
        // 4: the store's identity, a random id made once per file. Checkpoints record it, so an
        // attempt can tell whether the staging it resumes from is in the store it writes to.
        """
        CREATE TABLE store_identity (
            singleton INTEGER PRIMARY KEY CHECK (singleton = 1),
            store_id TEXT NOT NULL,
            created_at TIMESTAMP DEFAULT CURRENT_TIMESTAMP
        );
        INSERT INTO store_identity (singleton, store_id) VALUES (1, lower(hex(randomblob(16))));
        """,
        // 5: merge proposal events named by their time (`ProposalEventId`). Earlier builds, which
        // wrote `mp-<id>-r`/`-rq`/`-m`, refuse the store from this version on; the ids they wrote
        // are found through this partial index and renamed when the store is opened
        // (`ProposalEventId.repairSQLite`).
        ProposalEventId.sqliteLegacyIndex,
        // 6: what each load covered (`LoadedWindow`), written in the load's transaction.
        """
        CREATE TABLE loaded_windows (
            batch_id TEXT PRIMARY KEY,
            member TEXT NOT NULL,
            source_kind_id TEXT NOT NULL,
            first_day DATE NOT NULL,
            last_day DATE NOT NULL,
            skipped TEXT,
            loaded_at TIMESTAMP DEFAULT CURRENT_TIMESTAMP
        ) WITHOUT ROWID;
        CREATE INDEX loaded_windows_member ON loaded_windows (member, first_day);
        """,
        // 7: the Launchpad the store's events are read from (`StoreLaunchpad`), bound by the
        // first load that names one: event ids are that Launchpad's numbers.
        """
        CREATE TABLE store_launchpad (
            singleton INTEGER PRIMARY KEY CHECK (singleton = 1),
            service_root TEXT NOT NULL,
            bound_at TIMESTAMP DEFAULT CURRENT_TIMESTAMP
        );
        """,
        // 8: what `StaleEvents` reads: who each window was read as (and each attempt of a staged
        // batch), which load last added or changed each event, and what each load removed or kept
        // of the events its read no longer found.
        """
        ALTER TABLE events ADD COLUMN loaded_by TEXT;
        ALTER TABLE loaded_windows ADD COLUMN access TEXT;
        ALTER TABLE loaded_batches ADD COLUMN removed_rows INTEGER;
        ALTER TABLE loaded_batches ADD COLUMN kept_rows INTEGER;
        ALTER TABLE loaded_batches ADD COLUMN kept_because TEXT;
        CREATE TABLE staged_readers (
            batch_id TEXT NOT NULL,
            reader TEXT NOT NULL,
            PRIMARY KEY (batch_id, reader)
        ) WITHOUT ROWID;
        """,
        // 9: when each reader of a staged batch was first recorded; the first of them is when
        // the batch's read started, and a load removes only events that loads finished before
        // then stored (`StaleEvents`): a read loaded late must not undo a newer one.
        """
        ALTER TABLE staged_readers ADD COLUMN recorded_at TIMESTAMP;
        """,
        // 10: when each loaded batch's read started, how many of its rows it left as a newer
        // read found them, and which events loads removed (`NewerReads`): a read loaded after
        // a newer one must not write back its older view.
        """
        ALTER TABLE loaded_batches ADD COLUMN read_started_at TIMESTAMP;
        ALTER TABLE loaded_batches ADD COLUMN superseded_rows INTEGER;
        CREATE INDEX loaded_batches_read_start ON loaded_batches (read_started_at);
        CREATE TABLE removed_events (
            id TEXT NOT NULL,
            reader TEXT NOT NULL,
            removed_by TEXT NOT NULL,
            read_started_at TIMESTAMP NOT NULL,
            PRIMARY KEY (id, reader)
        ) WITHOUT ROWID;
        """,
        // 11: the version of the event builders that built each loaded batch's events (from
        // its checkpoint): a report counts a day read by older builders as not read whole.
        """
        ALTER TABLE loaded_batches ADD COLUMN event_builders INTEGER;
        """,
    ]

    /// The current UTC time to the millisecond, as SQL (`YYYY-MM-DD HH:MM:SS.SSS`): what loads
    /// and readers record, compared as text (a second-resolution `CURRENT_TIMESTAMP` would make
    /// a load and a read that start within one second look ordered either way).
    static let nowMilliseconds = "strftime('%Y-%m-%d %H:%M:%f', 'now')"

    /// The schema version this code writes.
    static var currentVersion: Int { migrations.count }

    /// Checks, without writing, that the connection's database is at `currentVersion`.
    static func requireCurrent(_ connection: SQLiteConnection) throws(ETLError) {
        let version = try connection.scalarInt("PRAGMA user_version")
        try refuseForeign(connection, version: version)
        guard version != currentVersion else { return }
        throw ETLError(
            .database, SchemaMismatch.message(store: "the database '\(connection.path)'", version: version, current: currentVersion),
            nonRetryable: true)
    }

    /// Refuses a database another program wrote: a schema version (`PRAGMA user_version`,
    /// which any SQLite program may set) without this ETL's `events` table. It was taken for a
    /// store of another release ("newer than this build's", or migrated as an older one, its
    /// tables altered). Version 0 is adopted as before (the original project's database).
    /// A file of version 0 with tables but no `events` (most programs never set the version) is
    /// another program's too.
    static func refuseForeign(_ connection: SQLiteConnection, version: Int) throws(ETLError) {
        guard try connection.scalarInt("SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name = 'events'") == 0 else {
            return
        }
        let tables = try connection.scalarInt("SELECT count(*) FROM sqlite_master WHERE type = 'table'")
        guard version > 0 || tables > 0 else { return }  // a new, empty file
        let what =
            version > 0
            ? "its schema version (PRAGMA user_version) is \(version), which another program set" : "it holds \(tables) other tables"
        throw ETLError(
            .database,
            "the database '\(connection.path)' is not an event store of this ETL: it has no events table, and \(what); name another file (--db-path, ETL_DB_PATH or ETL_DB_URL)",
            nonRetryable: true)
    }

    /// Brings the connection's database up to `currentVersion`, one transaction per migration,
    /// then renames legacy merge proposal event ids (`ProposalEventId.repairSQLite`).
    static func migrate(_ connection: SQLiteConnection) throws(ETLError) {
        func refuseNewer(_ version: Int) throws(ETLError) {
            guard version > currentVersion else { return }
            throw ETLError(
                .database,
                SchemaMismatch.message(
                    store: "the database '\(connection.path)'", version: version, current: currentVersion, elsewhere: "ETL_DB_PATH"),
                nonRetryable: true)
        }
        let version = try connection.scalarInt("PRAGMA user_version")
        try refuseForeign(connection, version: version)
        try refuseNewer(version)
        for index in version..<currentVersion {
            try connection.transaction { () throws(ETLError) in
                // Another process may have migrated meanwhile (a newer build, even: then this
                // one must not go on with a schema it does not know); re-check under the lock.
                let now = try connection.scalarInt("PRAGMA user_version")
                try refuseNewer(now)
                guard now == index else { return }
                try connection.execute(migrations[index])
                try connection.execute("PRAGMA user_version = \(index + 1)")
            }
        }
        // Ids an earlier build still running beside a newer one wrote after the migration: a
        // read first, so that an open (a report's) takes no write lock when there are none.
        let indexed = try connection.scalarInt(
            "SELECT count(*) FROM sqlite_master WHERE type = 'index' AND name = 'events_legacy_proposal_ids'")
        if indexed == 0 {  // dropped by hand, or a store of a pre-release build: made again once
            try connection.transaction { () throws(ETLError) in try connection.execute(ProposalEventId.sqliteLegacyIndex) }
        }
        if try connection.scalarInt(ProposalEventId.sqliteHasLegacy) == 1 {
            try connection.transaction { () throws(ETLError) in try connection.execute(ProposalEventId.repairSQLite) }
        }
        if try connection.scalarInt(ProposalEventId.hasTwins(postgres: false)) == 1 {
            try connection.transaction { () throws(ETLError) in try connection.execute(ProposalEventId.dropTwins(postgres: false)) }
        }
    }
}
