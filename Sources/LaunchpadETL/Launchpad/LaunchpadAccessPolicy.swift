import Foundation

/// What a worker's operator allows workflow input to reach, and where the worker's Launchpad
/// credentials may go. Workflow input names the service root, and anyone allowed to start a
/// workflow writes workflow input: so the credentials are never sent to a root taken from
/// input unless the operator's own configuration trusts its host.
///
/// - Credentials go only over **https** to the Launchpad API hosts (production, staging,
///   qastaging, dogfood) and to the hosts listed in `LP_CREDENTIAL_HOSTS` (comma-separated
///   `host` or `host:port`, e.g. a corporate proxy in front of Launchpad). Requests to any
///   other root run anonymously, and the worker logs once per root that it did so.
/// - `LP_ALLOWED_SERVICE_ROOTS` (optional, comma-separated names or URLs, e.g.
///   `production,staging`) lists the roots workflow input may name; other roots fail the flow
///   with the non-retryable `ServiceRootNotAllowed`. Unset: the Launchpad instances, the hosts
///   of `LP_CREDENTIAL_HOSTS` and loopback roots (the fixture server). Any other root had to be
///   allowed: the worker fetches what input names and puts parts of the answers into failures
///   (in the history), so anyone allowed to start a workflow could read internal https hosts
///   through it.
public struct LaunchpadAccessPolicy: Sendable, Hashable {
    /// The API hosts of the named Launchpad instances.
    public static let launchpadHosts: Set<String> = Set(ServiceRoot.named.values.compactMap { Self.hostPort(of: $0) })

    /// Hosts (besides `launchpadHosts`) that may receive credentials over https.
    public var credentialHosts: Set<String>
    /// Roots workflow input may name (their URLs), or nil for any.
    public var allowedRoots: Set<String>?

    /// Creates a policy.
    public init(credentialHosts: Set<String> = [], allowedRoots: Set<String>? = nil) {
        self.credentialHosts = Set(credentialHosts.compactMap(Self.normalizedHost))
        self.allowedRoots = allowedRoots
    }

    /// A host entry as `hostPort(of:)` writes hosts: `HOST`, `host:443`, `https://host/` and
    /// `host.` all become `host`.
    static func normalizedHost(_ entry: String) -> String? {
        var text = entry.trimmingSpaces.lowercased()
        if !text.hasPrefix("https://") && !text.hasPrefix("http://") { text = "https://" + text }
        guard var host = hostPort(of: text) else { return nil }
        if host.hasSuffix(".") { host.removeLast() }
        return host.isEmpty ? nil : host
    }

    /// Reads `LP_CREDENTIAL_HOSTS` and `LP_ALLOWED_SERVICE_ROOTS`.
    public init(environment: [String: String]) throws(ETLError) {
        func list(_ name: String) -> [String] {
            (environment[name] ?? "").split(separator: ",").map { String($0).trimmingSpaces }.filter { !$0.isEmpty }
        }
        var roots: Set<String>?
        let rootNames = list("LP_ALLOWED_SERVICE_ROOTS")
        if !rootNames.isEmpty {
            var urls: Set<String> = []
            for name in rootNames {
                do throws(ETLError) {
                    let root = try ServiceRoot(name)
                    if let refusal = root.refusal { throw ETLError(.invalidConfiguration, refusal, nonRetryable: true) }
                    urls.insert(root.url)
                } catch {
                    throw ETLError(
                        .invalidConfiguration, "LP_ALLOWED_SERVICE_ROOTS lists '\(name)', which is not a service root: \(error.message)",
                        nonRetryable: true)
                }
            }
            roots = urls
        }
        let hosts = list("LP_CREDENTIAL_HOSTS")
        for entry in hosts {
            if let problem = Self.credentialHostProblem(entry) {
                throw ETLError(
                    .invalidConfiguration,
                    "LP_CREDENTIAL_HOSTS lists '\(entry)': \(problem); list each host as host or host:port (e.g. lp-proxy.corp.example or lp-proxy.corp.example:8443), comma-separated",
                    nonRetryable: true)
            }
        }
        self.init(credentialHosts: Set(hosts), allowedRoots: roots)
    }

    /// Why `entry` cannot be a credential host, or nil: a host name or address, an optional
    /// port, optionally written as an `https://` URL without a path.
    static func credentialHostProblem(_ entry: String) -> String? {
        let lowered = entry.lowercased()
        if lowered.hasPrefix("http://") { return "credentials go over https only, so a plain http host cannot receive them" }
        var text = Substring(lowered)
        if text.hasPrefix("https://") { text = text.dropFirst("https://".count) }
        if text.hasSuffix("/") { text = text.dropLast() }
        if text.contains("*") { return "wildcards are not supported" }
        if text.contains("/") || text.contains("?") || text.contains("#") { return "a host has no path" }
        if text.contains("@") { return "a host has no user name" }
        var host = text
        if text.hasPrefix("[") {
            guard let close = text.firstIndex(of: "]") else { return "an IPv6 address needs its closing ]" }
            host = text[text.index(after: text.startIndex)..<close]
            let rest = text[text.index(after: close)...]
            if !rest.isEmpty {
                guard rest.hasPrefix(":"), let port = Int(rest.dropFirst()), (1...65_535).contains(port) else {
                    return "'\(rest)' is not a port"
                }
            }
            return host.allSatisfy({ $0.isHexDigit || $0 == ":" || $0 == "." }) && !host.isEmpty ? nil : "not an IPv6 address"
        }
        if let colon = text.lastIndex(of: ":") {
            host = text[..<colon]
            guard let port = Int(text[text.index(after: colon)...]), (1...65_535).contains(port) else {
                return "'\(text[text.index(after: colon)...])' is not a port"
            }
        }
        guard !host.isEmpty, host.allSatisfy({ ($0.isASCII && ($0.isLetter || $0.isNumber)) || $0 == "-" || $0 == "." || $0 == "_" }) else {
            return "'\(host)' is not a host name"
        }
        return nil
    }

    /// Throws `ServiceRootNotAllowed` when `root` is not among the roots allowed: those of
    /// `LP_ALLOWED_SERVICE_ROOTS`, or without it the Launchpad instances, the hosts of
    /// `LP_CREDENTIAL_HOSTS` and loopback roots; and for a root no one may allow
    /// (`ServiceRoot.refusal`). Called where requests are made (activities), never in workflow
    /// code: an open run that names such a root replays, and fails at its next request.
    public func checkAllowed(_ root: ServiceRoot) throws(ETLError) {
        if let refusal = root.refusal { throw ETLError(.serviceRootNotAllowed, refusal, nonRetryable: true) }
        guard let allowedRoots else {
            // The hosts trusted with credentials (the named instances' among them), and loopback.
            if root.isLoopback || credentialRefusal(for: root.url) == nil { return }
            throw ETLError(
                .serviceRootNotAllowed,
                "service_root '\(root.name)' is neither a Launchpad instance (\(ServiceRoot.named.keys.sorted().joined(separator: ", "))), a host of LP_CREDENTIAL_HOSTS nor a loopback root; the worker reads another root only when its operator allows it (LP_ALLOWED_SERVICE_ROOTS, e.g. production,\(root.url)): anyone who may start a workflow names the root, and the worker fetches it",
                nonRetryable: true)
        }
        guard !allowedRoots.contains(root.url) else { return }
        throw ETLError(
            .serviceRootNotAllowed,
            "service_root '\(root.name)' is not among the roots this worker serves (LP_ALLOWED_SERVICE_ROOTS: \(allowedRoots.sorted().joined(separator: ", "))); use one of them, or ask the worker's operator to add it",
            nonRetryable: true)
    }

    /// Why credentials must not be sent to `url` (an API root or a request URL), or nil when
    /// they may: https, and a host the policy trusts.
    public func credentialRefusal(for url: String) -> String? {
        guard url.lowercased().hasPrefix("https://") else {
            return "\(url) is not https: credentials would travel in clear text"
        }
        guard let host = Self.hostPort(of: url) else { return "\(url) has no host" }
        if Self.launchpadHosts.contains(host) || credentialHosts.contains(host) { return nil }
        return
            "\(host) is neither a Launchpad API host (\(Self.launchpadHosts.sorted().joined(separator: ", "))) nor listed in LP_CREDENTIAL_HOSTS"
    }

    /// `host` or `host:port` of an http(s) URL, lowercased, without a default port.
    static func hostPort(of url: String) -> String? {
        let lowered = url.lowercased()
        let scheme = lowered.hasPrefix("https://") ? "https://" : lowered.hasPrefix("http://") ? "http://" : nil
        guard let scheme else { return nil }
        var host = String(lowered.dropFirst(scheme.count).prefix(while: { $0 != "/" && $0 != "?" && $0 != "#" }))
        if let at = host.lastIndex(of: "@") { host = String(host[host.index(after: at)...]) }
        if scheme == "https://", host.hasSuffix(":443") { host.removeLast(4) }
        if scheme == "http://", host.hasSuffix(":80") { host.removeLast(3) }
        return host.isEmpty ? nil : host
    }
}

extension ETLError.Code {
    /// Workflow input names a service root the worker's operator did not allow.
    public static let serviceRootNotAllowed = ETLError.Code(rawValue: "ServiceRootNotAllowed")
    /// The worker's own configuration is invalid.
    public static let invalidConfiguration = ETLError.Code(rawValue: "InvalidConfiguration")
}
