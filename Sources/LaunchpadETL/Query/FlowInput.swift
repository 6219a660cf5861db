/// A flow's input: `{"type": "LaunchpadQuery", "args": {...}}`.
///
/// Decoding also accepts the original project's key, `query_type`, in place of `type`;
/// encoding always writes `type`.
public struct FlowInput: Sendable, Hashable, Codable {
    /// The registered query type name (see `QueryFactory`).
    public var type: String
    /// The query's arguments, as JSON.
    public var args: [String: JSONValue]

    /// Creates an input from a type name and its arguments.
    public init(type: String, args: [String: JSONValue]) {
        self.type = type
        self.args = args
    }

    /// Creates the input that rebuilds `query`.
    public init<Q: Query>(query: Q) {
        self.init(type: Q.typeName, args: query.toDictionary())
    }

    private enum CodingKeys: String, CodingKey {
        case type
        case queryType = "query_type"
        case args
    }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        if let type = try container.decodeIfPresent(String.self, forKey: .type) {
            self.type = type
        } else if let type = try container.decodeIfPresent(String.self, forKey: .queryType) {
            self.type = type
        } else {
            throw DecodingError.keyNotFound(
                CodingKeys.type,
                .init(
                    codingPath: container.codingPath,
                    debugDescription: "a flow input needs \"type\" (or \"query_type\"), e.g. \"LaunchpadQuery\"")
            )
        }
        args = try container.decodeIfPresent([String: JSONValue].self, forKey: .args) ?? [:]
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(type, forKey: .type)
        try container.encode(args, forKey: .args)
    }

    /// Parses a flow input from JSON text, with an `ETLError` (`.invalidQuery`) on failure.
    public static func parse(json text: String) throws(ETLError) -> FlowInput {
        let value: JSONValue
        do {
            value = try JSONParser.parse(text)
        } catch {
            throw ETLError(
                .invalidQuery, "the flow input is not valid JSON (\(error)); send {\"type\": \"LaunchpadQuery\", \"args\": {...}}",
                nonRetryable: true)
        }
        return try FlowInput(json: value)
    }

    /// Reads a flow input from a parsed JSON object.
    public init(json value: JSONValue) throws(ETLError) {
        guard let members = value.objectValue else {
            throw ETLError(
                .invalidQuery, "the flow input must be a JSON object like {\"type\": \"LaunchpadQuery\", \"args\": {...}}",
                nonRetryable: true)
        }
        guard let type = (members["type"] ?? members["query_type"])?.stringValue, !type.isEmpty else {
            throw ETLError(
                .invalidQuery,
                "the flow input has no \"type\" (or \"query_type\") string; set it to a query type such as \"LaunchpadQuery\"",
                nonRetryable: true)
        }
        let args = members["args"] ?? .object([:])
        guard let argsObject = args.objectValue else {
            throw ETLError(.invalidQuery, "the flow input's \"args\" must be a JSON object of query arguments", nonRetryable: true)
        }
        self.init(type: type, args: argsObject)
    }

    /// The input as a JSON object (`type` and `args`).
    public var json: JSONValue { .object(["type": .string(type), "args": .object(args)]) }
}
