import Foundation
import SwiftProtobuf
import TemporalProto
import Testing

/// Encode → decode round trips of the messages the client and worker exchange most.
@Suite("Round trips")
struct RoundTripTests {
    @Test("StartWorkflowExecutionRequest keeps payloads, retry policy and durations")
    func startWorkflowExecutionRequest() throws {
        var retry = Temporal_Api_Common_V1_RetryPolicy()
        retry.initialInterval = Fixtures.duration(1)
        retry.backoffCoefficient = 2.0
        retry.maximumInterval = Fixtures.duration(100, nanos: 500_000_000)
        retry.maximumAttempts = 5
        retry.nonRetryableErrorTypes = ["ValueError", "LaunchpadNotFound"]

        var request = Temporal_Api_Workflowservice_V1_StartWorkflowExecutionRequest()
        request.namespace = "default"
        request.workflowID = "etl-flow-42"
        request.workflowType.name = "ETLFlow"
        request.taskQueue = Fixtures.taskQueue("launchpad")
        request.input = Fixtures.payloads(#"{"type":"LaunchpadQuery","args":{"member":"m0"}}"#, "10")
        request.workflowExecutionTimeout = Fixtures.duration(3600)
        request.workflowRunTimeout = Fixtures.duration(600)
        request.workflowTaskTimeout = Fixtures.duration(10)
        request.identity = "123@host"
        request.requestID = "8c1b6a1e-0000-4000-8000-000000000001"
        request.workflowIDReusePolicy = .allowDuplicateFailedOnly
        request.workflowIDConflictPolicy = .fail
        request.retryPolicy = retry
        request.memo.fields["owner"] = Fixtures.jsonPayload(#""etl""#)
        request.searchAttributes.indexedFields["CustomKeywordField"] = Fixtures.jsonPayload(#""x""#)
        request.header.fields["trace"] = Fixtures.jsonPayload("{}")
        request.userMetadata.summary = Fixtures.jsonPayload(#""nightly load""#)

        let decoded = try Fixtures.roundTrip(request)
        #expect(decoded == request)
        #expect(decoded.input.payloads.count == 2)
        #expect(decoded.input.payloads[1].data == Data("10".utf8))
        #expect(decoded.input.payloads[0].metadata["encoding"] == Data("json/plain".utf8))
        #expect(decoded.retryPolicy.maximumInterval.nanos == 500_000_000)
        #expect(decoded.retryPolicy.nonRetryableErrorTypes == ["ValueError", "LaunchpadNotFound"])
        #expect(decoded.workflowTaskTimeout.seconds == 10)
        #expect(decoded.hasWorkflowStartDelay == false)
        #expect(decoded.workflowIDConflictPolicy == .fail)
    }

    @Test("PollWorkflowTaskQueueResponse carries a history of several event types")
    func pollWorkflowTaskQueueResponse() throws {
        var started = Temporal_Api_History_V1_WorkflowExecutionStartedEventAttributes()
        started.workflowType.name = "MockFlow"
        started.taskQueue = Fixtures.taskQueue("launchpad")
        started.input = Fixtures.payloads(#"{"n":3}"#)
        started.workflowTaskTimeout = Fixtures.duration(10)
        started.originalExecutionRunID = "run-1"
        started.attempt = 1

        var scheduled = Temporal_Api_History_V1_WorkflowTaskScheduledEventAttributes()
        scheduled.taskQueue = Fixtures.taskQueue("launchpad")
        scheduled.startToCloseTimeout = Fixtures.duration(10)
        scheduled.attempt = 1

        var wftStarted = Temporal_Api_History_V1_WorkflowTaskStartedEventAttributes()
        wftStarted.scheduledEventID = 2
        wftStarted.identity = "worker"
        wftStarted.historySizeBytes = 512
        wftStarted.suggestContinueAsNewReasons = [.tooManyHistoryEvents]

        var completed = Temporal_Api_History_V1_WorkflowTaskCompletedEventAttributes()
        completed.scheduledEventID = 2
        completed.startedEventID = 3
        completed.sdkMetadata.sdkName = "temporal-swift-etl"
        completed.sdkMetadata.langUsedFlags = [1, 2]

        var activity = Temporal_Api_History_V1_ActivityTaskScheduledEventAttributes()
        activity.activityID = "1"
        activity.activityType.name = "extract"
        activity.taskQueue = Fixtures.taskQueue("launchpad")
        activity.startToCloseTimeout = Fixtures.duration(30)
        activity.workflowTaskCompletedEventID = 4

        var timer = Temporal_Api_History_V1_TimerStartedEventAttributes()
        timer.timerID = "2"
        timer.startToFireTimeout = Fixtures.duration(5)
        timer.workflowTaskCompletedEventID = 4

        var signaled = Temporal_Api_History_V1_WorkflowExecutionSignaledEventAttributes()
        signaled.signalName = "stop"
        signaled.input = Fixtures.payloads("true")

        var marker = Temporal_Api_History_V1_MarkerRecordedEventAttributes()
        marker.markerName = "core_patch"
        marker.details["patch_id"] = Fixtures.payloads(#""v2""#)

        var activityDone = Temporal_Api_History_V1_ActivityTaskCompletedEventAttributes()
        activityDone.result = Fixtures.payloads("42")
        activityDone.scheduledEventID = 5

        let events: [Temporal_Api_History_V1_HistoryEvent] = [
            Fixtures.event(1, .workflowExecutionStarted, .workflowExecutionStartedEventAttributes(started)),
            Fixtures.event(2, .workflowTaskScheduled, .workflowTaskScheduledEventAttributes(scheduled)),
            Fixtures.event(3, .workflowTaskStarted, .workflowTaskStartedEventAttributes(wftStarted)),
            Fixtures.event(4, .workflowTaskCompleted, .workflowTaskCompletedEventAttributes(completed)),
            Fixtures.event(5, .activityTaskScheduled, .activityTaskScheduledEventAttributes(activity)),
            Fixtures.event(6, .timerStarted, .timerStartedEventAttributes(timer)),
            Fixtures.event(7, .workflowExecutionSignaled, .workflowExecutionSignaledEventAttributes(signaled)),
            Fixtures.event(8, .markerRecorded, .markerRecordedEventAttributes(marker)),
            Fixtures.event(9, .activityTaskCompleted, .activityTaskCompletedEventAttributes(activityDone)),
        ]

        var response = Temporal_Api_Workflowservice_V1_PollWorkflowTaskQueueResponse()
        response.taskToken = Data([0xDE, 0xAD, 0xBE, 0xEF])
        response.workflowExecution = Fixtures.execution("mock-1", "run-1")
        response.workflowType.name = "MockFlow"
        response.previousStartedEventID = 3
        response.startedEventID = 9
        response.attempt = 1
        response.history.events = events
        response.nextPageToken = Data("page-2".utf8)
        response.workflowExecutionTaskQueue = Fixtures.taskQueue("launchpad")
        response.scheduledTime = Fixtures.timestamp(1_700_000_010)
        response.startedTime = Fixtures.timestamp(1_700_000_011, nanos: 250)
        var query = Temporal_Api_Query_V1_WorkflowQuery()
        query.queryType = "progress"
        response.queries["q1"] = query

        let decoded = try Fixtures.roundTrip(response)
        #expect(decoded == response)
        #expect(decoded.history.events.map(\.eventID) == Array(1...9))
        #expect(
            decoded.history.events.map(\.eventType) == [
                .workflowExecutionStarted, .workflowTaskScheduled, .workflowTaskStarted,
                .workflowTaskCompleted, .activityTaskScheduled, .timerStarted,
                .workflowExecutionSignaled, .markerRecorded, .activityTaskCompleted,
            ])
        guard case .workflowExecutionStartedEventAttributes(let first)? = decoded.history.events[0].attributes else {
            Issue.record("event 1 lost its started attributes")
            return
        }
        #expect(first.workflowType.name == "MockFlow")
        #expect(first.originalExecutionRunID == "run-1")
        #expect(
            decoded.history.events[2].workflowTaskStartedEventAttributes.suggestContinueAsNewReasons
                == [.tooManyHistoryEvents])
        #expect(decoded.history.events[7].markerRecordedEventAttributes.details["patch_id"]?.payloads.count == 1)
        #expect(
            decoded.history.events[8].activityTaskCompletedEventAttributes.result.payloads[0].data
                == Data("42".utf8))
        #expect(decoded.queries["q1"]?.queryType == "progress")
        #expect(decoded.hasQuery == false)
    }

    @Test("RespondWorkflowTaskCompletedRequest keeps commands in order")
    func respondWorkflowTaskCompletedRequest() throws {
        var schedule = Temporal_Api_Command_V1_ScheduleActivityTaskCommandAttributes()
        schedule.activityID = "1"
        schedule.activityType.name = "extract"
        schedule.taskQueue = Fixtures.taskQueue("launchpad")
        schedule.input = Fixtures.payloads(#"{"page":1}"#)
        schedule.startToCloseTimeout = Fixtures.duration(60)
        schedule.heartbeatTimeout = Fixtures.duration(10)
        schedule.retryPolicy.maximumAttempts = 3

        var timer = Temporal_Api_Command_V1_StartTimerCommandAttributes()
        timer.timerID = "2"
        timer.startToFireTimeout = Fixtures.duration(0, nanos: 250_000_000)

        var marker = Temporal_Api_Command_V1_RecordMarkerCommandAttributes()
        marker.markerName = "core_patch"
        marker.details["patch_id"] = Fixtures.payloads(#""v2""#)

        var complete = Temporal_Api_Command_V1_CompleteWorkflowExecutionCommandAttributes()
        complete.result = Fixtures.payloads(#"{"items_inserted":7}"#)

        var commands: [Temporal_Api_Command_V1_Command] = []
        var command = Temporal_Api_Command_V1_Command()
        command.commandType = .scheduleActivityTask
        command.scheduleActivityTaskCommandAttributes = schedule
        command.userMetadata.summary = Fixtures.jsonPayload(#""extract page 1""#)
        commands.append(command)

        command = Temporal_Api_Command_V1_Command()
        command.commandType = .startTimer
        command.startTimerCommandAttributes = timer
        commands.append(command)

        command = Temporal_Api_Command_V1_Command()
        command.commandType = .recordMarker
        command.recordMarkerCommandAttributes = marker
        commands.append(command)

        command = Temporal_Api_Command_V1_Command()
        command.commandType = .completeWorkflowExecution
        command.completeWorkflowExecutionCommandAttributes = complete
        commands.append(command)

        var request = Temporal_Api_Workflowservice_V1_RespondWorkflowTaskCompletedRequest()
        request.taskToken = Data([1, 2, 3])
        request.namespace = "default"
        request.identity = "123@host"
        request.commands = commands
        request.stickyAttributes.workerTaskQueue.name = "host:sticky-uuid"
        request.stickyAttributes.workerTaskQueue.kind = .sticky
        request.stickyAttributes.workerTaskQueue.normalName = "launchpad"
        request.stickyAttributes.scheduleToStartTimeout = Fixtures.duration(5)
        request.sdkMetadata.sdkName = "temporal-swift-etl"
        request.sdkMetadata.sdkVersion = "0.1.0"
        request.capabilities.discardSpeculativeWorkflowTaskWithEvents = true
        var answer = Temporal_Api_Query_V1_WorkflowQueryResult()
        answer.resultType = .answered
        answer.answer = Fixtures.payloads("3")
        request.queryResults["q1"] = answer

        let decoded = try Fixtures.roundTrip(request)
        #expect(decoded == request)
        #expect(
            decoded.commands.map(\.commandType) == [
                .scheduleActivityTask, .startTimer, .recordMarker, .completeWorkflowExecution,
            ])
        #expect(decoded.commands[0].scheduleActivityTaskCommandAttributes.heartbeatTimeout.seconds == 10)
        #expect(decoded.commands[1].startTimerCommandAttributes.startToFireTimeout.nanos == 250_000_000)
        #expect(decoded.commands[3].completeWorkflowExecutionCommandAttributes.result.payloads.count == 1)
        #expect(decoded.stickyAttributes.workerTaskQueue.kind == .sticky)
        #expect(decoded.queryResults["q1"]?.resultType == .answered)
        if case .startTimerCommandAttributes? = decoded.commands[0].attributes {
            Issue.record("command 0 decoded with the wrong attributes")
        }
    }

    @Test("A Failure chain keeps every level and its info variant")
    func failureChain() throws {
        var root = Temporal_Api_Failure_V1_Failure()
        root.message = "HTTP 404 from Launchpad"
        root.source = "SwiftSDK"
        root.stackTrace = "LaunchpadClient.fetch\nextract"
        root.applicationFailureInfo.type = "LaunchpadNotFound"
        root.applicationFailureInfo.nonRetryable = true
        root.applicationFailureInfo.details = Fixtures.payloads(#"{"status":404}"#)
        root.applicationFailureInfo.nextRetryDelay = Fixtures.duration(3)
        root.applicationFailureInfo.category = .benign

        var timeout = Temporal_Api_Failure_V1_Failure()
        timeout.message = "activity timeout"
        timeout.timeoutFailureInfo.timeoutType = .heartbeat
        timeout.timeoutFailureInfo.lastHeartbeatDetails = Fixtures.payloads("17")
        timeout.cause = root

        var activity = Temporal_Api_Failure_V1_Failure()
        activity.message = "activity error"
        activity.activityFailureInfo.scheduledEventID = 5
        activity.activityFailureInfo.startedEventID = 6
        activity.activityFailureInfo.activityType.name = "extract"
        activity.activityFailureInfo.activityID = "1"
        activity.activityFailureInfo.retryState = .maximumAttemptsReached
        activity.cause = timeout

        var child = Temporal_Api_Failure_V1_Failure()
        child.message = "child workflow error"
        child.childWorkflowExecutionFailureInfo.namespace = "default"
        child.childWorkflowExecutionFailureInfo.workflowExecution = Fixtures.execution("child", "run-c")
        child.childWorkflowExecutionFailureInfo.workflowType.name = "ETLFlow"
        child.childWorkflowExecutionFailureInfo.initiatedEventID = 12
        child.childWorkflowExecutionFailureInfo.retryState = .nonRetryableFailure
        child.cause = activity

        var attributes = Temporal_Api_Command_V1_FailWorkflowExecutionCommandAttributes()
        attributes.failure = child

        let decoded = try Fixtures.roundTrip(attributes).failure
        #expect(decoded == child)

        var chain: [String] = []
        var cursor: Temporal_Api_Failure_V1_Failure? = decoded
        while let failure = cursor {
            switch failure.failureInfo {
            case .childWorkflowExecutionFailureInfo(let info): chain.append("child:\(info.workflowType.name)")
            case .activityFailureInfo(let info): chain.append("activity:\(info.activityType.name)")
            case .timeoutFailureInfo(let info): chain.append("timeout:\(info.timeoutType)")
            case .applicationFailureInfo(let info): chain.append("application:\(info.type)")
            default: chain.append("other")
            }
            cursor = failure.hasCause ? failure.cause : nil
        }
        #expect(chain == ["child:ETLFlow", "activity:extract", "timeout:heartbeat", "application:LaunchpadNotFound"])
        let leaf = decoded.cause.cause.cause
        #expect(leaf.applicationFailureInfo.nonRetryable)
        #expect(leaf.applicationFailureInfo.category == .benign)
        #expect(leaf.applicationFailureInfo.nextRetryDelay.seconds == 3)
        #expect(leaf.hasCause == false)
    }

    @Test("google.rpc.Status packs Temporal error details in Any")
    func statusWithErrorDetails() throws {
        var detail = Temporal_Api_Errordetails_V1_WorkflowExecutionAlreadyStartedFailure()
        detail.startRequestID = "req-1"
        detail.runID = "run-9"

        var status = Google_Rpc_Status()
        status.code = 6  // ALREADY_EXISTS
        status.message = "Workflow execution is already running"
        status.details = [try Google_Protobuf_Any(message: detail)]

        let decoded = try Fixtures.roundTrip(status)
        #expect(decoded.details.count == 1)
        #expect(
            decoded.details[0].typeURL
                == "type.googleapis.com/temporal.api.errordetails.v1.WorkflowExecutionAlreadyStartedFailure")
        #expect(decoded.details[0].isA(Temporal_Api_Errordetails_V1_WorkflowExecutionAlreadyStartedFailure.self))
        let unpacked = try Temporal_Api_Errordetails_V1_WorkflowExecutionAlreadyStartedFailure(
            unpackingAny: decoded.details[0])
        #expect(unpacked.runID == "run-9")
    }
}
