import Foundation
import Temporal
import TemporalProto

/// The search attributes a server accepts on a start or an upsert: a custom attribute the
/// namespace registered (AddSearchAttributes), with a value of its type, or one of the few
/// predefined ones a server lets users set; never a system attribute.
enum InMemorySearchAttributes {
    /// Attributes a server keeps in fields of their own: never settable.
    static let system: Set<String> = [
        "WorkflowId", "RunId", "WorkflowType", "StartTime", "ExecutionTime", "CloseTime", "ExecutionStatus", "TaskQueue",
        "HistoryLength", "ExecutionDuration", "StateTransitionCount", "HistorySizeBytes", "ParentWorkflowId", "ParentRunId",
        "RootWorkflowId", "RootRunId",
    ]

    /// Predefined attributes a server still lets users set, with their types (the version
    /// markers an SDK's patches upsert among them).
    static let settablePredefined: [String: IndexedValueType] = [
        "TemporalChangeVersion": .keywordList, "BinaryChecksums": .keywordList, "BuildIds": .keywordList,
        "BatcherNamespace": .keyword, "BatcherUser": .keyword, "TemporalScheduledStartTime": .datetime,
        "TemporalScheduledById": .keyword, "TemporalSchedulePaused": .bool, "TemporalNamespaceDivision": .keyword,
        "TemporalPauseInfo": .keywordList, "TemporalReportedProblems": .keywordList,
    ]

    /// What a server refuses in `attributes`, given the namespace's `custom` attributes; nil
    /// when it takes them all. Worded as the server words it.
    static func problem(_ attributes: Temporal_Api_Common_V1_SearchAttributes, custom: [String: IndexedValueType]) -> String? {
        for (name, payload) in attributes.indexedFields.sorted(by: { $0.key < $1.key }) {
            if system.contains(name) { return "\(name) attribute can't be set in SearchAttributes" }
            guard let type = custom[name] ?? settablePredefined[name] else {
                let known = custom.keys.sorted().joined(separator: ", ")
                return
                    "search attribute \(name) is not defined (registered: \(known.isEmpty ? "none" : known)); register it in the test with "
                    + "TestWorkflowEnvironment.start(searchAttributes:) or client.ensureSearchAttributes, as a namespace needs it "
                    + "registered (temporal operator search-attribute create)"
            }
            // A nil optional is sent as `binary/null` without data: it unsets the attribute.
            let unset = payload.metadata["encoding"].map { String(decoding: $0, as: UTF8.self) } == "binary/null"
            guard unset || fits(payload.data, type) else {
                return
                    "invalid value for search attribute \(name) of type \(type): \(String(decoding: payload.data.prefix(80), as: UTF8.self))"
            }
        }
        return nil
    }

    /// Whether JSON `data` is a value of `type` (null unsets any attribute). A server with SQL
    /// visibility (the dev server's) takes a list of at most one value for a type other than a
    /// keyword list.
    static func fits(_ data: Data, _ type: IndexedValueType) -> Bool {
        let text = String(decoding: data, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
        if text == "null" { return true }
        func one<T: Decodable>(_: T.Type, _ valid: (T) -> Bool = { _ in true }) -> Bool {
            let decoder = JSONDecoder()
            if let value = try? decoder.decode(T.self, from: data) { return valid(value) }
            if let list = try? decoder.decode([T].self, from: data), list.count <= 1 { return list.allSatisfy(valid) }
            return false
        }
        switch type {
        case .keyword, .text: return one(String.self)
        case .keywordList: return (try? JSONDecoder().decode([String].self, from: data)) != nil || one(String.self)
        // Not a boolean: JSONDecoder on Linux reads `true` as a number.
        case .int: return !text.contains("true") && !text.contains("false") && one(Int64.self)
        case .double: return !text.contains("true") && !text.contains("false") && one(Double.self)
        case .bool: return one(Bool.self) && (text.contains("true") || text.contains("false"))
        case .datetime: return one(String.self) { (try? Date($0, strategy: .iso8601)) != nil || Self.fractionalDate($0) }
        default: return true
        }
    }

    /// Whether `text` is an RFC 3339 time with fractional seconds.
    private static func fractionalDate(_ text: String) -> Bool {
        (try? Date(text, strategy: Date.ISO8601FormatStyle(includingFractionalSeconds: true))) != nil
    }
}
