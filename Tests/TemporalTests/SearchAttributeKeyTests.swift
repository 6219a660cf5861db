import Foundation
import TemporalProto
import Testing

@testable import Temporal

/// Typed search attribute keys: what they write and read back.
@Suite struct SearchAttributeKeyTests {
    /// A value JSON cannot hold was written as `null`, the encoding that removes the attribute:
    /// an upsert of a NaN score deleted the score without a word. It goes as text now, which
    /// the server refuses, naming the attribute.
    @Test func aNonFiniteDoubleDoesNotRemoveTheAttribute() {
        let score = SearchAttributeKey<Double>.double("Score")
        for value in [Double.nan, .infinity, -.infinity] {
            let payload = score.value(value).payload
            #expect(payload.data != Data("null".utf8), "\(value)")
        }
        #expect(score.read(from: ["Score": score.value(0.25).payload]) == 0.25)
    }

    /// Unsetting sends `binary/null` without data and without a type, as Go does: servers
    /// before 1.32 removed only an attribute whose value had no data, and kept the JSON `null`
    /// this sent (shown in the UI, carried by a continue-as-new, read by Go as "").
    @Test func unsetSendsNoDataAndNoType() {
        let payload = SearchAttributeKey<String>.keyword("Stage").unset.payload
        #expect(payload.metadata["encoding"] == Data("binary/null".utf8))
        #expect(payload.data.isEmpty && payload.metadata["type"] == nil)
        #expect(SearchAttributeKey<String>.keyword("Stage").read(from: ["Stage": payload]) == nil)
    }

    /// Dates round-trip with their milliseconds, and the server's RFC3339Nano reads too (before
    /// Swift 6.2, Foundation's ISO-8601 style read no fractional seconds: every value was nil).
    @Test func aDatetimeReadsBackWithItsFraction() {
        let at = SearchAttributeKey<Date>.datetime("At")
        let date = Date(timeIntervalSince1970: 1_709_648_551.482)
        #expect(at.read(from: ["At": at.value(date).payload]).map { abs($0.timeIntervalSince(date)) < 0.0005 } == true)
        var nano = at.value(date).payload
        nano.data = Data(#""2024-03-05T14:22:31.482123456Z""#.utf8)
        #expect(at.read(from: ["At": nano]).map { abs($0.timeIntervalSince(date)) < 0.001 } == true)
    }
}
