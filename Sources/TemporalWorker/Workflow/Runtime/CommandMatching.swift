import Temporal
public import TemporalProto

/// A command sent (or to be sent) to the server.
public typealias Command = Temporal_Api_Command_V1_Command

extension HistoryEvent {
    /// Whether this event is the dual of a command a workflow sends (sdk-go `isCommandEvent`).
    var isCommandEvent: Bool {
        switch eventType {
        case .workflowExecutionCompleted, .workflowExecutionFailed, .workflowExecutionCanceled,
            .workflowExecutionContinuedAsNew, .activityTaskScheduled, .activityTaskCancelRequested,
            .timerStarted, .timerCanceled, .markerRecorded, .startChildWorkflowExecutionInitiated,
            .requestCancelExternalWorkflowExecutionInitiated, .signalExternalWorkflowExecutionInitiated,
            .upsertWorkflowSearchAttributes, .workflowPropertiesModified,
            .workflowExecutionUpdateAccepted, .workflowExecutionUpdateCompleted:
            return true
        default:
            return false
        }
    }

    /// A short description naming the event and its key, for nondeterminism messages.
    var summary: String {
        switch attributes {
        case .activityTaskScheduledEventAttributes(let a)?:
            return "ActivityTaskScheduled(activityId: \(a.activityID), activityType: \(a.activityType.name))"
        case .activityTaskCancelRequestedEventAttributes(let a)?:
            return "ActivityTaskCancelRequested(scheduledEventId: \(a.scheduledEventID))"
        case .timerStartedEventAttributes(let a)?:
            return "TimerStarted(timerId: \(a.timerID))"
        case .timerCanceledEventAttributes(let a)?:
            return "TimerCanceled(timerId: \(a.timerID))"
        case .signalExternalWorkflowExecutionInitiatedEventAttributes(let a)?:
            return "SignalExternalWorkflowExecutionInitiated(workflowId: \(a.workflowExecution.workflowID), signal: \(a.signalName))"
        case .startChildWorkflowExecutionInitiatedEventAttributes(let a)?:
            return "StartChildWorkflowExecutionInitiated(workflowId: \(a.workflowID), workflowType: \(a.workflowType.name))"
        case .requestCancelExternalWorkflowExecutionInitiatedEventAttributes(let a)?:
            return "RequestCancelExternalWorkflowExecutionInitiated(workflowId: \(a.workflowExecution.workflowID))"
        case .workflowExecutionUpdateAcceptedEventAttributes(let a)?:
            return "WorkflowExecutionUpdateAccepted(updateId: \(a.protocolInstanceID), name: \(a.acceptedRequest.input.name))"
        case .workflowExecutionUpdateCompletedEventAttributes(let a)?:
            return "WorkflowExecutionUpdateCompleted(updateId: \(a.meta.updateID))"
        case .markerRecordedEventAttributes(let a)?:
            return "MarkerRecorded(markerName: \(a.markerName)\(PatchMarkerStateMachine.patchID(of: self).map { ", patch: \($0)" } ?? ""))"
        default:
            return "\(eventType)"
        }
    }
}

extension Command {
    /// A short description naming the command and its key, for nondeterminism messages.
    var summary: String {
        switch attributes {
        case .scheduleActivityTaskCommandAttributes(let a)?:
            return "ScheduleActivityTask(activityId: \(a.activityID), activityType: \(a.activityType.name))"
        case .requestCancelActivityTaskCommandAttributes(let a)?:
            return "RequestCancelActivityTask(scheduledEventId: \(a.scheduledEventID))"
        case .startTimerCommandAttributes(let a)?:
            return "StartTimer(timerId: \(a.timerID))"
        case .cancelTimerCommandAttributes(let a)?:
            return "CancelTimer(timerId: \(a.timerID))"
        case .recordMarkerCommandAttributes(let a)?:
            return "RecordMarker(markerName: \(a.markerName))"
        case .signalExternalWorkflowExecutionCommandAttributes(let a)?:
            return "SignalExternalWorkflowExecution(workflowId: \(a.execution.workflowID), signal: \(a.signalName))"
        case .startChildWorkflowExecutionCommandAttributes(let a)?:
            return "StartChildWorkflowExecution(workflowId: \(a.workflowID), workflowType: \(a.workflowType.name))"
        case .requestCancelExternalWorkflowExecutionCommandAttributes(let a)?:
            return "RequestCancelExternalWorkflowExecution(workflowId: \(a.workflowID))"
        case .protocolMessageCommandAttributes(let a)?:
            return "ProtocolMessage(messageId: \(a.messageID))"
        default:
            return "\(commandType)"
        }
    }

    /// Whether `event` is this command's dual in history, comparing the attributes sdk-go compares
    /// (`isCommandMatchEvent`): ids and types, not inputs or timeouts.
    func matches(_ event: HistoryEvent) -> Bool {
        switch (attributes, event.attributes) {
        case (.scheduleActivityTaskCommandAttributes(let c)?, .activityTaskScheduledEventAttributes(let e)?):
            return c.activityID == e.activityID && c.activityType.name == e.activityType.name
        case (.requestCancelActivityTaskCommandAttributes(let c)?, .activityTaskCancelRequestedEventAttributes(let e)?):
            return c.scheduledEventID == e.scheduledEventID
        case (.startTimerCommandAttributes(let c)?, .timerStartedEventAttributes(let e)?):
            return c.timerID == e.timerID
        case (.cancelTimerCommandAttributes(let c)?, .timerCanceledEventAttributes(let e)?):
            return c.timerID == e.timerID
        case (.recordMarkerCommandAttributes(let c)?, .markerRecordedEventAttributes(let e)?):
            return c.markerName == e.markerName
        case (.signalExternalWorkflowExecutionCommandAttributes(let c)?, .signalExternalWorkflowExecutionInitiatedEventAttributes(let e)?):
            return c.signalName == e.signalName && c.execution.workflowID == e.workflowExecution.workflowID
        case (.startChildWorkflowExecutionCommandAttributes(let c)?, .startChildWorkflowExecutionInitiatedEventAttributes(let e)?):
            return c.workflowID == e.workflowID && c.workflowType.name == e.workflowType.name
        case (
            .requestCancelExternalWorkflowExecutionCommandAttributes(let c)?,
            .requestCancelExternalWorkflowExecutionInitiatedEventAttributes(let e)?
        ):
            return c.workflowID == e.workflowExecution.workflowID
        case (.upsertWorkflowSearchAttributesCommandAttributes?, .upsertWorkflowSearchAttributesEventAttributes?),
            (.modifyWorkflowPropertiesCommandAttributes?, .workflowPropertiesModifiedEventAttributes?):
            return true
        case (.protocolMessageCommandAttributes(let c)?, .workflowExecutionUpdateAcceptedEventAttributes?):
            return c.messageID.hasSuffix("/accept")  // which update: checked against the command's key
        case (.protocolMessageCommandAttributes(let c)?, .workflowExecutionUpdateCompletedEventAttributes?):
            return c.messageID.hasSuffix("/complete")
        case (.completeWorkflowExecutionCommandAttributes?, .workflowExecutionCompletedEventAttributes?),
            (.failWorkflowExecutionCommandAttributes?, .workflowExecutionFailedEventAttributes?),
            (.cancelWorkflowExecutionCommandAttributes?, .workflowExecutionCanceledEventAttributes?),
            (.continueAsNewWorkflowExecutionCommandAttributes?, .workflowExecutionContinuedAsNewEventAttributes?):
            return true
        default:
            return false
        }
    }
}
