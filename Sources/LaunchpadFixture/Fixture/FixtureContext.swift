import LaunchpadETL

/// Per-request state of the fixture router: parameters, paging, link building.
struct FixtureContext {
    let request: FixtureRequest
    let version: String
    let renderer: FixtureRenderer

    /// The last value of parameter `name`, JSON-decoded when it is a JSON string/number.
    func value(_ name: String) -> String? {
        guard let raw = request.queryItems.last(where: { $0.name == name })?.value else { return nil }
        if let parsed = try? JSONParser.parse(raw), let text = parsed.stringValue { return text }
        return raw
    }

    /// A list parameter: a JSON array, repeated keys, or one value.
    func list(_ name: String) -> [String]? {
        let raws = request.queryItems.filter { $0.name == name }.map(\.value)
        guard !raws.isEmpty else { return nil }
        return raws.flatMap { raw -> [String] in
            if let parsed = try? JSONParser.parse(raw) {
                if let array = parsed.arrayValue { return array.compactMap(\.stringValue) }
                if let text = parsed.stringValue { return [text] }
            }
            return [raw]
        }
    }

    /// A boolean parameter.
    func bool(_ name: String, default fallback: Bool) -> Bool {
        guard let text = value(name)?.lowercased() else { return fallback }
        return text == "true" || text == "1"
    }

    /// A person parameter, which must be an API URL (`…/~name`), as on Launchpad.
    func person(_ name: String) throws(FixtureFailure) -> String? {
        guard let raw = value(name) else { return nil }
        guard raw.hasPrefix("http"), let username = LaunchpadURL.username(inLink: raw) else {
            throw .badRequest("\(name): \"\(raw)\" is not a valid URI.")
        }
        return username
    }

    /// A datetime parameter; naive or UTC only, like Launchpad.
    func time(_ name: String) throws(FixtureFailure) -> UTCTimestamp? {
        guard let raw = value(name) else { return nil }
        // What follows the seconds (and any fraction): nothing (naive), or a zone, which lazr
        // accepts only as UTC (marshallers.py: "Time not in UTC.").
        let afterSeconds = raw.count > 19 ? raw.dropFirst(19).drop(while: { $0 == "." || $0.isNumber }) : ""
        let utc = ["", "Z", "+00:00", "+0000", "-00:00", "-0000"].contains(String(afterSeconds))
        guard let time = UTCTimestamp(parsing: raw.count == 10 ? raw + "T00:00:00Z" : raw) else {
            throw .badRequest("\(name): Value doesn't look like a date.")
        }
        guard utc else { throw .badRequest("\(name): Time not in UTC.") }
        return time
    }

    /// One page of `entries` honouring `memo` (else `ws.start`) and `ws.size` (default 75), with
    /// `next_collection_link`/`prev_collection_link` and `total_size` — or, for named
    /// operations on devel when more pages follow, `total_size_link`.
    ///
    /// As on Launchpad, the batch is cut first and then filtered by `visible` (permission
    /// checks, `visible(index)`): a page can hold fewer entries than `ws.size`, even none, and still have a next
    /// link. Next links are re-encoded the server's way: parameters sorted by name, `+` for
    /// spaces, `memo` beside `ws.start`.
    func page(
        _ entries: [JSONValue], named: Bool, resourceType: String?,
        visible: (Int) -> Bool = { _ in true }
    ) throws(FixtureFailure) -> FixtureResponse {
        if value("ws.show") == "total_size" { return .json(.int(entries.count)) }
        let start = max(0, Int(value("ws.start") ?? "0") ?? 0)
        let size = max(1, Int(value("ws.size") ?? "75") ?? 75)
        // Launchpad (lazr.batchnavigator's ListRangeFactory) cuts the batch at `memo`, the
        // offset its links carry; `ws.start` only numbers the batch (`start`).
        let offset = max(0, value("memo").flatMap { Int($0) } ?? start)
        let slice = offset < entries.count ? (offset..<min(entries.count, offset + size)).filter(visible).map { entries[$0] } : []
        let base = "\(request.scheme)://\(request.host)\(request.path)"
        let kept = request.queryItems
            .filter { !["ws.start", "ws.size", "memo", "direction"].contains($0.name) }
            .enumerated().sorted { ($0.element.name, $0.offset) < ($1.element.name, $1.offset) }.map(\.element)
            .map { Self.formEncode($0.name) + "=" + Self.formEncode($0.value) }.joined(separator: "&")
        let prefix = base + "?" + (kept.isEmpty ? "" : kept + "&")
        var fields: [String: JSONValue] = ["start": .int(start), "entries": .array(slice)]
        let more = offset + size < entries.count
        if more { fields["next_collection_link"] = .string(prefix + "ws.size=\(size)&memo=\(offset + size)&ws.start=\(start + size)") }
        if offset > 0 { fields["prev_collection_link"] = .string(prefix + "ws.size=\(size)&direction=backwards&memo=\(offset)") }
        if named && more && version == "devel" {
            fields["total_size_link"] = .string(prefix + "ws.show=total_size")
        } else {
            fields["total_size"] = .int(entries.count)
        }
        if let resourceType, !named { fields["resource_type_link"] = .string(renderer.api + "#" + resourceType) }
        return .json(.object(fields))
    }

    /// Form encoding as Launchpad's links use it: `+` for spaces, `%XX` for other reserved bytes.
    static func formEncode(_ text: String) -> String {
        text.split(separator: " ", omittingEmptySubsequences: false).map { LaunchpadURL.queryEncode(String($0)) }.joined(separator: "+")
    }
}
