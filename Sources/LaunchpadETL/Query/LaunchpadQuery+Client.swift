public import Foundation

extension LaunchpadClientConfiguration {
    /// The configuration for a query: its service root, version and application name
    /// (`LP_APP_ID` overrides a defaulted name), credentials from the environment — used only
    /// when `LaunchpadAccessPolicy` (also from the environment) trusts the root's host.
    ///
    /// - Throws: `ServiceRootNotAllowed` when `LP_ALLOWED_SERVICE_ROOTS` excludes the root.
    public init(query: LaunchpadQuery, environment: [String: String] = ProcessInfo.processInfo.environment) throws(ETLError) {
        var name = query.applicationName
        if name == LaunchpadQuery.defaultApplicationName, let appId = environment["LP_APP_ID"], !appId.isEmpty { name = appId }
        let root = try query.resolvedServiceRoot()
        let policy = try LaunchpadAccessPolicy(environment: environment)
        try policy.checkAllowed(root)
        var credentials = try LaunchpadCredentials.fromEnvironment(environment, applicationName: name)
        var withheld: String?
        if credentials != .anonymous, let reason = policy.credentialRefusal(for: root.url) {
            credentials = .anonymous
            withheld =
                "the Launchpad credentials of this worker are not sent to service root \(root.url): \(reason); requests there run anonymously (public data only)"
        }
        self.init(serviceRoot: root, version: query.version, applicationName: name, credentials: credentials)
        if let text = environment["LP_MAX_RETRY_AFTER"], !text.isEmpty {
            guard let seconds = Int(text.trimmingSpaces), seconds >= 0 else {
                throw ETLError(
                    .invalidConfiguration, "LP_MAX_RETRY_AFTER is '\(text)', not a number of seconds (e.g. 60)", nonRetryable: true)
            }
            retry.maxRetryAfter = .seconds(seconds)
        }
        let limits: [(String, WritableKeyPath<Self, Int>)] = [
            ("LP_MAX_CONCURRENT_REQUESTS", \.maxConcurrentRequests), ("LP_MAX_CONCURRENT_STREAMS", \.maxConcurrentRequestsOverHTTP2),
        ]
        for (name, limit) in limits {
            guard let text = environment[name], !text.isEmpty else { continue }
            guard let value = Int(text.trimmingSpaces), (1...64).contains(value) else {
                throw ETLError(
                    .invalidConfiguration, "\(name) is '\(text)', not a number of requests from 1 to 64 (default \(self[keyPath: limit]))",
                    nonRetryable: true)
            }
            self[keyPath: limit] = value
        }
        accessPolicy = policy
        credentialsWithheld = withheld
    }
}
