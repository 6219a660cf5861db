// Hand-written (not generated): compiled into TemporalProto beside Generated/, so that the
// generated `traverse(visitor:)` of every message can be specialised to these visitors.

import SwiftProtobuf

#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// Protobuf binary encoding with visitors that live in the generated code's module (see
/// `SpecializedBinaryDecoder` for why that matters).
///
/// Two passes, like SwiftProtobuf's: `Sizer` computes the body size of every nested message,
/// map entry and packed run once, in the order `traverse` visits them (SwiftProtobuf's encoder
/// computes a nested message's size again at each level above it), then `Writer` writes into a
/// buffer of exactly that size, taking the body sizes in the same order. The bytes are the ones `serializedData()` produces
/// (same field order, same map iteration order, unknown fields copied as they are); extension
/// fields and groups are refused and left to SwiftProtobuf.
enum SpecializedBinaryEncoder {
    struct Refusal: Error {}

    /// Encodes `message`: specialised when `M` is a concrete type at the call site.
    @inline(__always)
    static func encode<M: Message>(_ message: M) throws -> Data {
        guard message.isInitialized else { throw BinaryEncodingError.missingRequiredFields }
        do {
            var sizer = Sizer()
            try message.traverse(visitor: &sizer)
            // SwiftProtobuf's 2 GB limit, with its error.
            guard sizer.size < 0x7fff_ffff else { throw BinaryEncodingError.missingRequiredFields }
            var data = Data(count: sizer.size)
            try data.withUnsafeMutableBytes { buffer in
                var writer = Writer(into: buffer, sizes: sizer.sizes)
                try message.traverse(visitor: &writer)
                precondition(writer.end == writer.p, "SpecializedBinaryEncoder: size and bytes disagree")
            }
            return data
        } catch is Refusal {
            return try message.serializedData()
        }
    }

    // MARK: - Sizes of the wire primitives

    @inline(__always)
    static func varintSize(_ v: UInt64) -> Int {
        // 1 byte per started group of 7 bits; 0 takes one byte.
        (63 &- (v | 1).leadingZeroBitCount) / 7 &+ 1
    }

    @inline(__always)
    static func tagSize(_ fieldNumber: Int) -> Int {
        varintSize(UInt64(fieldNumber) << 3)
    }

    @inline(__always)
    static func zigZag(_ v: Int32) -> UInt64 { UInt64(UInt32(bitPattern: (v &<< 1) ^ (v >> 31))) }

    @inline(__always)
    static func zigZag(_ v: Int64) -> UInt64 { UInt64(bitPattern: (v &<< 1) ^ (v >> 63)) }

    @inline(__always)
    static func signExtended(_ v: Int32) -> UInt64 { UInt64(bitPattern: Int64(v)) }

    @inline(__always)
    static func signExtended(_ v: Int) -> UInt64 { UInt64(bitPattern: Int64(v)) }
}

// MARK: - Pass 1: sizes

extension SpecializedBinaryEncoder {
    /// Adds up the encoded size; records each nested message's (and map entry's) body size in
    /// `sizes`, in visiting order.
    struct Sizer: SwiftProtobuf.Visitor {
        var size = 0
        var sizes: [Int] = []

        private mutating func varintField(_ v: UInt64, _ fieldNumber: Int) {
            size &+= tagSize(fieldNumber) &+ varintSize(v)
        }
        private mutating func fixedField(_ width: Int, _ fieldNumber: Int) {
            size &+= tagSize(fieldNumber) &+ width
        }
        private mutating func delimitedField(_ length: Int, _ fieldNumber: Int) {
            size &+= tagSize(fieldNumber) &+ varintSize(UInt64(length)) &+ length
        }
        /// A packed run: a length-delimited body, sized once here like a nested message.
        private mutating func packed<T>(_ values: [T], _ fieldNumber: Int, _ elementSize: (T) -> Int) {
            nested(fieldNumber) { sizer in
                for v in values { sizer.size &+= elementSize(v) }
            }
        }
        /// A length-delimited body whose size is the change in `size` made by `visit`.
        private mutating func nested(_ fieldNumber: Int, _ visit: (inout Sizer) throws -> Void) rethrows {
            let slot = sizes.count
            sizes.append(0)
            let outer = size
            size = 0
            try visit(&self)
            let body = size
            sizes[slot] = body
            size = outer
            delimitedField(body, fieldNumber)
        }

        mutating func visitUnknown(bytes: Data) throws { size &+= bytes.count }

        mutating func visitSingularFloatField(value: Float, fieldNumber: Int) throws { fixedField(4, fieldNumber) }
        mutating func visitSingularDoubleField(value: Double, fieldNumber: Int) throws { fixedField(8, fieldNumber) }
        mutating func visitSingularInt32Field(value: Int32, fieldNumber: Int) throws {
            varintField(signExtended(value), fieldNumber)
        }
        mutating func visitSingularInt64Field(value: Int64, fieldNumber: Int) throws {
            varintField(UInt64(bitPattern: value), fieldNumber)
        }
        mutating func visitSingularUInt32Field(value: UInt32, fieldNumber: Int) throws {
            varintField(UInt64(value), fieldNumber)
        }
        mutating func visitSingularUInt64Field(value: UInt64, fieldNumber: Int) throws { varintField(value, fieldNumber) }
        mutating func visitSingularSInt32Field(value: Int32, fieldNumber: Int) throws {
            varintField(zigZag(value), fieldNumber)
        }
        mutating func visitSingularSInt64Field(value: Int64, fieldNumber: Int) throws {
            varintField(zigZag(value), fieldNumber)
        }
        mutating func visitSingularFixed32Field(value: UInt32, fieldNumber: Int) throws { fixedField(4, fieldNumber) }
        mutating func visitSingularFixed64Field(value: UInt64, fieldNumber: Int) throws { fixedField(8, fieldNumber) }
        mutating func visitSingularSFixed32Field(value: Int32, fieldNumber: Int) throws { fixedField(4, fieldNumber) }
        mutating func visitSingularSFixed64Field(value: Int64, fieldNumber: Int) throws { fixedField(8, fieldNumber) }
        mutating func visitSingularBoolField(value: Bool, fieldNumber: Int) throws { fixedField(1, fieldNumber) }
        mutating func visitSingularStringField(value: String, fieldNumber: Int) throws {
            delimitedField(value.utf8.count, fieldNumber)
        }
        mutating func visitSingularBytesField(value: Data, fieldNumber: Int) throws {
            delimitedField(value.count, fieldNumber)
        }
        mutating func visitSingularEnumField<E: Enum>(value: E, fieldNumber: Int) throws {
            varintField(signExtended(value.rawValue), fieldNumber)
        }
        mutating func visitSingularMessageField<M: Message>(value: M, fieldNumber: Int) throws {
            try nested(fieldNumber) { try value.traverse(visitor: &$0) }
        }
        mutating func visitSingularGroupField<G: Message>(value: G, fieldNumber: Int) throws { throw Refusal() }

        mutating func visitRepeatedFloatField(value: [Float], fieldNumber: Int) throws {
            size &+= value.count &* (tagSize(fieldNumber) &+ 4)
        }
        mutating func visitRepeatedDoubleField(value: [Double], fieldNumber: Int) throws {
            size &+= value.count &* (tagSize(fieldNumber) &+ 8)
        }
        mutating func visitRepeatedInt32Field(value: [Int32], fieldNumber: Int) throws {
            for v in value { varintField(signExtended(v), fieldNumber) }
        }
        mutating func visitRepeatedInt64Field(value: [Int64], fieldNumber: Int) throws {
            for v in value { varintField(UInt64(bitPattern: v), fieldNumber) }
        }
        mutating func visitRepeatedUInt32Field(value: [UInt32], fieldNumber: Int) throws {
            for v in value { varintField(UInt64(v), fieldNumber) }
        }
        mutating func visitRepeatedUInt64Field(value: [UInt64], fieldNumber: Int) throws {
            for v in value { varintField(v, fieldNumber) }
        }
        mutating func visitRepeatedSInt32Field(value: [Int32], fieldNumber: Int) throws {
            for v in value { varintField(zigZag(v), fieldNumber) }
        }
        mutating func visitRepeatedSInt64Field(value: [Int64], fieldNumber: Int) throws {
            for v in value { varintField(zigZag(v), fieldNumber) }
        }
        mutating func visitRepeatedFixed32Field(value: [UInt32], fieldNumber: Int) throws {
            size &+= value.count &* (tagSize(fieldNumber) &+ 4)
        }
        mutating func visitRepeatedFixed64Field(value: [UInt64], fieldNumber: Int) throws {
            size &+= value.count &* (tagSize(fieldNumber) &+ 8)
        }
        mutating func visitRepeatedSFixed32Field(value: [Int32], fieldNumber: Int) throws {
            size &+= value.count &* (tagSize(fieldNumber) &+ 4)
        }
        mutating func visitRepeatedSFixed64Field(value: [Int64], fieldNumber: Int) throws {
            size &+= value.count &* (tagSize(fieldNumber) &+ 8)
        }
        mutating func visitRepeatedBoolField(value: [Bool], fieldNumber: Int) throws {
            size &+= value.count &* (tagSize(fieldNumber) &+ 1)
        }
        mutating func visitRepeatedStringField(value: [String], fieldNumber: Int) throws {
            for v in value { delimitedField(v.utf8.count, fieldNumber) }
        }
        mutating func visitRepeatedBytesField(value: [Data], fieldNumber: Int) throws {
            for v in value { delimitedField(v.count, fieldNumber) }
        }
        mutating func visitRepeatedEnumField<E: Enum>(value: [E], fieldNumber: Int) throws {
            for v in value { varintField(signExtended(v.rawValue), fieldNumber) }
        }
        mutating func visitRepeatedMessageField<M: Message>(value: [M], fieldNumber: Int) throws {
            for v in value { try nested(fieldNumber) { try v.traverse(visitor: &$0) } }
        }
        mutating func visitRepeatedGroupField<G: Message>(value: [G], fieldNumber: Int) throws { throw Refusal() }

        mutating func visitPackedFloatField(value: [Float], fieldNumber: Int) throws {
            packed(value, fieldNumber) { _ in 4 }
        }
        mutating func visitPackedDoubleField(value: [Double], fieldNumber: Int) throws {
            packed(value, fieldNumber) { _ in 8 }
        }
        mutating func visitPackedInt32Field(value: [Int32], fieldNumber: Int) throws {
            packed(value, fieldNumber) { varintSize(signExtended($0)) }
        }
        mutating func visitPackedInt64Field(value: [Int64], fieldNumber: Int) throws {
            packed(value, fieldNumber) { varintSize(UInt64(bitPattern: $0)) }
        }
        mutating func visitPackedUInt32Field(value: [UInt32], fieldNumber: Int) throws {
            packed(value, fieldNumber) { varintSize(UInt64($0)) }
        }
        mutating func visitPackedUInt64Field(value: [UInt64], fieldNumber: Int) throws {
            packed(value, fieldNumber) { varintSize($0) }
        }
        mutating func visitPackedSInt32Field(value: [Int32], fieldNumber: Int) throws {
            packed(value, fieldNumber) { varintSize(zigZag($0)) }
        }
        mutating func visitPackedSInt64Field(value: [Int64], fieldNumber: Int) throws {
            packed(value, fieldNumber) { varintSize(zigZag($0)) }
        }
        mutating func visitPackedFixed32Field(value: [UInt32], fieldNumber: Int) throws {
            packed(value, fieldNumber) { _ in 4 }
        }
        mutating func visitPackedFixed64Field(value: [UInt64], fieldNumber: Int) throws {
            packed(value, fieldNumber) { _ in 8 }
        }
        mutating func visitPackedSFixed32Field(value: [Int32], fieldNumber: Int) throws {
            packed(value, fieldNumber) { _ in 4 }
        }
        mutating func visitPackedSFixed64Field(value: [Int64], fieldNumber: Int) throws {
            packed(value, fieldNumber) { _ in 8 }
        }
        mutating func visitPackedBoolField(value: [Bool], fieldNumber: Int) throws {
            packed(value, fieldNumber) { _ in 1 }
        }
        mutating func visitPackedEnumField<E: Enum>(value: [E], fieldNumber: Int) throws {
            packed(value, fieldNumber) { varintSize(signExtended($0.rawValue)) }
        }

        // Maps: each entry is a nested message of key (field 1) and value (field 2).
        mutating func visitMapField<KeyType, ValueType: MapValueType>(
            fieldType: _ProtobufMap<KeyType, ValueType>.Type,
            value: _ProtobufMap<KeyType, ValueType>.BaseType, fieldNumber: Int
        ) throws {
            for (k, v) in value {
                try nested(fieldNumber) {
                    try KeyType.visitSingular(value: k, fieldNumber: 1, with: &$0)
                    try ValueType.visitSingular(value: v, fieldNumber: 2, with: &$0)
                }
            }
        }
        mutating func visitMapField<KeyType, ValueType>(
            fieldType: _ProtobufEnumMap<KeyType, ValueType>.Type,
            value: _ProtobufEnumMap<KeyType, ValueType>.BaseType, fieldNumber: Int
        ) throws where ValueType.RawValue == Int {
            for (k, v) in value {
                try nested(fieldNumber) {
                    try KeyType.visitSingular(value: k, fieldNumber: 1, with: &$0)
                    try $0.visitSingularEnumField(value: v, fieldNumber: 2)
                }
            }
        }
        mutating func visitMapField<KeyType, ValueType>(
            fieldType: _ProtobufMessageMap<KeyType, ValueType>.Type,
            value: _ProtobufMessageMap<KeyType, ValueType>.BaseType, fieldNumber: Int
        ) throws {
            for (k, v) in value {
                try nested(fieldNumber) {
                    try KeyType.visitSingular(value: k, fieldNumber: 1, with: &$0)
                    try $0.visitSingularMessageField(value: v, fieldNumber: 2)
                }
            }
        }

        mutating func visitExtensionFields(fields: ExtensionFieldValueSet, start: Int, end: Int) throws {
            throw Refusal()
        }
    }
}

// MARK: - Pass 2: bytes

extension SpecializedBinaryEncoder {
    /// Writes the fields into a buffer of the size `Sizer` computed, taking nested sizes from
    /// its list in the same order.
    struct Writer: SwiftProtobuf.Visitor {
        private(set) var p: UnsafeMutableRawPointer
        let end: UnsafeMutableRawPointer
        private let sizes: [Int]
        private var next = 0

        init(into buffer: UnsafeMutableRawBufferPointer, sizes: [Int]) {
            // An empty message has an empty buffer, perhaps without an address: nothing is written.
            let start = buffer.baseAddress ?? UnsafeMutableRawPointer(bitPattern: 1)!
            p = start
            end = start + buffer.count
            self.sizes = sizes
        }

        @inline(__always)
        private mutating func byte(_ b: UInt8) {
            // Sizer and Writer must agree; if they ever did not, trap before writing past the end.
            precondition(p < end, "SpecializedBinaryEncoder: more bytes than sized")
            p.storeBytes(of: b, as: UInt8.self)
            p += 1
        }
        @inline(__always)
        private mutating func varint(_ value: UInt64) {
            var v = value
            while v >= 0x80 {
                byte(UInt8(truncatingIfNeeded: v) | 0x80)
                v >>= 7
            }
            byte(UInt8(v))
        }
        @inline(__always)
        private mutating func tag(_ fieldNumber: Int, _ wire: UInt64) { varint(UInt64(fieldNumber) << 3 | wire) }
        @inline(__always)
        private mutating func fixed<T: FixedWidthInteger>(_ v: T) {
            precondition(end - p >= MemoryLayout<T>.size, "SpecializedBinaryEncoder: more bytes than sized")
            p.storeBytes(of: v.littleEndian, as: T.self)
            p += MemoryLayout<T>.size
        }
        private mutating func bytes(_ raw: UnsafeRawBufferPointer) {
            precondition(end - p >= raw.count, "SpecializedBinaryEncoder: more bytes than sized")
            if let base = raw.baseAddress, raw.count > 0 { p.copyMemory(from: base, byteCount: raw.count) }
            p += raw.count
        }
        private mutating func string(_ value: String) {
            var s = value
            s.withUTF8 { utf8 in
                varint(UInt64(utf8.count))
                bytes(UnsafeRawBufferPointer(utf8))
            }
        }
        private mutating func data(_ value: Data) {
            varint(UInt64(value.count))
            value.withUnsafeBytes { bytes($0) }
        }
        /// A packed run, its body size taken from the sizer's list like a nested message's.
        private mutating func packed<T>(_ values: [T], _ fieldNumber: Int, _ write: (inout Writer, T) -> Void) {
            nested(fieldNumber) { writer in
                for v in values { write(&writer, v) }
            }
        }
        private mutating func nested(_ fieldNumber: Int, _ visit: (inout Writer) throws -> Void) rethrows {
            tag(fieldNumber, 2)
            varint(UInt64(sizes[next]))
            next &+= 1
            try visit(&self)
        }

        mutating func visitUnknown(bytes unknown: Data) throws { unknown.withUnsafeBytes { bytes($0) } }

        mutating func visitSingularFloatField(value: Float, fieldNumber: Int) throws {
            tag(fieldNumber, 5)
            fixed(value.bitPattern)
        }
        mutating func visitSingularDoubleField(value: Double, fieldNumber: Int) throws {
            tag(fieldNumber, 1)
            fixed(value.bitPattern)
        }
        mutating func visitSingularInt32Field(value: Int32, fieldNumber: Int) throws {
            tag(fieldNumber, 0)
            varint(signExtended(value))
        }
        mutating func visitSingularInt64Field(value: Int64, fieldNumber: Int) throws {
            tag(fieldNumber, 0)
            varint(UInt64(bitPattern: value))
        }
        mutating func visitSingularUInt32Field(value: UInt32, fieldNumber: Int) throws {
            tag(fieldNumber, 0)
            varint(UInt64(value))
        }
        mutating func visitSingularUInt64Field(value: UInt64, fieldNumber: Int) throws {
            tag(fieldNumber, 0)
            varint(value)
        }
        mutating func visitSingularSInt32Field(value: Int32, fieldNumber: Int) throws {
            tag(fieldNumber, 0)
            varint(zigZag(value))
        }
        mutating func visitSingularSInt64Field(value: Int64, fieldNumber: Int) throws {
            tag(fieldNumber, 0)
            varint(zigZag(value))
        }
        mutating func visitSingularFixed32Field(value: UInt32, fieldNumber: Int) throws {
            tag(fieldNumber, 5)
            fixed(value)
        }
        mutating func visitSingularFixed64Field(value: UInt64, fieldNumber: Int) throws {
            tag(fieldNumber, 1)
            fixed(value)
        }
        mutating func visitSingularSFixed32Field(value: Int32, fieldNumber: Int) throws {
            tag(fieldNumber, 5)
            fixed(value)
        }
        mutating func visitSingularSFixed64Field(value: Int64, fieldNumber: Int) throws {
            tag(fieldNumber, 1)
            fixed(value)
        }
        mutating func visitSingularBoolField(value: Bool, fieldNumber: Int) throws {
            tag(fieldNumber, 0)
            byte(value ? 1 : 0)
        }
        mutating func visitSingularStringField(value: String, fieldNumber: Int) throws {
            tag(fieldNumber, 2)
            string(value)
        }
        mutating func visitSingularBytesField(value: Data, fieldNumber: Int) throws {
            tag(fieldNumber, 2)
            data(value)
        }
        mutating func visitSingularEnumField<E: Enum>(value: E, fieldNumber: Int) throws {
            tag(fieldNumber, 0)
            varint(signExtended(value.rawValue))
        }
        mutating func visitSingularMessageField<M: Message>(value: M, fieldNumber: Int) throws {
            try nested(fieldNumber) { try value.traverse(visitor: &$0) }
        }
        mutating func visitSingularGroupField<G: Message>(value: G, fieldNumber: Int) throws { throw Refusal() }

        mutating func visitRepeatedFloatField(value: [Float], fieldNumber: Int) throws {
            for v in value { try visitSingularFloatField(value: v, fieldNumber: fieldNumber) }
        }
        mutating func visitRepeatedDoubleField(value: [Double], fieldNumber: Int) throws {
            for v in value { try visitSingularDoubleField(value: v, fieldNumber: fieldNumber) }
        }
        mutating func visitRepeatedInt32Field(value: [Int32], fieldNumber: Int) throws {
            for v in value { try visitSingularInt32Field(value: v, fieldNumber: fieldNumber) }
        }
        mutating func visitRepeatedInt64Field(value: [Int64], fieldNumber: Int) throws {
            for v in value { try visitSingularInt64Field(value: v, fieldNumber: fieldNumber) }
        }
        mutating func visitRepeatedUInt32Field(value: [UInt32], fieldNumber: Int) throws {
            for v in value { try visitSingularUInt32Field(value: v, fieldNumber: fieldNumber) }
        }
        mutating func visitRepeatedUInt64Field(value: [UInt64], fieldNumber: Int) throws {
            for v in value { try visitSingularUInt64Field(value: v, fieldNumber: fieldNumber) }
        }
        mutating func visitRepeatedSInt32Field(value: [Int32], fieldNumber: Int) throws {
            for v in value { try visitSingularSInt32Field(value: v, fieldNumber: fieldNumber) }
        }
        mutating func visitRepeatedSInt64Field(value: [Int64], fieldNumber: Int) throws {
            for v in value { try visitSingularSInt64Field(value: v, fieldNumber: fieldNumber) }
        }
        mutating func visitRepeatedFixed32Field(value: [UInt32], fieldNumber: Int) throws {
            for v in value { try visitSingularFixed32Field(value: v, fieldNumber: fieldNumber) }
        }
        mutating func visitRepeatedFixed64Field(value: [UInt64], fieldNumber: Int) throws {
            for v in value { try visitSingularFixed64Field(value: v, fieldNumber: fieldNumber) }
        }
        mutating func visitRepeatedSFixed32Field(value: [Int32], fieldNumber: Int) throws {
            for v in value { try visitSingularSFixed32Field(value: v, fieldNumber: fieldNumber) }
        }
        mutating func visitRepeatedSFixed64Field(value: [Int64], fieldNumber: Int) throws {
            for v in value { try visitSingularSFixed64Field(value: v, fieldNumber: fieldNumber) }
        }
        mutating func visitRepeatedBoolField(value: [Bool], fieldNumber: Int) throws {
            for v in value { try visitSingularBoolField(value: v, fieldNumber: fieldNumber) }
        }
        mutating func visitRepeatedStringField(value: [String], fieldNumber: Int) throws {
            for v in value { try visitSingularStringField(value: v, fieldNumber: fieldNumber) }
        }
        mutating func visitRepeatedBytesField(value: [Data], fieldNumber: Int) throws {
            for v in value { try visitSingularBytesField(value: v, fieldNumber: fieldNumber) }
        }
        mutating func visitRepeatedEnumField<E: Enum>(value: [E], fieldNumber: Int) throws {
            for v in value { try visitSingularEnumField(value: v, fieldNumber: fieldNumber) }
        }
        mutating func visitRepeatedMessageField<M: Message>(value: [M], fieldNumber: Int) throws {
            for v in value { try nested(fieldNumber) { try v.traverse(visitor: &$0) } }
        }
        mutating func visitRepeatedGroupField<G: Message>(value: [G], fieldNumber: Int) throws { throw Refusal() }

        mutating func visitPackedFloatField(value: [Float], fieldNumber: Int) throws {
            packed(value, fieldNumber, { $0.fixed($1.bitPattern) })
        }
        mutating func visitPackedDoubleField(value: [Double], fieldNumber: Int) throws {
            packed(value, fieldNumber, { $0.fixed($1.bitPattern) })
        }
        mutating func visitPackedInt32Field(value: [Int32], fieldNumber: Int) throws {
            packed(value, fieldNumber, { $0.varint(signExtended($1)) })
        }
        mutating func visitPackedInt64Field(value: [Int64], fieldNumber: Int) throws {
            packed(value, fieldNumber, { $0.varint(UInt64(bitPattern: $1)) })
        }
        mutating func visitPackedUInt32Field(value: [UInt32], fieldNumber: Int) throws {
            packed(value, fieldNumber, { $0.varint(UInt64($1)) })
        }
        mutating func visitPackedUInt64Field(value: [UInt64], fieldNumber: Int) throws {
            packed(value, fieldNumber, { $0.varint($1) })
        }
        mutating func visitPackedSInt32Field(value: [Int32], fieldNumber: Int) throws {
            packed(value, fieldNumber, { $0.varint(zigZag($1)) })
        }
        mutating func visitPackedSInt64Field(value: [Int64], fieldNumber: Int) throws {
            packed(value, fieldNumber, { $0.varint(zigZag($1)) })
        }
        mutating func visitPackedFixed32Field(value: [UInt32], fieldNumber: Int) throws {
            packed(value, fieldNumber, { $0.fixed($1) })
        }
        mutating func visitPackedFixed64Field(value: [UInt64], fieldNumber: Int) throws {
            packed(value, fieldNumber, { $0.fixed($1) })
        }
        mutating func visitPackedSFixed32Field(value: [Int32], fieldNumber: Int) throws {
            packed(value, fieldNumber, { $0.fixed($1) })
        }
        mutating func visitPackedSFixed64Field(value: [Int64], fieldNumber: Int) throws {
            packed(value, fieldNumber, { $0.fixed($1) })
        }
        mutating func visitPackedBoolField(value: [Bool], fieldNumber: Int) throws {
            packed(value, fieldNumber, { $0.byte($1 ? 1 : 0) })
        }
        mutating func visitPackedEnumField<E: Enum>(value: [E], fieldNumber: Int) throws {
            packed(value, fieldNumber, { $0.varint(signExtended($1.rawValue)) })
        }

        mutating func visitMapField<KeyType, ValueType: MapValueType>(
            fieldType: _ProtobufMap<KeyType, ValueType>.Type,
            value: _ProtobufMap<KeyType, ValueType>.BaseType, fieldNumber: Int
        ) throws {
            for (k, v) in value {
                try nested(fieldNumber) {
                    try KeyType.visitSingular(value: k, fieldNumber: 1, with: &$0)
                    try ValueType.visitSingular(value: v, fieldNumber: 2, with: &$0)
                }
            }
        }
        mutating func visitMapField<KeyType, ValueType>(
            fieldType: _ProtobufEnumMap<KeyType, ValueType>.Type,
            value: _ProtobufEnumMap<KeyType, ValueType>.BaseType, fieldNumber: Int
        ) throws where ValueType.RawValue == Int {
            for (k, v) in value {
                try nested(fieldNumber) {
                    try KeyType.visitSingular(value: k, fieldNumber: 1, with: &$0)
                    try $0.visitSingularEnumField(value: v, fieldNumber: 2)
                }
            }
        }
        mutating func visitMapField<KeyType, ValueType>(
            fieldType: _ProtobufMessageMap<KeyType, ValueType>.Type,
            value: _ProtobufMessageMap<KeyType, ValueType>.BaseType, fieldNumber: Int
        ) throws {
            for (k, v) in value {
                try nested(fieldNumber) {
                    try KeyType.visitSingular(value: k, fieldNumber: 1, with: &$0)
                    try $0.visitSingularMessageField(value: v, fieldNumber: 2)
                }
            }
        }

        mutating func visitExtensionFields(fields: ExtensionFieldValueSet, start: Int, end: Int) throws {
            throw Refusal()
        }
    }
}
