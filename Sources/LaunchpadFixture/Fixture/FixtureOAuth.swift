import LaunchpadETL

/// Launchpad's check of a request's OAuth 1.0 `Authorization` header, as its web service does it
/// (lib/lp/services/webapp/servers.py and authentication.py): only PLAINTEXT signatures, whose
/// value is `<consumer secret>&<token secret>` (launchpadlib consumers have an empty secret); a
/// token works only with the consumer it was issued to; every refusal is 401 with a short
/// `text/plain` reason, which names an unknown consumer or token by its key, as Launchpad's does
/// (`Unknown consumer (key).`, `Unknown access token (key).`). A request without the header is
/// anonymous, unless it also lacks a `User-Agent` (Launchpad then has no consumer to name it by).
enum FixtureOAuth {
    /// The 401 Launchpad answers `request` with, or nil when it may go on.
    static func refusal(_ request: FixtureRequest, tokens: [String: FixtureWorld.AccessToken]) -> FixtureResponse? {
        guard let header = request.authorization?.trimmingSpaces, !header.isEmpty else {
            return request.userAgent == "" ? .text("No consumer key specified.", status: 401) : nil
        }
        guard header.hasPrefix("OAuth ") else { return .text("Unknown authentication method.", status: 401) }
        let fields = Self.fields(String(header.dropFirst("OAuth ".count)))
        guard let consumerKey = fields["oauth_consumer_key"], !consumerKey.isEmpty else {
            return .text("No consumer key specified.", status: 401)
        }
        // A header without a token is an anonymous read that names its consumer.
        guard let key = fields["oauth_token"], !key.isEmpty else { return nil }
        // A consumer Launchpad never saw cannot hold a token (its consumers are those tokens were
        // issued to); a token it did not issue to this consumer is unknown. Both are named.
        guard tokens.values.contains(where: { $0.consumerKey == consumerKey }) else {
            return .text("Unknown consumer (\(consumerKey)).", status: 401)
        }
        guard let token = tokens[key], token.consumerKey == consumerKey else {
            return .text("Unknown access token (\(key)).", status: 401)
        }
        guard fields["oauth_signature_method"] == "PLAINTEXT" else { return .text("Invalid signature.", status: 401) }
        guard fields["oauth_signature"] == "&" + token.secret else { return .text("Invalid signature.", status: 401) }
        return nil
    }

    /// `key="value"` pairs, comma-separated, values percent-decoded (`realm` included).
    static func fields(_ text: String) -> [String: String] {
        var fields: [String: String] = [:]
        for part in text.split(separator: ",") {
            let pair = part.split(separator: "=", maxSplits: 1)
            guard pair.count == 2 else { continue }
            let key = String(pair[0]).trimmingSpaces
            var value = String(pair[1]).trimmingSpaces
            if value.hasPrefix("\""), value.hasSuffix("\""), value.count >= 2 { value = String(value.dropFirst().dropLast()) }
            fields[key] = LaunchpadURL.pathDecode(Substring(value))
        }
        return fields
    }
}
