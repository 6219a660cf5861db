import Foundation
import SwiftProtobuf
import Temporal
import TemporalProto

@testable import TemporalWorker

/// Child workflow and external-cancel events, as the server writes them.
extension HistoryBuilder {
    @discardableResult
    mutating func childInitiated(id: String, type: String) -> Int64 {
        add(.startChildWorkflowExecutionInitiated) {
            var a = Temporal_Api_History_V1_StartChildWorkflowExecutionInitiatedEventAttributes()
            a.workflowID = id
            a.workflowType.name = type
            a.taskQueue.name = "tq"
            $0.startChildWorkflowExecutionInitiatedEventAttributes = a
        }
    }

    mutating func childStartFailed(
        _ initiated: Int64, id: String, type: String,
        cause: Temporal_Api_Enums_V1_StartChildWorkflowExecutionFailedCause = .workflowAlreadyExists
    ) {
        add(.startChildWorkflowExecutionFailed) {
            var a = Temporal_Api_History_V1_StartChildWorkflowExecutionFailedEventAttributes()
            a.initiatedEventID = initiated
            a.workflowID = id
            a.workflowType.name = type
            a.cause = cause
            $0.startChildWorkflowExecutionFailedEventAttributes = a
        }
    }

    @discardableResult
    mutating func childStarted(_ initiated: Int64, id: String, type: String, runID: String = "child-run") -> Int64 {
        add(.childWorkflowExecutionStarted) {
            var a = Temporal_Api_History_V1_ChildWorkflowExecutionStartedEventAttributes()
            a.initiatedEventID = initiated
            a.workflowExecution.workflowID = id
            a.workflowExecution.runID = runID
            a.workflowType.name = type
            $0.childWorkflowExecutionStartedEventAttributes = a
        }
    }

    mutating func childCompleted(_ initiated: Int64, started: Int64, id: String, result: Payloads) {
        add(.childWorkflowExecutionCompleted) {
            var a = Temporal_Api_History_V1_ChildWorkflowExecutionCompletedEventAttributes()
            a.initiatedEventID = initiated
            a.startedEventID = started
            a.workflowExecution.workflowID = id
            a.result = result
            $0.childWorkflowExecutionCompletedEventAttributes = a
        }
    }

    mutating func childFailed(_ initiated: Int64, started: Int64, id: String, message: String, type: String) {
        add(.childWorkflowExecutionFailed) {
            var a = Temporal_Api_History_V1_ChildWorkflowExecutionFailedEventAttributes()
            a.initiatedEventID = initiated
            a.startedEventID = started
            a.workflowExecution.workflowID = id
            var f = Failure()
            f.message = message
            var info = Temporal_Api_Failure_V1_ApplicationFailureInfo()
            info.type = type
            info.nonRetryable = true
            f.applicationFailureInfo = info
            a.failure = f
            a.retryState = .nonRetryableFailure
            $0.childWorkflowExecutionFailedEventAttributes = a
        }
    }

    mutating func childCanceled(_ initiated: Int64, started: Int64, id: String) {
        add(.childWorkflowExecutionCanceled) {
            var a = Temporal_Api_History_V1_ChildWorkflowExecutionCanceledEventAttributes()
            a.initiatedEventID = initiated
            a.startedEventID = started
            a.workflowExecution.workflowID = id
            $0.childWorkflowExecutionCanceledEventAttributes = a
        }
    }

    mutating func childTerminated(_ initiated: Int64, started: Int64, id: String) {
        add(.childWorkflowExecutionTerminated) {
            var a = Temporal_Api_History_V1_ChildWorkflowExecutionTerminatedEventAttributes()
            a.initiatedEventID = initiated
            a.startedEventID = started
            a.workflowExecution.workflowID = id
            $0.childWorkflowExecutionTerminatedEventAttributes = a
        }
    }

    @discardableResult
    mutating func cancelExternalInitiated(id: String) -> Int64 {
        add(.requestCancelExternalWorkflowExecutionInitiated) {
            var a = Temporal_Api_History_V1_RequestCancelExternalWorkflowExecutionInitiatedEventAttributes()
            a.workflowExecution.workflowID = id
            a.childWorkflowOnly = true
            $0.requestCancelExternalWorkflowExecutionInitiatedEventAttributes = a
        }
    }

    mutating func externalCancelRequested(_ initiated: Int64, id: String) {
        add(.externalWorkflowExecutionCancelRequested) {
            var a = Temporal_Api_History_V1_ExternalWorkflowExecutionCancelRequestedEventAttributes()
            a.initiatedEventID = initiated
            a.workflowExecution.workflowID = id
            $0.externalWorkflowExecutionCancelRequestedEventAttributes = a
        }
    }
}
