import Foundation
import SwiftProtobuf
import TemporalProto
import Testing

/// `specializedSerializedData()` against SwiftProtobuf's `serializedData()`: the same bytes for
/// realistic requests, for messages holding unknown fields, and for thousands of messages
/// decoded from random wire bytes.
@Suite("Specialized binary encoder")
struct SpecializedEncoderTests {
    typealias Completion = Temporal_Api_Workflowservice_V1_RespondWorkflowTaskCompletedRequest
    typealias Start = Temporal_Api_Workflowservice_V1_StartWorkflowExecutionRequest
    typealias WorkflowPoll = Temporal_Api_Workflowservice_V1_PollWorkflowTaskQueueRequest
    typealias ActivityPoll = Temporal_Api_Workflowservice_V1_PollActivityTaskQueueRequest
    typealias ActivityCompletion = Temporal_Api_Workflowservice_V1_RespondActivityTaskCompletedRequest

    @Test("a realistic workflow task completion: the same bytes")
    func realisticCompletion() throws {
        let request = Self.realisticCompletion()
        #expect(try request.specializedSerializedData() == request.serializedData())
        #expect(try Completion(serializedBytes: request.specializedSerializedData()) == request)
    }

    @Test("small requests, empty ones and negative numbers: the same bytes")
    func smallRequests() throws {
        var poll = WorkflowPoll()
        #expect(try poll.specializedSerializedData() == poll.serializedData())
        #expect(try poll.specializedSerializedData().isEmpty)
        poll.namespace = "default"
        poll.taskQueue = Fixtures.taskQueue("bench")
        poll.identity = "42@host"
        #expect(try poll.specializedSerializedData() == poll.serializedData())

        var activityPoll = ActivityPoll()
        activityPoll.namespace = "default"
        activityPoll.taskQueueMetadata.maxTasksPerSecond.value = 2.5
        #expect(try activityPoll.specializedSerializedData() == activityPoll.serializedData())

        var done = ActivityCompletion()
        done.taskToken = Data([0, 1, 2, 255])
        done.result = Fixtures.payloads("-1", #""é""#)
        #expect(try done.specializedSerializedData() == done.serializedData())

        var start = Start()
        start.workflowID = "w"
        start.input = Fixtures.payloads("[]")
        start.memo.fields["note"] = Fixtures.jsonPayload(#""x""#)
        start.searchAttributes.indexedFields["CustomInt"] = Fixtures.jsonPayload("-7")
        start.header.fields["a"] = Fixtures.jsonPayload("1")
        start.header.fields["b"] = Temporal_Api_Common_V1_Payload()  // an empty map value
        start.retryPolicy.maximumAttempts = -1  // a negative int32: ten bytes
        start.workflowIDReusePolicy = .rejectDuplicate
        start.requestEagerExecution = true
        #expect(try start.specializedSerializedData() == start.serializedData())
    }

    @Test("unknown fields are written back as they came")
    func unknownFields() throws {
        let extra: [UInt8] = [0xb8, 0x3e, 0x2a, 0xca, 0x3e, 3, 0x61, 0x62, 0x63]  // fields 999 and 1001
        var request = Self.realisticCompletion()
        let command: [UInt8] = try request.commands[0].serializedBytes()
        request.commands[0] = try Temporal_Api_Command_V1_Command(serializedBytes: command + extra)
        let root = try Completion(serializedBytes: try request.serializedData() + Data(extra))
        #expect(root.unknownFields.data == Data(extra))
        #expect(try root.specializedSerializedData() == root.serializedData())
    }

    @Test("messages decoded from random wire bytes: the same bytes")
    func randomMessages() throws {
        var rng = SplitMix64(seed: 0x5eed_0003)
        var compared = 0
        for round in 0..<3000 {
            let data = Data(RandomWire.message(depth: 4, using: &rng))
            if let request = try? Completion(serializedBytes: data) {
                #expect(try request.specializedSerializedData() == request.serializedData(), "round \(round)")
                compared += 1
            }
            if let request = try? Start(serializedBytes: data) {
                #expect(try request.specializedSerializedData() == request.serializedData(), "round \(round)")
                compared += 1
            }
        }
        #expect(compared > 500)
    }

    /// A completion as the worker sends it: commands with payloads, headers, durations, retry
    /// policies; query results; sticky attributes; SDK metadata with packed flags.
    static func realisticCompletion() -> Completion {
        var schedule = Temporal_Api_Command_V1_ScheduleActivityTaskCommandAttributes()
        schedule.activityID = "3"
        schedule.activityType.name = "bench_load"
        schedule.taskQueue = Fixtures.taskQueue("bench")
        schedule.header.fields["trace"] = Fixtures.jsonPayload(#""abc""#)
        schedule.input = Fixtures.payloads(#"[{"id":"e-0","employee_id":"m","type":"bug:created"}]"#)
        schedule.startToCloseTimeout = Fixtures.duration(30)
        schedule.retryPolicy.maximumAttempts = 5
        schedule.retryPolicy.backoffCoefficient = 2
        schedule.retryPolicy.nonRetryableErrorTypes = ["Fatal", "Bad"]
        schedule.requestEagerExecution = true
        var scheduleCommand = Temporal_Api_Command_V1_Command()
        scheduleCommand.commandType = .scheduleActivityTask
        scheduleCommand.scheduleActivityTaskCommandAttributes = schedule

        var complete = Temporal_Api_Command_V1_CompleteWorkflowExecutionCommandAttributes()
        complete.result = Fixtures.payloads(#"{"member":"m","items_processed":3,"items_inserted":3}"#)
        var completeCommand = Temporal_Api_Command_V1_Command()
        completeCommand.commandType = .completeWorkflowExecution
        completeCommand.completeWorkflowExecutionCommandAttributes = complete

        var request = Completion()
        request.taskToken = Data((0..<40).map { UInt8($0 * 7 % 256) })
        request.namespace = "default"
        request.identity = "4242@bench-host"
        request.commands = [scheduleCommand, completeCommand]
        var answer = Temporal_Api_Query_V1_WorkflowQueryResult()
        answer.resultType = .answered
        answer.answer = Fixtures.payloads("3")
        request.queryResults["state"] = answer
        request.queryResults["empty"] = Temporal_Api_Query_V1_WorkflowQueryResult()
        request.stickyAttributes.workerTaskQueue = Fixtures.taskQueue("bench-sticky-1")
        request.stickyAttributes.scheduleToStartTimeout = Fixtures.duration(10)
        request.returnNewWorkflowTask = true
        request.sdkMetadata.langUsedFlags = [1, 2, 300, 70_000]
        request.sdkMetadata.sdkName = "temporal-swift"
        request.sdkMetadata.sdkVersion = "0.1.0"
        return request
    }
}
