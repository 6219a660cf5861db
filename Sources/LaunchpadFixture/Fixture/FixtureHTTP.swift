public import LaunchpadETL

/// A request as the fixture router sees it (transport-neutral).
public struct FixtureRequest: Sendable {
    /// `GET`, …
    public var method: String
    /// The percent-decoded path, e.g. `/devel/~alice-example`.
    public var path: String
    /// The raw query string without `?`.
    public var query: String
    /// The `Host` header (`127.0.0.1:8085`), used to build absolute links.
    public var host: String
    /// `http`, or `https` behind a TLS front end that says so (`X-Forwarded-Proto`): the
    /// scheme of absolute links.
    public var scheme: String
    /// The `Authorization` header, if any (OAuth 1.0, checked as Launchpad checks it).
    public var authorization: String?
    /// The `User-Agent` header: nil when the transport does not say (direct router tests),
    /// `""` when the request had none.
    public var userAgent: String?

    /// Creates a request.
    public init(
        method: String = "GET", path: String, query: String = "", host: String, scheme: String = "http", authorization: String? = nil,
        userAgent: String? = nil
    ) {
        self.method = method
        self.path = path
        self.query = query
        self.host = host
        self.scheme = scheme == "https" ? "https" : "http"
        self.authorization = authorization
        self.userAgent = userAgent
    }

    /// Decoded query items in order (`+` as space).
    public var queryItems: [(name: String, value: String)] {
        query.split(separator: "&").map { item in
            let pair = item.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
            return (LaunchpadURL.queryDecode(pair[0]), pair.count > 1 ? LaunchpadURL.queryDecode(pair[1]) : "")
        }
    }
}

/// A response from the fixture router.
public struct FixtureResponse: Sendable {
    public var status: Int
    public var headers: [(String, String)]
    public var body: [UInt8]
    /// How long the server should wait before sending it (latency, stalls).
    public var delayMilliseconds: Int

    /// A JSON response, non-ASCII written as `\uXXXX` escapes (surrogate pairs beyond the
    /// BMP), as Launchpad's Python serializer writes it.
    public static func json(_ value: JSONValue, status: Int = 200) -> FixtureResponse {
        FixtureResponse(
            status: status, headers: [("Content-Type", "application/json")], body: asciiEscaped(value.serialized()), delayMilliseconds: 0)
    }

    /// `text` with every non-ASCII scalar as a JSON `\uXXXX` escape (valid because non-ASCII
    /// appears only inside JSON strings).
    static func asciiEscaped(_ text: String) -> [UInt8] {
        var output: [UInt8] = []
        output.reserveCapacity(text.utf8.count)
        let hex = Array("0123456789abcdef".utf8)
        func escape(_ unit: UInt16) {
            output.append(contentsOf: "\\u".utf8)
            for shift in [12, 8, 4, 0] { output.append(hex[Int((unit >> UInt16(shift)) & 0xF)]) }
        }
        for scalar in text.unicodeScalars {
            if scalar.isASCII {
                output.append(UInt8(scalar.value))
            } else {
                for unit in String(scalar).utf16 { escape(unit) }
            }
        }
        return output
    }

    /// A `text/plain` response, Launchpad's format for 400/401/404.
    public static func text(_ text: String, status: Int) -> FixtureResponse {
        FixtureResponse(
            status: status, headers: [("Content-Type", "text/plain;charset=utf-8")], body: Array(text.utf8), delayMilliseconds: 0)
    }

    /// An HTML error page.
    public static func html(_ html: String, status: Int, headers: [(String, String)] = []) -> FixtureResponse {
        FixtureResponse(
            status: status, headers: [("Content-Type", "text/html;charset=utf-8")] + headers, body: Array(html.utf8), delayMilliseconds: 0)
    }
}
