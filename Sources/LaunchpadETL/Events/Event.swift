/// One standardized activity record (the seed's `Event`), validated on creation.
///
/// Encodes with the original's snake_case keys: `id`, `parent_id`, `week`, `employee_id`,
/// `type`, `time_utc`, `source_kind_id`, `relation_properties`.
public struct Event: Sendable, Hashable {
    /// Deterministic id derived from Launchpad ids (e.g. `b-2056789-m2`), unique per event.
    public let id: String
    /// The id of the item the event belongs to (e.g. `b-2056789`).
    public let parentId: String
    /// Monday of the event's UTC week, `YYYY-MM-DD`.
    public let week: String
    /// Who did it (the Launchpad username unless mapped).
    public let employeeId: String
    /// `entity:action`, e.g. `bug:commented`.
    public let type: String
    /// When it happened, canonical UTC (`YYYY-MM-DDTHH:MM:SS[.ffffff]Z`).
    public let timeUTC: String
    /// The source system, `"launchpad"`.
    public let sourceKindId: String
    /// Everything else extracted (ids of linked items, status, …) as a JSON object.
    public private(set) var relationProperties: [String: JSONValue]

    /// The source kind of Launchpad events.
    public static let launchpadSourceKind = "launchpad"

    /// Creates and validates an event.
    ///
    /// - `timeUTC` may be any Launchpad/ISO-8601 timestamp; it is stored canonical UTC.
    /// - `week` is computed from `timeUTC` when `nil`; when given it must equal that Monday.
    /// - Throws `ETLError.invalidEvent` (non-retryable) naming the offending field.
    public init(
        id: String,
        parentId: String,
        employeeId: String,
        type: String,
        timeUTC: String,
        week: String? = nil,
        sourceKindId: String = Event.launchpadSourceKind,
        relationProperties: [String: JSONValue] = [:]
    ) throws(ETLError) {
        func invalid(_ message: String) -> ETLError {
            ETLError(.invalidEvent, "event '\(id)': \(message)", nonRetryable: true)
        }
        for (name, value) in [
            ("id", id), ("parent_id", parentId), ("employee_id", employeeId), ("type", type), ("time_utc", timeUTC),
            ("source_kind_id", sourceKindId),
        ]
        where value.isBlank {
            throw invalid("\(name) is empty; every event needs id, parent_id, employee_id, type, time_utc and source_kind_id")
        }
        guard Self.isValidType(type) else {
            throw invalid("type '\(type)' is not in entity:action form (lowercase letters and '_', e.g. \"bug:commented\")")
        }
        guard let time = UTCTimestamp(parsing: timeUTC) else {
            throw invalid("time_utc '\(timeUTC)' is not an ISO-8601 timestamp such as 2024-03-05T14:22:31.482910+00:00")
        }
        let monday = time.date.mondayOfWeek.description
        if let week, week != monday {
            throw invalid("week '\(week)' is not the Monday of the event's UTC week; expected \(monday) (or omit week)")
        }
        self.id = ProposalEventId.current(id: id, type: type, time: time)
        self.parentId = parentId
        self.employeeId = employeeId
        self.type = type
        self.timeUTC = time.description
        self.week = monday
        self.sourceKindId = sourceKindId
        self.relationProperties = relationProperties.mapValues(Self.withoutNUL)
    }

    /// `value` with every NUL character (U+0000) in its strings replaced by U+FFFD. Launchpad
    /// text may hold one (a comment's subject, a bug title), which SQLite keeps but
    /// PostgreSQL's `jsonb` refuses, so the load failed for good on every attempt, and the
    /// member's flow with it; both stores now keep the same replacement.
    static func withoutNUL(_ value: JSONValue) -> JSONValue {
        switch value {
        case .string(let text) where text.utf8.contains(0):
            return .string(String(text.unicodeScalars.map { $0.value == 0 ? "\u{FFFD}" : Character($0) }))
        case .array(let items): return .array(items.map(withoutNUL))
        case .object(let members): return .object(members.mapValues(withoutNUL))
        default: return value
        }
    }

    /// The parsed event time.
    public var time: UTCTimestamp {
        // `timeUTC` was produced by `UTCTimestamp.description`, so it always parses.
        UTCTimestamp(parsing: timeUTC) ?? UTCTimestamp(microsecondsSinceEpoch: 0)
    }

    /// Adds or replaces one relation property (the original's `add_relation_property`).
    public mutating func addRelationProperty(_ key: String, _ value: JSONValue) {
        relationProperties[key] = Self.withoutNUL(value)
    }

    /// Merges relation properties, later values winning (`add_relation_properties`).
    public mutating func addRelationProperties(_ properties: [String: JSONValue]) {
        relationProperties.merge(properties, uniquingKeysWith: { _, new in new })
    }

    /// The relation properties as compact JSON with sorted keys, or `nil` when empty
    /// (the original's `relation_properties_as_json`).
    public func relationPropertiesJSON() -> String? {
        relationProperties.isEmpty ? nil : JSONValue.object(relationProperties).serialized()
    }

    /// The event as a JSON object with the original's snake_case keys.
    public var json: JSONValue {
        .object([
            "id": .string(id),
            "parent_id": .string(parentId),
            "week": .string(week),
            "employee_id": .string(employeeId),
            "type": .string(type),
            "time_utc": .string(timeUTC),
            "source_kind_id": .string(sourceKindId),
            "relation_properties": .object(relationProperties),
        ])
    }

    /// Reads an event from its JSON object form (validating it).
    public init(json value: JSONValue) throws(ETLError) {
        func field(_ key: String) -> String { value[key]?.stringValue ?? "" }
        let properties: [String: JSONValue]
        switch value["relation_properties"] {
        case nil, .null?: properties = [:]
        case .object(let members)?: properties = members
        case let other?:
            throw ETLError(
                .invalidEvent, "event '\(field("id"))': relation_properties must be a JSON object, got \(other.serialized())",
                nonRetryable: true)
        }
        let week = field("week")
        try self.init(
            id: field("id"), parentId: field("parent_id"), employeeId: field("employee_id"), type: field("type"),
            timeUTC: field("time_utc"), week: week.isEmpty ? nil : week,
            sourceKindId: value["source_kind_id"]?.stringValue ?? Self.launchpadSourceKind, relationProperties: properties
        )
    }

    static func isValidType(_ type: String) -> Bool {
        let parts = type.split(separator: ":", omittingEmptySubsequences: false)
        guard parts.count == 2 else { return false }
        return parts.allSatisfy { part in
            !part.isEmpty && part.unicodeScalars.allSatisfy { ("a"..."z").contains($0) || $0 == "_" || ("0"..."9").contains($0) }
        }
    }
}

extension Event: Codable {
    private enum CodingKeys: String, CodingKey {
        case id
        case parentId = "parent_id"
        case week
        case employeeId = "employee_id"
        case type
        case timeUTC = "time_utc"
        case sourceKindId = "source_kind_id"
        case relationProperties = "relation_properties"
    }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        try self.init(
            id: container.decode(String.self, forKey: .id),
            parentId: container.decode(String.self, forKey: .parentId),
            employeeId: container.decode(String.self, forKey: .employeeId),
            type: container.decode(String.self, forKey: .type),
            timeUTC: container.decode(String.self, forKey: .timeUTC),
            week: container.decodeIfPresent(String.self, forKey: .week).flatMap { $0.isEmpty ? nil : $0 },
            sourceKindId: container.decodeIfPresent(String.self, forKey: .sourceKindId) ?? Self.launchpadSourceKind,
            relationProperties: container.decodeIfPresent([String: JSONValue].self, forKey: .relationProperties) ?? [:]
        )
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(id, forKey: .id)
        try container.encode(parentId, forKey: .parentId)
        try container.encode(week, forKey: .week)
        try container.encode(employeeId, forKey: .employeeId)
        try container.encode(type, forKey: .type)
        try container.encode(timeUTC, forKey: .timeUTC)
        try container.encode(sourceKindId, forKey: .sourceKindId)
        try container.encode(relationProperties, forKey: .relationProperties)
    }
}
