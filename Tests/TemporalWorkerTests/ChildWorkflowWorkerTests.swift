import Foundation
import Synchronization
import Temporal
import TemporalProto
import TemporalTestSupport
import Testing

@testable import TemporalWorker

/// The most children of a run open at once, read from its history (initiated → closed).
func maxOpenChildren(_ events: [HistoryEvent]) -> (max: Int, initiated: Int) {
    var open = 0
    var most = 0
    var initiated = 0
    for event in events {
        switch event.eventType {
        case .startChildWorkflowExecutionInitiated:
            open += 1
            initiated += 1
            most = max(most, open)
        case .startChildWorkflowExecutionFailed, .childWorkflowExecutionCompleted, .childWorkflowExecutionFailed,
            .childWorkflowExecutionCanceled, .childWorkflowExecutionTimedOut, .childWorkflowExecutionTerminated:
            open -= 1
        default:
            break
        }
    }
    return (most, initiated)
}

let childWorkflows: [any Workflow.Type] = [
    BoundedParent.self, Doubler.self, FailingChild.self, ParentOfFailure.self, ParentLetsFailureEscape.self,
    ParentWithFixedChildID.self, SleepLong.self, HandleParent.self, ParentWaitsForCancel.self,
]

@Suite("Child workflows against the dev server")
struct ChildWorkflowWorkerTests {
    @Test func boundedParallelismAndReplayOfTheServerHistory() async throws {
        let handle = try await withWorker(workflows: childWorkflows) { w in
            let handle = try await w.start(BoundedParent.self, [1, 2, 3])
            #expect(try await handle.result(as: [Int].self) == [2, 4, 6])
            return handle
        }
        let events = try await handle.fetchHistory()
        let open = maxOpenChildren(events)
        #expect(open.initiated == 3)
        #expect(open.max == 2)
        #expect(events.filter { $0.eventType == .childWorkflowExecutionCompleted }.count == 3)
        // The real history replays without nondeterminism…
        #expect(try await WorkflowReplayer(workflows: [BoundedParent.self]).replay(handle: handle).closed)
        // …and a parent that starts another child type does not.
        let error = await #expect(throws: NondeterminismError.self) {
            try await WorkflowReplayer(workflows: [BoundedParentChanged.self]).replay(handle: handle)
        }
        #expect(error?.historyEvent?.contains("Doubler") == true)
        #expect(error?.command?.contains("Tripler") == true)
    }

    @Test func childApplicationErrorReachesTheParent() async throws {
        try await withWorker(workflows: childWorkflows) { w in
            let caught = try await w.start(ParentOfFailure.self, "x")
            let result = try await caught.result(as: String.self)
            #expect(result.hasPrefix("ChildBoom|child says x|\(caught.id)-child-1-"))
            #expect(result.hasSuffix("|run|FailingChild"))
            #expect(try await WorkflowReplayer(workflows: [ParentOfFailure.self]).replay(handle: caught).closed)

            // Not caught: the parent fails with the child's failure chain.
            let escaped = try await w.start(ParentLetsFailureEscape.self, "y-\(UUID().uuidString.prefix(6))")
            let error = await #expect(throws: TemporalError.self) { _ = try await escaped.result(as: String.self) }
            #expect(error?.kind == .workflowFailed)
            #expect(error?.applicationError?.type == "ChildBoom")
            #expect(error?.failure?.childWorkflowExecutionFailureInfo.workflowType.name == "FailingChild")
        }
    }

    /// A parent id near the server's 1,000 bytes made a default child id over them: the server
    /// refused the start on every task (BAD_START_CHILD_EXECUTION_ATTRIBUTES) and the run was
    /// stuck. The parent part of the child's id is cut to fit (`SDKFlag.defaultChildIDsFit`).
    @Test func aParentWithALongIDStartsItsChild() async throws {
        try await withWorker(workflows: childWorkflows) { w in
            let id = "long-\(UUID().uuidString)-" + String(repeating: "é", count: 475)  // 992 bytes
            let parent = try await w.start(ParentOfFailure.self, "x", id: id)
            let result = try await parent.result(as: String.self)
            let childID = result.split(separator: "|")[2]
            #expect(result.hasPrefix("ChildBoom|child says x|long-"))
            #expect(childID.utf8.count <= 1_000 && childID.contains("-child-1-"), "\(childID.utf8.count) bytes")
            let events = try await parent.fetchHistory()
            let flags = events.filter { $0.eventType == .workflowTaskCompleted }
                .flatMap(\.workflowTaskCompletedEventAttributes.sdkMetadata.langUsedFlags)
            #expect(flags.contains(SDKFlag.defaultChildIDsFit.rawValue))
            #expect(try await WorkflowReplayer(workflows: [ParentOfFailure.self]).replay(handle: parent).closed)
        }
    }

    @Test func childIDAlreadyRunningIsAClearError() async throws {
        try await withWorker(workflows: childWorkflows) { w in
            let takenID = "taken-\(UUID().uuidString)"
            let blocker = try await w.start(SleepLong.self, id: takenID)
            let parent = try await w.start(ParentWithFixedChildID.self, takenID)
            let result = try await parent.result(as: String.self)
            try await blocker.terminate(reason: "test done")
            #expect(result.hasPrefix("workflowAlreadyExists|"))
            #expect(result.contains("'\(takenID)'"))
            #expect(result.contains("already running"))
            #expect(try await WorkflowReplayer(workflows: [ParentWithFixedChildID.self]).replay(handle: parent).closed)
        }
    }

    /// A child whose id is taken fails a parent that lets the start error escape retryably,
    /// as Go's: a parent with a retry policy tries again (the id may be free by then). It failed
    /// for good.
    @Test func aChildsStartErrorFailsTheParentRetryably() async throws {
        try await withWorker(workflows: childWorkflows + [ParentLetsStartErrorEscape.self]) { w in
            let takenID = "taken-\(UUID().uuidString)"
            let blocker = try await w.start(SleepLong.self, id: takenID)
            let options = WorkflowOptions(retryPolicy: RetryPolicy(initialInterval: .seconds(1), maximumAttempts: 2))
            let parent = try await w.client.startWorkflow(
                type: ParentLetsStartErrorEscape.name, id: "start-error-\(UUID())", taskQueue: w.taskQueue, args: takenID,
                options: options)
            let first = await #expect(throws: TemporalError.self) { _ = try await parent.result(as: String.self, followRuns: false) }
            #expect(first?.applicationError?.type == "ChildWorkflowStartError" && first?.applicationError?.nonRetryable == false)
            try await blocker.terminate(reason: "the id is free now")
            #expect(try await parent.result(as: String.self) == "started at attempt 2")
            try? await w.client.workflowHandle(id: takenID).terminate(reason: "test done")
        }
    }

    @Test func handleAndCancellation() async throws {
        try await withWorker(workflows: childWorkflows) { w in
            // Try-cancel: the parent goes on at once.
            let parent = try await w.start(HandleParent.self, 5)
            #expect(try await parent.result(as: String.self) == "10|distinct|run")
            let events = try await parent.fetchHistory()
            #expect(events.contains { $0.eventType == .requestCancelExternalWorkflowExecutionInitiated })
            #expect(try await WorkflowReplayer(workflows: [HandleParent.self]).replay(handle: parent).closed)

            // Wait-cancellation-completed: the parent sees the child's cancellation.
            let waiting = try await w.start(ParentWaitsForCancel.self)
            let outcome = try await waiting.result(as: String.self)
            #expect(outcome.hasPrefix("child error:"))
            #expect(outcome.contains("workflowCanceled"))
            let waitingEvents = try await waiting.fetchHistory()
            #expect(waitingEvents.contains { $0.eventType == .externalWorkflowExecutionCancelRequested })
            #expect(waitingEvents.contains { $0.eventType == .childWorkflowExecutionCanceled })
            #expect(try await WorkflowReplayer(workflows: [ParentWaitsForCancel.self]).replay(handle: waiting).closed)
        }
    }

    @Test func cancellingTheParentCancelsItsChild() async throws {
        try await withWorker(workflows: childWorkflows + [ParentOfLongChild.self]) { w in
            let parent = try await w.start(ParentOfLongChild.self)
            let started = try await eventually(20) {
                try await parent.fetchHistory().contains { $0.eventType == .childWorkflowExecutionStarted }
            }
            #expect(started)
            let childID = try #require(
                try await parent.fetchHistory().first { $0.eventType == .childWorkflowExecutionStarted }?
                    .childWorkflowExecutionStartedEventAttributes.workflowExecution.workflowID)
            try await parent.cancel()
            let parentError = await #expect(throws: TemporalError.self) { _ = try await parent.result(as: String.self) }
            #expect(parentError?.kind == .workflowCanceled)
            let childError = await #expect(throws: TemporalError.self) {
                _ = try await w.client.workflowHandle(id: childID).result(as: String.self)
            }
            #expect(childError?.kind == .workflowCanceled)
            #expect(try await WorkflowReplayer(workflows: [ParentOfLongChild.self]).replay(handle: parent).closed)
        }
    }

    /// A child cancelled (try-cancel: the parent learns of it at once) by a parent that then
    /// closes gets its cancel request. The request went
    /// out with the parent's close, and the server drops a cancel request whose sender has
    /// closed by the time it is delivered: an abandoned child ran on (one the parent's close
    /// terminates never ran its cancellation). The parent closes once the request is delivered.
    @Test func aChildCancelledByAParentThatThenClosesIsCancelled() async throws {
        try await withWorker(workflows: childWorkflows + [CancelsAbandonedChildAndReturns.self]) { w in
            let parent = try await w.start(CancelsAbandonedChildAndReturns.self)
            let childID = try await parent.result(as: String.self)
            let childError = await #expect(throws: TemporalError.self) {
                _ = try await withTimeout(20) { try await w.client.workflowHandle(id: childID).result(as: String.self) }
            }
            #expect(childError?.kind == .workflowCanceled, "\(String(describing: childError))")
            #expect(try await WorkflowReplayer(workflows: [CancelsAbandonedChildAndReturns.self]).replay(handle: parent).closed)
        }
    }

    /// A workflow's cancel request reaches the children it started and holds but does not
    /// await (as Go's root context, Java's root scope and .NET's workflow token reach them):
    /// only code awaiting a child cancelled it, so a child abandoned at the parent's close ran
    /// on. One started inside `nonCancellable` is left running.
    @Test func aWorkflowsCancelReachesTheChildrenItHoldsButDoesNotAwait() async throws {
        try await withWorker(workflows: [KeepsChildrenAndSleeps.self, SleepLong.self]) { w in
            let ids = ["held-\(UUID().uuidString)", "shielded-\(UUID().uuidString)"]
            let parent = try await w.start(KeepsChildrenAndSleeps.self, ids)
            let shielded = w.client.workflowHandle(id: ids[1])
            #expect(try await eventually(20) { try await shielded.describe().status == .running })
            try await parent.cancel()
            let parentError = await #expect(throws: TemporalError.self) { _ = try await parent.result(as: String.self) }
            #expect(parentError?.kind == .workflowCanceled)
            let childError = await #expect(throws: TemporalError.self) {
                _ = try await withTimeout(20) { try await w.client.workflowHandle(id: ids[0]).result(as: String.self) }
            }
            #expect(childError?.kind == .workflowCanceled, "\(String(describing: childError))")
            #expect(try await shielded.describe().status == .running)
            try await shielded.terminate(reason: "test over")
            #expect(try await WorkflowReplayer(workflows: [KeepsChildrenAndSleeps.self]).replay(handle: parent).closed)
        }
    }

    @Test func childrenOfAnotherSDK() async throws {
        let server = try await DevServer.shared()
        let pyQueue = uniqueQueue("py")
        let peer = try await PythonPeer.start(address: server.address, taskQueue: pyQueue)
        defer { peer.stop() }
        try await withWorker(workflows: [CallPeerChild.self]) { w in
            let echo = try await w.start(CallPeerChild.self, PeerChildCall(type: "PyEcho", text: "hi", taskQueue: pyQueue))
            #expect(try await echo.result(as: String.self) == "hi|python")
            let failed = try await w.start(CallPeerChild.self, PeerChildCall(type: "PyFail", text: "no way", taskQueue: pyQueue))
            #expect(try await failed.result(as: String.self) == "error:PyFailure|no way|PyFail")
            // The child continues as new twice; the parent gets the last run's result.
            let continued = try await w.start(CallPeerChild.self, PeerChildCall(type: "PyContinueAsNew", count: 2, taskQueue: pyQueue))
            #expect(try await continued.result(as: String.self) == "done after continue-as-new")
            for handle in [echo, failed, continued] {
                #expect(try await WorkflowReplayer(workflows: [CallPeerChild.self]).replay(handle: handle).closed)
            }
        }
    }

    @Test func parentWithChildrenReplaysAfterCacheEviction() async throws {
        let box = WorkerBox()
        let evicted = Flag()
        let evictParent = ActivityDefinition("evictParent") { (runID: String, _: ActivityContext) -> Int in
            // The parent may be checked out by one of its tasks right now: evict once it is back.
            let done = try await eventually(8) { box.worker?.evictFromCache(runID: runID) == true }
            if done { evicted.set() }
            return 1
        }
        let running = try await startWorker(
            workflows: [EvictingParent.self, EvictParentChild.self, Doubler.self],
            activities: [evictParent])
        box.worker = running.worker
        let handle: WorkflowHandle
        let result: Int
        do {
            handle = try await running.start(EvictingParent.self, 5)
            result = try await withTimeout(60) { try await handle.result(as: Int.self) }
        } catch {
            await running.stop(grace: .zero)
            throw error
        }
        await running.stop()
        let metrics = running.worker.metrics.snapshot
        #expect(result == 21)
        #expect(evicted.isSet)
        // Parent: first task + the task after the eviction; each child's first task.
        #expect(metrics.fullReplays >= 5)
        #expect(metrics.cacheHits >= 1)
        #expect(try await WorkflowReplayer(workflows: [EvictingParent.self]).replay(handle: handle).closed)
    }

    @Test func parentWithChildrenWithoutCache() async throws {
        let result = try await withWorker(workflows: childWorkflows, configure: { $0.maxCachedWorkflows = 0 }) { w in
            try await w.start(BoundedParent.self, [10, 20, 30, 40]).result(as: [Int].self)
        }
        #expect(result == [20, 40, 60, 80])
    }
}
