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
}
