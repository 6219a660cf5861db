#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// The HTTP proxy a connection to a host goes through, read from the environment the way the
/// gRPC core reads it: `grpc_proxy`, else `https_proxy`, else `http_proxy` (either case), an
/// `http://[user:password@]host[:port]` URL; `no_grpc_proxy`, else `no_proxy`, lists the hosts
/// reached directly (comma-separated names, `.suffix`es, or `*` for all).
struct HTTPProxySetting: Equatable {
    var host: String
    var port: String
    /// The Proxy-Authorization header's value (`Basic …`), from the URL's user and password.
    var authorization: String?

    /// The proxy for `host`, or nil: connect directly. Throws for a proxy URL it cannot use.
    static func forHost(_ host: String, environment: [String: String]) throws -> HTTPProxySetting? {
        func value(_ names: String...) -> String? {
            names.lazy.compactMap { environment[$0] }.first { !$0.trimmedOfSpaces.isEmpty }
        }
        guard let url = value("grpc_proxy", "https_proxy", "HTTPS_PROXY", "http_proxy", "HTTP_PROXY") else { return nil }
        if let exempt = value("no_grpc_proxy", "no_proxy", "NO_PROXY"), bypasses(host, exempt) { return nil }
        return try parse(url.trimmedOfSpaces)
    }

    /// Whether `host` is on a no-proxy list.
    static func bypasses(_ host: String, _ list: String) -> Bool {
        let name = host.lowercased()
        for raw in list.split(separator: ",") {
            var entry = raw.trimmedOfSpaces.lowercased()
            if entry == "*" { return true }
            if entry.hasPrefix(".") { entry.removeFirst() }
            if entry.isEmpty { continue }
            if name == entry || name.hasSuffix("." + entry) { return true }
        }
        return false
    }

    static func parse(_ url: String) throws -> HTTPProxySetting {
        var rest = Substring(url)
        if let scheme = rest.firstRange(of: "://") {
            guard rest[..<scheme.lowerBound].lowercased() == "http" else {
                throw TemporalError(
                    code: .invalidArgument,
                    message: "the proxy '\(url)' is not an http:// URL: HTTP2Transport reaches servers only through HTTP proxies")
            }
            rest = rest[scheme.upperBound...]
        }
        if let slash = rest.firstIndex(of: "/") { rest = rest[..<slash] }
        var authorization: String?
        if let at = rest.lastIndex(of: "@") {
            let credentials = percentDecoded(rest[..<at])
            authorization = "Basic " + Data(credentials.utf8).base64EncodedString()
            rest = rest[rest.index(after: at)...]
        }
        var host = String(rest)
        var port = "80"
        if let colon = rest.lastIndex(of: ":"), !rest[colon...].contains("]") {
            host = String(rest[..<colon])
            port = String(rest[rest.index(after: colon)...])
        }
        if host.hasPrefix("["), host.hasSuffix("]") { host = String(host.dropFirst().dropLast()) }
        guard !host.isEmpty, let number = Int(port), (1...65535).contains(number) else {
            throw TemporalError(code: .invalidArgument, message: "the proxy '\(url)' is not http://host:port")
        }
        return HTTPProxySetting(host: host, port: port, authorization: authorization)
    }
}

/// `%XX` escapes decoded (a user or password in a proxy URL may hold `@` or `:`).
private func percentDecoded(_ text: Substring) -> String {
    var bytes: [UInt8] = []
    var utf8 = text.utf8[...]
    while let byte = utf8.popFirst() {
        if byte == UInt8(ascii: "%"), utf8.count >= 2, let value = UInt8(String(decoding: utf8.prefix(2), as: UTF8.self), radix: 16) {
            bytes.append(value)
            utf8 = utf8.dropFirst(2)
        } else {
            bytes.append(byte)
        }
    }
    return String(decoding: bytes, as: UTF8.self)
}

extension StringProtocol {
    /// Without leading and trailing spaces and tabs.
    fileprivate var trimmedOfSpaces: String {
        let isSpace: (Character) -> Bool = { $0 == " " || $0 == "\t" }
        guard let first = firstIndex(where: { !isSpace($0) }), let last = lastIndex(where: { !isSpace($0) }) else { return "" }
        return String(self[first...last])
    }
}
