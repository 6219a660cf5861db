/// The PostgreSQL schema as an ordered list of migrations; the `schema_version` table records
/// which have run. Append new migrations, never edit old ones. Same `events` semantics as the
/// SQLite schema (one row per event id), with native `DATE`, `TIMESTAMPTZ` and `JSONB` types.
enum PostgresSchema {
    static let migrations: [String] = [
        // 1: the events table and its indexes.
        """
        CREATE TABLE IF NOT EXISTS events (
            id TEXT PRIMARY KEY,
            parent_id TEXT,
            week DATE NOT NULL,
            employee_id TEXT NOT NULL,
            source_kind_id TEXT NOT NULL,
            event_type TEXT NOT NULL,
            event_time_utc TIMESTAMPTZ NOT NULL,
            relation_properties JSONB,
            created_at TIMESTAMPTZ NOT NULL DEFAULT now()
        );
        CREATE INDEX IF NOT EXISTS events_employee_week ON events (employee_id, week);
        CREATE INDEX IF NOT EXISTS events_type ON events (event_type);
        """,
        // 2: staging shared by every worker (rows kept as the text the SQLite store hashes),
        // extraction checkpoints, and one row per loaded batch.
        """
        CREATE TABLE staged_events (
            batch_id TEXT NOT NULL,
            id TEXT NOT NULL,
            parent_id TEXT NOT NULL,
            week TEXT NOT NULL,
            employee_id TEXT NOT NULL,
            source_kind_id TEXT NOT NULL,
            event_type TEXT NOT NULL,
            event_time_utc TEXT NOT NULL,
            relation_properties TEXT,
            PRIMARY KEY (batch_id, id)
        );
        CREATE TABLE staged_items (
            batch_id TEXT NOT NULL,
            kind TEXT NOT NULL,
            item_key TEXT NOT NULL,
            payload TEXT NOT NULL,
            PRIMARY KEY (batch_id, kind, item_key)
        );
        CREATE TABLE extraction_checkpoints (
            batch_id TEXT PRIMARY KEY,
            checkpoint TEXT NOT NULL,
            updated_at TIMESTAMPTZ NOT NULL DEFAULT now()
        );
        CREATE TABLE loaded_batches (
            batch_id TEXT PRIMARY KEY,
            row_count INTEGER NOT NULL,
            changed_rows INTEGER NOT NULL,
            loaded_at TIMESTAMPTZ NOT NULL DEFAULT now()
        );
        """,
        // 3: the store's identity, made once per database and shared by every worker using it.
        """
        CREATE TABLE store_identity (
            singleton INTEGER PRIMARY KEY CHECK (singleton = 1),
            store_id TEXT NOT NULL,
            created_at TIMESTAMPTZ NOT NULL DEFAULT now()
        );
        INSERT INTO store_identity (singleton, store_id) VALUES (1, md5(random()::text || clock_timestamp()::text));
        """,
        // 4: merge proposal events named by their time (`ProposalEventId`). Earlier builds, which
        // wrote `mp-<id>-r`/`-rq`/`-m`, refuse the database from this version on; the ids they
        // wrote are found through this partial index and renamed whenever a worker connects
        // (`ProposalEventId.repairPostgres`).
        ProposalEventId.postgresLegacyIndex,
        // 5: what each load covered (`LoadedWindow`), written in the load's transaction.
        """
        CREATE TABLE loaded_windows (
            batch_id TEXT PRIMARY KEY,
            member TEXT NOT NULL,
            source_kind_id TEXT NOT NULL,
            first_day DATE NOT NULL,
            last_day DATE NOT NULL,
            skipped TEXT,
            loaded_at TIMESTAMPTZ NOT NULL DEFAULT now()
        );
        CREATE INDEX loaded_windows_member ON loaded_windows (member, first_day);
        """,
        // 6: the Launchpad the store's events are read from (`StoreLaunchpad`).
        """
        CREATE TABLE store_launchpad (
            singleton INTEGER PRIMARY KEY CHECK (singleton = 1),
            service_root TEXT NOT NULL,
            bound_at TIMESTAMPTZ NOT NULL DEFAULT now()
        );
        """,
        // 7: what `StaleEvents` reads: who each window was read as (and each attempt of a staged
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
        );
        """,
        // 8: when each reader of a staged batch was first recorded; the first of them is when
        // the batch's read started, and a load removes only events that loads finished before
        // then stored (`StaleEvents`): a read loaded late must not undo a newer one.
        """
        ALTER TABLE staged_readers ADD COLUMN recorded_at TIMESTAMPTZ;
        """,
        // 9: when each loaded batch's read started, how many of its rows it left as a newer
        // read found them, and which events loads removed (`NewerReads`): a read loaded after
        // a newer one must not write back its older view.
        """
        ALTER TABLE loaded_batches ADD COLUMN read_started_at TIMESTAMPTZ;
        ALTER TABLE loaded_batches ADD COLUMN superseded_rows INTEGER;
        CREATE INDEX loaded_batches_read_start ON loaded_batches (read_started_at);
        CREATE TABLE removed_events (
            id TEXT NOT NULL,
            reader TEXT NOT NULL,
            removed_by TEXT NOT NULL,
            read_started_at TIMESTAMPTZ NOT NULL,
            PRIMARY KEY (id, reader)
        );
        """,
        // 10: the version of the event builders that built each loaded batch's events (from
        // its checkpoint): a report counts a day read by older builders as not read whole.
        """
        ALTER TABLE loaded_batches ADD COLUMN event_builders INTEGER;
        """,
    ]

    /// The schema version this code writes.
    static var currentVersion: Int { migrations.count }

    /// An arbitrary constant for the advisory lock that serialises concurrent migrators.
    static let migrationLockKey = "7305119024417562"

    /// Runs a migration's DDL; a role not allowed to (SQLSTATE 42501) is told what to do.
    private static func ddl(_ connection: PostgresConnection, _ body: () throws(ETLError) -> Void) throws(ETLError) {
        do {
            try body()
        } catch  where (error.cause as? PostgresError)?.sqlState == "42501" {
            throw ETLError(
                .database,
                "the PostgreSQL database \(connection.target) needs its schema created or migrated to version \(currentVersion), and this role may not (\(error.message)); start one worker (or LaunchpadWorker once) with the role that owns the schema, or grant this one CREATE on it — workers need only row access afterwards",
                nonRetryable: true)
        }
    }

    /// Refuses a server older than 12 (the janitor's `AS MATERIALIZED`, `hashtextextended`)
    /// and a database not encoded in UTF-8 (an event's title in another script failed for good
    /// at staging, with an encoding error that did not say what to do).
    static func requireSupportedServer(_ connection: PostgresConnection) throws(ETLError) {
        let row = try connection.query("SELECT current_setting('server_version_num'), current_setting('server_encoding')").rows.first
        let version = (row?.first ?? nil).flatMap { Int($0) } ?? 0
        let encoding = (row?.dropFirst().first ?? nil) ?? ""
        guard version >= 120_000 else {
            throw ETLError(
                .database,
                "the PostgreSQL server of \(connection.target) is version \(version / 10_000) (server_version_num \(version)); the store needs PostgreSQL 12 or later: upgrade the server",
                nonRetryable: true)
        }
        guard encoding == "UTF8" else {
            throw ETLError(
                .database,
                "the PostgreSQL database \(connection.target) is encoded in \(encoding), not UTF8, so events with text outside it cannot be stored: create the database with ENCODING 'UTF8' (CREATE DATABASE name TEMPLATE template0 ENCODING 'UTF8')",
                nonRetryable: true)
        }
    }

    /// Whether a table (or view, sequence, …) `name` exists in the schema the migrations create
    /// in and their unqualified names find first (the first of the search path that exists), not
    /// anywhere on the path: another application's `public.schema_version` or `public.events`
    /// beside a store in a schema of its own is not this store's.
    static func inCurrentSchema(_ name: String) -> String {
        "SELECT EXISTS (SELECT 1 FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = current_schema() AND c.relname = '\(name)')"
    }

    /// Checks, without writing, that the database is at `currentVersion`.
    static func requireCurrent(_ connection: PostgresConnection) throws(ETLError) {
        let hasSchema = try connection.query(inCurrentSchema("schema_version")).rows.first?.first == "t"
        let version = hasSchema ? try connection.scalarInt("SELECT coalesce(max(version), 0) FROM schema_version") : 0
        guard version != currentVersion else { return }
        throw ETLError(
            .database,
            SchemaMismatch.message(store: "the PostgreSQL database \(connection.target)", version: version, current: currentVersion),
            nonRetryable: true)
    }

    /// Brings the database up to `currentVersion` in one transaction, holding an advisory
    /// lock so that several workers starting at once migrate exactly once; then renames legacy
    /// merge proposal event ids (`ProposalEventId.repairPostgres`) in the same transaction.
    /// A database already current gets no DDL, so a role that may only read and write rows (no
    /// CREATE on the schema: PostgreSQL 15's default for `public`) can run workers on it.
    static func migrate(_ connection: PostgresConnection) throws(ETLError) {
        // A store already current with nothing to repair (every start but the first after an
        // upgrade): checked under the lock shared, as writes take it, so that a worker's start
        // does not wait for every write under way on the database, nor hold new ones behind it.
        let current = try connection.transaction(lockTimeout: 300) { () throws(ETLError) -> Bool in
            try connection.query("SELECT pg_advisory_xact_lock_shared($1::bigint)", [migrationLockKey])
            guard try connection.query(inCurrentSchema("schema_version")).rows.first?.first == "t",
                try connection.scalarInt("SELECT coalesce(max(version), 0) FROM schema_version") == currentVersion
            else { return false }
            let legacy = try connection.scalarInt(ProposalEventId.postgresHasLegacy)
            let twins = try connection.scalarInt(ProposalEventId.hasTwins(postgres: true))
            return legacy == 0 && twins == 0
        }
        if current { return }
        // A worker starting while another migrates (or while an ALTER waits behind a long read)
        // waits as long as that takes, up to 5 minutes, not the loads' lock timeout.
        try connection.transaction(lockTimeout: 300) { () throws(ETLError) in
            try connection.query("SELECT pg_advisory_xact_lock($1::bigint)", [migrationLockKey])
            let hasVersions = try connection.query(inCurrentSchema("schema_version")).rows.first?.first == "t"
            if !hasVersions {
                // Every store of this ETL records its migrations: an `events` table without them
                // is another application's, which migration 1 adopted and later ones altered
                // (or failed on with an SQL error that did not say why).
                // In the schema the migrations create in, as `CREATE TABLE IF NOT EXISTS` looks:
                // another application's `events` further down the path is not ours to mind.
                if try connection.query(inCurrentSchema("events")).rows.first?.first == "t" {
                    throw ETLError(
                        .database,
                        "the PostgreSQL database \(connection.target) has an events table this ETL did not create (it has no schema_version table): another application's; point ETL_DB_URL at another database, or at a schema of its own (CREATE SCHEMA launchpad_etl, then ?options=-csearch_path%3Dlaunchpad_etl in ETL_DB_URL)",
                        nonRetryable: true)
                }
                try ddl(connection) { () throws(ETLError) in
                    try connection.execute(
                        """
                        CREATE TABLE IF NOT EXISTS schema_version (
                            version INTEGER PRIMARY KEY,
                            applied_at TIMESTAMPTZ NOT NULL DEFAULT now()
                        )
                        """)
                }
            }
            let version = try connection.scalarInt("SELECT coalesce(max(version), 0) FROM schema_version")
            guard version <= currentVersion else {
                throw ETLError(
                    .database,
                    SchemaMismatch.message(
                        store: "the PostgreSQL database \(connection.target)", version: version, current: currentVersion,
                        elsewhere: "ETL_DB_URL"),
                    nonRetryable: true)
            }
            for index in version..<currentVersion {
                try ddl(connection) { () throws(ETLError) in try connection.execute(migrations[index]) }
                try connection.query("INSERT INTO schema_version (version) VALUES ($1::integer)", [String(index + 1)])
            }
            // Ids an earlier build still running beside a newer one wrote after the migration.
            if try connection.scalarInt(ProposalEventId.postgresHasLegacy) == 1 { try connection.execute(ProposalEventId.repairPostgres) }
            // Review requests an older builder credited to the registrant beside the requester's.
            if try connection.scalarInt(ProposalEventId.hasTwins(postgres: true)) == 1 {
                try connection.execute(ProposalEventId.dropTwins(postgres: true))
            }
        }
    }
}
