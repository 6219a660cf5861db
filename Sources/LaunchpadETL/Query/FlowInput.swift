/// A flow's input: `{"type": "LaunchpadQuery", "args": {...}}`.
///
/// Decoding also accepts the original project's key, `query_type`, in place of `type`;
/// encoding always writes `type`.
public struct FlowInput: Sendable, Hashable, Codable {
    /// The registered query type name (see `QueryFactory`).
    public var type: String
    /// The query's arguments, as JSON.
    public var args: [String: JSONValue]
    /// In a team's run (`TeamLaunchpadFlow`), the team (`credit_team`): the member's extraction
    /// also keeps the reviews, merges, comments and votes of the team's other current people on
    /// the merge proposals it reads, each under its own name. Beside `args`, not among them:
    /// a worker of an earlier release ignores it (and extracts the member alone) rather than
    /// refusing the input.
    public var creditTeam: String?
    /// With `creditTeam`, the team's people as the team's run listed them when it started
    /// (`credit_people`): the ones credited. Without it the extraction reads the team's people
    /// again, as of then, and someone who left the team meanwhile was credited by no run (their
    /// own run rarely reaches the proposals their teammates' runs read).
    public var creditPeople: [String]?

    /// Creates an input from a type name and its arguments.
    public init(type: String, args: [String: JSONValue], creditTeam: String? = nil, creditPeople: [String]? = nil) {
        self.type = type
        self.args = args
        self.creditTeam = creditTeam
        self.creditPeople = creditTeam == nil ? nil : creditPeople
    }

    /// Creates the input that rebuilds `query`.
    public init<Q: Query>(query: Q, creditTeam: String? = nil, creditPeople: [String]? = nil) {
        self.init(type: Q.typeName, args: query.toDictionary(), creditTeam: creditTeam, creditPeople: creditPeople)
    }

    private enum CodingKeys: String, CodingKey {
        case type
        case queryType = "query_type"
        case args
        case creditTeam = "credit_team"
        case creditPeople = "credit_people"
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
        creditTeam = try container.decodeIfPresent(String.self, forKey: .creditTeam)
        if let creditTeam, !LaunchpadQuery.isValidMemberName(creditTeam) {
            throw DecodingError.dataCorruptedError(
                forKey: .creditTeam, in: container,
                debugDescription: "\"credit_team\" must be a Launchpad team name (lowercase letters, digits and . + -), got '\(creditTeam)'"
            )
        }
        // Only with a team, as `init(json:)` reads it.
        creditPeople = creditTeam == nil ? nil : try container.decodeIfPresent([String].self, forKey: .creditPeople)
        if let bad = creditPeople?.first(where: { !LaunchpadQuery.isValidMemberName($0) }) {
            throw DecodingError.dataCorruptedError(
                forKey: .creditPeople, in: container,
                debugDescription: "\"credit_people\" must list Launchpad names (lowercase letters, digits and . + -), got '\(bad)'")
        }
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(type, forKey: .type)
        try container.encode(args, forKey: .args)
        try container.encodeIfPresent(creditTeam, forKey: .creditTeam)
        try container.encodeIfPresent(creditPeople, forKey: .creditPeople)
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
        var creditTeam: String?
        switch members["credit_team"] {
        case nil, .null?: creditTeam = nil
        case .string(let team)? where LaunchpadQuery.isValidMemberName(team): creditTeam = team
        case let other?:
            throw ETLError(
                .invalidQuery,
                "the flow input's \"credit_team\" must be a Launchpad team name (lowercase letters, digits and . + -), got \(other.serialized())",
                nonRetryable: true)
        }
        var creditPeople: [String]?
        switch members["credit_people"] {
        case nil, .null?: creditPeople = nil
        case .array(let names)? where names.allSatisfy({ $0.stringValue.map(LaunchpadQuery.isValidMemberName) == true }):
            creditPeople = names.compactMap(\.stringValue)
        case let other?:
            throw ETLError(
                .invalidQuery,
                "the flow input's \"credit_people\" must be an array of Launchpad names (lowercase letters, digits and . + -), got \(other.serialized().prefix(200))",
                nonRetryable: true)
        }
        self.init(type: type, args: argsObject, creditTeam: creditTeam, creditPeople: creditPeople)
    }

    /// The input as a JSON object (`type`, `args`, and `credit_team` and `credit_people` when set).
    public var json: JSONValue {
        var object: [String: JSONValue] = ["type": .string(type), "args": .object(args)]
        if let creditTeam { object["credit_team"] = .string(creditTeam) }
        if let creditPeople { object["credit_people"] = .array(creditPeople.map { .string($0) }) }
        return .object(object)
    }
}
