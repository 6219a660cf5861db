extension SQLiteEventStore {
    public func saveCheckpointState(_ text: String, batchId: String) async throws(ETLError) {
        try await perform { connection throws(ETLError) in
            try connection.transaction { () throws(ETLError) in
                try Self.refuseIfLoaded(batchId, connection)
                try connection.statement(
                    """
                    INSERT INTO extraction_checkpoints (batch_id, checkpoint) VALUES (?1, ?2)
                    ON CONFLICT (batch_id) DO UPDATE SET checkpoint = excluded.checkpoint, updated_at = CURRENT_TIMESTAMP
                    """
                ).run([.text(batchId), .text(text)])
            }
        }
    }

    public func replaceCheckpointState(_ text: String, batchId: String, generation: String?) async throws(ETLError) {
        try await perform { connection throws(ETLError) in
            try connection.transaction { () throws(ETLError) in
                try Self.refuseIfLoaded(batchId, connection)
                try ExtractionCheckpoint.requireGeneration(
                    generation, stored: try Self.checkpointState(batchId, connection), batchId: batchId)
                try connection.statement(
                    "UPDATE extraction_checkpoints SET checkpoint = ?2, updated_at = CURRENT_TIMESTAMP WHERE batch_id = ?1"
                ).run([.text(batchId), .text(text)])
            }
        }
    }

    public func loadCheckpointState(batchId: String) async throws(ETLError) -> String? {
        try await perform { connection throws(ETLError) in try Self.checkpointState(batchId, connection) }
    }

    /// Refuses a write of `claim`'s start when the batch's stored checkpoint is of another (in
    /// the write's transaction: SQLite has one writer, so no restart comes in between).
    static func require(_ claim: BatchClaim?, _ batchId: String, _ connection: SQLiteConnection) throws(ETLError) {
        guard let claim else { return }
        try ExtractionCheckpoint.requireGeneration(claim.generation, stored: try checkpointState(batchId, connection), batchId: batchId)
    }

    static func checkpointState(_ batchId: String, _ connection: SQLiteConnection) throws(ETLError) -> String? {
        let statement = try connection.statement("SELECT checkpoint FROM extraction_checkpoints WHERE batch_id = ?1")
        defer { statement.reset() }
        try statement.bind([.text(batchId)])
        return try statement.step() ? statement.text(0) : nil
    }

    /// Records items discovered by a paging phase (`kind` e.g. `bug`), keyed for ordered
    /// resumption; re-recording an item replaces its payload.
    public func stageItems(_ items: [(key: String, payload: JSONValue)], kind: StagedItemKind, batchId: String, claim: BatchClaim?)
        async throws(ETLError)
    {
        guard !items.isEmpty else { return }
        let rows = items.map { ($0.key, $0.payload.serialized()) }
        try await perform { connection throws(ETLError) in
            try connection.transaction { () throws(ETLError) in
                try Self.refuseIfLoaded(batchId, connection)
                try Self.require(claim, batchId, connection)
                let statement = try connection.statement(
                    """
                    INSERT INTO staged_items (batch_id, kind, item_key, payload) VALUES (?1, ?2, ?3, ?4)
                    ON CONFLICT (batch_id, kind, item_key) DO UPDATE SET payload = excluded.payload
                    """)
                for (key, payload) in rows { try statement.run([.text(batchId), .text(kind.rawValue), .text(key), .text(payload)]) }
            }
        }
    }

    public func recordReader(_ reader: String, batchId: String, claim: BatchClaim?) async throws(ETLError) {
        try await perform { connection throws(ETLError) in
            try connection.transaction { () throws(ETLError) in
                try Self.refuseIfLoaded(batchId, connection)
                try Self.require(claim, batchId, connection)
                try connection.statement(
                    "INSERT OR IGNORE INTO staged_readers (batch_id, reader, recorded_at) VALUES (?1, ?2, \(SQLiteSchema.nowMilliseconds))"
                )
                .run([.text(batchId), .text(reader)])
            }
        }
    }

    public func readers(batchId: String) async throws(ETLError) -> [String] {
        try await perform { connection throws(ETLError) in
            let statement = try connection.statement("SELECT reader FROM staged_readers WHERE batch_id = ?1 ORDER BY reader")
            defer { statement.reset() }
            try statement.bind([.text(batchId)])
            var readers: [String] = []
            while try statement.step() { readers.append(statement.text(0) ?? "") }
            return readers
        }
    }

    /// Up to `limit` staged items of `kind` with keys after `cursor`, in key order.
    public func stagedItems(kind: StagedItemKind, batchId: String, after cursor: String?, limit: Int) async throws(ETLError) -> [(
        key: String, payload: JSONValue
    )] {
        let rows: [(String, String)] = try await perform { connection throws(ETLError) in
            let statement = try connection.statement(
                """
                SELECT item_key, payload FROM staged_items WHERE batch_id = ?1 AND kind = ?2 AND item_key > ?3
                ORDER BY item_key LIMIT ?4
                """)
            defer { statement.reset() }
            try statement.bind([.text(batchId), .text(kind.rawValue), .text(cursor ?? ""), .int(limit)])
            var rows: [(String, String)] = []
            while try statement.step() { rows.append((statement.text(0) ?? "", statement.text(1) ?? "null")) }
            return rows
        }
        var items: [(key: String, payload: JSONValue)] = []
        for (key, text) in rows {
            guard let payload = try? JSONParser.parse(text) else {
                throw ETLError(
                    .database, "staged item \(kind.rawValue) '\(key)' of batch '\(batchId)' is not valid JSON", nonRetryable: false)
            }
            items.append((key, payload))
        }
        return items
    }
}
