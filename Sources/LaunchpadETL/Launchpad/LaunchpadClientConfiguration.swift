import Foundation

/// Everything a `LaunchpadClient` needs; the defaults suit production.
public struct LaunchpadClientConfiguration: Sendable {
    /// Where the API lives.
    public var serviceRoot: ServiceRoot
    /// `devel` (default), `1.0` or `beta`.
    public var version: String = "devel"
    /// Names the application in the User-Agent (and is the default OAuth consumer key).
    public var applicationName: String
    /// Anonymous (default) or OAuth.
    public var credentials: LaunchpadCredentials = .anonymous
    /// `ws.size` of collection requests (1…300, default 300, Launchpad's maximum).
    public var pageSize: Int = 300
    /// Requests in flight at once over HTTP/1.1, each on its own kept-alive connection
    /// (default 4).
    public var maxConcurrentRequests: Int = 4
    /// Requests in flight at once once Launchpad answers over HTTP/2 (default 8): they are
    /// streams of one connection, so more of them cost no connection and no TLS handshake;
    /// the server still serves each request. Never below `maxConcurrentRequests`.
    public var maxConcurrentRequestsOverHTTP2: Int = Self.defaultMaxConcurrentRequestsOverHTTP2
    /// The default of `maxConcurrentRequestsOverHTTP2`.
    public static let defaultMaxConcurrentRequestsOverHTTP2 = 8
    /// Review targets an extraction lists merge proposals of (`LP_REVIEW_TARGETS`, default
    /// `ReviewTargets.defaultLimit`; see `ReviewTargets`): those beyond it are named as skipped,
    /// except the projects the member's teams own.
    public var reviewTargetLimit: Int = ReviewTargets.defaultLimit
    /// TCP/TLS connect timeout (default 10 s).
    public var connectTimeout: Duration = .seconds(10)
    /// Whole-request timeout, covering stalled responses (default 60 s).
    public var requestTimeout: Duration = .seconds(60)
    /// The largest response body read (default 64 MiB): a larger one fails, or, for a page of a
    /// collection, is asked for again in smaller pages.
    public var maxResponseBytes: Int = 64 << 20
    /// Keep connections open between requests (default true): a reused connection saves a TCP
    /// and a TLS handshake per request. False opens one per request (for comparisons).
    public var reuseConnections = true
    /// A PEM file of CA certificates to trust instead of the system's (e.g. a proxy with a
    /// private CA); nil: the system roots.
    public var caFile: String?
    /// Retry policy for 429/5xx, connection errors, timeouts and truncated bodies.
    public var retry = HTTPRetryPolicy()
    /// Where credentials may be sent (requests elsewhere go without them) and which roots
    /// workflow input may name. Default: credentials only over https to Launchpad's own hosts.
    public var accessPolicy = LaunchpadAccessPolicy()
    /// Why the environment's credentials are not used for this root (nil when they are, or
    /// when there are none): the root came from workflow input and its host is not trusted.
    public var credentialsWithheld: String?

    /// Creates a configuration.
    public init(
        serviceRoot: ServiceRoot, version: String = "devel", applicationName: String, credentials: LaunchpadCredentials = .anonymous
    ) {
        self.serviceRoot = serviceRoot
        self.version = version
        self.applicationName = applicationName
        self.credentials = credentials
    }

    /// `https://api.launchpad.net/devel/`-style base of every API URL.
    public var apiBase: String { serviceRoot.apiBase(version: version) }

    /// The User-Agent sent with every request.
    public var userAgent: String {
        "\(applicationName) (TemporalETL-Swift LaunchpadETL; libcurl; +https://launchpad.net/) oauth_consumer=\"\(applicationName)\""
    }
}
