import Temporal
import TemporalProto
import Testing

@testable import TemporalWorker

@Suite("Child workflow state machine")
struct ChildWorkflowStateMachineTests {
    @Test func childStartsAndCompletes() throws {
        var b = HistoryBuilder()
        let initiated = b.childInitiated(id: "c", type: "Doubler")
        let started = b.childStarted(initiated, id: "c", type: "Doubler", runID: "r1")
        b.childCompleted(initiated, started: started, id: "c", result: payloads(4))
        var m = ChildWorkflowStateMachine(workflowID: "c", workflowType: "Doubler")
        try m.initiated(eventID: initiated)
        #expect(m.state == .initiated)
        guard case .started(let runID) = try m.handle(b.events[1]) else {
            Issue.record("not started")
            return
        }
        #expect(runID == "r1")
        #expect(m.state == .started)
        guard case .completed(let p) = try m.handle(b.events[2]) else {
            Issue.record("not completed")
            return
        }
        #expect(try DataConverter.default.fromPayloads(p, as: Int.self) == 4)
        #expect(m.isResolved)
    }

    @Test func childFailureIsWrapped() throws {
        var b = HistoryBuilder()
        let initiated = b.childInitiated(id: "c", type: "FailingChild")
        let started = b.childStarted(initiated, id: "c", type: "FailingChild", runID: "r1")
        b.childFailed(initiated, started: started, id: "c", message: "boom", type: "Boom")
        var m = ChildWorkflowStateMachine(workflowID: "c", workflowType: "FailingChild", namespace: "default")
        try m.initiated(eventID: initiated)
        _ = try m.handle(b.events[1])
        guard case .failed(let f) = try m.handle(b.events[2]) else {
            Issue.record("not failed")
            return
        }
        #expect(m.state == .failed)
        #expect(f.childWorkflowExecutionFailureInfo.initiatedEventID == initiated)
        #expect(f.childWorkflowExecutionFailureInfo.startedEventID == started)
        let error = ChildWorkflowError(failure: f)
        #expect(error.workflowID == "c")
        #expect(error.runID == "r1")
        #expect(error.workflowType == "FailingChild")
        #expect(error.retryState == .nonRetryableFailure)
        #expect(error.applicationError?.type == "Boom")
        #expect(error.applicationError?.message == "boom")
        #expect((error.cause as? ApplicationError)?.type == "Boom")
    }

    @Test func startFailure() throws {
        var b = HistoryBuilder()
        let initiated = b.childInitiated(id: "taken", type: "Doubler")
        b.childStartFailed(initiated, id: "taken", type: "Doubler")
        var m = ChildWorkflowStateMachine(workflowID: "taken", workflowType: "Doubler")
        try m.initiated(eventID: initiated)
        guard case .startFailed(let cause) = try m.handle(b.events[1]) else {
            Issue.record("not startFailed")
            return
        }
        #expect(cause == .workflowAlreadyExists)
        #expect(m.state == .startFailed)
        #expect(m.isResolved)
        let error = ChildWorkflowStartError(workflowID: "taken", workflowType: "Doubler", cause: cause)
        #expect(error.description.contains("'taken'"))
        #expect(error.description.contains("already running"))
        #expect(error.failure.applicationFailureInfo.type == "ChildWorkflowStartError")
    }

    @Test func rejectsEventsOutOfOrder() throws {
        var b = HistoryBuilder()
        let initiated = b.childInitiated(id: "c", type: "Doubler")
        b.childCompleted(initiated, started: 0, id: "c", result: payloads(1))
        let started = b.childStarted(initiated, id: "c", type: "Doubler")
        var m = ChildWorkflowStateMachine(workflowID: "c", workflowType: "Doubler")
        #expect(throws: StateMachineError.self) { try m.handle(b.events[2]) }  // started before initiated
        try m.initiated(eventID: initiated)
        #expect(throws: StateMachineError.self) { try m.initiated(eventID: initiated) }
        #expect(throws: StateMachineError.self) { try m.handle(b.events[1]) }  // completed before started
        _ = try m.handle(b.events[2])
        #expect(started == 3)
        #expect(throws: StateMachineError.self) { try m.handle(b.events[2]) }  // started twice
    }

    @Test func cancelAfterStart() throws {
        var b = HistoryBuilder()
        let initiated = b.childInitiated(id: "c", type: "SleepLong")
        let started = b.childStarted(initiated, id: "c", type: "SleepLong")
        let cancel = b.cancelExternalInitiated(id: "c")
        b.externalCancelRequested(cancel, id: "c")
        b.childCanceled(initiated, started: started, id: "c")
        var m = ChildWorkflowStateMachine(workflowID: "c", workflowType: "SleepLong")
        try m.initiated(eventID: initiated)
        _ = try m.handle(b.events[1])
        let r1 = m.requestCancel()
        #expect(r1)
        let r2 = m.requestCancel()  // only once
        #expect(!r2)
        #expect(m.cancelState == .commandCreated)
        try m.cancelInitiated()
        try m.cancelOutcome(b.events[3])
        #expect(m.cancelState == .delivered)
        guard case .failed(let f) = try m.handle(b.events[4]) else {
            Issue.record("not canceled")
            return
        }
        #expect(m.state == .canceled)
        #expect((ChildWorkflowError(failure: f).cause as? TemporalError)?.kind == .workflowCanceled)
        // Not retried, as Go and Core say (it said CANCEL_REQUESTED).
        #expect(ChildWorkflowError(failure: f).retryState == .nonRetryableFailure)
    }

    /// The error names the run that ended, which the close event names (a retry or a
    /// continue-as-new of the child's first run); it named the first run.
    @Test func theErrorNamesTheRunThatEnded() throws {
        var b = HistoryBuilder()
        let initiated = b.childInitiated(id: "c", type: "FailingChild")
        let started = b.childStarted(initiated, id: "c", type: "FailingChild", runID: "r1")
        b.childFailed(initiated, started: started, id: "c", message: "boom", type: "Boom")
        b.events[2].childWorkflowExecutionFailedEventAttributes.workflowExecution.runID = "r3"
        var m = ChildWorkflowStateMachine(workflowID: "c", workflowType: "FailingChild", namespace: "default")
        try m.initiated(eventID: initiated)
        _ = try m.handle(b.events[1])
        guard case .failed(let f) = try m.handle(b.events[2]) else {
            Issue.record("not failed")
            return
        }
        #expect(ChildWorkflowError(failure: f).runID == "r3")
    }

    @Test func cancelBeforeStartIsDeferred() throws {
        var b = HistoryBuilder()
        let initiated = b.childInitiated(id: "c", type: "SleepLong")
        b.childStarted(initiated, id: "c", type: "SleepLong")
        var m = ChildWorkflowStateMachine(workflowID: "c", workflowType: "SleepLong")
        #expect(throws: StateMachineError.self) { try m.cancelInitiated() }
        try m.initiated(eventID: initiated)
        let r3 = m.requestCancel()
        #expect(!r3)
        #expect(m.cancelAfterStart)
        let r4 = m.takeDeferredCancel()  // not started yet
        #expect(!r4)
        _ = try m.handle(b.events[1])
        let r5 = m.takeDeferredCancel()
        #expect(r5)
        #expect(m.cancelState == .commandCreated)
        let r6 = m.takeDeferredCancel()
        #expect(!r6)
    }

    @Test func terminatedChild() throws {
        var b = HistoryBuilder()
        let initiated = b.childInitiated(id: "c", type: "SleepLong")
        let started = b.childStarted(initiated, id: "c", type: "SleepLong")
        b.childTerminated(initiated, started: started, id: "c")
        var m = ChildWorkflowStateMachine(workflowID: "c", workflowType: "SleepLong")
        try m.initiated(eventID: initiated)
        _ = try m.handle(b.events[1])
        guard case .failed(let f) = try m.handle(b.events[2]) else {
            Issue.record("not terminated")
            return
        }
        #expect(m.state == .terminated)
        #expect((ChildWorkflowError(failure: f).cause as? TemporalError)?.kind == .workflowTerminated)
        let r7 = m.requestCancel()  // closed: nothing to cancel
        #expect(!r7)
    }

    @Test func timedOutChild() throws {
        var b = HistoryBuilder()
        let initiated = b.childInitiated(id: "c", type: "SleepLong")
        let started = b.childStarted(initiated, id: "c", type: "SleepLong")
        b.add(.childWorkflowExecutionTimedOut) {
            var a = Temporal_Api_History_V1_ChildWorkflowExecutionTimedOutEventAttributes()
            a.initiatedEventID = initiated
            a.startedEventID = started
            a.retryState = .timeout
            $0.childWorkflowExecutionTimedOutEventAttributes = a
        }
        var m = ChildWorkflowStateMachine(workflowID: "c", workflowType: "SleepLong")
        try m.initiated(eventID: initiated)
        _ = try m.handle(b.events[1])
        guard case .failed(let f) = try m.handle(b.events[2]) else {
            Issue.record("not timed out")
            return
        }
        #expect(m.state == .timedOut)
        let error = ChildWorkflowError(failure: f)
        #expect(error.retryState == .timeout)
        #expect((error.cause as? TemporalError)?.kind == .workflowTimedOut)
        #expect(!error.isCancellation)
    }

    @Test func cancelRequestFailed() throws {
        var b = HistoryBuilder()
        let initiated = b.childInitiated(id: "c", type: "SleepLong")
        b.childStarted(initiated, id: "c", type: "SleepLong")
        let cancel = b.cancelExternalInitiated(id: "c")
        b.add(.requestCancelExternalWorkflowExecutionFailed) {
            var a = Temporal_Api_History_V1_RequestCancelExternalWorkflowExecutionFailedEventAttributes()
            a.initiatedEventID = cancel
            a.cause = .externalWorkflowExecutionNotFound
            $0.requestCancelExternalWorkflowExecutionFailedEventAttributes = a
        }
        var m = ChildWorkflowStateMachine(workflowID: "c", workflowType: "SleepLong")
        try m.initiated(eventID: initiated)
        _ = try m.handle(b.events[1])
        #expect(throws: StateMachineError.self) { try m.cancelOutcome(b.events[3]) }  // before its initiated event
        let send = m.requestCancel()
        #expect(send)
        try m.cancelInitiated()
        try m.cancelOutcome(b.events[3])
        #expect(m.cancelState == .failed)
        #expect(m.state == .started)  // the child runs on
        #expect(throws: StateMachineError.self) { try m.cancelOutcome(b.events[3]) }
    }

    @Test func abandonedBeforeSent() throws {
        var m = ChildWorkflowStateMachine(workflowID: "c", workflowType: "Doubler")
        try m.abandonBeforeSent()
        #expect(m.state == .abandoned)
        let r8 = m.requestCancel()
        #expect(!r8)
        #expect(throws: StateMachineError.self) { try m.initiated(eventID: 5) }
    }
}
