import Foundation

/// A named-operation or collection URL built the way launchpadlib builds them: parameter
/// values JSON-encoded (strings quoted, lists as arrays, people as API URLs), then
/// percent-encoded.
public struct LaunchpadURL: Sendable, Hashable {
    /// A parameter value.
    public enum Value: Sendable, Hashable {
        case string(String)
        case list([String])
        case bool(Bool)
        case int(Int)

        var encoded: String {
            switch self {
            case .string(let text): return JSONValue.string(text).serialized()
            case .list(let items): return JSONValue.array(items.map(JSONValue.string)).serialized()
            case .bool(let flag): return flag ? "true" : "false"
            case .int(let number): return String(number)
            }
        }
    }

    /// Builds `base + path` with `ws.op` and parameters.
    public static func make(base: String, path: String, operation: String? = nil, parameters: [(String, Value)] = []) -> String {
        var query: [String] = []
        if let operation { query.append("ws.op=" + queryEncode(operation)) }
        for (name, value) in parameters { query.append(queryEncode(name) + "=" + queryEncode(value.encoded)) }
        let url = base + path
        return query.isEmpty ? url : url + (url.contains("?") ? "&" : "?") + query.joined(separator: "&")
    }

    /// `scheme://host[:port]` of an http(s) URL, lowercased, without a default port (nil for
    /// anything else): what a redirect or a next link must keep.
    public static func origin(of url: String) -> String? {
        guard let host = LaunchpadAccessPolicy.hostPort(of: url) else { return nil }
        return (url.lowercased().hasPrefix("https://") ? "https://" : "http://") + host
    }

    /// The host of an http(s) URL, lowercased, without a port (nil for anything else).
    public static func host(of url: String) -> String? {
        guard let hostPort = LaunchpadAccessPolicy.hostPort(of: url) else { return nil }
        if hostPort.hasPrefix("[") { return hostPort.split(separator: "]").first.map { $0 + "]" } }
        return hostPort.split(separator: ":").first.map(String.init)
    }

    /// The path of an http(s) URL, without its query or fragment (nil for anything else).
    public static func path(of url: String) -> String? {
        guard origin(of: url) != nil, let scheme = url.range(of: "://") else { return nil }
        let rest = url[scheme.upperBound...]
        guard let slash = rest.firstIndex(of: "/") else { return "/" }
        return String(rest[slash...].prefix { $0 != "?" && $0 != "#" })
    }

    /// `url` with `name=value` set (replacing an existing value).
    public static func setting(_ name: String, to value: String, in url: String) -> String {
        guard let mark = url.firstIndex(of: "?") else { return url + "?" + name + "=" + queryEncode(value) }
        let base = url[url.startIndex..<mark]
        var items = url[url.index(after: mark)...].split(separator: "&").map(String.init).filter { !$0.hasPrefix(name + "=") }
        items.append(name + "=" + queryEncode(value))
        return base + "?" + items.joined(separator: "&")
    }

    /// The (decoded) value of the last `name=` parameter of `url`, if any.
    public static func value(_ name: String, in url: String) -> String? {
        guard let mark = url.firstIndex(of: "?") else { return nil }
        let item = url[url.index(after: mark)...].split(separator: "&").last { $0.hasPrefix(name + "=") }
        return item.map { queryDecode($0.dropFirst(name.count + 1)) }
    }

    /// Percent-encodes a query component (space as `%20`).
    public static func queryEncode(_ text: String) -> String {
        var output = ""
        for byte in text.utf8 {
            switch byte {
            case UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "0")...UInt8(ascii: "9"),
                UInt8(ascii: "-"), UInt8(ascii: "."), UInt8(ascii: "_"), UInt8(ascii: "~"):
                output.unicodeScalars.append(Unicode.Scalar(byte))
            default:
                output += "%" + (byte < 16 ? "0" : "") + String(byte, radix: 16, uppercase: true)
            }
        }
        return output
    }

    /// Decodes a query component (`+` as space, `%XX`).
    public static func queryDecode(_ text: Substring) -> String { decode(text, plusIsSpace: true) }

    /// `text` with `%XX` escapes decoded and `+` kept: how a path reads (`~a+b` and `~a%2Bb`
    /// are the same segment, `+source` stays `+source`).
    public static func pathDecode(_ text: Substring) -> String { decode(text, plusIsSpace: false) }

    /// A `%` not followed by two hex digits is kept, and what follows it read as usual.
    private static func decode(_ text: Substring, plusIsSpace: Bool) -> String {
        let input = Array(text.utf8)
        var bytes: [UInt8] = []
        bytes.reserveCapacity(input.count)
        var index = 0
        while index < input.count {
            let byte = input[index]
            if plusIsSpace, byte == UInt8(ascii: "+") {
                bytes.append(0x20)
            } else if byte == UInt8(ascii: "%"), index + 2 < input.count, let high = hexValue(input[index + 1]),
                let low = hexValue(input[index + 2])
            {
                bytes.append(high << 4 | low)
                index += 2
            } else {
                bytes.append(byte)
            }
            index += 1
        }
        return String(decoding: bytes, as: UTF8.self)
    }

    private static func hexValue(_ byte: UInt8) -> UInt8? {
        switch byte {
        case UInt8(ascii: "0")...UInt8(ascii: "9"): byte - UInt8(ascii: "0")
        case UInt8(ascii: "a")...UInt8(ascii: "f"): byte - UInt8(ascii: "a") + 10
        case UInt8(ascii: "A")...UInt8(ascii: "F"): byte - UInt8(ascii: "A") + 10
        default: nil
        }
    }

    /// The Launchpad username in a person link: the path segment after `/~`
    /// (`…/devel/~alice-example/+git/x` → `alice-example`), lowercased.
    public static func username(inLink link: String?) -> String? {
        guard let link, let range = link.range(of: "/~") else { return nil }
        let name = link[range.upperBound...].prefix(while: { $0 != "/" && $0 != "?" && $0 != "#" })
        return name.isEmpty ? nil : name.lowercased()
    }
}
