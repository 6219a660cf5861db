import Foundation
import Temporal
import TemporalProto
import Testing

@testable import TemporalWorker

@Suite("State machines")
struct StateMachineTests {
    /// A patch id with control characters (a tab, a newline) makes a marker that decodes: it
    /// was written raw, the marker did not decode on replay, and the run failed every replay as
    /// nondeterministic. An ordinary id's marker keeps its bytes.
    @Test func patchMarkersHoldAnyIdAsJSON() throws {
        func marker(_ id: String) -> Payload {
            PatchMarkerStateMachine(patchID: id).command().recordMarkerCommandAttributes.details["patch_data"]?.payloads.first ?? Payload()
        }
        #expect(String(decoding: marker("fix-42").data, as: UTF8.self) == #"{"deprecated":false,"id":"fix-42"}"#)
        for id in ["fix\tA", "line\nbreak", "quote\" and \\ slash", "bell\u{7}"] {
            var event = HistoryEvent()
            event.eventType = .markerRecorded
            var attributes = Temporal_Api_History_V1_MarkerRecordedEventAttributes()
            attributes.markerName = PatchMarkerStateMachine.markerName
            var details = Payloads()
            details.payloads = [marker(id)]
            attributes.details["patch_data"] = details
            event.markerRecordedEventAttributes = attributes
            #expect(PatchMarkerStateMachine.patchID(of: event) == id, "\(id.debugDescription)")
        }
        // Written before control characters were escaped: raw inside the string.
        for (id, deprecated) in [("fix\tA", false), ("line\nbreak", true)] {
            var event = HistoryEvent()
            event.eventType = .markerRecorded
            var attributes = Temporal_Api_History_V1_MarkerRecordedEventAttributes()
            attributes.markerName = PatchMarkerStateMachine.markerName
            var payload = Payload()
            payload.data = Data(#"{"deprecated":\#(deprecated),"id":"\#(id)"}"#.utf8)
            var details = Payloads()
            details.payloads = [payload]
            attributes.details["patch_data"] = details
            event.markerRecordedEventAttributes = attributes
            #expect(PatchMarkerStateMachine.patchID(of: event) == id, "\(id.debugDescription)")
            #expect(PatchMarkerStateMachine.isDeprecated(event) == deprecated)
        }
    }

    @Test func activityCompletes() throws {
        var b = HistoryBuilder()
        let scheduled = b.activityScheduled(id: "1", type: "a")
        let started = b.activityStarted(scheduled)
        b.activityCompleted(scheduled, started: started, result: payloads("ok"))
        var m = ActivityStateMachine(activityID: "1", activityType: "a")
        try m.scheduled(eventID: scheduled)
        #expect(m.state == .scheduled)
        #expect(try m.handle(b.events[1]) == nil)
        #expect(m.state == .started)
        guard case .completed(let p)? = try m.handle(b.events[2]) else {
            Issue.record("not completed")
            return
        }
        #expect(try DataConverter.default.fromPayloads(p, as: String.self) == "ok")
        #expect(m.isResolved)
    }

    @Test func activityFailureIsWrapped() throws {
        var b = HistoryBuilder()
        let scheduled = b.activityScheduled(id: "7", type: "a")
        let started = b.activityStarted(scheduled)
        b.activityFailed(scheduled, started: started, message: "boom", type: "Boom")
        var m = ActivityStateMachine(activityID: "7", activityType: "a")
        try m.scheduled(eventID: scheduled)
        _ = try m.handle(b.events[1])
        guard case .failed(let f)? = try m.handle(b.events[2]) else {
            Issue.record("not failed")
            return
        }
        #expect(f.activityFailureInfo.activityID == "7")
        #expect(f.activityFailureInfo.scheduledEventID == scheduled)
        #expect(f.cause.applicationFailureInfo.type == "Boom")
        #expect(ActivityError(failure: f).applicationError?.type == "Boom")
    }

    @Test func activityRejectsEventsOutOfOrder() throws {
        var b = HistoryBuilder()
        let scheduled = b.activityScheduled(id: "1", type: "a")
        b.activityCompleted(scheduled, started: 0, result: payloads(1))
        var m = ActivityStateMachine(activityID: "1", activityType: "a")
        #expect(throws: StateMachineError.self) { try m.handle(b.events[1]) }
        try m.scheduled(eventID: scheduled)
        #expect(throws: StateMachineError.self) { try m.scheduled(eventID: scheduled) }
    }

    @Test func activityCancelThenCanceled() throws {
        var b = HistoryBuilder()
        let scheduled = b.activityScheduled(id: "1", type: "a")
        b.activityCancelRequested(scheduled)
        b.activityCanceled(scheduled)
        var m = ActivityStateMachine(activityID: "1", activityType: "a")
        try m.scheduled(eventID: scheduled)
        try m.cancelRecorded()
        #expect(m.cancelRequested)
        guard case .canceled? = try m.handle(b.events[2]) else {
            Issue.record("not canceled")
            return
        }
        #expect(m.state == .canceled)
    }

    @Test func activityAbandonedBeforeSent() throws {
        var m = ActivityStateMachine(activityID: "1", activityType: "a")
        try m.abandonBeforeSent()
        #expect(m.state == .abandoned)
        #expect(throws: StateMachineError.self) { try m.scheduled(eventID: 5) }
    }

    @Test func timerFires() throws {
        var m = TimerStateMachine(timerID: "1")
        try m.started(eventID: 5)
        try m.fired()
        #expect(m.state == .fired)
        #expect(throws: StateMachineError.self) { try m.fired() }
    }

    @Test func timerCancelledBeforeSentNeedsNoCommand() throws {
        var m = TimerStateMachine(timerID: "1")
        #expect(try m.cancel() == false)
        #expect(m.state == .abandoned)
    }

    @Test func timerCancelledAfterStart() throws {
        var m = TimerStateMachine(timerID: "1")
        try m.started(eventID: 5)
        #expect(try m.cancel() == true)
        try m.canceled()
        #expect(m.state == .canceled)
        #expect(throws: StateMachineError.self) { try m.fired() }
    }

    @Test func patchMarkerRoundTrip() throws {
        var b = HistoryBuilder()
        b.marker(patch: "v2")
        #expect(PatchMarkerStateMachine.patchID(of: b.events[0]) == "v2")
        var m = PatchMarkerStateMachine(patchID: "v2")
        try m.recorded(b.events[0])
        #expect(m.state == .recorded)
        var other = PatchMarkerStateMachine(patchID: "v3")
        #expect(throws: StateMachineError.self) { try other.recorded(b.events[0]) }
    }

    @Test func signalExternalSignaledOrFailed() throws {
        var ok = SignalExternalStateMachine(workflowID: "w", signalName: "s")
        try ok.initiated(eventID: 5)
        var signaled = HistoryEvent()
        signaled.eventType = .externalWorkflowExecutionSignaled
        signaled.externalWorkflowExecutionSignaledEventAttributes.initiatedEventID = 5
        let first = try ok.handle(signaled)
        #expect(first == .signaled)
        #expect(throws: StateMachineError.self) { try ok.handle(signaled) }

        var bad = SignalExternalStateMachine(workflowID: "w", signalName: "s")
        try bad.initiated(eventID: 5)
        var failed = HistoryEvent()
        failed.eventType = .signalExternalWorkflowExecutionFailed
        failed.signalExternalWorkflowExecutionFailedEventAttributes.cause = .externalWorkflowExecutionNotFound
        let outcome = try bad.handle(failed)
        #expect(outcome == .failed(.externalWorkflowExecutionNotFound))

        var early = SignalExternalStateMachine(workflowID: "w", signalName: "s")
        let dropped = early.cancelBeforeSent()
        #expect(dropped)
        #expect(throws: StateMachineError.self) { try early.initiated(eventID: 5) }
    }

    @Test func deterministicRandomIsStable() {
        var a = DeterministicRandom(seed: "run-1")
        var b = DeterministicRandom(seed: "run-1")
        #expect(a.next() == b.next())
        #expect(a.uuid() == b.uuid())
        var c = DeterministicRandom(seed: "run-2")
        #expect(a.next() != c.next())
    }
}
