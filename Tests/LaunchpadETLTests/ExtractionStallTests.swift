import Foundation
import Testing

@testable import LaunchpadETL

/// When attempts that resume from one checkpoint without getting further end an extraction.
@Suite struct ExtractionStallTests {
    let checkpoint = ExtractionCheckpoint(batchId: "b", phase: .bugsTouched, nextPageLink: "http://x/?ws.start=300", rowsSoFar: 12)

    /// Counts `attempts` attempts from `checkpoint`, one every `every` seconds from `start`.
    func count(_ attempts: Int, every seconds: Int, limit: Int = 10) throws(ETLError) -> ExtractionCheckpoint {
        var current = checkpoint
        for index in 0..<attempts {
            current = try ExtractionStall.count(current, limit: limit, now: 1_000_000 + index * seconds)
        }
        return current
    }

    /// An outage stops every attempt as surely as a request that always fails: Launchpad or the
    /// network down fails each attempt's first request within seconds, and the activity's
    /// backoff (1 s doubling to 60 s) fits 10 attempts in about 9 minutes. Counted alone, they
    /// failed every running extraction for good; now the attempts must also span an hour.
    @Test func anOutageShorterThanTheMinimumDurationDoesNotEndTheExtraction() throws {
        let outage = try count(30, every: 60)  // 30 attempts over 29 minutes
        #expect(outage.stalledAttempts == 30 && outage.stalledSince == 1_000_000)
        // Past both the limit and the hour: the extraction fails for good, saying where.
        let error = #expect(throws: ETLError.self) { _ = try count(62, every: 60) }
        #expect(error?.code == .extractionStalled && error?.nonRetryable == true)
        #expect(error?.message.contains("made no progress in 60 attempts in a row (over 60 min)") == true, "\(error?.message ?? "")")
        #expect(error?.message.contains("ws.start=300") == true)
        // Few attempts over a long time (each ran into its timeout) are not enough either.
        #expect(try count(10, every: 600).stalledAttempts == 10)
        #expect(throws: ETLError.self) { _ = try count(11, every: 600) }
    }

    /// A checkpoint that got further clears the count and its start; one written before the
    /// start was kept starts its clock at the next attempt.
    @Test func theClockStartsAtTheFirstAttemptThatGotNoFurther() throws {
        var legacy = checkpoint
        legacy.stalledAttempts = 40
        let counted = try ExtractionStall.count(legacy, limit: 10, now: 5_000)
        #expect(counted.stalledAttempts == 41 && counted.stalledSince == 5_000)
        let decoded = try ExtractionCheckpoint(json: counted.json)
        #expect(decoded.stalledSince == 5_000 && decoded == counted)
        let viaCodable = try JSONDecoder().decode(ExtractionCheckpoint.self, from: JSONEncoder().encode(counted))
        #expect(viaCodable == counted)
    }
}
