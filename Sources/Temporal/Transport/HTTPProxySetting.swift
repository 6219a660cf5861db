#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// The HTTP proxy a connection to a host goes through, read from the environment the way the
/// gRPC core (1.51) reads it: the first of `grpc_proxy`, `https_proxy`, `http_proxy` that is set
/// (an empty value: no proxy), an `http://[user:password@]host[:port]` URL (port 443 by
/// default); the first of `no_grpc_proxy`, `no_proxy` that is set lists the hosts reached
/// directly (comma-separated). Unlike the gRPC core, a no-proxy entry matches whole labels
/// (`temporal.io` exempts `api.temporal.io`, not `eviltemporal.io`) and `*` exempts every host.
struct HTTPProxySetting: Equatable {
    var host: String
    var port: String
    /// The Proxy-Authorization header's value (`Basic …`), from the URL's user and password.
    var authorization: String?

    /// The proxy for `host`, or nil: connect directly. Throws for a proxy URL it cannot use.
    static func forHost(_ host: String, environment: [String: String]) throws -> HTTPProxySetting? {
        func firstSet(_ names: String...) -> String? { names.lazy.compactMap { environment[$0] }.first }
        guard let url = firstSet("grpc_proxy", "https_proxy", "http_proxy")?.trimmedOfSpaces, !url.isEmpty else { return nil }
        if let exempt = firstSet("no_grpc_proxy", "no_proxy"), bypasses(host, exempt) { return nil }
        return try parse(url)
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
        var scheme = "http"
        if let end = rest.firstRange(of: "://") {
            scheme = rest[..<end.lowerBound].lowercased()
            rest = rest[end.upperBound...]
        }
        // The user info first: up to the first `@` that a host[:port] without `@` follows (up to
        // the path), so that a raw `@` in the password, or a `/` in it before the host, stays in
        // it, and a path after user info may hold an `@` (cut at the first `/`, the rest was
        // read as host and port, and the message showed the user and half the password). Not
        // every mix reads right: a password with a raw `@` followed by a `/` (`u:p@ss/w@host`), or
        // an `@` in a path without user info, is read at the first `@`: percent-encode them.
        var authorization: String?
        let userInfoEnd = rest.indices.first { at in
            guard rest[at] == "@" else { return false }
            let after = rest[rest.index(after: at)...]
            let host = after[..<(after.firstIndex(of: "/") ?? after.endIndex)]
            return !host.isEmpty && !host.contains("@")
        }
        // An `@` left unread (user info without a host after it, `http://user:pass@` with a
        // variable unset) may leave the password where the host is read: never shown then.
        let mayHoldUserInfo = userInfoEnd == nil && rest.contains("@")
        if let at = userInfoEnd {
            authorization = "Basic " + Data(percentDecoded(rest[..<at])).base64EncodedString()
            rest = rest[rest.index(after: at)...]
        }
        if let slash = rest.firstIndex(of: "/") { rest = rest[..<slash] }
        // Never the credentials in a message: it ends up in logs.
        let shown = mayHoldUserInfo ? "\(scheme)://… (user info without a host after it?)" : "\(scheme)://\(rest)"
        guard scheme == "http" else {
            throw TemporalError(
                code: .invalidArgument,
                message: "the proxy '\(shown)' (grpc_proxy, https_proxy or http_proxy) is not an http:// URL: HTTP2Transport "
                    + "tunnels through HTTP proxies only; set grpc_proxy to one, or to an empty value to connect directly")
        }
        var host = String(rest)
        var port = "443"
        if let colon = rest.lastIndex(of: ":"), !rest[colon...].contains("]") {
            host = String(rest[..<colon])
            port = String(rest[rest.index(after: colon)...])
        }
        if host.hasPrefix("["), host.hasSuffix("]") { host = String(host.dropFirst().dropLast()) }
        guard !host.isEmpty, let number = Int(port), (1...65535).contains(number) else {
            throw TemporalError(
                code: .invalidArgument, message: "the proxy '\(shown)' is not http://host:port (grpc_proxy, https_proxy or http_proxy)")
        }
        return HTTPProxySetting(host: host, port: port, authorization: authorization)
    }
}

/// `%XX` escapes (two hex digits) decoded, as bytes: a user or password in a proxy URL may hold
/// `@`, `:` or bytes that are not UTF-8.
private func percentDecoded(_ text: Substring) -> [UInt8] {
    func hexValue(_ byte: UInt8) -> UInt8? {
        switch byte {
        case UInt8(ascii: "0")...UInt8(ascii: "9"): byte - UInt8(ascii: "0")
        case UInt8(ascii: "a")...UInt8(ascii: "f"): byte - UInt8(ascii: "a") + 10
        case UInt8(ascii: "A")...UInt8(ascii: "F"): byte - UInt8(ascii: "A") + 10
        default: nil
        }
    }
    var bytes: [UInt8] = []
    var utf8 = Array(text.utf8)[...]
    while let byte = utf8.popFirst() {
        if byte == UInt8(ascii: "%"), utf8.count >= 2, let high = hexValue(utf8[utf8.startIndex]),
            let low = hexValue(utf8[utf8.startIndex + 1])
        {
            bytes.append(high << 4 | low)
            utf8 = utf8.dropFirst(2)
        } else {
            bytes.append(byte)
        }
    }
    return bytes
}
