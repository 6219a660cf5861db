import Foundation
import Testing

@testable import LaunchpadETL
@testable import LaunchpadFixture

@Suite struct EventTests {
    @Test(arguments: [
        ("2024-03-05T14:22:31.482910+00:00", "2024-03-05T14:22:31.482910Z", "2024-03-04"),
        ("2004-08-20T00:00:00+00:00", "2004-08-20T00:00:00Z", "2004-08-16"),
        ("2023-10-01T00:00:00Z", "2023-10-01T00:00:00Z", "2023-09-25"),
        ("2024-03-04T00:00:00.5Z", "2024-03-04T00:00:00.500000Z", "2024-03-04"),
        ("2024-03-10T23:30:00-02:00", "2024-03-11T01:30:00Z", "2024-03-11"),
        ("2024-02-29 12:00:00+0000", "2024-02-29T12:00:00Z", "2024-02-26"),
    ])
    func timestampsAreParsedTolerantlyAndWeekIsMonday(input: String, canonical: String, monday: String) throws {
        let event = try Event(id: "e", parentId: "p", employeeId: "alice", type: "bug:created", timeUTC: input)
        #expect(event.timeUTC == canonical)
        #expect(event.week == monday)
        #expect(event.sourceKindId == "launchpad")
    }

    @Test(arguments: ["", "2024-03-05", "yesterday", "2024-13-01T00:00:00Z", "2024-03-05T14:22:31+5"])
    func badTimestampsAreRejected(input: String) async {
        let error = await etlError { try Event(id: "e", parentId: "p", employeeId: "alice", type: "bug:created", timeUTC: input) }
        #expect(error?.code == .invalidEvent)
    }

    @Test func validation() async {
        #expect(
            await etlError { try Event(id: "", parentId: "p", employeeId: "a", type: "bug:created", timeUTC: "2024-03-05T00:00:00Z") }?
                .message.contains("id is empty") == true)
        #expect(
            await etlError { try Event(id: "e", parentId: "", employeeId: "a", type: "bug:created", timeUTC: "2024-03-05T00:00:00Z") }?
                .message.contains("parent_id") == true)
        #expect(
            await etlError { try Event(id: "e", parentId: "p", employeeId: "a", type: "bug created", timeUTC: "2024-03-05T00:00:00Z") }?
                .message.contains("entity:action") == true)
        #expect(
            await etlError {
                try Event(id: "e", parentId: "p", employeeId: "a", type: "bug:created", timeUTC: "2024-03-05T00:00:00Z", week: "2024-03-03")
            }?.message.contains("expected 2024-03-04") == true)
        #expect(
            await etlError {
                try Event(id: "e", parentId: "p", employeeId: "a", type: "bug:created", timeUTC: "2024-03-05T00:00:00Z", week: "2024-03-04")
            } == nil)
    }

    @Test func codableUsesTheOriginalSnakeCaseKeys() throws {
        var event = try Event(
            id: "b-1-c", parentId: "b-1", employeeId: "alice", type: "bug:created", timeUTC: "2024-03-05T14:22:31.482910+00:00")
        event.addRelationProperty("bug_id", 1)
        event.addRelationProperties(["title": "Ünïcode title", "tags": ["a", "b"]])
        let data = try JSONEncoder().encode(event)
        let object = try #require(try JSONParser.parse(Array(data)).objectValue)
        #expect(
            Set(object.keys) == ["id", "parent_id", "week", "employee_id", "type", "time_utc", "source_kind_id", "relation_properties"])
        let decoded = try JSONDecoder().decode(Event.self, from: data)
        #expect(decoded == event)
        #expect(try Event(json: event.json) == event)
        #expect(event.relationPropertiesJSON() == #"{"bug_id":1,"tags":["a","b"],"title":"Ünïcode title"}"#)
        let bad = Data(#"{"id":"x","parent_id":"p","employee_id":"a","type":"bug:created","time_utc":"nope"}"#.utf8)
        #expect(throws: ETLError.self) { try JSONDecoder().decode(Event.self, from: bad) }
    }

    @Test func mondayArithmetic() throws {
        #expect(CivilDate(iso: "2024-01-01")?.mondayOfWeek.description == "2024-01-01")
        #expect(CivilDate(iso: "2023-12-31")?.mondayOfWeek.description == "2023-12-25")
        #expect(CivilDate(iso: "1970-01-01")?.mondayOfWeek.description == "1969-12-29")
        #expect(CivilDate(iso: "2024-02-30") == nil)
        for days in stride(from: -800, to: 20_000, by: 37) {
            let date = CivilDate(daysSinceEpoch: days)
            #expect(date.daysSinceEpoch == days)
            #expect(CivilDate(iso: date.description) == date)
        }
    }
}

@Suite struct JSONTests {
    @Test func parsesAndSerializesDeterministically() throws {
        let value = try JSONParser.parse(#" {"b": [1, 2.5, true, null], "a": "x\u00e9\n\ud83d\ude00", "c": {"z": -3e2}} "#)
        #expect(value["b"]?.arrayValue?.count == 4)
        #expect(value["a"]?.stringValue == "xé\n😀")
        #expect(value.serialized() == #"{"a":"xé\n😀","b":[1,2.5,true,null],"c":{"z":-300}}"#)
        #expect(try JSONParser.parse(value.serialized()) == (try JSONParser.parse(#"{"a":"xé\n😀","b":[1,2.5,true,null],"c":{"z":-300}}"#)))
    }

    /// A lone surrogate escape (JSON's grammar allows it; Python's json writes one for text that
    /// held it) reads as U+FFFD, and an escape after a high surrogate that is not a low one is
    /// read on its own. Before, the whole response failed, on every attempt.
    @Test func loneSurrogatesReadAsReplacementCharacters() throws {
        let smile = "\u{1F600}"
        for (text, expected) in [
            (#""\ud800""#, "\u{FFFD}"), (#""\udc00x""#, "\u{FFFD}x"), (#""a\ud800b""#, "a\u{FFFD}b"),
            (#""\ud800\u0041""#, "\u{FFFD}A"), (#""\ud83d\ude00""#, smile), (#""\ud800\ud83d\ude00""#, "\u{FFFD}" + smile),
        ] {
            #expect(try JSONParser.parse(text).stringValue == expected, "\(text)")
        }
    }

    @Test(arguments: [
        (#"{"entries": [1, 2"#, 17),
        (#"{"a": tru}"#, 9),
        (#"{"a": 1} x"#, 9),
        ("", 0),
        (#"<html>"#, 0),
    ])
    func errorsCarryTheByteOffset(text: String, offset: Int) {
        do {
            _ = try JSONParser.parse(text)
            Issue.record("expected a parse error")
        } catch {
            #expect(error.offset == offset, "\(error)")
        }
    }

    /// Bodies whose meaning would be a guess, or would change on the way to the store, are
    /// not taken: a key given twice (which one counts?), a number beyond Double (infinity,
    /// stored as null), a leading zero (RFC 8259). Integers beyond Int still read, as Double.
    @Test(arguments: [
        (#"{"entries": [1], "entries": []}"#, "duplicate key \"entries\""),
        (#"{"x": 1e400}"#, "a number out of range"),
        (#"{"x": 0123}"#, "a number with a leading zero"),
    ])
    func ambiguousOrOutOfRangeBodiesAreNotTaken(text: String, reason: String) throws {
        do {
            _ = try JSONParser.parse(text)
            Issue.record("expected a parse error for \(text)")
        } catch {
            #expect(error.reason == reason, "\(error)")
        }
        let fine = try JSONParser.parse(#"{"a": 0, "b": -0.5, "c": 10e2, "d": 9223372036854775807, "e": 100000000000000000000}"#)
        #expect(fine["d"]?.intValue == Int.max)
        #expect(fine["e"] == .double(1e20))
    }

    @Test func sha256KnownVectors() {
        #expect(SHA256.hex("") == "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855")
        #expect(SHA256.hex("abc") == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad")
        #expect(SHA256.hex(String(repeating: "a", count: 1000)) == "41edece42d63e8d9bf515a9ba6932e1c20cbc9f5a5d134645adb5db1b9737ea3")
    }
}
