/// The message for a store whose schema is not this build's.
enum SchemaMismatch {
    /// Says what `store` holds against `current` and what to do: a report never changes a store.
    /// - Parameter elsewhere: the setting that names another store, offered with a newer schema.
    static func message(store: String, version: Int, current: Int, elsewhere: String? = nil) -> String {
        if version == 0 {
            return "\(store) holds no event store (no schema): run the ETL first, or name another store"
        }
        if version < current {
            return
                "\(store) has schema version \(version), older than this build's \(current); a report does not migrate a store (older workers sharing it would refuse it): start a worker of this build on it once, or use the report of the build that wrote it"
        }
        return
            "\(store) has schema version \(version), newer than this build's \(current); use a newer build\(elsewhere.map { " or another \($0)" } ?? "")"
    }

    /// Refuses, retryably, a write to `store` at schema `version` when a newer build migrated it
    /// past this worker's `current` while the worker had it open: the worker writes no more to
    /// it (its rules are not the newer schema's); the write is retried until a worker of the
    /// newer build takes it.
    static func refuseMigratedMeanwhile(store: String, version: Int, current: Int) throws(ETLError) {
        guard version > current else { return }
        throw ETLError(
            .database,
            "\(store) was migrated to schema version \(version) by a newer build while this worker (schema \(current)) had it open: this worker writes no more to it; stop the workers of this build (the write is retried, as its activity's retries allow, and a worker of the newer build takes it)",
            nonRetryable: false)
    }
}
