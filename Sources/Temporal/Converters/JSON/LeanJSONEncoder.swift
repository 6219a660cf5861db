import Synchronization

#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// A JSON encoder for the plain shapes most payloads have — structs, arrays and dictionaries of
/// strings, integers, booleans and optionals — that writes exactly the bytes Foundation's
/// `JSONEncoder` writes with `[.sortedKeys, .withoutEscapingSlashes]`, at a fraction of its cost.
///
/// Anything else (dates, data, URLs, decimals, floating-point numbers that are not small
/// integers, non-ASCII keys, super encoders) throws `LeanJSON.Unsupported`, and the caller
/// encodes the value with Foundation instead: the lean path is an optimisation, never a second
/// dialect. Keys are sorted by their bytes, which for ASCII keys is Foundation's order.
enum LeanJSON {
    /// The value needs Foundation's encoder (or decoder).
    struct Unsupported: Error {}

    /// The keys from the root down to a level (an encoder's or a decoder's), from its own key
    /// and its chain of parents.
    static func codingPath<Level>(
        key: (any CodingKey)?, parent: Level?, _ keyOf: KeyPath<Level, (any CodingKey)?>, _ parentOf: KeyPath<Level, Level?>
    ) -> [any CodingKey] {
        var path: [any CodingKey] = key.map { [$0] } ?? []
        var level = parent
        while let l = level {
            if let k = l[keyPath: keyOf] { path.append(k) }
            level = l[keyPath: parentOf]
        }
        return path.reversed()
    }

    /// One encoding or decoding: whether the lean path refused anything along the way.
    final class Session {
        var refused = false
        /// Records a refusal; throw what it returns.
        func refuse() -> Unsupported {
            refused = true
            return Unsupported()
        }
    }

    /// Types the lean path refused before (per direction): they go straight to Foundation, so a
    /// type with, say, a `Date` field is not encoded (or parsed) twice every time.
    private static let refusedEncoding = Mutex<Set<ObjectIdentifier>>([])
    private static let refusedDecoding = Mutex<Set<ObjectIdentifier>>([])

    /// The lean JSON of `value`, or nil: the caller encodes it with Foundation. Only on Linux,
    /// where Foundation orders keys by their bytes (Darwin's Foundation compares them as
    /// NSStrings).
    static func encodeIfPlain<T: Encodable>(_ value: T) -> Data? {
        #if os(Linux)
        let type = ObjectIdentifier(T.self)
        if refusedEncoding.withLock({ $0.contains(type) }) { return nil }
        if let data = try? encode(value) { return data }
        refusedEncoding.withLock { _ = $0.insert(type) }
        #endif
        return nil
    }

    /// The value of `data` as `T` by the lean path, or nil: the caller decodes it with Foundation.
    static func decodeIfPlain<T: Decodable>(_ type: T.Type, from data: Data) -> T? {
        #if os(Linux)
        let id = ObjectIdentifier(T.self)
        if refusedDecoding.withLock({ $0.contains(id) }) { return nil }
        if let value = try? decode(T.self, from: data) { return value }
        refusedDecoding.withLock { _ = $0.insert(id) }
        #endif
        return nil
    }

    /// The JSON bytes of `value`, or `Unsupported`. Also `Unsupported` when the value's own
    /// `encode(to:)` caught a refusal and went on: its output would differ from Foundation's.
    static func encode<T: Encodable>(_ value: T) throws -> Data {
        let session = Session()
        let root = EncoderState(session: session, parent: nil, key: nil)
        // A top-level value that encodes nothing is an error in Foundation (not "{}").
        guard let node = try root.node(for: value, key: nil, emptyIsObject: false), !session.refused else {
            throw Unsupported()
        }
        var out: [UInt8] = []
        out.reserveCapacity(128)
        guard node.write(to: &out, depth: 0) else { throw Unsupported() }
        return Data(out)
    }
}

/// What an encoded value became: a scalar (rendered when written: no allocation for short
/// strings), or a container filled in place.
enum LeanNode {
    case string(String)
    case signed(Int64)
    case unsigned(UInt64)
    case bool(Bool)
    case null
    case double(Double)
    case object(ObjectBox)
    case array(ArrayBox)

    final class ObjectBox {
        // Written only by the encoder that owns the box: no run-time exclusivity check needed.
        @exclusivity(unchecked) var entries: [(key: String, node: LeanNode)] = []
        init() { entries.reserveCapacity(8) }
    }
    final class ArrayBox {
        @exclusivity(unchecked) var items: [LeanNode] = []
    }

    /// Appends the JSON text; false if a key is not ASCII (equality and order of those are
    /// Foundation's to decide) or the nesting is deeper than the lean parser reads back.
    func write(to out: inout [UInt8], depth: Int) -> Bool {
        switch self {
        case .string(let s): LeanJSONText.appendString(s, to: &out)
        case .signed(let i): LeanJSONText.appendInteger(i, to: &out)
        case .unsigned(let u): LeanJSONText.appendInteger(u, to: &out)
        case .bool(let b): out.append(contentsOf: b ? LeanJSONText.trueBytes : LeanJSONText.falseBytes)
        case .null: out.append(contentsOf: LeanJSONText.nullBytes)
        case .double(let d): LeanJSONText.appendIntegralDouble(d, to: &out)
        case .array(let box):
            guard depth < LeanJSONParser.maximumDepth else { return false }
            out.append(UInt8(ascii: "["))
            for (i, item) in box.items.enumerated() {
                if i > 0 { out.append(UInt8(ascii: ",")) }
                guard item.write(to: &out, depth: depth + 1) else { return false }
            }
            out.append(UInt8(ascii: "]"))
        case .object(let box):
            let entries = box.entries
            guard depth < LeanJSONParser.maximumDepth else { return false }
            for entry in entries {
                for byte in entry.key.utf8 where byte >= 0x80 { return false }
            }
            out.append(UInt8(ascii: "{"))
            // Sorted by key (for ASCII, String's order is byte order); of several values for one
            // key the last wins, as in Foundation.
            var order = Array(entries.indices)
            if entries.count > 1 {
                order.sort { a, b in
                    let (x, y) = (entries[a].key, entries[b].key)
                    return x == y ? a < b : x < y
                }
            }
            var first = true
            for (n, i) in order.enumerated() {
                let entry = entries[i]
                if n + 1 < order.count, entries[order[n + 1]].key == entry.key { continue }
                if !first { out.append(UInt8(ascii: ",")) }
                first = false
                LeanJSONText.appendString(entry.key, to: &out)
                out.append(UInt8(ascii: ":"))
                guard entry.node.write(to: &out, depth: depth + 1) else { return false }
            }
            out.append(UInt8(ascii: "}"))
        }
        return true
    }
}

extension LeanNode {
    init<I: FixedWidthInteger>(integer value: I) {
        self = I.isSigned ? .signed(Int64(value)) : .unsigned(UInt64(value))
    }
}

/// JSON text of scalars, as Foundation renders them.
enum LeanJSONText {
    static func appendString(_ string: String, to out: inout [UInt8]) {
        var string = string  // withUTF8 is mutating (it makes a bridged string contiguous)
        string.withUTF8 { bytes in
            out.append(UInt8(ascii: "\""))
            // Runs of bytes that need no escape are copied whole (most strings are one run).
            var runStart = 0
            for index in bytes.indices {
                let byte = bytes[index]
                guard byte < 0x20 || byte == UInt8(ascii: "\"") || byte == UInt8(ascii: "\\") else { continue }
                out.append(contentsOf: UnsafeBufferPointer(rebasing: bytes[runStart..<index]))
                appendEscape(byte, to: &out)
                runStart = index + 1
            }
            out.append(contentsOf: UnsafeBufferPointer(rebasing: bytes[runStart...]))
            out.append(UInt8(ascii: "\""))
        }
    }

    /// Foundation's escape of a quote, a backslash or a control character.
    private static func appendEscape(_ byte: UInt8, to out: inout [UInt8]) {
        switch byte {
        case UInt8(ascii: "\""): out.append(contentsOf: [UInt8(ascii: "\\"), UInt8(ascii: "\"")])
        case UInt8(ascii: "\\"): out.append(contentsOf: [UInt8(ascii: "\\"), UInt8(ascii: "\\")])
        case 0x08: out.append(contentsOf: [UInt8(ascii: "\\"), UInt8(ascii: "b")])
        case 0x09: out.append(contentsOf: [UInt8(ascii: "\\"), UInt8(ascii: "t")])
        case 0x0A: out.append(contentsOf: [UInt8(ascii: "\\"), UInt8(ascii: "n")])
        case 0x0C: out.append(contentsOf: [UInt8(ascii: "\\"), UInt8(ascii: "f")])
        case 0x0D: out.append(contentsOf: [UInt8(ascii: "\\"), UInt8(ascii: "r")])
        default:
            let hex: [UInt8] = Array("0123456789abcdef".utf8)
            out.append(contentsOf: [
                UInt8(ascii: "\\"), UInt8(ascii: "u"), UInt8(ascii: "0"), UInt8(ascii: "0"), hex[Int(byte >> 4)], hex[Int(byte & 0xF)],
            ])
        }
    }

    static let trueBytes = Array("true".utf8)
    static let falseBytes = Array("false".utf8)
    static let nullBytes = Array("null".utf8)

    static func appendInteger<I: FixedWidthInteger>(_ value: I, to out: inout [UInt8]) {
        if value == 0 {
            out.append(UInt8(ascii: "0"))
            return
        }
        var digits: (UInt64, UInt64, UInt64) = (0, 0, 0)  // 24 bytes: room for 20 digits
        var magnitude = value.magnitude
        var count = 0
        withUnsafeMutableBytes(of: &digits) { buffer in
            while magnitude > 0 {
                buffer[23 - count] = UInt8(ascii: "0") + UInt8(magnitude % 10)
                magnitude /= 10
                count += 1
            }
            if value < 0 { out.append(UInt8(ascii: "-")) }
            out.append(contentsOf: buffer[(24 - count)...])
        }
    }

    /// Foundation prints integral doubles below 10^15 as integers ("-0" for negative zero);
    /// everything else takes its own formatting rules: refused and left to Foundation. (Floats
    /// are refused outright: Foundation switches them to exponents from 2^24 on.)
    static func isLeanDouble(_ value: Double) -> Bool { value.isFinite && value == value.rounded() && abs(value) < 1e15 }

    static func appendIntegralDouble(_ value: Double, to out: inout [UInt8]) {
        if value == 0, value.sign == .minus {
            out.append(contentsOf: [UInt8(ascii: "-"), UInt8(ascii: "0")])
        } else {
            appendInteger(Int64(value), to: &out)
        }
    }
}

/// One level of encoding: the value an `encode(to:)` call produces, and the containers it asks for.
final class EncoderState: Encoder {
    let session: LeanJSON.Session
    let parent: EncoderState?
    let key: (any CodingKey)?
    var result: LeanNode?

    init(session: LeanJSON.Session, parent: EncoderState?, key: (any CodingKey)?) {
        self.session = session
        self.parent = parent
        self.key = key
    }

    func double(_ value: Double) throws -> LeanNode {
        guard LeanJSONText.isLeanDouble(value) else { throw session.refuse() }
        return .double(value)
    }

    var codingPath: [any CodingKey] { LeanJSON.codingPath(key: key, parent: parent, \.key, \.parent) }
    var userInfo: [CodingUserInfoKey: Any] { [:] }

    /// An encoder whose output is never used: the session is refused, Foundation encodes the
    /// value (for super encoders, which write into a node after the call returns).
    func refusedLevel() -> EncoderState {
        session.refused = true
        return EncoderState(session: session, parent: self, key: nil)
    }

    /// The object this level encodes into: the one it already has, a new one — or, after a
    /// value of another kind (Foundation stops there), a refusal.
    func objectBox() -> LeanNode.ObjectBox {
        switch result {
        case .object(let existing)?: return existing
        case nil: break
        default: session.refused = true
        }
        let box = LeanNode.ObjectBox()
        result = .object(box)
        return box
    }

    func arrayBox() -> LeanNode.ArrayBox {
        switch result {
        case .array(let existing)?: return existing
        case nil: break
        default: session.refused = true
        }
        let box = LeanNode.ArrayBox()
        result = .array(box)
        return box
    }

    func container<Key: CodingKey>(keyedBy type: Key.Type) -> KeyedEncodingContainer<Key> {
        KeyedEncodingContainer(LeanKeyedEncoder<Key>(state: self, box: objectBox()))
    }

    func unkeyedContainer() -> any UnkeyedEncodingContainer { LeanUnkeyedEncoder(state: self, box: arrayBox()) }

    func singleValueContainer() -> any SingleValueEncodingContainer { LeanSingleValueEncoder(state: self) }

    /// The node of any encodable value, as a child of this level: scalars directly, types
    /// Foundation treats specially refused, everything else through its own `encode(to:)`.
    /// Any error on the way (a refusal, or the value's own, perhaps swallowed by its caller)
    /// marks the session refused: Foundation's encoder could have left a different state.
    func node<T: Encodable>(for value: T, key: (any CodingKey)?) throws -> LeanNode {
        // An empty encode(to:) is an empty object in Foundation, except at the top level.
        try node(for: value, key: key, emptyIsObject: true)!
    }

    func node<T: Encodable>(for value: T, key: (any CodingKey)?, emptyIsObject: Bool) throws -> LeanNode? {
        if T.self == String.self { return .string(value as! String) }
        if T.self == Int.self { return .signed(Int64(value as! Int)) }
        if T.self == Bool.self { return .bool(value as! Bool) }
        if T.self == Date.self || T.self == Data.self || T.self == URL.self || T.self == Decimal.self {
            throw session.refuse()
        }
        let child = EncoderState(session: session, parent: self, key: key)
        do {
            try value.encode(to: child)
        } catch {
            session.refused = true
            throw error
        }
        return child.result ?? (emptyIsObject ? .object(LeanNode.ObjectBox()) : nil)
    }
}

struct LeanKeyedEncoder<Key: CodingKey>: KeyedEncodingContainerProtocol {
    let state: EncoderState
    let box: LeanNode.ObjectBox
    var codingPath: [any CodingKey] { state.codingPath }

    private func put(_ key: Key, _ node: LeanNode) throws { box.entries.append((key.stringValue, node)) }

    mutating func encodeNil(forKey key: Key) throws { try put(key, .null) }
    mutating func encode(_ value: Bool, forKey key: Key) throws { try put(key, .bool(value)) }
    mutating func encode(_ value: String, forKey key: Key) throws { try put(key, .string(value)) }
    mutating func encode(_ value: Double, forKey key: Key) throws { try put(key, try state.double(value)) }
    mutating func encode(_ value: Float, forKey key: Key) throws { throw state.session.refuse() }
    mutating func encode(_ value: Int, forKey key: Key) throws { try put(key, LeanNode(integer: value)) }
    mutating func encode(_ value: Int8, forKey key: Key) throws { try put(key, LeanNode(integer: value)) }
    mutating func encode(_ value: Int16, forKey key: Key) throws { try put(key, LeanNode(integer: value)) }
    mutating func encode(_ value: Int32, forKey key: Key) throws { try put(key, LeanNode(integer: value)) }
    mutating func encode(_ value: Int64, forKey key: Key) throws { try put(key, LeanNode(integer: value)) }
    mutating func encode(_ value: UInt, forKey key: Key) throws { try put(key, LeanNode(integer: value)) }
    mutating func encode(_ value: UInt8, forKey key: Key) throws { try put(key, LeanNode(integer: value)) }
    mutating func encode(_ value: UInt16, forKey key: Key) throws { try put(key, LeanNode(integer: value)) }
    mutating func encode(_ value: UInt32, forKey key: Key) throws { try put(key, LeanNode(integer: value)) }
    mutating func encode(_ value: UInt64, forKey key: Key) throws { try put(key, LeanNode(integer: value)) }
    // 128-bit integers: Foundation's business (the standard library's defaults would throw
    // without the session knowing).
    mutating func encode(_ value: Int128, forKey key: Key) throws { throw state.session.refuse() }
    mutating func encode(_ value: UInt128, forKey key: Key) throws { throw state.session.refuse() }
    mutating func encode<T: Encodable>(_ value: T, forKey key: Key) throws {
        try put(key, try state.node(for: value, key: key))
    }

    /// A level for a nested container under `key`: holding what the key already has, so that
    /// a second nested container for it adds to the first one, as in Foundation.
    private func level(for key: Key) -> EncoderState {
        let child = EncoderState(session: state.session, parent: state, key: key)
        let name = key.stringValue
        child.result = box.entries.last { $0.key == name }?.node
        return child
    }
    mutating func nestedContainer<NestedKey: CodingKey>(keyedBy keyType: NestedKey.Type, forKey key: Key) -> KeyedEncodingContainer<
        NestedKey
    > {
        let child = level(for: key)
        let box = child.objectBox()
        self.box.entries.append((key.stringValue, .object(box)))
        return KeyedEncodingContainer(LeanKeyedEncoder<NestedKey>(state: child, box: box))
    }
    mutating func nestedUnkeyedContainer(forKey key: Key) -> any UnkeyedEncodingContainer {
        let child = level(for: key)
        let box = child.arrayBox()
        self.box.entries.append((key.stringValue, .array(box)))
        return LeanUnkeyedEncoder(state: child, box: box)
    }
    // Super encoders write into a node after the call returns: left to Foundation.
    mutating func superEncoder() -> any Encoder { state.refusedLevel() }
    mutating func superEncoder(forKey key: Key) -> any Encoder { state.refusedLevel() }
}

struct LeanUnkeyedEncoder: UnkeyedEncodingContainer {
    let state: EncoderState
    let box: LeanNode.ArrayBox
    var codingPath: [any CodingKey] { state.codingPath }
    var count: Int { box.items.count }

    mutating func encodeNil() throws { box.items.append(.null) }
    mutating func encode(_ value: Bool) throws { box.items.append(.bool(value)) }
    mutating func encode(_ value: String) throws { box.items.append(.string(value)) }
    mutating func encode(_ value: Double) throws { box.items.append(try state.double(value)) }
    mutating func encode(_ value: Float) throws { throw state.session.refuse() }
    mutating func encode(_ value: Int) throws { box.items.append(LeanNode(integer: value)) }
    mutating func encode(_ value: Int8) throws { box.items.append(LeanNode(integer: value)) }
    mutating func encode(_ value: Int16) throws { box.items.append(LeanNode(integer: value)) }
    mutating func encode(_ value: Int32) throws { box.items.append(LeanNode(integer: value)) }
    mutating func encode(_ value: Int64) throws { box.items.append(LeanNode(integer: value)) }
    mutating func encode(_ value: UInt) throws { box.items.append(LeanNode(integer: value)) }
    mutating func encode(_ value: UInt8) throws { box.items.append(LeanNode(integer: value)) }
    mutating func encode(_ value: UInt16) throws { box.items.append(LeanNode(integer: value)) }
    mutating func encode(_ value: UInt32) throws { box.items.append(LeanNode(integer: value)) }
    mutating func encode(_ value: UInt64) throws { box.items.append(LeanNode(integer: value)) }
    mutating func encode(_ value: Int128) throws { throw state.session.refuse() }
    mutating func encode(_ value: UInt128) throws { throw state.session.refuse() }
    mutating func encode<T: Encodable>(_ value: T) throws {
        box.items.append(try state.node(for: value, key: IndexKey(box.items.count)))
    }

    mutating func nestedContainer<NestedKey: CodingKey>(keyedBy keyType: NestedKey.Type) -> KeyedEncodingContainer<NestedKey> {
        let child = EncoderState(session: state.session, parent: state, key: IndexKey(box.items.count))
        let nested = child.container(keyedBy: NestedKey.self)
        if let node = child.result { box.items.append(node) }
        return nested
    }
    mutating func nestedUnkeyedContainer() -> any UnkeyedEncodingContainer {
        let child = EncoderState(session: state.session, parent: state, key: IndexKey(box.items.count))
        let nested = child.unkeyedContainer()
        if let node = child.result { box.items.append(node) }
        return nested
    }
    mutating func superEncoder() -> any Encoder { state.refusedLevel() }
}

struct LeanSingleValueEncoder: SingleValueEncodingContainer {
    let state: EncoderState
    var codingPath: [any CodingKey] { state.codingPath }

    private func set(_ node: LeanNode) throws {
        // A second value at one level is an error in Foundation: its message is Foundation's.
        guard state.result == nil else { throw state.session.refuse() }
        state.result = node
    }
    mutating func encodeNil() throws { try set(.null) }
    mutating func encode(_ value: Bool) throws { try set(.bool(value)) }
    mutating func encode(_ value: String) throws { try set(.string(value)) }
    mutating func encode(_ value: Double) throws { try set(try state.double(value)) }
    mutating func encode(_ value: Float) throws { throw state.session.refuse() }
    mutating func encode(_ value: Int) throws { try set(LeanNode(integer: value)) }
    mutating func encode(_ value: Int8) throws { try set(LeanNode(integer: value)) }
    mutating func encode(_ value: Int16) throws { try set(LeanNode(integer: value)) }
    mutating func encode(_ value: Int32) throws { try set(LeanNode(integer: value)) }
    mutating func encode(_ value: Int64) throws { try set(LeanNode(integer: value)) }
    mutating func encode(_ value: UInt) throws { try set(LeanNode(integer: value)) }
    mutating func encode(_ value: UInt8) throws { try set(LeanNode(integer: value)) }
    mutating func encode(_ value: UInt16) throws { try set(LeanNode(integer: value)) }
    mutating func encode(_ value: UInt32) throws { try set(LeanNode(integer: value)) }
    mutating func encode(_ value: UInt64) throws { try set(LeanNode(integer: value)) }
    mutating func encode(_ value: Int128) throws { throw state.session.refuse() }
    mutating func encode(_ value: UInt128) throws { throw state.session.refuse() }
    mutating func encode<T: Encodable>(_ value: T) throws {
        guard state.result == nil else { throw state.session.refuse() }
        // The value stands for this level itself (e.g. an Optional's wrapped value).
        let level = EncoderState(session: state.session, parent: state.parent, key: state.key)
        state.result = try level.node(for: value, key: nil)
    }
}

/// The coding key of an array element.
struct IndexKey: CodingKey {
    let intValue: Int?
    var stringValue: String { "Index \(intValue ?? 0)" }
    init(_ index: Int) { intValue = index }
    init?(stringValue: String) { nil }
    init?(intValue: Int) { self.intValue = intValue }
}
