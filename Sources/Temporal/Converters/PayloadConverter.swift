public import SwiftProtobuf
import Synchronization
public import TemporalProto

#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// A Temporal payload: metadata (at least `encoding`) and bytes.
public typealias Payload = Temporal_Api_Common_V1_Payload

/// Converts Swift values to and from Temporal payloads.
///
/// Implementations must be deterministic: workflow code relies on converting the same value
/// to the same bytes on every replay.
public protocol PayloadConverter: Sendable {
    /// Encodes one value as one payload.
    func toPayload<T: Encodable>(_ value: T) throws -> Payload
    /// Decodes one payload as a value of type `T`.
    func fromPayload<T: Decodable>(_ payload: Payload, as type: T.Type) throws -> T
}

/// A value that encodes as Temporal's `binary/null` payload: the argument or result of a
/// workflow, activity, signal or query that has none.
public struct NoValue: Codable, Sendable, Hashable {
    public init() {}
    public init(from decoder: any Decoder) throws {}
    public func encode(to encoder: any Encoder) throws {
        var c = encoder.singleValueContainer()
        try c.encodeNil()
    }
}

/// Payload encodings used across Temporal SDKs.
public enum PayloadEncoding {
    public static let key = "encoding"
    public static let messageTypeKey = "messageType"
    public static let json = "json/plain"
    public static let null = "binary/null"
    public static let binary = "binary/plain"
    public static let protobufJSON = "json/protobuf"
    public static let protobuf = "binary/protobuf"
}

/// The converter every other SDK uses by default, in this order:
/// `nil`/`NoValue` ⇄ `binary/null`, `Data` ⇄ `binary/plain`, SwiftProtobuf messages ⇄
/// `json/protobuf`, everything else ⇄ `json/plain` (UTF-8 JSON).
///
/// JSON is Foundation's `JSONEncoder` (sorted keys, slashes unescaped) and `JSONDecoder`; plain
/// values — structs, arrays and dictionaries of strings, integers, booleans and optionals — go
/// through `LeanJSON` instead, which produces the same bytes and values for a fraction of the
/// cost and hands everything else back to Foundation. A value it hands back has had its
/// `encode(to:)` / `init(from:)` run twice (once each way); a type refused once goes straight
/// to Foundation afterwards.
///
/// Dates are written as ISO-8601 with fractional seconds and read tolerantly: with or without
/// fractional seconds, with `Z`, an offset, or no zone at all (Python's `isoformat()` of a
/// naive datetime, read as UTC), or as seconds since 1970.
public struct DefaultPayloadConverter: PayloadConverter {
    public init() {}

    public func toPayload<T: Encodable>(_ value: T) throws -> Payload {
        // The casts below as before, each only for the types it can match; an optional that
        // holds a value still goes through all of them (a cast unwraps it).
        let route = Self.route(of: value)
        if route == .optional {
            if let optional = value as? any OptionalProtocol, optional.isNone { return Self.nullPayload }
            if value is NoValue { return Self.nullPayload }
        }
        if route == .noValue { return Self.nullPayload }
        if route == .data || route == .optional, let data = value as? Data {
            return Self.make(PayloadEncoding.binary, data)
        }
        if route == .message || route == .optional, let message = value as? any SwiftProtobuf.Message {
            do {
                var payload = Self.make(PayloadEncoding.protobufJSON, try message.jsonUTF8Data())
                payload.metadata[PayloadEncoding.messageTypeKey] = Data(type(of: message).protoMessageName.utf8)
                return payload
            } catch {
                throw TemporalError(kind: .payloadConversion, message: "cannot encode \(T.self) as json/protobuf: \(error)", cause: error)
            }
        }
        do {
            // The lean encoder writes Foundation's bytes for plain values at a fraction of the
            // cost, and refuses everything else.
            if let data = LeanJSON.encodeIfPlain(value) { return Self.json(data) }
            return Self.json(try Self.encoder.encode(value))
        } catch {
            throw TemporalError(
                kind: .payloadConversion, message: "cannot encode a \(T.self) as JSON: \(describe(error))", cause: error)
        }
    }

    /// What stands for a nil (Go decodes one into the type's zero value) where a JSON null does
    /// not decode (Foundation refuses it for a struct or a collection): an empty object (a type
    /// whose fields are all optional), else an empty collection.
    private func zeroValue<T: Decodable>(_ type: T.Type) -> T? {
        for empty in ["{}", "[]"] {
            if let value = try? decodeJSON(Data(empty.utf8), as: T.self, encoding: PayloadEncoding.json) { return value }
        }
        return nil
    }

    public func fromPayload<T: Decodable>(_ payload: Payload, as type: T.Type) throws -> T {
        let encoding = String(decoding: payload.metadata[PayloadEncoding.key] ?? Data(), as: UTF8.self)
        switch encoding {
        case PayloadEncoding.null:
            if let optionalType = T.self as? any OptionalProtocol.Type, let none = optionalType.nilValue as? T { return none }
            if let value = NoValue() as? T { return value }
            // Go decodes a nil into the type's zero value; the nearest here: what a JSON null
            // decodes to (a type that reads one), else `zeroValue`.
            if let value = try? decodeJSON(Data("null".utf8), as: T.self, encoding: encoding) { return value }
            if let value = zeroValue(T.self) { return value }
            throw TemporalError(
                kind: .payloadConversion,
                message:
                    "a binary/null payload (the sender passed nil, None or undefined, or no value) cannot be decoded as \(T.self); make the parameter Optional, or its fields"
            )
        case PayloadEncoding.binary:
            if let data = payload.data as? T { return data }
            throw TemporalError(
                kind: .payloadConversion,
                message: "a binary/plain payload can only be decoded as Data, not as \(T.self)")
        case PayloadEncoding.json:
            if T.self == Data.self, let data = payload.data as? T { return data }
            do {
                return try decodeJSON(payload.data, as: T.self, encoding: encoding)
            } catch {
                // Go sends a nil slice or map as a json/plain `null` (only a nil interface or
                // pointer is binary/null), as TypeScript sends `null`: read as binary/null is.
                guard payload.data.elementsEqual("null".utf8), let value = zeroValue(T.self) else { throw error }
                return value
            }
        case PayloadEncoding.protobufJSON, PayloadEncoding.protobuf:
            if let messageType = T.self as? any SwiftProtobuf.Message.Type {
                do {
                    let message =
                        encoding == PayloadEncoding.protobuf
                        ? try messageType.init(serializedBytes: payload.data)
                        : try messageType.init(jsonUTF8Data: payload.data)
                    if let typed = message as? T { return typed }
                } catch {
                    throw TemporalError(
                        kind: .payloadConversion, message: "cannot decode \(encoding) payload as \(T.self): \(error)", cause: error)
                }
            }
            if encoding == PayloadEncoding.protobufJSON { return try decodeJSON(payload.data, as: T.self, encoding: encoding) }
            throw TemporalError(
                kind: .payloadConversion, message: "a binary/protobuf payload can only be decoded as a protobuf message, not as \(T.self)")
        case "":
            throw TemporalError(kind: .payloadConversion, message: "payload has no 'encoding' metadata; cannot decode it as \(T.self)")
        default:
            throw TemporalError(
                kind: .payloadConversion,
                message: encoding == EncryptionCodec.encoding
                    ? "the payload is encrypted (\(encoding)) and this process has no key for it: set TEMPORAL_PAYLOAD_KEY_FILE (or give the DataConverter an EncryptionCodec with the key)"
                    : "unsupported payload encoding '\(encoding)' for \(T.self): register a PayloadConverter that handles it")
        }
    }

    private func decodeJSON<T: Decodable>(_ data: Data, as type: T.Type, encoding: String) throws -> T {
        // Foundation's value whenever the lean decoder returns one; Foundation decides the rest.
        if let value = LeanJSON.decodeIfPlain(T.self, from: data) { return value }
        do {
            return try Self.decoder.decode(T.self, from: data)
        } catch {
            // Without the payload's text: the message becomes a failure's, which goes to the
            // server (and the Web UI) without the codecs, so a decrypted payload would show.
            throw TemporalError(
                kind: .payloadConversion,
                message:
                    "cannot decode \(encoding) payload (\(data.count) bytes) as \(T.self): \(describe(error, malformed: Self.isMalformedJSON(data)))",
                cause: error)
        }
    }

    /// Whether `data` is not JSON at all (a syntax error), asked only once a decode failed.
    static func isMalformedJSON(_ data: Data) -> Bool {
        // The decoder parses the whole document before it asks a type for anything.
        struct AnyDocument: Decodable { init(from decoder: any Decoder) {} }
        return (try? JSONDecoder().decode(AnyDocument.self, from: data)) == nil
    }

    static let nullPayload = make(PayloadEncoding.null, Data())

    /// A `json/plain` payload: a copy of one made once, so its metadata map is shared, not
    /// rebuilt (and its key hashed) for every value.
    static func json(_ data: Data) -> Payload {
        var p = jsonTemplate
        p.data = data
        return p
    }
    private static let jsonTemplate = make(PayloadEncoding.json, Data())

    /// How `toPayload` treats values of one dynamic type: four dynamic casts per value (about
    /// 4,700 instructions) decided once per type instead.
    private enum Route {
        case optional, noValue, data, message, json
    }
    private static let routes = Mutex<[ObjectIdentifier: Route]>([:])

    private static func route<T>(of value: T) -> Route {
        // The dynamic type, not `T`: an existential `T` holds values of many types.
        let id = ObjectIdentifier(type(of: value) as Any.Type)
        if let known = routes.withLock({ $0[id] }) { return known }
        let route: Route =
            value is any OptionalProtocol
            ? .optional
            : value is NoValue ? .noValue : value is Data ? .data : value is any SwiftProtobuf.Message ? .message : .json
        routes.withLock { $0[id] = route }
        return route
    }

    static func make(_ encoding: String, _ data: Data) -> Payload {
        var p = Payload()
        p.metadata[PayloadEncoding.key] = Data(encoding.utf8)
        p.data = data
        return p
    }

    static var encoder: JSONEncoder {
        let e = JSONEncoder()
        e.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        e.dateEncodingStrategy = .custom { date, encoder in
            guard TemporalDate.isRepresentable(date) else {
                // Written as Foundation's description, it was sent and could not be read back.
                throw EncodingError.invalidValue(
                    date,
                    .init(
                        codingPath: encoder.codingPath,
                        debugDescription:
                            "a date outside the years 0000-9999 that RFC 3339 (and every Temporal SDK) reads: use a date in that range, or send it as a number"
                    ))
            }
            var c = encoder.singleValueContainer()
            try c.encode(TemporalDate.format(date))
        }
        return e
    }

    static var decoder: JSONDecoder {
        let d = JSONDecoder()
        d.dateDecodingStrategy = .custom { decoder in
            let c = try decoder.singleValueContainer()
            if let seconds = try? c.decode(Double.self) { return Date(timeIntervalSince1970: seconds) }
            let text = try c.decode(String.self)
            guard let date = TemporalDate.parse(text) else {
                throw DecodingError.dataCorruptedError(in: c, debugDescription: "'\(text)' is not an ISO-8601 date-time")
            }
            return date
        }
        return d
    }
}

/// Describes a DecodingError or an EncodingError with its coding path, which Foundation's
/// description omits (the value itself left out: the text may go to history as a failure's).
/// - Parameter malformed: the data was not JSON at all (said so, with the decoder's description,
///   which names no value).
func describe(_ error: any Error, malformed: Bool = false) -> String {
    func path(_ codingPath: [any CodingKey]) -> String {
        let p = codingPath.map { $0.intValue.map { "[\($0)]" } ?? ".\($0.stringValue)" }.joined()
        return p.isEmpty ? "at the top level" : "at \(p)"
    }
    func path(_ context: DecodingError.Context) -> String { path(context.codingPath) }
    // Foundation's description of an EncodingError reads "<description unavailable>".
    if case EncodingError.invalidValue(_, let context) = error { return "\(context.debugDescription) \(path(context.codingPath))" }
    guard let error = error as? DecodingError else { return "\(error)" }
    switch error {
    case .typeMismatch(let t, let c): return "expected \(t) \(path(c)): \(c.debugDescription)"
    case .valueNotFound(let t, let c): return "missing \(t) value \(path(c))"
    case .keyNotFound(let k, let c): return "missing key '\(k.stringValue)' \(path(c))"
    // The description quotes the value (an enum's unknown case, a date string), which a
    // failure's message would carry to history without the codecs: left out, at the top level
    // too. A syntax error names a position, not a value.
    case .dataCorrupted(let c) where malformed: return "not valid JSON: \(c.debugDescription)"
    case .dataCorrupted(let c):
        return "a value \(path(c)) that its type does not take (an unknown enum case, a malformed date or URL, …)"
    @unknown default: return "\(error)"
    }
}

/// Lets the converter recognise `Optional.none` without knowing the wrapped type.
protocol OptionalProtocol {
    var isNone: Bool { get }
    static var nilValue: Self { get }
}

extension Optional: OptionalProtocol {
    var isNone: Bool { self == nil }
    static var nilValue: Wrapped? { nil }
}
