public import TemporalProto

#if canImport(FoundationEssentials)
public import FoundationEssentials
#else
public import Foundation
#endif

/// The type the server indexes a search attribute as.
public typealias IndexedValueType = Temporal_Api_Enums_V1_IndexedValueType

/// A search attribute's name and value type, so that values set and read through it always
/// have the type it is registered with:
///
/// ```swift
/// static let stage = SearchAttributeKey.keyword("LaunchpadStage")
/// context.upsertSearchAttributes(stage.value("extracted"), rows.value(981))
/// ```
public struct SearchAttributeKey<Value: Codable & Sendable>: Sendable, Hashable {
    /// The registered name.
    public let name: String
    /// The registered type.
    public let valueType: IndexedValueType

    init(name: String, valueType: IndexedValueType) {
        self.name = name
        self.valueType = valueType
    }

    /// Sets this attribute to `value`.
    public func value(_ value: Value) -> SearchAttributeUpdate {
        SearchAttributeUpdate(name: name, payload: SearchAttributeEncoding.typed(value, as: valueType))
    }

    /// Removes this attribute from the run.
    public var unset: SearchAttributeUpdate {
        SearchAttributeUpdate(name: name, payload: SearchAttributeEncoding.unset(valueType))
    }

    /// Reads this attribute from indexed fields (nil when absent, unset or of another shape).
    public func read(from fields: [String: Payload]) -> Value? {
        guard let payload = fields[name], payload.data != Data("null".utf8), !payload.data.isEmpty else { return nil }
        if valueType == .datetime, Value.self == Date.self {
            let text = try? JSONDecoder().decode(String.self, from: payload.data)
            // RFC 3339 with fractional seconds (what this SDK writes, and the server's
            // RFC3339Nano): Foundation's ISO-8601 style reads them only from Swift 6.2 on.
            return text.flatMap { TemporalDate.parse($0) ?? (try? Date($0, strategy: .iso8601)) } as? Value
        }
        return try? JSONDecoder().decode(Value.self, from: payload.data)
    }
}

extension SearchAttributeKey where Value == String {
    /// An exact-match string (ids, states).
    public static func keyword(_ name: String) -> Self { Self(name: name, valueType: .keyword) }
    /// Full-text searchable string.
    public static func text(_ name: String) -> Self { Self(name: name, valueType: .text) }
}

extension SearchAttributeKey where Value == Int {
    public static func int(_ name: String) -> Self { Self(name: name, valueType: .int) }
}

extension SearchAttributeKey where Value == Double {
    public static func double(_ name: String) -> Self { Self(name: name, valueType: .double) }
}

extension SearchAttributeKey where Value == Bool {
    public static func bool(_ name: String) -> Self { Self(name: name, valueType: .bool) }
}

extension SearchAttributeKey where Value == Date {
    public static func datetime(_ name: String) -> Self { Self(name: name, valueType: .datetime) }
}

extension SearchAttributeKey where Value == [String] {
    public static func keywordList(_ name: String) -> Self { Self(name: name, valueType: .keywordList) }
}

/// One search attribute set to a value (or removed), as a workflow upserts it.
public struct SearchAttributeUpdate: Sendable {
    /// The attribute's name.
    public let name: String
    /// The encoded value (JSON, with its type in the metadata; `binary/null` without data, as
    /// `SearchAttributeKey.unset` makes it, removes it).
    public let payload: Payload
}

extension SearchAttributeEncoding {
    /// The metadata names of indexed types, as the other SDKs write them.
    static func typeName(_ type: IndexedValueType) -> String {
        switch type {
        case .text: "Text"
        case .keyword: "Keyword"
        case .int: "Int"
        case .double: "Double"
        case .bool: "Bool"
        case .datetime: "Datetime"
        case .keywordList: "KeywordList"
        default: "Unspecified"
        }
    }

    /// `value` as JSON with `type` in the metadata (a date as RFC 3339 text, milliseconds kept).
    static func typed<T: Encodable>(_ value: T, as type: IndexedValueType) -> Payload {
        var payload = Payload()
        payload.metadata["encoding"] = Data("json/plain".utf8)
        payload.metadata["type"] = Data(typeName(type).utf8)
        if let date = value as? Date {
            payload.data = (try? JSONEncoder().encode(TemporalDate.format(date))) ?? Data()  // milliseconds kept
        } else if let data = try? JSONEncoder().encode(value) {
            payload.data = data
        } else {
            // A value JSON cannot hold (NaN, an infinity): sent as text, which the server refuses
            // with a message naming the attribute. `null` (what this wrote) removed the
            // attribute without a word.
            payload.data = (try? JSONEncoder().encode(String(describing: value))) ?? Data("\"\"".utf8)
        }
        return payload
    }

    /// The payload that removes an attribute: `binary/null` without data and without a
    /// `type`, as Go sends it. Servers before 1.32 remove an attribute only for a value without
    /// data (`MergeMapOfPayload`): the JSON `null` this wrote stayed in the run's attributes
    /// (shown as `null` in the UI, carried by a continue-as-new, read by Go as "").
    static func unset(_ type: IndexedValueType) -> Payload {
        var payload = Payload()
        payload.metadata["encoding"] = Data("binary/null".utf8)
        return payload
    }

    /// Whether `payload` removes an attribute (this SDK's `binary/null`, or a JSON `null`
    /// another SDK or an earlier release sent).
    public static func isUnset(_ payload: Payload) -> Bool {
        payload.data.isEmpty || payload.data == Data("null".utf8)
    }
}

extension TemporalClient {
    /// The namespace's custom search attributes and their types (OperatorService).
    public func customSearchAttributes() async throws -> [String: IndexedValueType] {
        var r = Temporal_Api_Operatorservice_V1_ListSearchAttributesRequest()
        r.namespace = namespace
        let response: Temporal_Api_Operatorservice_V1_ListSearchAttributesResponse =
            try await workflowService.call("ListSearchAttributes", r, service: WorkflowService.operatorServiceName)
        return response.customAttributes
    }

    /// Registers those of `wanted` that the namespace lacks; returns their names.
    /// - Throws: `TemporalError` of kind `.invalidArgument` when a name is registered with
    ///   another type; the server's error when registering is not allowed (e.g. PERMISSION_DENIED
    ///   for an API key without admin rights: register them once with
    ///   `temporal operator search-attribute create`).
    @discardableResult
    public func ensureSearchAttributes(_ wanted: [String: IndexedValueType]) async throws -> [String] {
        let existing = try await customSearchAttributes()
        for (name, type) in wanted {
            if let have = existing[name], have != type {
                throw TemporalError(
                    kind: .invalidArgument, code: .invalidArgument,
                    message:
                        "search attribute \(name) is registered as \(SearchAttributeEncoding.typeName(have)), not \(SearchAttributeEncoding.typeName(type)): pick another name or remove it"
                )
            }
        }
        let missing = wanted.filter { existing[$0.key] == nil }
        guard !missing.isEmpty else { return [] }
        var r = Temporal_Api_Operatorservice_V1_AddSearchAttributesRequest()
        r.namespace = namespace
        r.searchAttributes = missing
        let _: Temporal_Api_Operatorservice_V1_AddSearchAttributesResponse =
            try await workflowService.call("AddSearchAttributes", r, service: WorkflowService.operatorServiceName)
        return missing.keys.sorted()
    }
}
