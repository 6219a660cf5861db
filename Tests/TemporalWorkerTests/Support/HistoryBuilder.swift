import Foundation
import Logging
import SwiftProtobuf
import Temporal
import TemporalProto

@testable import TemporalWorker

/// Builds histories by hand for pure replay and state-machine tests.
struct HistoryBuilder {
    var events: [HistoryEvent] = []
    var time = Date(timeIntervalSince1970: 1_700_000_000)

    var lastID: Int64 { Int64(events.count) }

    @discardableResult
    mutating func add(_ type: Temporal_Api_Enums_V1_EventType, _ configure: (inout HistoryEvent) -> Void = { _ in }) -> Int64 {
        var e = HistoryEvent()
        e.eventID = lastID + 1
        e.eventType = type
        time = time.addingTimeInterval(0.01)
        e.eventTime = Google_Protobuf_Timestamp(date: time)
        configure(&e)
        events.append(e)
        return e.eventID
    }

    mutating func started(_ workflowType: String, input: Payloads? = nil, taskQueue: String = "tq") {
        add(.workflowExecutionStarted) {
            var a = Temporal_Api_History_V1_WorkflowExecutionStartedEventAttributes()
            a.workflowType.name = workflowType
            a.taskQueue.name = taskQueue
            if let input { a.input = input }
            a.originalExecutionRunID = "run-1"
            a.attempt = 1
            $0.workflowExecutionStartedEventAttributes = a
        }
    }

    /// WorkflowTaskScheduled + WorkflowTaskStarted; returns the started id.
    @discardableResult
    mutating func workflowTaskStarted() -> Int64 {
        let scheduled = add(.workflowTaskScheduled) { $0.workflowTaskScheduledEventAttributes = .init() }
        return add(.workflowTaskStarted) {
            var a = Temporal_Api_History_V1_WorkflowTaskStartedEventAttributes()
            a.scheduledEventID = scheduled
            $0.workflowTaskStartedEventAttributes = a
        }
    }

    mutating func workflowTaskCompleted(flags: [UInt32] = []) {
        let started = lastID
        add(.workflowTaskCompleted) {
            var a = Temporal_Api_History_V1_WorkflowTaskCompletedEventAttributes()
            a.startedEventID = started
            a.scheduledEventID = started - 1
            a.sdkMetadata.langUsedFlags = flags
            $0.workflowTaskCompletedEventAttributes = a
        }
    }

    /// Scheduled + started + completed workflow task.
    mutating func workflowTask() {
        workflowTaskStarted()
        workflowTaskCompleted()
    }

    mutating func workflowTaskFailed(resetTo newRunID: String? = nil) {
        let started = lastID
        add(.workflowTaskFailed) {
            var a = Temporal_Api_History_V1_WorkflowTaskFailedEventAttributes()
            a.startedEventID = started
            a.scheduledEventID = started - 1
            a.cause = newRunID == nil ? .workflowWorkerUnhandledFailure : .resetWorkflow
            if let newRunID { a.newRunID = newRunID }
            $0.workflowTaskFailedEventAttributes = a
        }
    }

    @discardableResult
    mutating func activityScheduled(id: String, type: String) -> Int64 {
        add(.activityTaskScheduled) {
            var a = Temporal_Api_History_V1_ActivityTaskScheduledEventAttributes()
            a.activityID = id
            a.activityType.name = type
            $0.activityTaskScheduledEventAttributes = a
        }
    }

    @discardableResult
    mutating func activityStarted(_ scheduled: Int64) -> Int64 {
        add(.activityTaskStarted) {
            var a = Temporal_Api_History_V1_ActivityTaskStartedEventAttributes()
            a.scheduledEventID = scheduled
            a.attempt = 1
            $0.activityTaskStartedEventAttributes = a
        }
    }

    mutating func activityCompleted(_ scheduled: Int64, started: Int64, result: Payloads) {
        add(.activityTaskCompleted) {
            var a = Temporal_Api_History_V1_ActivityTaskCompletedEventAttributes()
            a.scheduledEventID = scheduled
            a.startedEventID = started
            a.result = result
            $0.activityTaskCompletedEventAttributes = a
        }
    }

    mutating func activityFailed(_ scheduled: Int64, started: Int64, message: String, type: String) {
        add(.activityTaskFailed) {
            var a = Temporal_Api_History_V1_ActivityTaskFailedEventAttributes()
            a.scheduledEventID = scheduled
            a.startedEventID = started
            var f = Failure()
            f.message = message
            var info = Temporal_Api_Failure_V1_ApplicationFailureInfo()
            info.type = type
            info.nonRetryable = true
            f.applicationFailureInfo = info
            a.failure = f
            a.retryState = .nonRetryableFailure
            $0.activityTaskFailedEventAttributes = a
        }
    }

    mutating func activityCancelRequested(_ scheduled: Int64) {
        add(.activityTaskCancelRequested) {
            var a = Temporal_Api_History_V1_ActivityTaskCancelRequestedEventAttributes()
            a.scheduledEventID = scheduled
            $0.activityTaskCancelRequestedEventAttributes = a
        }
    }

    mutating func activityCanceled(_ scheduled: Int64) {
        add(.activityTaskCanceled) {
            var a = Temporal_Api_History_V1_ActivityTaskCanceledEventAttributes()
            a.scheduledEventID = scheduled
            $0.activityTaskCanceledEventAttributes = a
        }
    }

    @discardableResult
    mutating func timerStarted(_ id: String, seconds: Int64 = 1) -> Int64 {
        add(.timerStarted) {
            var a = Temporal_Api_History_V1_TimerStartedEventAttributes()
            a.timerID = id
            a.startToFireTimeout = Google_Protobuf_Duration(seconds: seconds, nanos: 0)
            $0.timerStartedEventAttributes = a
        }
    }

    mutating func timerFired(_ id: String, started: Int64) {
        add(.timerFired) {
            var a = Temporal_Api_History_V1_TimerFiredEventAttributes()
            a.timerID = id
            a.startedEventID = started
            $0.timerFiredEventAttributes = a
        }
    }

    mutating func timerCanceled(_ id: String, started: Int64) {
        add(.timerCanceled) {
            var a = Temporal_Api_History_V1_TimerCanceledEventAttributes()
            a.timerID = id
            a.startedEventID = started
            $0.timerCanceledEventAttributes = a
        }
    }

    mutating func signaled(_ name: String, _ input: Payloads? = nil) {
        add(.workflowExecutionSignaled) {
            var a = Temporal_Api_History_V1_WorkflowExecutionSignaledEventAttributes()
            a.signalName = name
            if let input { a.input = input }
            $0.workflowExecutionSignaledEventAttributes = a
        }
    }

    mutating func cancelRequested() {
        add(.workflowExecutionCancelRequested) {
            $0.workflowExecutionCancelRequestedEventAttributes = .init()
        }
    }

    mutating func marker(patch id: String, deprecated: Bool = false) {
        let command = PatchMarkerStateMachine(patchID: id, deprecated: deprecated).command().recordMarkerCommandAttributes
        add(.markerRecorded) {
            var a = Temporal_Api_History_V1_MarkerRecordedEventAttributes()
            a.markerName = command.markerName
            a.details = command.details
            $0.markerRecordedEventAttributes = a
        }
    }

    /// A `core_patch` marker in the shape earlier Core releases wrote: `patch_id` (the id's
    /// bytes) and `deprecated` (one byte).
    mutating func coreLegacyMarker(patch id: String, deprecated: Bool = false) {
        add(.markerRecorded) {
            var a = Temporal_Api_History_V1_MarkerRecordedEventAttributes()
            a.markerName = PatchMarkerStateMachine.markerName
            var idPayload = Payload()
            idPayload.data = Data(id.utf8)
            var flag = Payload()
            flag.data = Data([deprecated ? 1 : 0])
            a.details = ["patch_id": Payloads.with { $0.payloads = [idPayload] }, "deprecated": Payloads.with { $0.payloads = [flag] }]
            $0.markerRecordedEventAttributes = a
        }
    }

    mutating func completed(_ result: Payloads = Payloads()) {
        add(.workflowExecutionCompleted) {
            var a = Temporal_Api_History_V1_WorkflowExecutionCompletedEventAttributes()
            a.result = result
            $0.workflowExecutionCompletedEventAttributes = a
        }
    }

    mutating func failed() {
        add(.workflowExecutionFailed) {
            $0.workflowExecutionFailedEventAttributes = .init()
        }
    }

    mutating func canceled() {
        add(.workflowExecutionCanceled) {
            $0.workflowExecutionCanceledEventAttributes = .init()
        }
    }
}

func payloads<T: Encodable>(_ value: T) -> Payloads {
    (try? DataConverter.default.toPayloads(value)) ?? Payloads()
}

/// A fresh run of `W` for driving by hand (logging to `logger`).
func makeRun<W: Workflow>(
    _ type: W.Type, taskQueue: String = "tq", workflowID: String = "wf", logger: Logger = .init(label: "test")
) -> WorkflowRun {
    let info = WorkflowInfo(
        namespace: "default", workflowID: workflowID, runID: "run-1", workflowType: W.name, taskQueue: taskQueue,
        attempt: 1, continuedRunID: nil, firstExecutionRunID: "run-1", originalExecutionRunID: "run-1")
    return WorkflowRun(definition: WorkflowDefinition(type), info: info, converter: .default, logger: logger)
}
