/// How every program of the ETL reads its own settings from the environment.
package enum ETLEnvironment {
    /// `name`'s value in `environment` without the spaces and line breaks around it (a value
    /// read from a secret file, a Kubernetes secret or `$(cat file)` ends with a line break);
    /// nil when unset or blank, which is unset.
    package static func value(_ name: String, in environment: [String: String]) -> String? {
        guard let value = environment[name]?.trimmingSpaces, !value.isEmpty else { return nil }
        return value
    }
}
