/// Where a Launchpad web service lives: a named instance or an explicit URL.
public struct ServiceRoot: Sendable, Hashable, CustomStringConvertible {
    /// The API versions Launchpad serves (`beta`, `1.0`, `devel`).
    public static let apiVersions = ["beta", "1.0", "devel"]
    /// The service root URL, always ending in `/` (e.g. `https://api.launchpad.net/`).
    public let url: String
    /// The name it was given by (`production`, …) or the URL as written.
    public let name: String

    /// The named instances (launchpadlib's `uris.py`).
    public static let named: [String: String] = [
        "production": "https://api.launchpad.net/",
        "staging": "https://api.staging.launchpad.net/",
        "qastaging": "https://api.qastaging.launchpad.net/",
        "dogfood": "https://api.dogfood.paddev.net/",
    ]

    /// Resolves `production`, `staging`, `qastaging`, `dogfood` (and the deprecated `edge`, an
    /// alias of production), an `https://` URL, or an `http://` URL on a loopback host (the
    /// fixture server). A URL that already ends in an API version is rejected, as launchpadlib does.
    public init(_ text: String) throws(ETLError) {
        let trimmed = text.trimmingSpaces
        let lowered = trimmed.lowercased()
        if let url = Self.named[lowered] ?? (lowered == "edge" ? Self.named["production"] : nil) {
            self.url = url
            self.name = lowered
            return
        }
        let known = Self.named.keys.sorted().joined(separator: ", ")
        guard lowered.hasPrefix("https://") || lowered.hasPrefix("http://") else {
            throw ETLError(
                .invalidQuery,
                "service_root '\(text)' is neither a known Launchpad instance (\(known)) nor an http(s) URL; use e.g. \"production\"",
                nonRetryable: true)
        }
        let afterScheme = trimmed.drop(while: { $0 != ":" }).dropFirst(3)
        let hostPort = afterScheme.prefix(while: { $0 != "/" && $0 != "?" && $0 != "#" })
        guard !hostPort.isEmpty else {
            throw ETLError(.invalidQuery, "service_root '\(text)' has no host; use e.g. \"https://api.launchpad.net/\"", nonRetryable: true)
        }
        if lowered.hasPrefix("http://") && !Self.isLoopback(hostPort: String(hostPort)) {
            throw ETLError(
                .invalidQuery,
                "service_root '\(text)' uses plain http on a non-loopback host; Launchpad credentials must travel over https (http is allowed only for 127.0.0.1/localhost, e.g. the fixture server)",
                nonRetryable: true)
        }
        var url = trimmed
        // Spelled as Launchpad spells the links it returns (scheme and host lowercased, no
        // default port): links are matched against the API base by prefix (review targets),
        // and `https://API.launchpad.net:443/` matched none, leaving them unsearched without a word.
        if !hostPort.contains("@"), let origin = LaunchpadURL.origin(of: url) {
            url = origin + afterScheme.dropFirst(hostPort.count)
        }
        if !url.hasSuffix("/") { url += "/" }
        for version in Self.apiVersions where url.hasSuffix("/\(version)/") {
            throw ETLError(
                .invalidQuery,
                "service_root '\(text)' already ends in the API version '\(version)'; give the root (e.g. \"\(url.dropLast(version.count + 1))\") and put the version in \"version\"",
                nonRetryable: true)
        }
        self.url = url
        self.name = trimmed
    }

    /// Why this root is not read, whatever the operator allows, or nil: a root is a scheme, a
    /// host and a path. User information names another host to some readers than to others
    /// (`https://a@b@c/`), and a query or fragment swallows the API path the client appends
    /// (`https://host/admin?x=` + `devel/~name`). Not part of `init`, which workflow code runs on
    /// every replay (runs started with such a root replay as they ran): checked where requests
    /// are made (`LaunchpadAccessPolicy.checkAllowed`) and by the starter.
    public var refusal: String? {
        let afterScheme = url.drop(while: { $0 != ":" }).dropFirst(3)
        let hostPort = afterScheme.prefix(while: { $0 != "/" && $0 != "?" && $0 != "#" })
        if hostPort.contains("@") {
            return "service_root '\(name)' has a user name in it; give the root's URL alone, e.g. \"https://api.launchpad.net/\""
        }
        if afterScheme.contains("?") || afterScheme.contains("#") {
            return
                "service_root '\(name)' has a query or fragment; give the root's URL alone (the API version and paths are appended to it), e.g. \"https://api.launchpad.net/\""
        }
        return nil
    }

    /// The API base for a version, e.g. `https://api.launchpad.net/devel/`.
    public func apiBase(version: String) -> String { url + version + "/" }

    public var description: String { name }

    /// Whether the root's host is a loopback address (the fixture server).
    public var isLoopback: Bool {
        let hostPort = url.drop(while: { $0 != ":" }).dropFirst(3).prefix(while: { $0 != "/" })
        return Self.isLoopback(hostPort: String(hostPort))
    }

    /// True for `localhost`, `[::1]` and `127.x.y.z` (four numbers), with or without a port.
    /// A root with user information (`http://127.0.0.1@elsewhere/`, whose host is `elsewhere`)
    /// is never loopback.
    static func isLoopback(hostPort: String) -> Bool {
        guard !hostPort.contains("@"), !hostPort.contains("\\") else { return false }
        var host = hostPort
        if host.hasPrefix("[") {
            host = String(host.dropFirst().prefix(while: { $0 != "]" }))
        } else if let colon = host.lastIndex(of: ":") {
            host = String(host[..<colon])
        }
        host = host.lowercased()
        if host == "localhost" || host == "::1" { return true }
        let parts = host.split(separator: ".", omittingEmptySubsequences: false)
        return parts.count == 4 && parts[0] == "127"
            && parts.allSatisfy { part in UInt8(part).map { String($0) == part } ?? false }  // no leading zeros: 127.08.0.1 is a name
    }
}

extension String {
    /// The string without leading and trailing whitespace.
    package var trimmingSpaces: String {
        guard let first = firstIndex(where: { !$0.isWhitespace }), let last = lastIndex(where: { !$0.isWhitespace }) else { return "" }
        return String(self[first...last])
    }

    /// True when the string is empty or only whitespace (without building a trimmed copy).
    var isBlank: Bool { allSatisfy(\.isWhitespace) }
}
