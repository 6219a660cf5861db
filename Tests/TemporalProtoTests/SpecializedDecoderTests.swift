import Foundation
import SwiftProtobuf
import TemporalProto
import Testing

/// `init(specializedBytes:)` against SwiftProtobuf's own decoder: the same value (unknown fields
/// included) whenever SwiftProtobuf decodes, an error whenever it throws — on realistic
/// responses, on fields the messages do not know, and on random and mutated wire bytes.
@Suite("Specialized binary decoder")
struct SpecializedDecoderTests {
    typealias PollResponse = Temporal_Api_Workflowservice_V1_PollWorkflowTaskQueueResponse
    typealias ActivityResponse = Temporal_Api_Workflowservice_V1_PollActivityTaskQueueResponse
    typealias HistoryResponse = Temporal_Api_Workflowservice_V1_GetWorkflowExecutionHistoryResponse
    typealias CompletedResponse = Temporal_Api_Workflowservice_V1_RespondWorkflowTaskCompletedResponse

    @Test("a realistic workflow task decodes to the same value")
    func realisticTask() throws {
        let task = Self.realisticTask()
        let bytes: Data = try task.serializedData()
        let decoded = try PollResponse(specializedBytes: bytes)
        #expect(decoded == task)
        #expect(decoded.history.events.count == task.history.events.count)
        #expect(decoded.queries["state"]?.queryType == "state")
        #expect(Self.agree(PollResponse.self, bytes))
    }

    @Test("fields a message does not know land in its unknown fields, in order")
    func unknownFields() throws {
        // Unknown varint, fixed64, length-delimited and fixed32 fields, and a known field (event
        // type, a varint) sent with another wire type: all are kept, nothing else changes.
        let extra: [UInt8] =
            [0xb8, 0x3e, 0x2a]  // field 999, varint 42
            + [0xc1, 0x3e] + Array(repeating: 7, count: 8)  // field 1000, fixed64
            + [0xca, 0x3e, 3, 0x61, 0x62, 0x63]  // field 1001, "abc"
            + [0xd5, 0x3e, 1, 2, 3, 4]  // field 1002, fixed32
            + [0x1a, 1, 0x41]  // field 3 (event_type) as length-delimited
        var task = Self.realisticTask()
        let plain: [UInt8] = try task.history.events[1].serializedBytes()
        let event = try Temporal_Api_History_V1_HistoryEvent(serializedBytes: plain + extra)
        #expect(event.unknownFields.data == Data(extra))
        task.history.events[1] = event
        let bytes: Data = try task.serializedData()
        let decoded = try PollResponse(specializedBytes: bytes)
        #expect(decoded == task)
        #expect(decoded.history.events[1].unknownFields.data == Data(extra))
        // And on the root message itself (where field 3 is a message: left out).
        let rootExtra = Data(extra.dropLast(3))
        let rootBytes = bytes + rootExtra
        #expect(try PollResponse(specializedBytes: rootBytes).unknownFields.data == rootExtra)
        #expect(Self.agree(PollResponse.self, rootBytes))
    }

    @Test("nesting at SwiftProtobuf's depth limit: the same outcome on both sides of it")
    func depthLimit() throws {
        // Failure.cause nests a Failure: an activity failure `depth` levels deep.
        for depth in [90, 95, 96, 97, 98, 99, 100, 101, 110] {
            var failure = Temporal_Api_Failure_V1_Failure()
            failure.message = "bottom"
            for level in 0..<depth {
                var outer = Temporal_Api_Failure_V1_Failure()
                outer.message = "level \(level)"
                outer.cause = failure
                failure = outer
            }
            var attributes = Temporal_Api_History_V1_ActivityTaskFailedEventAttributes()
            attributes.failure = failure
            var task = PollResponse()
            task.history.events = [
                Fixtures.event(5, .activityTaskFailed, .activityTaskFailedEventAttributes(attributes))
            ]
            // SwiftProtobuf encodes any depth; only decoding has a limit.
            let bytes: Data = try task.serializedData()
            #expect(Self.agree(PollResponse.self, bytes), "depth \(depth)")
        }
    }

    @Test("every truncation of a realistic task: both decoders throw or agree")
    func truncations() throws {
        let bytes: [UInt8] = try Self.realisticTask().serializedBytes()
        for length in 0..<bytes.count {
            let prefix = Data(bytes[0..<length])
            #expect(Self.agree(PollResponse.self, prefix), "length \(length)")
        }
    }

    @Test("mutated realistic tasks: both decoders throw or agree")
    func mutations() throws {
        let original: [UInt8] = try Self.realisticTask().serializedBytes()
        var rng = SplitMix64(seed: 0x5eed_0001)
        var decodedCount = 0
        for round in 0..<3000 {
            var bytes = original
            for _ in 0..<Int.random(in: 1...4, using: &rng) {
                let at = Int.random(in: 0..<bytes.count, using: &rng)
                switch Int.random(in: 0..<4, using: &rng) {
                case 0: bytes[at] = UInt8.random(in: 0...255, using: &rng)
                case 1: bytes[at] ^= 1 << UInt8.random(in: 0..<8, using: &rng)
                case 2: bytes.insert(UInt8.random(in: 0...255, using: &rng), at: at)
                default: bytes.remove(at: at)
                }
            }
            let data = Data(bytes)
            #expect(Self.agree(PollResponse.self, data), "round \(round)")
            if (try? PollResponse(serializedBytes: data)) != nil { decodedCount += 1 }
        }
        // The mutations must exercise the success path too, not only errors.
        #expect(decodedCount > 300)
    }

    @Test("random wire bytes for four response types: both decoders throw or agree")
    func randomWireBytes() throws {
        var rng = SplitMix64(seed: 0x5eed_0002)
        var decodedCount = 0
        for round in 0..<2000 {
            let data = Data(RandomWire.message(depth: 4, using: &rng))
            let agreements = [
                Self.agree(PollResponse.self, data), Self.agree(ActivityResponse.self, data),
                Self.agree(HistoryResponse.self, data), Self.agree(CompletedResponse.self, data),
            ]
            #expect(!agreements.contains(false), "round \(round): \(Array(data))")
            if (try? PollResponse(serializedBytes: data)) != nil { decodedCount += 1 }
        }
        #expect(decodedCount > 200)
    }

    @Test("groups, unknown wire types and malformed tags")
    func oddWireTypes() throws {
        let cases: [[UInt8]] = [
            [0xbb, 0x3e, 0x08, 0x01, 0xbc, 0x3e],  // field 999 as a group holding field 1 = 1
            [0xbb, 0x3e, 0x08, 0x01],  // an unterminated group
            [0xbc, 0x3e],  // an end-group outside a group
            [0x0e, 0x00],  // wire type 6
            [0x0f, 0x00],  // wire type 7
            [0x00, 0x00],  // field number 0
            [0x88, 0x80, 0x80, 0x80, 0x80, 0x00],  // a six-byte tag
            [0x88, 0x80, 0x80, 0x80, 0x10, 0x00],  // a fifth tag byte above 15
            [0x80, 0x80, 0x80, 0x80, 0x08, 0x00],  // the largest field number, varint
            [0x0a, 0x80],  // a truncated length
            [0x0a, 0xff, 0xff, 0xff, 0xff, 0x07],  // a length of 2 GB
            [0x42, 0x03, 0x0a, 0x01, 0xff],  // history.events[0] of invalid UTF-8... bytes
            [0x72, 0x04, 0x0a, 0x02, 0xc3, 0x28],  // queries: a key of invalid UTF-8
            [0x72, 0x04, 0x08, 0x01, 0x12, 0x00],  // queries: a key of the wrong wire type
            [0x72, 0x06, 0x18, 0x01, 0x0a, 0x01, 0x61, 0x12, 0x00],  // queries: an extra field
            // queries: a key tag padded to six bytes (in a map entry, a plain varint for SwiftProtobuf)
            [0x72, 0x08, 0x8a, 0x80, 0x80, 0x80, 0x80, 0x00, 0x01, 0x61],
            [0x72, 0x07, 0x8a, 0x80, 0x80, 0x80, 0x80, 0x01, 0x61],  // … and a truncated one
            [0x72, 0x03, 0x0a, 0x01, 0x61, 0x72, 0x03, 0x0a, 0x01, 0x61],  // the same key twice
            [0x72, 0x06, 0x12, 0x04, 0xb8, 0x3e, 0x2a, 0x00],  // a map value with an unknown field
            // strings: valid multi-byte text, then invalid classes (surrogate, overlong, > U+10FFFF)
            [0x1a, 0x09, 0x0a, 0x07, 0x7a, 0x6f, 0xc3, 0xab, 0xe2, 0x82, 0xac],  // "zoë€"
            [0x1a, 0x07, 0x0a, 0x05, 0x77, 0xc3, 0xb6, 0xe2, 0x82],  // "wö" and a cut "€"
            [0x1a, 0x05, 0x0a, 0x03, 0xed, 0xa0, 0x80],
            [0x1a, 0x04, 0x0a, 0x02, 0xc0, 0xaf],
            [0x1a, 0x06, 0x0a, 0x04, 0xf4, 0x90, 0x80, 0x80],
        ]
        for bytes in cases {
            #expect(Self.agree(PollResponse.self, Data(bytes)), "\(bytes)")
            #expect(Self.agree(ActivityResponse.self, Data(bytes)), "\(bytes)")
        }
    }

    // MARK: - Helpers

    /// Whether the specialised decoder and SwiftProtobuf both throw, or decode equal values.
    static func agree<M: SpecializedBinaryDecodable & Equatable>(_ type: M.Type, _ bytes: Data) -> Bool {
        let theirs = try? M(serializedBytes: bytes)
        let ours = try? M(specializedBytes: bytes)
        return theirs == ours
    }

    /// A sticky-queue style task with the events and fields a worker sees: payloads with
    /// metadata maps, headers, durations, timestamps, enums, a query map, protocol messages.
    static func realisticTask() -> PollResponse {
        var started = Temporal_Api_History_V1_WorkflowExecutionStartedEventAttributes()
        started.workflowID = "bench-42"
        started.workflowType.name = "BenchFlow"
        started.taskQueue = Fixtures.taskQueue("bench")
        started.input = Fixtures.payloads(#"{"rows":3,"name":"zoë"}"#, "[1,2,3]")
        started.header.fields["trace"] = Fixtures.jsonPayload(#""abc""#)
        started.header.fields["auth"] = Fixtures.jsonPayload("null")
        started.workflowRunTimeout = Fixtures.duration(3600)
        started.workflowTaskTimeout = Fixtures.duration(10, nanos: 5)
        started.attempt = 1
        started.originalExecutionRunID = "run-1"
        started.retryPolicy.maximumAttempts = 3
        started.retryPolicy.backoffCoefficient = 1.5
        started.retryPolicy.nonRetryableErrorTypes = ["Fatal", "Bad"]

        var scheduled = Temporal_Api_History_V1_ActivityTaskScheduledEventAttributes()
        scheduled.activityID = "1"
        scheduled.activityType.name = "step"
        scheduled.taskQueue = Fixtures.taskQueue("bench")
        scheduled.input = Fixtures.payloads("7")
        scheduled.startToCloseTimeout = Fixtures.duration(30)
        scheduled.workflowTaskCompletedEventID = 4

        var completed = Temporal_Api_History_V1_ActivityTaskCompletedEventAttributes()
        completed.result = Fixtures.payloads(#"{"ok":true}"#)
        completed.scheduledEventID = 5
        completed.startedEventID = 6

        var taskScheduled = Temporal_Api_History_V1_WorkflowTaskScheduledEventAttributes()
        taskScheduled.taskQueue = Fixtures.taskQueue("bench-sticky")
        taskScheduled.startToCloseTimeout = Fixtures.duration(10)
        taskScheduled.attempt = 1
        var taskStarted = Temporal_Api_History_V1_WorkflowTaskStartedEventAttributes()
        taskStarted.scheduledEventID = 2
        taskStarted.identity = "worker@host"
        taskStarted.requestID = "req-1"
        var taskCompleted = Temporal_Api_History_V1_WorkflowTaskCompletedEventAttributes()
        taskCompleted.scheduledEventID = 2
        taskCompleted.startedEventID = 3
        taskCompleted.identity = "wörker-ü@höst"  // non-ASCII text
        taskCompleted.sdkMetadata.langUsedFlags = [1, 2, 300, 70_000]  // packed
        taskCompleted.sdkMetadata.coreUsedFlags = [0]

        var task = PollResponse()
        task.taskToken = Data((0..<48).map { UInt8($0 * 5 % 256) })
        task.workflowExecution = Fixtures.execution("bench-42", "run-1")
        task.workflowType.name = "BenchFlow"
        task.previousStartedEventID = 3
        task.startedEventID = 9
        task.attempt = 1
        task.history.events = [
            Fixtures.event(1, .workflowExecutionStarted, .workflowExecutionStartedEventAttributes(started)),
            Fixtures.event(2, .workflowTaskScheduled, .workflowTaskScheduledEventAttributes(taskScheduled)),
            Fixtures.event(3, .workflowTaskStarted, .workflowTaskStartedEventAttributes(taskStarted)),
            Fixtures.event(4, .workflowTaskCompleted, .workflowTaskCompletedEventAttributes(taskCompleted)),
            Fixtures.event(5, .activityTaskScheduled, .activityTaskScheduledEventAttributes(scheduled)),
            Fixtures.event(7, .activityTaskCompleted, .activityTaskCompletedEventAttributes(completed)),
            Fixtures.event(8, .workflowTaskScheduled, .workflowTaskScheduledEventAttributes(taskScheduled)),
        ]
        task.workflowExecutionTaskQueue = Fixtures.taskQueue("bench")
        task.scheduledTime = Fixtures.timestamp(1_700_000_100, nanos: 250)
        task.startedTime = Fixtures.timestamp(1_700_000_101)
        var query = Temporal_Api_Query_V1_WorkflowQuery()
        query.queryType = "state"
        query.queryArgs = Fixtures.payloads("1")
        task.queries["state"] = query
        task.queries["other"] = Temporal_Api_Query_V1_WorkflowQuery()
        var message = Temporal_Api_Protocol_V1_Message()
        message.id = "update-1/request"
        message.protocolInstanceID = "update-1"
        message.body.typeURL = "type.googleapis.com/temporal.api.update.v1.Request"
        message.body.value = Data([0x0a, 0x02, 0x08, 0x01])
        task.messages = [message]
        return task
    }
}

/// Random protobuf wire bytes: fields of every wire type (now and then an invalid one), low
/// field numbers (which the messages know) and high ones, nested messages in length-delimited
/// fields, strings valid and invalid, and now and then a wrong length.
enum RandomWire {
    static func message(depth: Int, using rng: inout SplitMix64) -> [UInt8] {
        var out: [UInt8] = []
        for _ in 0..<Int.random(in: 0...6, using: &rng) {
            let number =
                Int.random(in: 0..<8, using: &rng) == 0 ? Int.random(in: 1...1200, using: &rng) : Int.random(in: 1...20, using: &rng)
            let roll = Int.random(in: 0..<100, using: &rng)
            let wire: UInt64 = roll < 35 ? 0 : roll < 80 ? 2 : roll < 88 ? 1 : roll < 96 ? 5 : UInt64.random(in: 3...7, using: &rng)
            varint(UInt64(number) << 3 | wire, into: &out, using: &rng)
            switch wire {
            case 0:
                let value =
                    Int.random(in: 0..<4, using: &rng) == 0
                    ? UInt64.random(in: 0...UInt64.max, using: &rng) : UInt64.random(in: 0...300, using: &rng)
                varint(value, into: &out, using: &rng)
            case 1: out += (0..<8).map { _ in UInt8.random(in: 0...255, using: &rng) }
            case 5: out += (0..<4).map { _ in UInt8.random(in: 0...255, using: &rng) }
            case 2:
                let kind = Int.random(in: 0..<4, using: &rng)
                let body: [UInt8] =
                    kind < 2 && depth > 0
                    ? message(depth: depth - 1, using: &rng)
                    : kind == 2
                        ? Array("ok-\(Int.random(in: 0...99, using: &rng))".utf8)
                        : (0..<Int.random(in: 0...6, using: &rng)).map { _ in UInt8.random(in: 0...255, using: &rng) }
                let length = Int.random(in: 0..<40, using: &rng) == 0 ? body.count + Int.random(in: -2...2, using: &rng) : body.count
                varint(UInt64(max(0, length)), into: &out, using: &rng)
                out += body
            default: break
            }
        }
        return out
    }

    static func varint(_ value: UInt64, into out: inout [UInt8]) {
        var v = value
        while v >= 0x80 {
            out.append(UInt8(v & 0x7f) | 0x80)
            v >>= 7
        }
        out.append(UInt8(v))
    }

    /// Now and then a varint padded with continuation bytes (valid, not the shortest form).
    static func varint(_ value: UInt64, into out: inout [UInt8], using rng: inout SplitMix64) {
        guard Int.random(in: 0..<12, using: &rng) == 0 else { return varint(value, into: &out) }
        var v = value
        for _ in 0..<Int.random(in: 1...3, using: &rng) {
            out.append(UInt8(v & 0x7f) | 0x80)
            v >>= 7
        }
        varint(v, into: &out)
    }
}

/// A small seeded generator, so a failing round can be replayed.
struct SplitMix64: RandomNumberGenerator {
    var state: UInt64
    init(seed: UInt64) { state = seed }
    mutating func next() -> UInt64 {
        state &+= 0x9e37_79b9_7f4a_7c15
        var z = state
        z = (z ^ (z >> 30)) &* 0xbf58_476d_1ce4_e5b9
        z = (z ^ (z >> 27)) &* 0x94d0_49bb_1331_11eb
        return z ^ (z >> 31)
    }
}
