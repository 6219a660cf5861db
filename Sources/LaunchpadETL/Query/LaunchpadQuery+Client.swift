public import Foundation

extension LaunchpadClientConfiguration {
    /// The configuration for a query: its service root, version and application name
    /// (`LP_APP_ID` overrides a defaulted name), credentials from the environment — used only
    /// when `LaunchpadAccessPolicy` (also from the environment) trusts the root's host.
    ///
    /// - Throws: `ServiceRootNotAllowed` when `LP_ALLOWED_SERVICE_ROOTS` excludes the root.
    public init(query: LaunchpadQuery, environment: [String: String] = ProcessInfo.processInfo.environment) throws(ETLError) {
        var name = query.applicationName
        if name == LaunchpadQuery.defaultApplicationName, let appId = try LaunchpadQuery.appId(environment) { name = appId }
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
        try applyLimits(environment)
        accessPolicy = policy
        credentialsWithheld = withheld
    }

    /// Reads `LP_MAX_RETRY_AFTER`, `LP_MAX_CONCURRENT_REQUESTS`, `LP_MAX_CONCURRENT_STREAMS` and
    /// `LP_REVIEW_TARGETS`.
    mutating func applyLimits(_ environment: [String: String]) throws(ETLError) {
        if let text = ETLEnvironment.value("LP_MAX_RETRY_AFTER", in: environment) {
            guard let seconds = Int(text), seconds >= 0 else {
                throw ETLError(
                    .invalidConfiguration, "LP_MAX_RETRY_AFTER is '\(text)', not a number of seconds (e.g. 60)", nonRetryable: true)
            }
            retry.maxRetryAfter = .seconds(seconds)
        }
        let limits: [(String, WritableKeyPath<Self, Int>)] = [
            ("LP_MAX_CONCURRENT_REQUESTS", \.maxConcurrentRequests), ("LP_MAX_CONCURRENT_STREAMS", \.maxConcurrentRequestsOverHTTP2),
        ]
        for (name, limit) in limits {
            guard let text = ETLEnvironment.value(name, in: environment) else { continue }
            guard let value = Int(text), (1...64).contains(value) else {
                throw ETLError(
                    .invalidConfiguration, "\(name) is '\(text)', not a number of requests from 1 to 64 (default \(self[keyPath: limit]))",
                    nonRetryable: true)
            }
            self[keyPath: limit] = value
        }
        if let text = ETLEnvironment.value("LP_REVIEW_TARGETS", in: environment) {
            guard let value = Int(text), (0...1_000).contains(value) else {
                throw ETLError(
                    .invalidConfiguration,
                    "LP_REVIEW_TARGETS is '\(text)', not a number of review targets from 0 to 1000 (default \(ReviewTargets.defaultLimit))",
                    nonRetryable: true)
            }
            reviewTargetLimit = value
        }
    }

    /// The Launchpad variables a worker reads (`LP_FIXTURE_*` belong to the fixture server).
    public static let environmentVariables: Set<String> = [
        "LP_APP_ID", "LP_ACCESS_TOKEN", "LP_ACCESS_SECRET", "LP_CONSUMER_KEY", "LP_CONSUMER_SECRET", "LP_CREDENTIALS_FILE",
        "LP_CREDENTIAL_HOSTS", "LP_ALLOWED_SERVICE_ROOTS", "LP_MAX_RETRY_AFTER", "LP_MAX_CONCURRENT_REQUESTS",
        "LP_MAX_CONCURRENT_STREAMS", "LP_REVIEW_TARGETS",
    ]

    /// Checks the worker's Launchpad settings once, when it starts, as every flow would read
    /// them: credentials (both halves of a token, a readable credentials file), the access
    /// policy and the request limits. A mistake stops the worker there instead of failing each
    /// flow later.
    ///
    /// - Returns: the access policy, how flows will authenticate (for the start log), and a warning for every
    ///   `LP_…` variable that is set but not one the worker reads (a mistyped
    ///   `LP_ACCESS_TOKN` would otherwise leave the worker anonymous without a word).
    /// - Throws: `InvalidLaunchpadCredentials` or `InvalidConfiguration`, naming the variable.
    public static func checkEnvironment(_ environment: [String: String]) throws(ETLError) -> (
        policy: LaunchpadAccessPolicy, access: String, warnings: [String]
    ) {
        let policy = try LaunchpadAccessPolicy(environment: environment)
        let name = try LaunchpadQuery.appId(environment) ?? LaunchpadQuery.defaultApplicationName
        let credentials = try LaunchpadCredentials.fromEnvironment(environment, applicationName: name)
        var configuration = LaunchpadClientConfiguration(
            serviceRoot: try ServiceRoot("production"), version: "devel", applicationName: name, credentials: credentials)
        try configuration.applyLimits(environment)
        let access: String
        switch credentials {
        case .anonymous:
            access =
                "Launchpad access: anonymous, public data only (set LP_ACCESS_TOKEN and LP_ACCESS_SECRET, or LP_CREDENTIALS_FILE, for private data)"
        case .oauth(let consumerKey, _, _, _):
            access = "Launchpad access: OAuth, consumer '\(consumerKey)', to trusted https hosts only"
        }
        let unknown = environment.keys.filter {
            $0.hasPrefix("LP_") && !$0.hasPrefix("LP_FIXTURE_") && !environmentVariables.contains($0)
        }
        let warnings = unknown.sorted().map {
            "\($0) is set but no Launchpad setting has that name; the worker ignores it (is it mistyped? the settings are \(environmentVariables.sorted().joined(separator: ", ")))"
        }
        return (policy, access, warnings)
    }
}

extension LaunchpadQuery {
    /// `LP_APP_ID`, the application name that replaces a query's default one: trimmed (a value
    /// read from a secret file ends with a line break), nil when unset or blank.
    ///
    /// - Throws: `invalidConfiguration` when it holds what may not go into a request header.
    static func appId(_ environment: [String: String]) throws(ETLError) -> String? {
        guard let appId = ETLEnvironment.value("LP_APP_ID", in: environment) else { return nil }
        if let bad = headerUnsafe(appId) {
            throw ETLError(
                .invalidConfiguration,
                "LP_APP_ID \(JSONValue.string(appId).serialized()) has \(bad); it names the application in every request's User-Agent and OAuth header, so it may not hold control characters, quotes or backslashes: set it to a plain name, e.g. \"\(defaultApplicationName)\"",
                nonRetryable: true)
        }
        return appId
    }
}
