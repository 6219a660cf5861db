import Foundation
import TemporalProto
import Testing

@testable import Temporal

/// The lean JSON path of the payload converter must be invisible: for every value it encodes,
/// the bytes Foundation's `JSONEncoder` (the converter's options) writes; for every document it
/// decodes, the value Foundation's `JSONDecoder` produces; and it must refuse, not guess, the
/// rest. Each test compares against Foundation directly.
@Suite struct LeanJSONTests {
    static let foundationEncoder = DefaultPayloadConverter.encoder
    static let foundationDecoder = DefaultPayloadConverter.decoder

    // MARK: Shapes

    struct Scalars: Codable, Equatable {
        var s: String
        var i: Int
        var i8: Int8
        var i16: Int16
        var i32: Int32
        var i64: Int64
        var u: UInt
        var u8: UInt8
        var u16: UInt16
        var u32: UInt32
        var u64: UInt64
        var b: Bool
        var d: Double
        var optionalSet: String?
        var optionalNil: Int?
    }

    // swift-format-ignore: AlwaysUseLowerCamelCase
    struct Row: Codable, Equatable {
        var id: Int
        var employee_id: String
    }

    struct Nested: Codable, Equatable {
        var rows: [Row]
        var byName: [String: [Int]]
        var byNumber: [Int: String]
        var matrix: [[Bool?]]
        var empty: [String]
        var inner: Inner?
        struct Inner: Codable, Equatable {
            var z: String
            var a: [String: Row]
        }
    }

    enum Shape: Codable, Equatable {
        case circle(radius: Int)
        case rect(w: Int, h: Int)
        case none
    }

    struct Empty: Codable, Equatable {}

    /// Keys in an order unlike their sorted one, and keys that sort by byte (digits, capitals,
    /// underscore, lower case).
    // swift-format-ignore: AlwaysUseLowerCamelCase
    struct Unordered: Codable, Equatable {
        var zeta = 1
        var Alpha = 2
        var _under = 3
        var a10 = 4
        var a9 = 5
        var b = 6
        var A = 7
    }

    /// Writes `b` twice: Foundation keeps the last value.
    struct DuplicateKey: Encodable {
        enum K: String, CodingKey { case a, b }
        func encode(to encoder: any Swift.Encoder) throws {
            var c = encoder.container(keyedBy: K.self)
            try c.encode(1, forKey: .b)
            try c.encode(2, forKey: .a)
            try c.encode(3, forKey: .b)
        }
    }

    /// Swallows the failure of a field the lean encoder refuses: the result must still be
    /// Foundation's (which encodes the date).
    struct SwallowsErrors: Encodable {
        enum K: String, CodingKey { case when, name }
        func encode(to encoder: any Swift.Encoder) throws {
            var c = encoder.container(keyedBy: K.self)
            try? c.encode(Date(timeIntervalSince1970: 1_700_000_000), forKey: .when)
            try c.encode("x", forKey: .name)
        }
    }

    class Base: Codable {
        var base = 1
    }
    final class Derived: Base {
        var extra = "e"
        enum K: String, CodingKey { case extra }
        override init() { super.init() }
        required init(from decoder: any Swift.Decoder) throws {
            extra = try decoder.container(keyedBy: K.self).decode(String.self, forKey: .extra)
            try super.init(from: decoder.container(keyedBy: K.self).superDecoder())
        }
        override func encode(to encoder: any Swift.Encoder) throws {
            var c = encoder.container(keyedBy: K.self)
            try c.encode(extra, forKey: .extra)
            try super.encode(to: c.superEncoder())
        }
    }

    /// Two nested containers for one key: Foundation merges them.
    struct TwoNestedContainers: Encodable {
        enum K: String, CodingKey { case meta, a, b, list }
        func encode(to encoder: any Swift.Encoder) throws {
            var c = encoder.container(keyedBy: K.self)
            var m1 = c.nestedContainer(keyedBy: K.self, forKey: .meta)
            try m1.encode(1, forKey: .a)
            var m2 = c.nestedContainer(keyedBy: K.self, forKey: .meta)
            try m2.encode(2, forKey: .b)
            var l1 = c.nestedUnkeyedContainer(forKey: .list)
            try l1.encode(1)
            var l2 = c.nestedUnkeyedContainer(forKey: .list)
            try l2.encode(2)
        }
    }

    /// A value for a key, then a nested container for the same key.
    struct NestedAfterValue: Encodable {
        enum K: String, CodingKey { case meta, a, b }
        func encode(to encoder: any Swift.Encoder) throws {
            var c = encoder.container(keyedBy: K.self)
            try c.encode(["a": 1], forKey: .meta)
            var m = c.nestedContainer(keyedBy: K.self, forKey: .meta)
            try m.encode(2, forKey: .b)
        }
    }

    struct EncodesNothing: Encodable {
        func encode(to encoder: any Swift.Encoder) throws {}
    }

    /// Nested `levels` deep.
    struct Deep: Encodable {
        let levels: Int
        func encode(to encoder: any Swift.Encoder) throws {
            var c = encoder.unkeyedContainer()
            if levels > 1 { try c.encode(Deep(levels: levels - 1)) } else { try c.encode(1) }
        }
    }

    /// Decodes known colours and collects the rest: relies on a failed element not being consumed.
    struct Palette: Decodable, Equatable {
        enum Color: String, Decodable { case red, green }
        var known: [Color] = []
        var unknown: [String] = []
        init(from decoder: any Swift.Decoder) throws {
            var c = try decoder.unkeyedContainer()
            while !c.isAtEnd {
                if let x = try? c.decode(Color.self) { known.append(x) } else { unknown.append(try c.decode(String.self)) }
            }
        }
    }

    static var allASCII: String { String(String.UnicodeScalarView((0..<0x80).map { Unicode.Scalar(UInt8($0)) })) }

    // MARK: Encoding

    func expectSameBytes<T: Encodable>(_ value: T, lean expectLean: Bool, sourceLocation: SourceLocation = #_sourceLocation) throws {
        let foundation = try Self.foundationEncoder.encode(value)
        let converted = try DefaultPayloadConverter().toPayload(value).data
        #expect(
            String(decoding: converted, as: UTF8.self) == String(decoding: foundation, as: UTF8.self), sourceLocation: sourceLocation)
        let lean = try? LeanJSON.encode(value)
        #expect((lean != nil) == expectLean, "lean path taken: \(lean != nil)", sourceLocation: sourceLocation)
        if let lean { #expect(lean == foundation, sourceLocation: sourceLocation) }
    }

    @Test func plainValuesEncodeToFoundationsBytesOnTheLeanPath() throws {
        try expectSameBytes("member_1", lean: true)
        try expectSameBytes(Self.allASCII + "\u{7f}é😀\u{2028}\u{2029}\u{80}", lean: true)
        try expectSameBytes(42, lean: true)
        try expectSameBytes(Int.min, lean: true)
        try expectSameBytes(UInt64.max, lean: true)
        try expectSameBytes(true, lean: true)
        try expectSameBytes([Row(id: 0, employee_id: "a"), Row(id: 1, employee_id: "b\"\\/\n")], lean: true)
        try expectSameBytes(
            Scalars(
                s: "s", i: -1, i8: .min, i16: .max, i32: -32, i64: .max, u: 7, u8: 255, u16: 16, u32: 32, u64: .max, b: false,
                d: -12, optionalSet: "set", optionalNil: nil), lean: true)
        try expectSameBytes(
            Nested(
                rows: [Row(id: 1, employee_id: "x")], byName: ["b": [1, 2], "a": [], "A": [3]], byNumber: [10: "ten", 2: "two", -1: "m"],
                matrix: [[true, nil, false], []], empty: [],
                inner: .init(z: "z", a: ["k": Row(id: 2, employee_id: "y")])), lean: true)
        try expectSameBytes([Shape.circle(radius: 2), .rect(w: 1, h: 2), .none], lean: true)
        try expectSameBytes(Empty(), lean: true)
        try expectSameBytes(Unordered(), lean: true)
        try expectSameBytes([String: Int](), lean: true)
        try expectSameBytes([Int?.none, 1], lean: true)
        try expectSameBytes(DuplicateKey(), lean: true)
        for d in [0.0, -0.0, 1, -1, 123_456_789, 999_999_999_999_999, -999_999_999_999_999] {
            try expectSameBytes(d, lean: true)
            try expectSameBytes(["d": d], lean: true)
        }
    }

    @Test func everythingElseIsLeftToFoundation() throws {
        try expectSameBytes(Date(timeIntervalSince1970: 1_700_000_000.25), lean: false)
        try expectSameBytes(["when": Date(timeIntervalSince1970: 0)], lean: false)
        #expect((try? LeanJSON.encode(Data([1, 2, 3]))) == nil)  // the converter sends Data as binary/plain
        try expectSameBytes(URL(string: "https://example.com/a?b")!, lean: false)
        try expectSameBytes(Decimal(string: "1.25")!, lean: false)
        for d in [0.1, 1e15, 1e16, 1e21, 1e-7, 123_456_789.125, .pi, -2.5] {
            try expectSameBytes(d, lean: false)
            try expectSameBytes([d], lean: false)
        }
        try expectSameBytes(Float(0.1), lean: false)
        try expectSameBytes(Float(3), lean: false)
        try expectSameBytes(["f": Float(33_554_432)], lean: false)  // Foundation: 3.3554432e+07
        try expectSameBytes(TwoNestedContainers(), lean: true)
        try expectSameBytes(NestedAfterValue(), lean: true)
        #expect(throws: (any Error).self) { try Self.foundationEncoder.encode(EncodesNothing()) }
        #expect((try? LeanJSON.encode(EncodesNothing())) == nil)
        try expectSameBytes([EncodesNothing()], lean: true)  // "{}" below the top level
        try expectSameBytes(Deep(levels: 63), lean: true)
        try expectSameBytes(Deep(levels: 70), lean: false)  // deeper than the lean parser reads
        try expectSameBytes(["é": 1, "e": 2], lean: false)  // non-ASCII keys
        try expectSameBytes(SwallowsErrors(), lean: false)
        try expectSameBytes(Derived(), lean: false)
        #expect(throws: (any Error).self) { try Self.foundationEncoder.encode(Double.nan) }
        #expect(throws: (any Error).self) { try DefaultPayloadConverter().toPayload(Double.nan) }
    }

    /// Random nested values (objects, arrays, strings, integers, booleans, nulls): bytes equal.
    @Test func randomValuesEncodeAlike() throws {
        var rng = SplitMix(seed: 16)
        for _ in 0..<400 {
            let value = JSONish.random(&rng, depth: 0)
            let foundation = try Self.foundationEncoder.encode(value)
            let lean = try LeanJSON.encode(value)
            #expect(lean == foundation, "\(String(decoding: foundation, as: UTF8.self))")
        }
    }

    // MARK: Decoding

    /// Foundation's outcome and the converter's for `text` as `T`: equal values, or both fail.
    func expectSameValue<T: Decodable & Equatable>(
        _ text: String, as: T.Type, lean expectLean: Bool, sourceLocation: SourceLocation = #_sourceLocation
    ) {
        let data = Data(text.utf8)
        let foundation = Result { try Self.foundationDecoder.decode(T.self, from: data) }
        let converted = Result {
            try DefaultPayloadConverter().fromPayload(DefaultPayloadConverter.make(PayloadEncoding.json, data), as: T.self)
        }
        switch (foundation, converted) {
        case (.success(let a), .success(let b)): #expect(a == b, "\(text)", sourceLocation: sourceLocation)
        case (.failure, .failure): break
        default: Issue.record("\(text) as \(T.self): Foundation \(foundation), converter \(converted)", sourceLocation: sourceLocation)
        }
        let lean = try? LeanJSON.decode(T.self, from: data)
        #expect((lean != nil) == expectLean, "\(text) as \(T.self): lean path taken: \(lean != nil)", sourceLocation: sourceLocation)
        if let lean, case .success(let a) = foundation { #expect(lean == a, sourceLocation: sourceLocation) }
    }

    @Test func plainDocumentsDecodeToFoundationsValuesOnTheLeanPath() {
        expectSameValue(#""member_1""#, as: String.self, lean: true)
        expectSameValue(#" "a\"b\\c\/d\b\f\n\r\t\u0000\u00e9\ud83d\ude00é" "#, as: String.self, lean: true)
        expectSameValue("42", as: Int.self, lean: true)
        expectSameValue("-0", as: Int.self, lean: true)
        expectSameValue("9223372036854775807", as: Int64.self, lean: true)
        expectSameValue("true", as: Bool.self, lean: true)
        expectSameValue("null", as: Int?.self, lean: true)
        expectSameValue("[1, null, 3]", as: [Int?].self, lean: true)
        expectSameValue(#"[{"id":0,"employee_id":"a"},{"employee_id":"b","id":1,"extra":[1,{"x":null}]}]"#, as: [Row].self, lean: true)
        expectSameValue(
            #"{"s":"s","i":-1,"i8":-128,"i16":32767,"i32":-32,"i64":9223372036854775807,"u":7,"u8":255,"u16":16,"u32":32,"#
                + #""u64":18446744073709551615,"b":false,"d":-0.0015,"optionalSet":"set","optionalNil":null}"#,
            as: Scalars.self, lean: true)
        expectSameValue(
            #"{"d": 5, "s": "", "i": 0, "i8": 0, "i16": 0, "i32": 0, "i64": 0, "u": 0, "u8": 0, "u16": 0, "u32": 0, "u64": 0, "b": true}"#,
            as: Scalars.self, lean: true)
        expectSameValue(
            #"{"rows":[],"byName":{"b":[1,2],"a":[]},"byNumber":{"10":"ten","-1":"m"},"matrix":[[true,null],[]],"empty":[],"#
                + #""inner":{"z":"z","a":{"k":{"id":2,"employee_id":"y"}}}}"#, as: Nested.self, lean: true)
        expectSameValue(#"[{"circle":{"radius":2}},{"rect":{"w":1,"h":2}},{"none":{}}]"#, as: [Shape].self, lean: true)
        expectSameValue("{}", as: Empty.self, lean: true)
        expectSameValue("[0.1, -2.5, 0.0000001, 0, 3, -0.0, 123456789.125, 0.30000000000000004]", as: [Double].self, lean: true)
        let big = "{" + (0..<40).map { #""k\#($0)":\#($0)"# }.joined(separator: ",") + "}"
        expectSameValue(big, as: [String: Int].self, lean: true)
    }

    @Test func everythingElseIsDecidedByFoundation() {
        expectSameValue("1.0", as: Int.self, lean: false)
        expectSameValue("1e2", as: Int.self, lean: false)
        expectSameValue("9223372036854775808", as: Int.self, lean: false)
        expectSameValue("256", as: UInt8.self, lean: false)
        expectSameValue("-1", as: UInt.self, lean: false)
        expectSameValue("1e400", as: Double.self, lean: false)
        expectSameValue("0.1", as: Float.self, lean: false)
        expectSameValue(#"{"id":1,"id":2,"employee_id":"a"}"#, as: Row.self, lean: false)  // duplicate key
        expectSameValue(#"{"id":1}"#, as: Row.self, lean: false)  // missing key
        expectSameValue(#"{"id":"1","employee_id":"a"}"#, as: Row.self, lean: false)  // type mismatch
        expectSameValue(#""\ud83d""#, as: String.self, lean: false)  // lone surrogate
        expectSameValue(#""\x""#, as: String.self, lean: false)
        expectSameValue("[1,]", as: [Int].self, lean: false)
        expectSameValue("[01]", as: [Int].self, lean: false)
        expectSameValue("[1] x", as: [Int].self, lean: false)
        expectSameValue("", as: Int.self, lean: false)
        expectSameValue(#"{"a":1"#, as: [String: Int].self, lean: false)
        expectSameValue("\"\u{1}\"", as: String.self, lean: false)  // raw control character
        expectSameValue(String(repeating: "[", count: 100) + String(repeating: "]", count: 100), as: [[[[Int]]]].self, lean: false)
        expectSameValue(#""2023-11-14T22:13:20Z""#, as: Date.self, lean: false)
        expectSameValue("1700000000", as: Date.self, lean: false)
        #expect((try? LeanJSON.decode(Data.self, from: Data(#""AQID""#.utf8))) == nil)
        expectSameValue("1", as: Bool.self, lean: false)
        expectSameValue("1e-400", as: Double.self, lean: false)  // Foundation: not representable
        expectSameValue("0." + String(repeating: "0", count: 400) + "1", as: Double.self, lean: false)  // the same, without an exponent
        expectSameValue("-0.000", as: Double.self, lean: true)  // a true zero
        expectSameValue("[2e-324]", as: [Double].self, lean: false)
        expectSameValue("0e5", as: Double.self, lean: false)  // Foundation: not valid JSON (sic)
        expectSameValue("0e+1", as: Double.self, lean: false)
        expectSameValue("1e5", as: Double.self, lean: false)
        expectSameValue(#"["red","blue","green"]"#, as: Palette.self, lean: false)
        let invalidUTF8 = Data([0x22, 0xFF, 0x22])
        #expect((try? LeanJSON.decode(String.self, from: invalidUTF8)) == nil)
    }

    struct Measurement: Codable, Equatable {
        var value: Double
    }

    /// A type refused once goes straight to Foundation afterwards (its values are not encoded
    /// or parsed twice each time), still with Foundation's bytes and values.
    @Test func aTypeRefusedOnceGoesToFoundationAfterwards() throws {
        #expect(LeanJSON.encodeIfPlain(Measurement(value: 2)) != nil)
        #expect(LeanJSON.encodeIfPlain(Measurement(value: 0.5)) == nil)
        #expect(LeanJSON.encodeIfPlain(Measurement(value: 2)) == nil)
        try expectSameBytes(Measurement(value: 3), lean: true)  // the lean encoder itself still could
        #expect(LeanJSON.decodeIfPlain([Measurement].self, from: Data(#"[{"value":1}]"#.utf8)) == [Measurement(value: 1)])
        #expect(LeanJSON.decodeIfPlain([Measurement].self, from: Data(#"[{"value":1e3}]"#.utf8)) == nil)
        #expect(LeanJSON.decodeIfPlain([Measurement].self, from: Data(#"[{"value":1}]"#.utf8)) == nil)
        expectSameValue(#"[{"value":1e3}]"#, as: [Measurement].self, lean: false)
    }

    /// A large object: no quadratic duplicate-key check, same value.
    @Test func largeObjectsDecodeAlike() {
        let big = "{" + (0..<5000).map { #""key\#($0)":\#($0)"# }.joined(separator: ",") + "}"
        expectSameValue(big, as: [String: Int].self, lean: true)
        expectSameValue("{" + (0..<40).map { #""k\#($0 % 30)":\#($0)"# }.joined(separator: ",") + "}", as: [String: Int].self, lean: false)
    }

    /// A type whose `init(from:)` swallows a refused step (here a date) must still get
    /// Foundation's value, not a default.
    struct SwallowingDecoder: Decodable, Equatable {
        var when: Date?
        enum K: String, CodingKey { case when }
        init(from decoder: any Swift.Decoder) throws {
            when = try? decoder.container(keyedBy: K.self).decode(Date.self, forKey: .when)
        }
    }

    @Test func aSwallowedRefusalStillGetsFoundationsValue() throws {
        let data = Data(#"{"when":"2023-11-14T22:13:20Z"}"#.utf8)
        #expect((try? LeanJSON.decode(SwallowingDecoder.self, from: data)) == nil)
        let converted = try DefaultPayloadConverter().fromPayload(
            DefaultPayloadConverter.make(PayloadEncoding.json, data), as: SwallowingDecoder.self)
        #expect(converted.when == Date(timeIntervalSince1970: 1_700_000_000))
    }

    /// Random documents (Foundation's rendering of random values, with whitespace) decode alike,
    /// on the lean path.
    @Test func randomDocumentsDecodeAlike() throws {
        var rng = SplitMix(seed: 61)
        func check<T: Codable & Equatable>(_ value: T) throws {
            let text = String(decoding: try Self.foundationEncoder.encode(value), as: UTF8.self)
            let spaced = text.replacingOccurrences(of: ",", with: " ,\n ").replacingOccurrences(of: ":", with: "\t: ")
            for document in [text, spaced] {
                let foundation = try Self.foundationDecoder.decode(T.self, from: Data(document.utf8))
                let lean = try LeanJSON.decode(T.self, from: Data(document.utf8))
                #expect(lean == foundation, "\(document)")
                #expect(lean == value)
            }
        }
        func int() -> Int { Int(bitPattern: UInt(rng.next())) >> Int(rng.next() % 64) }
        func count() -> Int { Int(rng.next() % 5) }
        for _ in 0..<200 {
            var byKey: [String: [Int?]] = [:]
            for _ in 0..<count() { byKey[JSONish.randomKey(&rng)] = (0..<count()).map { _ in rng.next() % 3 == 0 ? nil : int() } }
            try check(byKey)
            try check((0..<count()).map { _ in (0..<count()).map { _ in JSONish.randomString(&rng) } })
            var rows: [String: Row] = [:]
            for _ in 0..<count() { rows[JSONish.randomString(&rng)] = Row(id: int(), employee_id: JSONish.randomString(&rng)) }
            try check(rows)
        }
    }

    /// A decoder that tries one type after another (swallowing the failures) gets Foundation's
    /// value too — by Foundation: the lean path gives way at the first failure.
    @Test func aDecoderThatTriesTypesGetsFoundationsValue() throws {
        var rng = SplitMix(seed: 7)
        for _ in 0..<100 {
            let value = JSONish.random(&rng, depth: 0)
            let data = try Self.foundationEncoder.encode(value)
            let converted = try DefaultPayloadConverter().fromPayload(
                DefaultPayloadConverter.make(PayloadEncoding.json, data), as: JSONish.self)
            #expect(converted == (try Self.foundationDecoder.decode(JSONish.self, from: data)))
        }
    }
}

/// A JSON-shaped value, Codable the plain way (what payloads look like).
indirect enum JSONish: Codable, Equatable {
    case string(String)
    case int(Int)
    case bool(Bool)
    case null
    case array([JSONish])
    case object([String: JSONish])

    init(from decoder: any Swift.Decoder) throws {
        let c = try decoder.singleValueContainer()
        if c.decodeNil() {
            self = .null
        } else if let b = try? c.decode(Bool.self) {
            self = .bool(b)
        } else if let i = try? c.decode(Int.self) {
            self = .int(i)
        } else if let s = try? c.decode(String.self) {
            self = .string(s)
        } else if let a = try? c.decode([JSONish].self) {
            self = .array(a)
        } else {
            self = .object(try c.decode([String: JSONish].self))
        }
    }

    func encode(to encoder: any Swift.Encoder) throws {
        var c = encoder.singleValueContainer()
        switch self {
        case .string(let s): try c.encode(s)
        case .int(let i): try c.encode(i)
        case .bool(let b): try c.encode(b)
        case .null: try c.encodeNil()
        case .array(let a): try c.encode(a)
        case .object(let o): try c.encode(o)
        }
    }

    static func random(_ rng: inout SplitMix, depth: Int) -> JSONish {
        let pick = rng.next() % (depth > 3 ? 4 : 6)
        switch pick {
        case 0: return .string(randomString(&rng))
        case 1: return .int(Int(bitPattern: UInt(rng.next())) >> Int(rng.next() % 64))
        case 2: return .bool(rng.next() % 2 == 0)
        case 3: return .null
        case 4: return .array((0..<Int(rng.next() % 5)).map { _ in random(&rng, depth: depth + 1) })
        default:
            var o: [String: JSONish] = [:]
            for _ in 0..<Int(rng.next() % 6) { o[randomKey(&rng)] = random(&rng, depth: depth + 1) }
            return .object(o)
        }
    }

    static func randomKey(_ rng: inout SplitMix) -> String {
        let alphabet = Array("aAbBzZ09_-$ ")
        return String((0..<Int(1 + rng.next() % 6)).map { _ in alphabet[Int(rng.next() % UInt64(alphabet.count))] })
    }

    static func randomString(_ rng: inout SplitMix) -> String {
        let pieces: [String] = ["a", "Z", " ", "\"", "\\", "/", "\n", "\t", "\u{1}", "\u{1f}", "\u{7f}", "é", "😀", "\u{2028}", "日本"]
        return (0..<Int(rng.next() % 8)).map { _ in pieces[Int(rng.next() % UInt64(pieces.count))] }.joined()
    }
}

/// A small deterministic generator (the tests must be reproducible).
struct SplitMix {
    var state: UInt64
    init(seed: UInt64) { state = seed }
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}
