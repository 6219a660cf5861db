import Temporal
import TemporalProto

#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// A versioning patch (`WorkflowContext.patched(_:)`), recorded as a marker.
///
/// Format (sdk-core's "core_patch" style): `marker_name = "core_patch"`, `details["patch_data"]`
/// = one `json/plain` payload `{"id": "<patch id>", "deprecated": false}` (`true` when written
/// by `deprecatePatch`: such markers are skipped on replay when the code no longer asks).
///
/// `created ──MarkerRecorded──▶ recorded`. When replaying, `patched(id)` is true only if the
/// history holds a marker for `id` in a task up to the one replayed (the runtime notes them task
/// by task, from each replayed task's own events, before its code runs: `PatchTable`).
struct PatchMarkerStateMachine: Sendable {
    static let markerName = "core_patch"
    static let detailsKey = "patch_data"

    enum State: String, Sendable { case created, recorded }

    let patchID: String
    /// Written by `deprecatePatch` (the patch is being retired).
    let deprecated: Bool
    private(set) var state: State = .created

    init(patchID: String, deprecated: Bool = false) {
        self.patchID = patchID
        self.deprecated = deprecated
    }

    /// The RecordMarker command.
    func command() -> Temporal_Api_Command_V1_Command {
        var attrs = Temporal_Api_Command_V1_RecordMarkerCommandAttributes()
        attrs.markerName = Self.markerName
        var payload = Payload()
        payload.metadata["encoding"] = Data("json/plain".utf8)
        payload.data = Data("{\"deprecated\":\(deprecated),\"id\":\"\(Self.jsonEscaped(patchID))\"}".utf8)
        var payloads = Payloads()
        payloads.payloads = [payload]
        attrs.details[Self.detailsKey] = payloads
        var c = Temporal_Api_Command_V1_Command()
        c.commandType = .recordMarker
        c.recordMarkerCommandAttributes = attrs
        return c
    }

    /// `text` as the inside of a JSON string: `\\` and `"` escaped, and the control characters
    /// as `\\u00XX` (JSON allows none raw: a patch id holding a tab was written raw, the marker
    /// did not decode on replay, and every replay of the run failed as nondeterministic). Other
    /// characters as they are, so that the markers of every other id keep their bytes.
    static func jsonEscaped(_ text: String) -> String {
        var out = ""
        for scalar in text.unicodeScalars {
            switch scalar {
            case "\\": out += "\\\\"
            case "\"": out += "\\\""
            case _ where scalar.value < 0x20: out += unicodeEscape(scalar.value)
            default: out.unicodeScalars.append(scalar)
            }
        }
        return out
    }

    /// `MarkerRecorded` for this patch.
    mutating func recorded(_ event: HistoryEvent) throws {
        guard state == .created, Self.patchID(of: event) == patchID else {
            throw StateMachineError(machine: "patch \(patchID)", state: state.rawValue, event: "MarkerRecorded")
        }
        state = .recorded
    }

    /// Whether a `core_patch` marker event was written by `deprecatePatch`.
    static func isDeprecated(_ event: HistoryEvent) -> Bool { marker(event)?.deprecated == true }

    /// The patch id and deprecation a `core_patch` marker event records: as JSON under
    /// `patch_data`, or in the shape earlier Core releases wrote (`patch_id`: the id's UTF-8
    /// bytes, `deprecated`: one byte, non-zero when deprecated), which Core still reads.
    private static func marker(_ event: HistoryEvent) -> (id: String, deprecated: Bool)? {
        guard case .markerRecordedEventAttributes(let a)? = event.attributes, a.markerName == markerName else { return nil }
        if let payload = a.details[detailsKey]?.payloads.first {
            struct PatchData: Decodable {
                let id: String
                let deprecated: Bool?
            }
            return Self.decoded(PatchData.self, payload.data).map { ($0.id, $0.deprecated == true) }
        }
        guard let id = a.details["patch_id"]?.payloads.first.flatMap({ String(data: $0.data, encoding: .utf8) }),
            let flag = a.details["deprecated"]?.payloads.first?.data.first
        else { return nil }
        return (id, flag != 0)
    }

    /// `data` decoded as `T`; failing that, with the bytes below 0x20 escaped: markers written
    /// before control characters were escaped hold them raw inside the id's string, which no
    /// JSON decoder takes (such a run's every replay failed as nondeterministic). Those writers
    /// put nothing else below 0x20 in it (no whitespace); data that decodes as it is (another
    /// SDK's, whitespace and all) is read as it is.
    static func decoded<T: Decodable>(_ type: T.Type, _ data: Data) -> T? {
        if let value = try? JSONDecoder().decode(T.self, from: data) { return value }
        guard data.contains(where: { $0 < 0x20 }) else { return nil }
        return try? JSONDecoder().decode(T.self, from: escapingControlBytes(data))
    }

    /// `\u00XX` for a control character.
    private static func unicodeEscape(_ value: UInt32) -> String {
        let hex = String(value, radix: 16)
        return "\\u" + String(repeating: "0", count: 4 - hex.count) + hex
    }

    private static func escapingControlBytes(_ data: Data) -> Data {
        var out = Data()
        out.reserveCapacity(data.count + 16)
        for byte in data {
            if byte < 0x20 {
                out.append(contentsOf: Array(unicodeEscape(UInt32(byte)).utf8))
            } else {
                out.append(byte)
            }
        }
        return out
    }

    /// The patch id of a `core_patch` marker event, if it is one.
    static func patchID(of event: HistoryEvent) -> String? { marker(event)?.id }
}
