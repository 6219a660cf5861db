public import Foundation

/// How requests authenticate: anonymously, or with an OAuth 1.0 PLAINTEXT access token.
///
/// `description` never shows secrets.
public enum LaunchpadCredentials: Sendable, Hashable, CustomStringConvertible {
    /// No `Authorization` header: public data only.
    case anonymous
    /// OAuth 1.0 PLAINTEXT (signature = `consumerSecret&tokenSecret`).
    case oauth(consumerKey: String, consumerSecret: String, token: String, tokenSecret: String)

    /// Reads credentials from the environment:
    /// `LP_ACCESS_TOKEN` + `LP_ACCESS_SECRET` (consumer key `LP_CONSUMER_KEY`, else
    /// `applicationName`; consumer secret `LP_CONSUMER_SECRET`, else empty), or else a
    /// launchpadlib credentials file named by `LP_CREDENTIALS_FILE`; otherwise anonymous.
    public static func fromEnvironment(
        _ environment: [String: String] = ProcessInfo.processInfo.environment,
        applicationName: String
    ) throws(ETLError) -> LaunchpadCredentials {
        // Trimmed, as the credentials file's values are: a secret mounted from a file (a
        // Kubernetes secret, `$(cat token)` in a unit file) often ends with a newline, which
        // went out percent-encoded and made Launchpad refuse the token (401) for good.
        func value(_ name: String) -> String? { ETLEnvironment.value(name, in: environment) }
        let token = value("LP_ACCESS_TOKEN")
        let secret = value("LP_ACCESS_SECRET")
        switch (token, secret) {
        case (let token?, let secret?):
            return .oauth(
                consumerKey: value("LP_CONSUMER_KEY") ?? applicationName, consumerSecret: value("LP_CONSUMER_SECRET") ?? "", token: token,
                tokenSecret: secret)
        case (.some, nil), (nil, .some):
            throw ETLError(
                .invalidCredentials,
                "only one of LP_ACCESS_TOKEN and LP_ACCESS_SECRET is set; set both for OAuth, or neither for anonymous access",
                nonRetryable: true)
        case (nil, nil):
            if let file = value("LP_CREDENTIALS_FILE") { return try fromCredentialsFile(file) }
            return .anonymous
        }
    }

    /// Reads a launchpadlib credentials file (section `[1]`: `consumer_key`,
    /// `consumer_secret`, `access_token`, `access_secret`).
    public static func fromCredentialsFile(_ path: String) throws(ETLError) -> LaunchpadCredentials {
        guard let text = try? String(contentsOfFile: path, encoding: .utf8) else {
            throw ETLError(
                .invalidCredentials,
                "cannot read the Launchpad credentials file '\(path)'; check LP_CREDENTIALS_FILE and the file's permissions",
                nonRetryable: true)
        }
        var section = ""
        var values: [String: String] = [:]
        for rawLine in text.split(whereSeparator: \.isNewline) {
            let line = String(rawLine).trimmingSpaces
            if line.isEmpty || line.hasPrefix("#") || line.hasPrefix(";") { continue }
            if line.hasPrefix("[") && line.hasSuffix("]") {
                section = String(line.dropFirst().dropLast())
                continue
            }
            guard section == "1", let separator = line.firstIndex(where: { $0 == "=" || $0 == ":" }) else { continue }
            values[String(line[line.startIndex..<separator]).trimmingSpaces] = String(line[line.index(after: separator)...]).trimmingSpaces
        }
        guard let key = values["consumer_key"], !key.isEmpty, let token = values["access_token"], !token.isEmpty,
            let secret = values["access_secret"], !secret.isEmpty
        else {
            throw ETLError(
                .invalidCredentials,
                "the Launchpad credentials file '\(path)' lacks a [1] section with consumer_key, access_token and access_secret",
                nonRetryable: true)
        }
        return .oauth(consumerKey: key, consumerSecret: values["consumer_secret"] ?? "", token: token, tokenSecret: secret)
    }

    /// The `Authorization` header value, or `nil` when anonymous.
    public func authorizationHeader(nonce: String, timestamp: Int) -> String? {
        guard case .oauth(let consumerKey, let consumerSecret, let token, let tokenSecret) = self else { return nil }
        let signature = Self.percentEncode(consumerSecret) + "&" + Self.percentEncode(tokenSecret)
        let fields: [(String, String)] = [
            ("oauth_nonce", nonce), ("oauth_timestamp", String(timestamp)), ("oauth_version", "1.0"),
            ("oauth_signature_method", "PLAINTEXT"), ("oauth_consumer_key", consumerKey), ("oauth_token", token),
            ("oauth_signature", signature),
        ]
        return "OAuth realm=\"OAuth\", " + fields.map { "\($0.0)=\"\(Self.percentEncode($0.1))\"" }.joined(separator: ", ")
    }

    /// The token and the secrets, which errors and logs must not show (the consumer key is a
    /// public application name). Launchpad's 401 bodies name the token: `Unknown access token (key).`
    var valuesToRedact: [String] {
        guard case .oauth(_, let consumerSecret, let token, let tokenSecret) = self else { return [] }
        return [token, tokenSecret, consumerSecret].filter { !$0.isEmpty }
    }

    public var description: String {
        switch self {
        case .anonymous: return "anonymous"
        case .oauth(let consumerKey, _, _, _): return "OAuth PLAINTEXT (consumer \(consumerKey), token and secrets redacted)"
        }
    }

    static func percentEncode(_ text: String) -> String {
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
}
