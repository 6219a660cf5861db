#if canImport(FoundationEssentials)
public import FoundationEssentials
#else
public import Foundation
#endif

/// A seeded pseudo-random generator (SplitMix64) for workflow code: the same seed gives the same
/// sequence on every replay. Seeded from the run's original execution run id.
public struct DeterministicRandom: RandomNumberGenerator, Sendable {
    private var state: UInt64

    public init(seed: UInt64) { state = seed }

    /// A seed derived from a string with FNV-1a (stable across processes, unlike `Hasher`).
    public init(seed text: String) {
        var hash: UInt64 = 0xcbf2_9ce4_8422_2325
        for byte in text.utf8 {
            hash ^= UInt64(byte)
            hash = hash &* 0x0000_0100_0000_01b3
        }
        self.init(seed: hash)
    }

    public mutating func next() -> UInt64 {
        state &+= 0x9e37_79b9_7f4a_7c15
        var z = state
        z = (z ^ (z >> 30)) &* 0xbf58_476d_1ce4_e5b9
        z = (z ^ (z >> 27)) &* 0x94d0_49bb_1331_11eb
        return z ^ (z >> 31)
    }

    // The mappings below are ours, fixed and pinned by golden values in the tests: the
    // standard library documents its own (`Int.random(in:using:)`) as subject to change, and
    // a change would turn every open run that draws numbers nondeterministic.

    /// A number in `0..<upperBound` (Lemire's multiply-and-reject: the high word of
    /// `next() × upperBound`, redrawing while the low word falls in the biased zone).
    public mutating func next(upperBound: UInt64) -> UInt64 {
        precondition(upperBound > 0, "upperBound must be positive")
        var product = next().multipliedFullWidth(by: upperBound)
        if product.low < upperBound {
            let threshold = (0 &- upperBound) % upperBound
            while product.low < threshold { product = next().multipliedFullWidth(by: upperBound) }
        }
        return product.high
    }

    /// A number in `range` (not empty): `lowerBound + next(upperBound: width)`.
    public mutating func int(in range: Range<Int>) -> Int {
        precondition(!range.isEmpty, "cannot draw from an empty range")
        let width = UInt64(truncatingIfNeeded: range.upperBound &- range.lowerBound)
        return range.lowerBound &+ Int(truncatingIfNeeded: next(upperBound: width))
    }

    /// A number in `range`; the whole `Int` range takes one draw as it is.
    public mutating func int(in range: ClosedRange<Int>) -> Int {
        let width = UInt64(truncatingIfNeeded: range.upperBound &- range.lowerBound) &+ 1
        guard width != 0 else { return Int(truncatingIfNeeded: next()) }
        return range.lowerBound &+ Int(truncatingIfNeeded: next(upperBound: width))
    }

    /// A number in `0 ..< 1`: the top 53 bits of a draw, times 2⁻⁵³ (every value a multiple of 2⁻⁵³).
    public mutating func unitDouble() -> Double {
        Double(next() >> 11) * 0x1p-53
    }

    /// A version-4 UUID built from two draws.
    public mutating func uuid() -> UUID {
        let a = next()
        let b = next()
        var bytes = [UInt8](repeating: 0, count: 16)
        for i in 0..<8 {
            bytes[i] = UInt8(truncatingIfNeeded: a >> (8 * UInt64(i)))
            bytes[8 + i] = UInt8(truncatingIfNeeded: b >> (8 * UInt64(i)))
        }
        bytes[6] = (bytes[6] & 0x0f) | 0x40
        bytes[8] = (bytes[8] & 0x3f) | 0x80
        return UUID(
            uuid: (
                bytes[0], bytes[1], bytes[2], bytes[3], bytes[4], bytes[5], bytes[6], bytes[7],
                bytes[8], bytes[9], bytes[10], bytes[11], bytes[12], bytes[13], bytes[14], bytes[15]
            ))
    }
}
