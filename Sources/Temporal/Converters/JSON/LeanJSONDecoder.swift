#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

extension LeanJSON {
    /// Decodes `type` from JSON `data` the way Foundation's `JSONDecoder` (with the payload
    /// converter's options) would, for the plain shapes `encode` handles; `Unsupported` for
    /// anything else — and whenever any step failed, even one the type's own `init(from:)`
    /// caught — so that Foundation decodes it again and reports its own errors. A value that
    /// comes back from here is the value Foundation would have produced.
    static func decode<T: Decodable>(_ type: T.Type, from data: Data) throws -> T {
        let parsed: LeanJSONValue? = data.withUnsafeBytes { raw in
            LeanJSONParser.parse(raw.bindMemory(to: UInt8.self))
        }
        guard let parsed else { throw Unsupported() }
        let session = Session()
        let decoder = LeanDecoder(session: session, value: parsed, parent: nil, key: nil)
        let value: T
        do {
            value = try decoder.decodeValue(T.self)
        } catch {
            throw Unsupported()
        }
        guard !session.refused else { throw Unsupported() }
        return value
    }
}

/// One level of decoding: a parsed value and where it sits.
final class LeanDecoder: Decoder {
    let session: LeanJSON.Session
    let value: LeanJSONValue
    let parent: LeanDecoder?
    let key: (any CodingKey)?

    init(session: LeanJSON.Session, value: LeanJSONValue, parent: LeanDecoder?, key: (any CodingKey)?) {
        self.session = session
        self.value = value
        self.parent = parent
        self.key = key
    }

    var codingPath: [any CodingKey] { LeanJSON.codingPath(key: key, parent: parent, \.key, \.parent) }
    var userInfo: [CodingUserInfoKey: Any] { [:] }

    func container<Key: CodingKey>(keyedBy type: Key.Type) throws -> KeyedDecodingContainer<Key> {
        guard case .object(let members) = value else { throw session.refuse() }
        return KeyedDecodingContainer(LeanKeyedDecoder<Key>(decoder: self, members: members))
    }

    func unkeyedContainer() throws -> any UnkeyedDecodingContainer {
        guard case .array(let items) = value else { throw session.refuse() }
        return LeanUnkeyedDecoder(decoder: self, items: items)
    }

    func singleValueContainer() throws -> any SingleValueDecodingContainer { LeanSingleValueDecoder(decoder: self) }

    /// This level's value as `T`.
    func decodeValue<T: Decodable>(_ type: T.Type) throws -> T {
        if T.self == String.self { return try string(value) as! T }
        if T.self == Int.self { return try integer(value, as: Int.self) as! T }
        if T.self == Bool.self { return try bool(value) as! T }
        if T.self == Date.self || T.self == Data.self || T.self == URL.self || T.self == Decimal.self {
            throw session.refuse()
        }
        return try T(from: self)
    }

    /// `value` as `T`, one level down. Any error on the way (a refusal, or the type's own, which
    /// its caller may swallow) marks the session refused: Foundation decides such documents.
    func decodeChild<T: Decodable>(_ type: T.Type, _ value: LeanJSONValue, key: any CodingKey) throws -> T {
        if T.self == String.self { return try string(value) as! T }
        if T.self == Int.self { return try integer(value, as: Int.self) as! T }
        if T.self == Bool.self { return try bool(value) as! T }
        do {
            return try LeanDecoder(session: session, value: value, parent: self, key: key).decodeValue(T.self)
        } catch {
            session.refused = true
            throw error
        }
    }

    func string(_ value: LeanJSONValue) throws -> String {
        guard case .string(let s) = value else { throw session.refuse() }
        return s
    }

    func bool(_ value: LeanJSONValue) throws -> Bool {
        guard case .bool(let b) = value else { throw session.refuse() }
        return b
    }

    /// Only plain integer literals in range; "1.0", "1e3" and overflows are Foundation's to judge.
    func integer<I: FixedWidthInteger>(_ value: LeanJSONValue, as: I.Type) throws -> I {
        guard case .number(let text) = value, let i = I(text, radix: 10) else { throw session.refuse() }
        return i
    }

    /// Numbers without an exponent (Foundation's reading of exponents has quirks of its own:
    /// it refuses "0e5" and "1e-400" but reads "0e+1"), which a Double holds; the rest is
    /// Foundation's.
    func double(_ value: LeanJSONValue) throws -> Double {
        guard case .number(let text) = value, !text.utf8.contains(where: { $0 == UInt8(ascii: "e") || $0 == UInt8(ascii: "E") }),
            let d = Double(text), d.isFinite
        else { throw session.refuse() }
        // A number too small for a Double ("0.000…001"), which reads as 0: Foundation refuses it.
        if d == 0, text.utf8.contains(where: { $0 >= UInt8(ascii: "1") && $0 <= UInt8(ascii: "9") }) { throw session.refuse() }
        return d
    }
}

struct LeanKeyedDecoder<Key: CodingKey>: KeyedDecodingContainerProtocol {
    let decoder: LeanDecoder
    let members: [(key: String, value: LeanJSONValue)]
    /// Positions by key for larger objects (a linear scan is faster for the small ones).
    let index: [String: Int]?
    var codingPath: [any CodingKey] { decoder.codingPath }
    var allKeys: [Key] { members.compactMap { Key(stringValue: $0.key) } }

    init(decoder: LeanDecoder, members: [(key: String, value: LeanJSONValue)]) {
        self.decoder = decoder
        self.members = members
        if members.count > 16 {
            var index: [String: Int] = [:]
            index.reserveCapacity(members.count)
            for (i, m) in members.enumerated() { index[m.key] = i }
            self.index = index
        } else {
            self.index = nil
        }
    }

    private func position(_ key: Key) -> Int? {
        let name = key.stringValue
        if let index { return index[name] }
        return members.firstIndex { $0.key == name }
    }

    private func member(_ key: Key) throws -> LeanJSONValue {
        guard let i = position(key) else { throw decoder.session.refuse() }
        return members[i].value
    }

    func contains(_ key: Key) -> Bool { position(key) != nil }
    func decodeNil(forKey key: Key) throws -> Bool {
        if case .null = try member(key) { return true }
        return false
    }
    func decode(_ type: Bool.Type, forKey key: Key) throws -> Bool { try decoder.bool(member(key)) }
    func decode(_ type: String.Type, forKey key: Key) throws -> String { try decoder.string(member(key)) }
    func decode(_ type: Double.Type, forKey key: Key) throws -> Double { try decoder.double(member(key)) }
    func decode(_ type: Float.Type, forKey key: Key) throws -> Float { throw decoder.session.refuse() }
    func decode(_ type: Int.Type, forKey key: Key) throws -> Int { try decoder.integer(member(key), as: Int.self) }
    func decode(_ type: Int8.Type, forKey key: Key) throws -> Int8 { try decoder.integer(member(key), as: Int8.self) }
    func decode(_ type: Int16.Type, forKey key: Key) throws -> Int16 { try decoder.integer(member(key), as: Int16.self) }
    func decode(_ type: Int32.Type, forKey key: Key) throws -> Int32 { try decoder.integer(member(key), as: Int32.self) }
    func decode(_ type: Int64.Type, forKey key: Key) throws -> Int64 { try decoder.integer(member(key), as: Int64.self) }
    func decode(_ type: UInt.Type, forKey key: Key) throws -> UInt { try decoder.integer(member(key), as: UInt.self) }
    func decode(_ type: UInt8.Type, forKey key: Key) throws -> UInt8 { try decoder.integer(member(key), as: UInt8.self) }
    func decode(_ type: UInt16.Type, forKey key: Key) throws -> UInt16 { try decoder.integer(member(key), as: UInt16.self) }
    func decode(_ type: UInt32.Type, forKey key: Key) throws -> UInt32 { try decoder.integer(member(key), as: UInt32.self) }
    func decode(_ type: UInt64.Type, forKey key: Key) throws -> UInt64 { try decoder.integer(member(key), as: UInt64.self) }
    // 128-bit integers: Foundation's business (the standard library's defaults would throw
    // without the session knowing).
    func decode(_ type: Int128.Type, forKey key: Key) throws -> Int128 { throw decoder.session.refuse() }
    func decode(_ type: UInt128.Type, forKey key: Key) throws -> UInt128 { throw decoder.session.refuse() }
    func decode<T: Decodable>(_ type: T.Type, forKey key: Key) throws -> T {
        try decoder.decodeChild(T.self, member(key), key: key)
    }

    func nestedContainer<NestedKey: CodingKey>(keyedBy type: NestedKey.Type, forKey key: Key) throws -> KeyedDecodingContainer<NestedKey> {
        try LeanDecoder(session: decoder.session, value: member(key), parent: decoder, key: key).container(keyedBy: NestedKey.self)
    }
    func nestedUnkeyedContainer(forKey key: Key) throws -> any UnkeyedDecodingContainer {
        try LeanDecoder(session: decoder.session, value: member(key), parent: decoder, key: key).unkeyedContainer()
    }
    func superDecoder() throws -> any Decoder { throw decoder.session.refuse() }
    func superDecoder(forKey key: Key) throws -> any Decoder { throw decoder.session.refuse() }
}

struct LeanUnkeyedDecoder: UnkeyedDecodingContainer {
    let decoder: LeanDecoder
    let items: [LeanJSONValue]
    var currentIndex = 0
    var codingPath: [any CodingKey] { decoder.codingPath }
    var count: Int? { items.count }
    var isAtEnd: Bool { currentIndex >= items.count }

    init(decoder: LeanDecoder, items: [LeanJSONValue]) {
        self.decoder = decoder
        self.items = items
    }

    /// The next element, consumed only if `decode` succeeds (as in Foundation).
    private mutating func next<R>(_ decode: (LeanDecoder, LeanJSONValue) throws -> R) throws -> R {
        guard currentIndex < items.count else { throw decoder.session.refuse() }
        let result = try decode(decoder, items[currentIndex])
        currentIndex += 1
        return result
    }

    mutating func decodeNil() throws -> Bool {
        guard currentIndex < items.count else { throw decoder.session.refuse() }
        if case .null = items[currentIndex] {
            currentIndex += 1
            return true
        }
        return false
    }
    mutating func decode(_ type: Bool.Type) throws -> Bool { try next { try $0.bool($1) } }
    mutating func decode(_ type: String.Type) throws -> String { try next { try $0.string($1) } }
    mutating func decode(_ type: Double.Type) throws -> Double { try next { try $0.double($1) } }
    mutating func decode(_ type: Float.Type) throws -> Float { throw decoder.session.refuse() }
    mutating func decode(_ type: Int.Type) throws -> Int { try next { try $0.integer($1, as: Int.self) } }
    mutating func decode(_ type: Int8.Type) throws -> Int8 { try next { try $0.integer($1, as: Int8.self) } }
    mutating func decode(_ type: Int16.Type) throws -> Int16 { try next { try $0.integer($1, as: Int16.self) } }
    mutating func decode(_ type: Int32.Type) throws -> Int32 { try next { try $0.integer($1, as: Int32.self) } }
    mutating func decode(_ type: Int64.Type) throws -> Int64 { try next { try $0.integer($1, as: Int64.self) } }
    mutating func decode(_ type: UInt.Type) throws -> UInt { try next { try $0.integer($1, as: UInt.self) } }
    mutating func decode(_ type: UInt8.Type) throws -> UInt8 { try next { try $0.integer($1, as: UInt8.self) } }
    mutating func decode(_ type: UInt16.Type) throws -> UInt16 { try next { try $0.integer($1, as: UInt16.self) } }
    mutating func decode(_ type: UInt32.Type) throws -> UInt32 { try next { try $0.integer($1, as: UInt32.self) } }
    mutating func decode(_ type: UInt64.Type) throws -> UInt64 { try next { try $0.integer($1, as: UInt64.self) } }
    mutating func decode(_ type: Int128.Type) throws -> Int128 { throw decoder.session.refuse() }
    mutating func decode(_ type: UInt128.Type) throws -> UInt128 { throw decoder.session.refuse() }
    mutating func decode<T: Decodable>(_ type: T.Type) throws -> T {
        let key = IndexKey(currentIndex)
        return try next { try $0.decodeChild(T.self, $1, key: key) }
    }

    mutating func nestedContainer<NestedKey: CodingKey>(keyedBy type: NestedKey.Type) throws -> KeyedDecodingContainer<NestedKey> {
        let key = IndexKey(currentIndex)
        return try next { try LeanDecoder(session: $0.session, value: $1, parent: $0, key: key).container(keyedBy: NestedKey.self) }
    }
    mutating func nestedUnkeyedContainer() throws -> any UnkeyedDecodingContainer {
        let key = IndexKey(currentIndex)
        return try next { try LeanDecoder(session: $0.session, value: $1, parent: $0, key: key).unkeyedContainer() }
    }
    mutating func superDecoder() throws -> any Decoder { throw decoder.session.refuse() }
}

struct LeanSingleValueDecoder: SingleValueDecodingContainer {
    let decoder: LeanDecoder
    var codingPath: [any CodingKey] { decoder.codingPath }

    func decodeNil() -> Bool {
        if case .null = decoder.value { return true }
        return false
    }
    func decode(_ type: Bool.Type) throws -> Bool { try decoder.bool(decoder.value) }
    func decode(_ type: String.Type) throws -> String { try decoder.string(decoder.value) }
    func decode(_ type: Double.Type) throws -> Double { try decoder.double(decoder.value) }
    func decode(_ type: Float.Type) throws -> Float { throw decoder.session.refuse() }
    func decode(_ type: Int.Type) throws -> Int { try decoder.integer(decoder.value, as: Int.self) }
    func decode(_ type: Int8.Type) throws -> Int8 { try decoder.integer(decoder.value, as: Int8.self) }
    func decode(_ type: Int16.Type) throws -> Int16 { try decoder.integer(decoder.value, as: Int16.self) }
    func decode(_ type: Int32.Type) throws -> Int32 { try decoder.integer(decoder.value, as: Int32.self) }
    func decode(_ type: Int64.Type) throws -> Int64 { try decoder.integer(decoder.value, as: Int64.self) }
    func decode(_ type: UInt.Type) throws -> UInt { try decoder.integer(decoder.value, as: UInt.self) }
    func decode(_ type: UInt8.Type) throws -> UInt8 { try decoder.integer(decoder.value, as: UInt8.self) }
    func decode(_ type: UInt16.Type) throws -> UInt16 { try decoder.integer(decoder.value, as: UInt16.self) }
    func decode(_ type: UInt32.Type) throws -> UInt32 { try decoder.integer(decoder.value, as: UInt32.self) }
    func decode(_ type: UInt64.Type) throws -> UInt64 { try decoder.integer(decoder.value, as: UInt64.self) }
    func decode(_ type: Int128.Type) throws -> Int128 { throw decoder.session.refuse() }
    func decode(_ type: UInt128.Type) throws -> UInt128 { throw decoder.session.refuse() }
    func decode<T: Decodable>(_ type: T.Type) throws -> T {
        // The value stands for this level itself (e.g. an Optional's wrapped value).
        try LeanDecoder(session: decoder.session, value: decoder.value, parent: decoder.parent, key: decoder.key).decodeValue(T.self)
    }
}
