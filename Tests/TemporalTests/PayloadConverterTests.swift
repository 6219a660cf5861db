import Foundation
import Temporal
import TemporalProto
import Testing

@Suite struct PayloadConverterTests {
    let converter = DefaultPayloadConverter()

    struct Person: Codable, Equatable {
        var name: String
        var born: Date
    }

    @Test func codableValuesAreJSONPlain() throws {
        let p = try converter.toPayload(["a": 1])
        #expect(String(decoding: p.metadata["encoding"]!, as: UTF8.self) == "json/plain")
        #expect(String(decoding: p.data, as: UTF8.self) == #"{"a":1}"#)
        #expect(try converter.fromPayload(p, as: [String: Int].self) == ["a": 1])
    }

    @Test func nilAndNoValueAreBinaryNull() throws {
        let none: String? = nil
        for p in [try converter.toPayload(none), try converter.toPayload(NoValue())] {
            #expect(String(decoding: p.metadata["encoding"]!, as: UTF8.self) == "binary/null")
            #expect(p.data.isEmpty)
        }
        let p = try converter.toPayload(NoValue())
        #expect(try converter.fromPayload(p, as: String?.self) == nil)
        #expect(try converter.fromPayload(p, as: NoValue.self) == NoValue())
    }

    @Test func eachValueIsRoutedByItsOwnTypeEvenBehindAnExistentialOrAnOptional() throws {
        // The converter decides per dynamic type which casts to try: an existential argument
        // list mixes types, and an optional holding a value is converted as that value.
        func encoding(_ p: Payload) -> String { String(decoding: p.metadata["encoding"]!, as: UTF8.self) }
        var message = Temporal_Api_Common_V1_WorkflowType()
        message.name = "w"
        let values: [any Encodable] = [Data([1]), 7, message, NoValue(), Optional<Int>.none as Int?, "x", Data([2]), message]
        for _ in 0..<2 {
            let payloads = try values.map { try converter.toPayload($0) }
            #expect(
                payloads.map(encoding) == [
                    "binary/plain", "json/plain", "json/protobuf", "binary/null", "binary/null", "json/plain", "binary/plain",
                    "json/protobuf",
                ])
        }
        let someData: Data? = Data([9])
        let someNoValue: NoValue? = NoValue()
        let someMessage: Temporal_Api_Common_V1_WorkflowType? = message
        let someInt: Int? = 3
        #expect(encoding(try converter.toPayload(someData)) == "binary/plain")
        #expect(try converter.toPayload(someData).data == Data([9]))
        #expect(encoding(try converter.toPayload(someNoValue)) == "binary/null")
        #expect(encoding(try converter.toPayload(someMessage)) == "json/protobuf")
        #expect(try converter.toPayload(someInt).data == Data("3".utf8))
        #expect(try converter.toPayload(Optional<Int>.none as Int?).data.isEmpty)
    }

    @Test func dataIsBinaryPlain() throws {
        let bytes = Data([0, 1, 2, 255])
        let p = try converter.toPayload(bytes)
        #expect(String(decoding: p.metadata["encoding"]!, as: UTF8.self) == "binary/plain")
        #expect(p.data == bytes)
        #expect(try converter.fromPayload(p, as: Data.self) == bytes)
    }

    @Test(arguments: [
        ("2024-03-05T14:22:31.482910+00:00", 1_709_648_551.482910),
        ("2024-03-05T14:22:31+00:00", 1_709_648_551.0),
        ("2024-03-05T14:22:31Z", 1_709_648_551.0),
        ("2024-03-05T14:22:31.5", 1_709_648_551.5),  // Python isoformat() of a naive datetime
        ("2024-03-05T16:22:31+02:00", 1_709_648_551.0),
        ("2024-03-05 14:22:31", 1_709_648_551.0),
        ("2024-03-05", 1_709_596_800.0),
    ])
    func datesAreReadTolerantly(text: String, epoch: Double) throws {
        let date = try #require(TemporalDate.parse(text))
        #expect(abs(date.timeIntervalSince1970 - epoch) < 0.000_01)
    }

    /// A date with microseconds (Python's, Go's to the microsecond) comes back as it was sent:
    /// it was written to the millisecond, no longer equal to the one another SDK sent. Dates
    /// of whole milliseconds are written as before.
    @Test func microsecondsRoundTrip() throws {
        for text in ["2024-03-05T14:22:31.123456Z", "1969-12-31T23:59:59.000001Z", "2024-03-05T14:22:31.000500Z"] {
            let date = try #require(TemporalDate.parse(text))
            #expect(TemporalDate.format(date) == text)
            let payload = try DataConverter.default.toPayload(date)
            #expect(String(decoding: payload.data, as: UTF8.self) == "\"\(text)\"")
            #expect(try DataConverter.default.fromPayload(payload, as: Date.self) == date)
        }
        #expect(TemporalDate.format(Date(timeIntervalSince1970: 1_709_648_551.482)) == "2024-03-05T14:22:31.482Z")
    }

    /// A date outside the years 0000-9999 is refused when sent, saying why, as Go's
    /// `time.MarshalJSON` refuses it: it was written as Foundation's description, which no SDK
    /// (this one included) reads back.
    @Test func aDateRFC3339CannotHoldIsRefusedWhenSent() throws {
        #expect(TemporalDate.isRepresentable(Date(timeIntervalSince1970: -62_167_219_200)))  // 0000-01-01
        #expect(TemporalDate.isRepresentable(Date(timeIntervalSince1970: 253_402_300_799.999)))  // 9999-12-31
        for date in [Date(timeIntervalSince1970: 253_402_300_800), Date(timeIntervalSince1970: -62_167_219_201)] {
            #expect(!TemporalDate.isRepresentable(date))
            let error = #expect(throws: TemporalError.self) { try DataConverter.default.toPayloads(Person(name: "x", born: date)) }
            #expect(error?.message.contains("outside the years 0000-9999") == true, "\(String(describing: error))")
            #expect(error?.message.contains("at .born") == true, "\(String(describing: error))")
        }
    }

    @Test func malformedDatesAreRejected() {
        for bad in [
            "2024-13-01", "yesterday", "2024-03-05T14", "2024-03-05T14:22:31+", "20240305", "2024-03-05T14:22:31+05:99",
            "2024-03-05T14:22:31+24:00",
        ] {
            #expect(TemporalDate.parse(bad) == nil, "\(bad)")
        }
    }

    /// Every millisecond is written as itself (Foundation's style wrote about half of them one
    /// millisecond early: `.001` as `.000`), before 1970 too, and read back to within a microsecond.
    @Test func everyMillisecondIsWrittenExactly() throws {
        for millisecond in 0..<1000 {
            let date = Date(timeIntervalSince1970: 1_674_036_251 + Double(millisecond) / 1000)
            let text = TemporalDate.format(date)
            #expect(text == "2023-01-18T10:04:11.\(String(format: "%03d", millisecond))Z")
            let back = try #require(TemporalDate.parse(text))
            #expect(abs(back.timeIntervalSince(date)) < 0.000_001, "\(text)")
        }
        #expect(TemporalDate.format(Date(timeIntervalSince1970: -0.001)) == "1969-12-31T23:59:59.999Z")
        #expect(TemporalDate.format(Date(timeIntervalSince1970: 951_782_400)) == "2000-02-29T00:00:00.000Z")
        #expect(TemporalDate.format(Date(timeIntervalSince1970: 0.999_999_6)) == "1970-01-01T00:00:01.000Z")
        #expect(TemporalDate.format(Date(timeIntervalSince1970: -62_135_596_800)) == "0001-01-01T00:00:00.000Z")
        // The proleptic Gregorian calendar both ways, before 1582 too (Foundation's Gregorian
        // calendar turns Julian there).
        for date in [Date.distantPast, Date.distantFuture, Date(timeIntervalSince1970: -14_000_000_000.125)] {
            let text = TemporalDate.format(date)
            let back = try #require(TemporalDate.parse(text), "\(text)")
            #expect(abs(back.timeIntervalSince(date)) < 0.000_5, "\(text)")
        }
        #expect(TemporalDate.parse("0001-01-01T00:00:00Z")?.timeIntervalSince1970 == -62_135_596_800)
        #expect(TemporalDate.parse("2023-02-29") == nil && TemporalDate.parse("2024-02-29") != nil)
    }

    @Test func datesRoundTripThroughJSON() throws {
        let person = Person(name: "ada", born: Date(timeIntervalSince1970: 1_709_648_551.25))
        let p = try converter.toPayload(person)
        #expect(String(decoding: p.data, as: UTF8.self).contains("2024-03-05T14:22:31.250Z"))
        #expect(try converter.fromPayload(p, as: Person.self) == person)
    }

    @Test func decodingErrorsSayWhereAndWhat() throws {
        let p = try converter.toPayload(["name": "ada"])
        do {
            _ = try converter.fromPayload(p, as: Person.self)
            Issue.record("expected an error")
        } catch let e as TemporalError {
            #expect(e.kind == .payloadConversion)
            #expect(e.message.contains("born"))
            // Not the payload's text: the message goes to the server as a failure's, without the
            // codecs, so an encrypted payload's content would be in history.
            #expect(!e.message.contains("ada"), "\(e.message)")
        }
        // Nor a value the decoder quotes in its description (an enum's unknown case).
        enum Tier: String, Codable { case gold }
        struct Customer: Codable { var tier: Tier }
        let unknown = #expect(throws: TemporalError.self) {
            _ = try converter.fromPayload(converter.toPayload(["tier": "secret-tier-name"]), as: Customer.self)
        }
        #expect(
            unknown?.message.contains("tier") == true && unknown?.message.contains("secret-tier-name") == false,
            "\(String(describing: unknown))")
        // Nor at the top level: a payload that is the enum's value, or a date (it was quoted).
        let topLevel = #expect(throws: TemporalError.self) {
            _ = try converter.fromPayload(converter.toPayload("secret-tier-name"), as: Tier.self)
        }
        #expect(topLevel?.message.contains("secret-tier-name") == false, "\(String(describing: topLevel))")
        let date = #expect(throws: TemporalError.self) {
            _ = try converter.fromPayload(converter.toPayload("secret-date-text"), as: Date.self)
        }
        #expect(date?.message.contains("secret-date-text") == false, "\(String(describing: date))")
        // Malformed JSON still says so.
        var truncated = try converter.toPayload(["name": "ada"])
        truncated.data = truncated.data.dropLast()
        let syntax = #expect(throws: TemporalError.self) { _ = try converter.fromPayload(truncated, as: Person.self) }
        #expect(syntax?.message.contains("JSON") == true, "\(String(describing: syntax))")
    }

    /// A binary/null payload (nil, None or undefined from another SDK, or no argument) decodes
    /// into a type whose fields are all optional, or a collection, as Go decodes a nil into the
    /// zero value; a type that needs a value gets an error saying what to do. Before, every
    /// struct was refused (Foundation's null), against what the converter's comment said.
    @Test func aNullPayloadDecodesIntoTypesThatNeedNoValue() throws {
        struct Filters: Codable, Equatable {
            var member: String?
            var limit: Int?
        }
        let null = try converter.toPayload(NoValue())
        #expect(try converter.fromPayload(null, as: Filters.self) == Filters())
        #expect(try converter.fromPayload(null, as: [String].self) == [])
        #expect(try converter.fromPayload(null, as: [String: Int].self) == [:])
        let error = #expect(throws: TemporalError.self) { _ = try converter.fromPayload(null, as: Person.self) }
        #expect(error?.message.contains("make the parameter Optional") == true, "\(String(describing: error))")
        // Go sends a nil slice or map as a json/plain `null` (TypeScript its `null`): read alike.
        var jsonNull = Payload()
        jsonNull.metadata["encoding"] = Data("json/plain".utf8)
        jsonNull.data = Data("null".utf8)
        #expect(try converter.fromPayload(jsonNull, as: [String].self) == [])
        #expect(try converter.fromPayload(jsonNull, as: [String: Int].self) == [:])
        #expect(try converter.fromPayload(jsonNull, as: Filters.self) == Filters())
        #expect(try converter.fromPayload(jsonNull, as: String?.self) == nil)
        #expect(throws: TemporalError.self) { _ = try converter.fromPayload(jsonNull, as: Person.self) }
    }

    @Test func unknownEncodingIsAClearError() throws {
        var p = Payload()
        p.metadata["encoding"] = Data("binary/encrypted".utf8)
        do {
            _ = try converter.fromPayload(p, as: String.self)
            Issue.record("expected an error")
        } catch let e as TemporalError {
            #expect(e.message.contains("binary/encrypted"))
        }
    }

    @Test func failuresRoundTripApplicationErrors() throws {
        let error = try ApplicationError("boom", type: "Boom", nonRetryable: true, details: 42)
        let failure = FailureConverter().failure(from: error)
        #expect(failure.applicationFailureInfo.type == "Boom")
        #expect(failure.applicationFailureInfo.nonRetryable)
        let back = try #require(FailureConverter().error(from: failure) as? ApplicationError)
        #expect(back.message == "boom")
        #expect(try back.detail(as: Int.self) == 42)
    }

    /// Go and Core workers that encode common attributes move a failure's message and stack
    /// trace into `encoded_attributes` ("Encoded failure"): they are put back, through the
    /// cause chain (a Swift caller saw only "Encoded failure").
    @Test func encodedFailureAttributesAreDecoded() throws {
        func encoded(_ message: String, _ stack: String) throws -> Failure {
            var failure = Failure()
            failure.message = "Encoded failure"
            failure.encodedAttributes = try DataConverter.default.toPayload(["message": message, "stack_trace": stack])
            failure.applicationFailureInfo = Temporal_Api_Failure_V1_ApplicationFailureInfo()
            return failure
        }
        var outer = try encoded("activity gave up", "at outer")
        outer.cause = try encoded("root cause", "at root")
        let decoded = DataConverter.default.decodingEncodedAttributes(outer)
        #expect(decoded.message == "activity gave up" && decoded.stackTrace == "at outer" && !decoded.hasEncodedAttributes)
        #expect(decoded.cause.message == "root cause" && decoded.cause.stackTrace == "at root")
        var plain = Failure()
        plain.message = "plain"
        #expect(DataConverter.default.decodingEncodedAttributes(plain) == plain)
    }

    /// An application error's category crosses both ways: benign, and one this build does not
    /// know (a newer SDK's), which goes on as it came rather than as "unspecified".
    @Test func anApplicationErrorsCategoryCrossesBothWays() throws {
        let benign = FailureConverter().failure(from: ApplicationError("nothing yet", type: "Empty", category: .benign))
        #expect(benign.applicationFailureInfo.category == .benign)
        #expect((FailureConverter().error(from: benign) as? ApplicationError)?.category == .benign)
        var newer = benign
        newer.applicationFailureInfo.category = .UNRECOGNIZED(7)
        let decoded = try #require(FailureConverter().error(from: newer) as? ApplicationError)
        #expect(decoded.category.rawValue == 7 && decoded.category != .benign)
        var changed = decoded
        changed.message = "still nothing"
        #expect(FailureConverter().failure(from: changed).applicationFailureInfo.category.rawValue == 7)
    }

    /// A decoded error goes back as it came (cause chain kept), with what code changed since:
    /// setting `nonRetryable` on a caught error must stop the retries (it was ignored).
    @Test func aDecodedApplicationErrorGoesBackWithItsChanges() throws {
        var received = FailureConverter().failure(from: try ApplicationError("outer", type: "Outer", details: 1))
        received.cause = FailureConverter().failure(from: ApplicationError("root cause", type: "Root"))
        received.stackTrace = "at somewhere"
        let decoded = try #require(FailureConverter().error(from: received) as? ApplicationError)
        #expect(FailureConverter().failure(from: decoded) == received, "unchanged: byte for byte")
        var changed = decoded
        changed.nonRetryable = true
        changed.message = "outer, given up"
        changed.nextRetryDelay = .seconds(3)
        let sent = FailureConverter().failure(from: changed)
        #expect(sent.applicationFailureInfo.nonRetryable)
        #expect(sent.message == "outer, given up")
        #expect(sent.applicationFailureInfo.nextRetryDelay.seconds == 3)
        #expect(sent.cause.message == "root cause" && sent.stackTrace == "at somewhere")
        #expect(try (FailureConverter().error(from: sent) as? ApplicationError)?.detail(as: Int.self) == 1)
    }

    /// An activity that rethrows another workflow's failure (a client call's result) fails
    /// retryably, with that failure as the cause: its non-retryable flag and type were that
    /// workflow's. Before, it was sent as is and ended the activity's retries.
    @Test func anActivityRethrowingAnotherExecutionsFailureIsRetried() throws {
        let other = FailureConverter().failure(from: ApplicationError("bad input", type: "InvalidInput", nonRetryable: true))
        let error = TemporalError(kind: .workflowFailed, message: "workflow failed", failure: other)
        let sent = FailureConverter().activityFailure(from: error)
        #expect(sent.applicationFailureInfo.type == "UnexpectedFailure" && !sent.applicationFailureInfo.nonRetryable)
        #expect(sent.cause == other && sent.message.contains("bad input"))
        // The activity's own errors are unchanged.
        let own = FailureConverter().activityFailure(from: ApplicationError("mine", type: "Mine", nonRetryable: true))
        #expect(own.applicationFailureInfo.type == "Mine" && own.applicationFailureInfo.nonRetryable)
    }

    struct GenericError<T>: Error {}

    /// An error of a generic type is named by its type (what `nonRetryableErrorTypes` lists).
    /// Before, the name was cut at the last dot of the qualified name: `String>`.
    @Test func aGenericErrorTypeKeepsItsName() {
        #expect(FailureConverter().failure(from: GenericError<String>()).applicationFailureInfo.type == "GenericError<String>")
    }
}

// A protobuf message that is also Encodable (as a user's message type can be): the converter
// must still write it as json/protobuf.
extension Temporal_Api_Common_V1_WorkflowType: Encodable {
    func encode(to encoder: any Encoder) throws {
        var c = encoder.singleValueContainer()
        try c.encode(name)
    }
}
