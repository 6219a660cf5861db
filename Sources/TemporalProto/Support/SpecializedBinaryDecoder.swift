// Hand-written (not generated): compiled into TemporalProto beside Generated/, so that the
// generated `decodeMessage(decoder:)` of every message can be specialised to this decoder.

import SwiftProtobuf

#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// A protobuf binary decoder that lives in the same module as the generated messages.
///
/// SwiftProtobuf's own binary decoder is internal to SwiftProtobuf, so the generated
/// `decodeMessage<D: Decoder>` bodies run unspecialised against it: every field is a witness
/// call, every nested message looks up `Optional<M>` metadata at run time, every `M()` is a
/// dynamic call. This decoder is a concrete type in the generated code's own module: decoding
/// a root message through it (``SpecializedBinaryDecodable``) compiles into straight-line
/// code specialised to each message type.
///
/// Contract: the decoded value is equal (`==`, unknown fields included) to what
/// `M(serializedBytes:)` produces, and it throws where that throws. Fields a message does not
/// know are collected in order and handed to SwiftProtobuf at the end of that message (so they
/// land in `unknownFields` exactly as SwiftProtobuf would put them). Anything this decoder does
/// not handle — groups, extensions, closed enums with unknown values — is refused with
/// ``Refusal`` and the whole root message is decoded by SwiftProtobuf instead.
struct SpecializedBinaryDecoder: SwiftProtobuf.Decoder {
    /// Thrown for input this decoder leaves to SwiftProtobuf (never escapes `decodeRoot`).
    struct Refusal: Error {}

    /// SwiftProtobuf's default `BinaryDecodingOptions.messageDepthLimit`.
    static let depthLimit = 100

    private var p: UnsafeRawPointer
    private let end: UnsafeRawPointer
    /// First byte of the current field's tag (a field that is not consumed is re-read from here).
    private var fieldStart: UnsafeRawPointer
    private var wireType: UInt8 = 0
    private var consumed = true
    /// Nesting levels left (SwiftProtobuf's recursion budget).
    private let depthLeft: Int
    /// Inside a map entry SwiftProtobuf reads tags as plain varints (up to 10 bytes, value
    /// below 2^32 − 1), not with the 5-byte rule of message fields.
    private var varintTags = false
    /// The raw bytes (tag included) of the fields the message did not consume, in order.
    private var unknown: [UInt8] = []

    private init(_ body: UnsafeRawBufferPointer, depthLeft: Int) {
        // An empty buffer may have no base address: any non-null pointer with end == p works.
        let start = body.baseAddress ?? UnsafeRawPointer(bitPattern: 1)!
        p = start
        end = start + body.count
        fieldStart = start
        self.depthLeft = depthLeft
    }

    /// Decodes `bytes` as a root message: specialised when `M` is a concrete type at the call
    /// site, by SwiftProtobuf when this decoder refuses the input.
    @inline(__always)
    static func decodeRoot<M: Message>(_ type: M.Type, from bytes: Data) throws -> M {
        do {
            var message = M()
            try bytes.withUnsafeBytes { raw in
                try decode(&message, from: raw, depthLeft: depthLimit)
            }
            return message
        } catch is Refusal {
            return try M(serializedBytes: bytes)
        }
    }

    /// Merges one message's bytes into `message` (protobuf merge semantics).
    private static func decode<M: Message>(
        _ message: inout M, from body: UnsafeRawBufferPointer, depthLeft: Int
    ) throws {
        guard depthLeft > 0 else { throw BinaryDecodingError.messageDepthLimit }
        var decoder = SpecializedBinaryDecoder(body, depthLeft: depthLeft - 1)
        try message.decodeMessage(decoder: &decoder)
        if !decoder.unknown.isEmpty {
            // Only fields the message does not know (or knows with another wire type), so
            // SwiftProtobuf stores each in `unknownFields`, in order.
            try message.merge(serializedBytes: decoder.unknown)
        }
    }

    // MARK: - Wire primitives

    private mutating func varint() throws -> UInt64 {
        guard p < end else { throw BinaryDecodingError.truncated }
        var byte = p.load(as: UInt8.self)
        p += 1
        if byte < 0x80 { return UInt64(byte) }
        var value = UInt64(byte & 0x7f)
        var shift: UInt64 = 7
        while true {
            guard p < end, shift <= 63 else { throw BinaryDecodingError.malformedProtobuf }
            byte = p.load(as: UInt8.self)
            p += 1
            value |= UInt64(byte & 0x7f) &<< shift
            if byte < 0x80 { return value }
            shift &+= 7
        }
    }

    /// A field tag: at most 5 bytes, the fifth at most 15 (a 32-bit value), as SwiftProtobuf reads it.
    private mutating func tag() throws -> UInt32 {
        if varintTags {
            let value = try varint()
            guard value < UInt64(UInt32.max) else { throw BinaryDecodingError.malformedProtobuf }
            return UInt32(value)
        }
        var value: UInt32 = 0
        for index in 0..<5 {
            guard p < end else {
                throw index == 0 ? BinaryDecodingError.truncated : BinaryDecodingError.malformedProtobuf
            }
            let byte = p.load(as: UInt8.self)
            p += 1
            if index == 4 && byte > 15 { throw BinaryDecodingError.malformedProtobuf }
            value |= UInt32(byte & 0x7f) &<< UInt32(7 * index)
            if byte < 0x80 { return value }
        }
        throw BinaryDecodingError.malformedProtobuf
    }

    private mutating func fixed<T: FixedWidthInteger>(_: T.Type) throws -> T {
        let size = MemoryLayout<T>.size
        guard end - p >= size else { throw BinaryDecodingError.truncated }
        defer { p += size }
        return T(littleEndian: p.loadUnaligned(as: T.self))
    }

    /// The body of a length-delimited field (SwiftProtobuf's 2 GB limit).
    private mutating func body() throws -> UnsafeRawBufferPointer {
        let length = try varint()
        guard length < 0x7fff_ffff else { throw BinaryDecodingError.malformedProtobuf }
        guard Int(length) <= end - p else { throw BinaryDecodingError.truncated }
        let start = p
        p += Int(length)
        return UnsafeRawBufferPointer(start: start, count: Int(length))
    }

    private func string(_ bytes: UnsafeRawBufferPointer) throws -> String {
        let utf8 = bytes.assumingMemoryBound(to: UInt8.self)
        // ASCII (nearly every string here) is valid as it is; `String(validating:)` costs ~650
        // instructions a call in generic metadata lookups, so only other text goes through it.
        if utf8.allSatisfy({ $0 < 0x80 }) { return String(decoding: utf8, as: UTF8.self) }
        guard let s = String(validating: utf8, as: UTF8.self) else { throw BinaryDecodingError.invalidUTF8 }
        return s
    }

    private func data(_ bytes: UnsafeRawBufferPointer) -> Data {
        bytes.isEmpty ? Data() : Data(bytes: bytes.baseAddress!, count: bytes.count)
    }

    /// Skips the current field's body, re-reading it from its tag (a decode method may have read
    /// part of it before leaving it unconsumed).
    private mutating func skipField() throws {
        p = fieldStart
        _ = try tag()
        switch wireType {
        case 0: _ = try varint()
        case 1: _ = try fixed(UInt64.self)
        case 2: _ = try body()
        case 5: _ = try fixed(UInt32.self)
        default: throw Refusal()
        }
    }

    // MARK: - Decoder: fields

    mutating func nextFieldNumber() throws -> Int? {
        if !consumed {
            try skipField()
            unknown.append(contentsOf: UnsafeRawBufferPointer(start: fieldStart, count: p - fieldStart))
            consumed = true
        }
        guard p < end else { return nil }
        fieldStart = p
        let tag = try self.tag()
        guard tag >> 3 != 0 else { throw BinaryDecodingError.malformedProtobuf }
        switch UInt8(tag & 7) {
        case let w where w == 0 || w == 1 || w == 2 || w == 5: wireType = w
        case 3, 4: throw Refusal()  // groups: SwiftProtobuf's business
        default: throw BinaryDecodingError.malformedProtobuf
        }
        consumed = false
        return Int(tag >> 3)
    }

    mutating func handleConflictingOneOf() throws {}

    // Scalars: the value is taken only with the expected wire type (otherwise the field stays
    // unconsumed and becomes an unknown field, as in SwiftProtobuf).

    private mutating func singularVarint() throws -> UInt64? {
        guard wireType == 0 else { return nil }
        let v = try varint()
        consumed = true
        return v
    }

    private mutating func singularFixed<T: FixedWidthInteger>(_ type: T.Type, wire: UInt8) throws -> T? {
        guard wireType == wire else { return nil }
        let v = try fixed(type)
        consumed = true
        return v
    }

    /// A repeated number: one value with the element wire type, or a packed run.
    private mutating func repeated<T>(
        _ value: inout [T], wire: UInt8, _ read: (inout SpecializedBinaryDecoder) throws -> T
    ) throws {
        if wireType == wire {
            value.append(try read(&self))
        } else if wireType == 2 {
            let run = try body()
            var packed = SpecializedBinaryDecoder(run, depthLeft: depthLeft)
            while packed.p < packed.end { value.append(try read(&packed)) }
        } else {
            return
        }
        consumed = true
    }

    private static func zigZag32(_ v: UInt64) -> Int32 {
        let u = UInt32(truncatingIfNeeded: v)
        return Int32(bitPattern: (u >> 1) ^ (0 &- (u & 1)))
    }

    private static func zigZag64(_ v: UInt64) -> Int64 {
        Int64(bitPattern: (v >> 1) ^ (0 &- (v & 1)))
    }

    mutating func decodeSingularFloatField(value: inout Float) throws {
        if let v = try singularFixed(UInt32.self, wire: 5) { value = Float(bitPattern: v) }
    }
    mutating func decodeSingularFloatField(value: inout Float?) throws {
        if let v = try singularFixed(UInt32.self, wire: 5) { value = Float(bitPattern: v) }
    }
    mutating func decodeRepeatedFloatField(value: inout [Float]) throws {
        try repeated(&value, wire: 5) { Float(bitPattern: try $0.fixed(UInt32.self)) }
    }
    mutating func decodeSingularDoubleField(value: inout Double) throws {
        if let v = try singularFixed(UInt64.self, wire: 1) { value = Double(bitPattern: v) }
    }
    mutating func decodeSingularDoubleField(value: inout Double?) throws {
        if let v = try singularFixed(UInt64.self, wire: 1) { value = Double(bitPattern: v) }
    }
    mutating func decodeRepeatedDoubleField(value: inout [Double]) throws {
        try repeated(&value, wire: 1) { Double(bitPattern: try $0.fixed(UInt64.self)) }
    }
    mutating func decodeSingularInt32Field(value: inout Int32) throws {
        if let v = try singularVarint() { value = Int32(truncatingIfNeeded: v) }
    }
    mutating func decodeSingularInt32Field(value: inout Int32?) throws {
        if let v = try singularVarint() { value = Int32(truncatingIfNeeded: v) }
    }
    mutating func decodeRepeatedInt32Field(value: inout [Int32]) throws {
        try repeated(&value, wire: 0) { Int32(truncatingIfNeeded: try $0.varint()) }
    }
    mutating func decodeSingularInt64Field(value: inout Int64) throws {
        if let v = try singularVarint() { value = Int64(bitPattern: v) }
    }
    mutating func decodeSingularInt64Field(value: inout Int64?) throws {
        if let v = try singularVarint() { value = Int64(bitPattern: v) }
    }
    mutating func decodeRepeatedInt64Field(value: inout [Int64]) throws {
        try repeated(&value, wire: 0) { Int64(bitPattern: try $0.varint()) }
    }
    mutating func decodeSingularUInt32Field(value: inout UInt32) throws {
        if let v = try singularVarint() { value = UInt32(truncatingIfNeeded: v) }
    }
    mutating func decodeSingularUInt32Field(value: inout UInt32?) throws {
        if let v = try singularVarint() { value = UInt32(truncatingIfNeeded: v) }
    }
    mutating func decodeRepeatedUInt32Field(value: inout [UInt32]) throws {
        try repeated(&value, wire: 0) { UInt32(truncatingIfNeeded: try $0.varint()) }
    }
    mutating func decodeSingularUInt64Field(value: inout UInt64) throws {
        if let v = try singularVarint() { value = v }
    }
    mutating func decodeSingularUInt64Field(value: inout UInt64?) throws {
        if let v = try singularVarint() { value = v }
    }
    mutating func decodeRepeatedUInt64Field(value: inout [UInt64]) throws {
        try repeated(&value, wire: 0) { try $0.varint() }
    }
    mutating func decodeSingularSInt32Field(value: inout Int32) throws {
        if let v = try singularVarint() { value = Self.zigZag32(v) }
    }
    mutating func decodeSingularSInt32Field(value: inout Int32?) throws {
        if let v = try singularVarint() { value = Self.zigZag32(v) }
    }
    mutating func decodeRepeatedSInt32Field(value: inout [Int32]) throws {
        try repeated(&value, wire: 0) { Self.zigZag32(try $0.varint()) }
    }
    mutating func decodeSingularSInt64Field(value: inout Int64) throws {
        if let v = try singularVarint() { value = Self.zigZag64(v) }
    }
    mutating func decodeSingularSInt64Field(value: inout Int64?) throws {
        if let v = try singularVarint() { value = Self.zigZag64(v) }
    }
    mutating func decodeRepeatedSInt64Field(value: inout [Int64]) throws {
        try repeated(&value, wire: 0) { Self.zigZag64(try $0.varint()) }
    }
    mutating func decodeSingularFixed32Field(value: inout UInt32) throws {
        if let v = try singularFixed(UInt32.self, wire: 5) { value = v }
    }
    mutating func decodeSingularFixed32Field(value: inout UInt32?) throws {
        if let v = try singularFixed(UInt32.self, wire: 5) { value = v }
    }
    mutating func decodeRepeatedFixed32Field(value: inout [UInt32]) throws {
        try repeated(&value, wire: 5) { try $0.fixed(UInt32.self) }
    }
    mutating func decodeSingularFixed64Field(value: inout UInt64) throws {
        if let v = try singularFixed(UInt64.self, wire: 1) { value = v }
    }
    mutating func decodeSingularFixed64Field(value: inout UInt64?) throws {
        if let v = try singularFixed(UInt64.self, wire: 1) { value = v }
    }
    mutating func decodeRepeatedFixed64Field(value: inout [UInt64]) throws {
        try repeated(&value, wire: 1) { try $0.fixed(UInt64.self) }
    }
    mutating func decodeSingularSFixed32Field(value: inout Int32) throws {
        if let v = try singularFixed(Int32.self, wire: 5) { value = v }
    }
    mutating func decodeSingularSFixed32Field(value: inout Int32?) throws {
        if let v = try singularFixed(Int32.self, wire: 5) { value = v }
    }
    mutating func decodeRepeatedSFixed32Field(value: inout [Int32]) throws {
        try repeated(&value, wire: 5) { try $0.fixed(Int32.self) }
    }
    mutating func decodeSingularSFixed64Field(value: inout Int64) throws {
        if let v = try singularFixed(Int64.self, wire: 1) { value = v }
    }
    mutating func decodeSingularSFixed64Field(value: inout Int64?) throws {
        if let v = try singularFixed(Int64.self, wire: 1) { value = v }
    }
    mutating func decodeRepeatedSFixed64Field(value: inout [Int64]) throws {
        try repeated(&value, wire: 1) { try $0.fixed(Int64.self) }
    }
    mutating func decodeSingularBoolField(value: inout Bool) throws {
        if let v = try singularVarint() { value = v != 0 }
    }
    mutating func decodeSingularBoolField(value: inout Bool?) throws {
        if let v = try singularVarint() { value = v != 0 }
    }
    mutating func decodeRepeatedBoolField(value: inout [Bool]) throws {
        try repeated(&value, wire: 0) { try $0.varint() != 0 }
    }

    // Strings and bytes: length-delimited only, never packed.

    mutating func decodeSingularStringField(value: inout String) throws {
        guard wireType == 2 else { return }
        value = try string(try body())
        consumed = true
    }
    mutating func decodeSingularStringField(value: inout String?) throws {
        guard wireType == 2 else { return }
        value = try string(try body())
        consumed = true
    }
    mutating func decodeRepeatedStringField(value: inout [String]) throws {
        guard wireType == 2 else { return }
        value.append(try string(try body()))
        consumed = true
    }
    mutating func decodeSingularBytesField(value: inout Data) throws {
        guard wireType == 2 else { return }
        value = data(try body())
        consumed = true
    }
    mutating func decodeSingularBytesField(value: inout Data?) throws {
        guard wireType == 2 else { return }
        value = data(try body())
        consumed = true
    }
    mutating func decodeRepeatedBytesField(value: inout [Data]) throws {
        guard wireType == 2 else { return }
        value.append(data(try body()))
        consumed = true
    }

    // Enums: open (proto3) enums take every value; a closed enum's unknown value leaves the
    // field unconsumed (unknown) like SwiftProtobuf, or refuses inside a packed run.

    private static func enumValue<E: Enum>(_ v: UInt64) -> E? where E.RawValue == Int {
        E(rawValue: Int(Int32(truncatingIfNeeded: v)))
    }

    mutating func decodeSingularEnumField<E: Enum>(value: inout E) throws where E.RawValue == Int {
        guard wireType == 0 else { return }
        if let v: E = Self.enumValue(try varint()) {
            value = v
            consumed = true
        }
    }
    mutating func decodeSingularEnumField<E: Enum>(value: inout E?) throws where E.RawValue == Int {
        guard wireType == 0 else { return }
        if let v: E = Self.enumValue(try varint()) {
            value = v
            consumed = true
        }
    }
    mutating func decodeRepeatedEnumField<E: Enum>(value: inout [E]) throws where E.RawValue == Int {
        if wireType == 0 {
            if let v: E = Self.enumValue(try varint()) {
                value.append(v)
                consumed = true
            }
            return
        }
        try repeated(&value, wire: 0) { decoder in
            guard let v: E = Self.enumValue(try decoder.varint()) else { throw Refusal() }
            return v
        }
    }

    // Messages: decoded by a nested decoder over the field's body, specialised to `M`.

    mutating func decodeSingularMessageField<M: Message>(value: inout M?) throws {
        guard wireType == 2 else { return }
        let bytes = try body()
        if value == nil { value = M() }
        try Self.decode(&value!, from: bytes, depthLeft: depthLeft)
        consumed = true
    }

    mutating func decodeRepeatedMessageField<M: Message>(value: inout [M]) throws {
        guard wireType == 2 else { return }
        let bytes = try body()
        var element = M()
        try Self.decode(&element, from: bytes, depthLeft: depthLeft)
        value.append(element)
        consumed = true
    }

    mutating func decodeSingularGroupField<G: Message>(value: inout G?) throws { throw Refusal() }
    mutating func decodeRepeatedGroupField<G: Message>(value: inout [G]) throws { throw Refusal() }

    // Maps: each entry is a small message of key (1) and value (2); later entries win.

    /// Reads one map entry's key (1) and value (2) with `read`; other fields are dropped.
    private mutating func mapEntry(_ read: (Int, inout SpecializedBinaryDecoder) throws -> Void) throws -> Bool {
        guard wireType == 2 else { return false }
        var entry = SpecializedBinaryDecoder(try body(), depthLeft: depthLeft)
        entry.varintTags = true
        while let number = try entry.nextFieldNumber() {
            guard number == 1 || number == 2 else { continue }  // skipped by the next call
            try read(number, &entry)
            // SwiftProtobuf reads on after a key or value of another wire type as if its body
            // were the next tag: leave that input to it.
            guard entry.consumed else { throw Refusal() }
        }
        consumed = true
        return true
    }

    mutating func decodeMapField<KeyType, ValueType: MapValueType>(
        fieldType: _ProtobufMap<KeyType, ValueType>.Type,
        value: inout _ProtobufMap<KeyType, ValueType>.BaseType
    ) throws {
        var k: KeyType.BaseType?
        var v: ValueType.BaseType?
        guard
            try mapEntry({ number, entry in
                if number == 1 {
                    try KeyType.decodeSingular(value: &k, from: &entry)
                } else {
                    try ValueType.decodeSingular(value: &v, from: &entry)
                }
            })
        else { return }
        value[k ?? KeyType.proto3DefaultValue] = v ?? ValueType.proto3DefaultValue
    }

    mutating func decodeMapField<KeyType, ValueType>(
        fieldType: _ProtobufEnumMap<KeyType, ValueType>.Type,
        value: inout _ProtobufEnumMap<KeyType, ValueType>.BaseType
    ) throws where ValueType.RawValue == Int {
        var k: KeyType.BaseType?
        var v: ValueType?
        guard
            try mapEntry({ number, entry in
                if number == 1 {
                    try KeyType.decodeSingular(value: &k, from: &entry)
                } else {
                    try entry.decodeSingularEnumField(value: &v)
                    // A closed enum's unknown value: SwiftProtobuf keeps the entry as unknown.
                    if v == nil && entry.wireType == 0 { throw Refusal() }
                }
            })
        else { return }
        value[k ?? KeyType.proto3DefaultValue] = v ?? ValueType()
    }

    mutating func decodeMapField<KeyType, ValueType>(
        fieldType: _ProtobufMessageMap<KeyType, ValueType>.Type,
        value: inout _ProtobufMessageMap<KeyType, ValueType>.BaseType
    ) throws {
        var k: KeyType.BaseType?
        var v: ValueType?
        guard
            try mapEntry({ number, entry in
                if number == 1 {
                    try KeyType.decodeSingular(value: &k, from: &entry)
                } else {
                    try entry.decodeSingularMessageField(value: &v)
                }
            })
        else { return }
        value[k ?? KeyType.proto3DefaultValue] = v ?? ValueType()
    }

    mutating func decodeExtensionField(
        values: inout ExtensionFieldValueSet, messageType: any Message.Type, fieldNumber: Int
    ) throws {
        throw Refusal()
    }
}
