import Foundation
import Logging
import Synchronization
import Temporal
import TemporalProto
import Testing

@testable import TemporalWorker

/// Options and edge cases the runtime used to get wrong (issue: worker correctness, item 6).
@Suite struct WorkflowOptionsHonouredTests {
    /// Waits with a timeout that has already passed.
    final class ZeroTimeoutCondition: Workflow {
        init() {}
        func run(context: WorkflowContext, input: NoValue) async throws -> String {
            let zero = try await context.condition(timeout: .zero) { false }
            let negative = try await context.condition(timeout: .seconds(-5)) { false }
            return "\(zero),\(negative)"
        }
    }

    @Test func conditionWithATimeoutThatHasPassedStartsNoTimer() throws {
        var history = HistoryBuilder()
        history.started(ZeroTimeoutCondition.name)
        let started = history.workflowTaskStarted()
        let commands = try makeRun(ZeroTimeoutCondition.self).process(events: history.events, liveStartedEventID: started)
        #expect(commands.map(\.commandType) == [.completeWorkflowExecution])
        let result = try DataConverter.default.fromPayloads(commands[0].completeWorkflowExecutionCommandAttributes.result, as: String.self)
        #expect(result == "false,false")
    }

    /// One activity that must not run eagerly, one that may.
    final class TwoActivities: Workflow {
        init() {}
        func run(context: WorkflowContext, input: NoValue) async throws -> String {
            async let a: String = context.executeActivity(
                "a", options: ActivityOptions(startToCloseTimeout: .seconds(5), disableEagerExecution: true))
            async let b: String = context.executeActivity("b", options: ActivityOptions(startToCloseTimeout: .seconds(5)))
            return try await a + b
        }
    }

    @Test func disableEagerExecutionIsRecordedPerActivity() throws {
        var history = HistoryBuilder()
        history.started(TwoActivities.name)
        let started = history.workflowTaskStarted()
        let run = makeRun(TwoActivities.self)
        let commands = try run.process(events: history.events, liveStartedEventID: started)
        let ids = commands.map(\.scheduleActivityTaskCommandAttributes).map { ($0.activityType.name, $0.activityID) }
        #expect(ids.count == 2)
        for (type, id) in ids { #expect(run.eagerExecutionDisabled.contains(id) == (type == "a")) }
    }

    /// A still-open history whose last workflow task scheduled one activity, replayed by code
    /// that schedules two: the replayer must report the extra command (a deploy check that
    /// passed it would let the change fail every such open run).
    @Test func theReplayerReportsExtraCommandsAtTheEndOfAnOpenHistory() throws {
        var history = HistoryBuilder()
        history.started(TwoActivities.name)
        history.workflowTask()
        _ = history.activityScheduled(id: "1", type: "a")
        let error = #expect(throws: NondeterminismError.self) {
            try WorkflowReplayer(workflows: [TwoActivities.self]).replay(events: history.events)
        }
        #expect("\(String(describing: error))".contains("activityType: b"), "\(String(describing: error))")
        // The same history with both activities replays.
        _ = history.activityScheduled(id: "2", type: "b")
        try WorkflowReplayer(workflows: [TwoActivities.self]).replay(events: history.events)
    }

    /// A converter that encodes everything its own way (as an encrypting one would).
    struct OpaqueConverter: PayloadConverter {
        func toPayload<T: Encodable>(_ value: T) throws -> Payload {
            var payload = try DataConverter.default.payloadConverter.toPayload(value)
            payload.metadata["encoding"] = Data("binary/opaque".utf8)
            payload.data = Data(payload.data.reversed())
            return payload
        }
        func fromPayload<T: Decodable>(_ payload: Payload, as type: T.Type) throws -> T {
            guard payload.metadata["encoding"] == Data("binary/opaque".utf8) else {
                return try DataConverter.default.payloadConverter.fromPayload(payload, as: type)
            }
            var plain = payload
            plain.metadata["encoding"] = Data("json/plain".utf8)
            plain.data = Data(payload.data.reversed())
            return try DataConverter.default.payloadConverter.fromPayload(plain, as: type)
        }
    }

    final class ChildWithSearchAttributes: Workflow {
        init() {}
        func run(context: WorkflowContext, input: NoValue) async throws -> String {
            try await context.executeChildWorkflow(
                "Child", input: NoValue(),
                options: ChildWorkflowOptions(
                    workflowID: "child", memo: ["note": "hello"], searchAttributes: ["CustomKeywordField": "team-a"]), as: String.self)
        }
    }

    @Test func searchAttributesAlwaysUseTheDefaultConverter() throws {
        var history = HistoryBuilder()
        history.started(ChildWithSearchAttributes.name)
        let started = history.workflowTaskStarted()
        var converter = DataConverter.default
        converter.payloadConverter = OpaqueConverter()
        let info = WorkflowInfo(
            namespace: "default", workflowID: "wf", runID: "run-1", workflowType: ChildWithSearchAttributes.name, taskQueue: "tq",
            attempt: 1, continuedRunID: nil, firstExecutionRunID: "run-1", originalExecutionRunID: "run-1")
        let run = WorkflowRun(
            definition: WorkflowDefinition(ChildWithSearchAttributes.self), info: info, converter: converter, logger: .init(label: "test"))
        let commands = try run.process(events: history.events, liveStartedEventID: started)
        let child = try #require(commands.first?.startChildWorkflowExecutionCommandAttributes)
        let attribute = try #require(child.searchAttributes.indexedFields["CustomKeywordField"])
        #expect(String(decoding: attribute.metadata["encoding"] ?? Data(), as: UTF8.self) == "json/plain")
        #expect(String(decoding: attribute.data, as: UTF8.self) == "\"team-a\"")
        // Memo is the user's data: the user's converter.
        #expect(String(decoding: child.memo.fields["note"]?.metadata["encoding"] ?? Data(), as: UTF8.self) == "binary/opaque")
    }
}

/// Continue-as-new keeps the run's timeouts, memo, search attributes and retry policy (as Go
/// does) unless options give others.
@Suite struct ContinueAsNewOptionsTests {
    final class Continues: Workflow {
        init() {}
        func run(context: WorkflowContext, input: Int) async throws -> String {
            if input == 0 { try context.continueAsNew(input: 1) }
            try context.continueAsNew(
                input: 2,
                options: ContinueAsNewOptions(
                    taskTimeout: .seconds(20), memo: ["round": input], searchAttributes: ["CustomIntField": input],
                    retryPolicy: RetryPolicy(initialInterval: .seconds(2), maximumAttempts: 3)))
        }
    }

    func command(input: Int, startedWith: ((inout Temporal_Api_History_V1_WorkflowExecutionStartedEventAttributes) -> Void)? = nil) throws
        -> Temporal_Api_Command_V1_ContinueAsNewWorkflowExecutionCommandAttributes
    {
        var history = HistoryBuilder()
        history.started(Continues.name, input: payloads(input))
        history.events[0].workflowExecutionStartedEventAttributes.workflowRunTimeout = .init(seconds: 3600)
        history.events[0].workflowExecutionStartedEventAttributes.workflowTaskTimeout = .init(seconds: 10)
        startedWith?(&history.events[0].workflowExecutionStartedEventAttributes)
        let started = history.workflowTaskStarted()
        let commands = try makeRun(Continues.self).process(events: history.events, liveStartedEventID: started)
        #expect(commands.map(\.commandType) == [.continueAsNewWorkflowExecution])
        return commands[0].continueAsNewWorkflowExecutionCommandAttributes
    }

    @Test func timeoutsCarryOverAndOptionsApply() throws {
        let plain = try command(input: 0)
        #expect(plain.workflowRunTimeout.seconds == 3600 && plain.workflowTaskTimeout.seconds == 10)
        #expect(plain.memo.fields.isEmpty && plain.searchAttributes.indexedFields.isEmpty && !plain.hasRetryPolicy)
        let optioned = try command(input: 1)
        #expect(optioned.workflowRunTimeout.seconds == 3600 && optioned.workflowTaskTimeout.seconds == 20)
        #expect(String(decoding: optioned.memo.fields["round"]?.data ?? Data(), as: UTF8.self) == "1")
        #expect(String(decoding: optioned.searchAttributes.indexedFields["CustomIntField"]?.data ?? Data(), as: UTF8.self) == "1")
        #expect(optioned.retryPolicy.maximumAttempts == 3 && optioned.retryPolicy.initialInterval.seconds == 2)
    }

    /// The run's memo, search attributes (a schedule's `TemporalScheduledStartTime` too) and
    /// retry policy go to the next run unless options replace them, as in Go and Core: the
    /// server gives the new run only what the command holds.
    @Test func memoSearchAttributesAndRetryPolicyCarryOver() throws {
        func started(_ a: inout Temporal_Api_History_V1_WorkflowExecutionStartedEventAttributes) {
            a.memo.fields["owner"] = try! DataConverter.default.toPayload("team-a")
            a.searchAttributes.indexedFields["TemporalScheduledStartTime"] = try! DataConverter.default.toPayload("2024-03-05T01:00:00Z")
            a.retryPolicy = RetryPolicy(initialInterval: .seconds(5), maximumAttempts: 7).proto
        }
        let plain = try command(input: 0, startedWith: started)
        #expect(String(decoding: plain.memo.fields["owner"]?.data ?? Data(), as: UTF8.self) == "\"team-a\"")
        #expect(plain.searchAttributes.indexedFields["TemporalScheduledStartTime"] != nil)
        #expect(plain.retryPolicy.maximumAttempts == 7 && plain.retryPolicy.initialInterval.seconds == 5)
        let optioned = try command(input: 1, startedWith: started)
        #expect(optioned.memo.fields.keys.sorted() == ["round"])
        #expect(optioned.searchAttributes.indexedFields.keys.sorted() == ["CustomIntField"])
        #expect(optioned.retryPolicy.maximumAttempts == 3)
    }
}

/// Eviction and shutdown resume workflow code with `CancellationError`; its cleanup must see
/// itself as replaying (no logs, no live side effects).
@Suite struct TearDownTests {
    final class Seen: Sendable {
        let replaying = Mutex<Bool?>(nil)
    }
    static let seen = Seen()

    final class CleansUp: Workflow {
        init() {}
        func run(context: WorkflowContext, input: NoValue) async throws -> String {
            do {
                try await context.sleep(for: .seconds(60))
            } catch {
                TearDownTests.seen.replaying.withLock { $0 = context.isReplaying }
                context.logger.info("cleanup after cancellation")
                throw error
            }
            return "slept"
        }
    }

    @Test func cleanupAfterEvictionSeesItselfReplaying() throws {
        var history = HistoryBuilder()
        history.started(CleansUp.name)
        let started = history.workflowTaskStarted()
        let box = LogBox()
        let info = WorkflowInfo(
            namespace: "default", workflowID: "wf", runID: "run-1", workflowType: CleansUp.name, taskQueue: "tq",
            attempt: 1, continuedRunID: nil, firstExecutionRunID: "run-1", originalExecutionRunID: "run-1")
        let run = WorkflowRun(
            definition: WorkflowDefinition(CleansUp.self), info: info, converter: .default,
            logger: Logger(label: "teardown") { _ in CapturingLogHandler(box: box) })
        let commands = try run.process(events: history.events, liveStartedEventID: started)
        #expect(commands.map(\.commandType) == [.startTimer])
        #expect(!run.isReplaying, "the task was live")
        run.tearDown()  // eviction
        #expect(Self.seen.replaying.withLock { $0 } == true)
        #expect(!box.lines.withLock { $0 }.contains { $0.contains("cleanup after cancellation") })
    }

    /// A task that finished after the shutdown emptied the cache (its answer retried past the
    /// drain's bounded waits) checked its run back in, where it stayed suspended for ever.
    @Test func aRunCheckedInAfterTheCacheClosedIsTornDown() throws {
        let retired = Mutex<[String]>([])
        let cache = RunCache(capacity: 4, retire: { runs in retired.withLock { $0 += runs.map(\.info.runID) } })
        let info = WorkflowInfo(
            namespace: "default", workflowID: "wf", runID: "late", workflowType: CleansUp.name, taskQueue: "tq",
            attempt: 1, continuedRunID: nil, firstExecutionRunID: "late", originalExecutionRunID: "late")
        let run = WorkflowRun(definition: WorkflowDefinition(CleansUp.self), info: info, converter: .default, logger: Logger(label: "late"))
        cache.close()
        cache.checkin("late", run)
        #expect(cache.count == 0)
        #expect(retired.withLock { $0 } == ["late"])
    }

    /// The size gauge counts a run a task holds checked out: it read 0 while every cached run
    /// was being worked on (as Core counts, a run with a task in flight is in the cache).
    @Test func theCacheSizeCountsRunsCheckedOut() throws {
        let sizes = Mutex<[Int]>([])
        let cache = RunCache(capacity: 4, onSizeChange: { size in sizes.withLock { $0.append(size) } })
        func run(_ id: String) -> WorkflowRun {
            let info = WorkflowInfo(
                namespace: "default", workflowID: "wf", runID: id, workflowType: CleansUp.name, taskQueue: "tq",
                attempt: 1, continuedRunID: nil, firstExecutionRunID: id, originalExecutionRunID: id)
            return WorkflowRun(definition: WorkflowDefinition(CleansUp.self), info: info, converter: .default, logger: Logger(label: id))
        }
        let a = run("a")
        cache.checkin("a", a)
        cache.checkin("b", run("b"))
        #expect(cache.checkout("a") === a)
        #expect(sizes.withLock { $0.last } == 2, "a is being worked on: \(sizes.withLock { $0 })")
        cache.checkin("a", a)
        #expect(sizes.withLock { $0.last } == 2)
        let out = try #require(cache.checkout("b"))
        cache.forget(out)
        #expect(sizes.withLock { $0.last } == 1, "b left the cache: \(sizes.withLock { $0 })")
        cache.close()
        // A run evicted to make room is counted (temporal_sticky_cache_total_forced_eviction).
        let evicted = Mutex(0)
        let small = RunCache(capacity: 1, onEvictedForRoom: { evicted.withLock { $0 += 1 } })
        small.checkin("a", run("a"))
        small.checkin("b", run("b"))
        #expect(evicted.withLock { $0 } == 1)
        small.close()
    }

    /// A copy of a run checked out (by a query) while a task replayed another copy, which
    /// then left the cache, is not put back when the query ends: it was, and sticky queries
    /// answered from its older state until the next task.
    @Test func aCopyCheckedOutWhileANewerOneWasCachedIsNotPutBack() throws {
        let retired = Mutex<[Int64]>([])
        let cache = RunCache(capacity: 4, retire: { runs in retired.withLock { $0 += runs.map(\.lastEventID) } })
        func run(through events: Int) throws -> WorkflowRun {
            var history = HistoryBuilder()
            history.started(SumSignals.name, input: payloads(3))
            var started = history.workflowTaskStarted()
            while history.events.count < events {
                history.workflowTaskCompleted()
                history.signaled("add", payloads(1))
                started = history.workflowTaskStarted()
            }
            let info = WorkflowInfo(
                namespace: "default", workflowID: "wf", runID: "r", workflowType: SumSignals.name, taskQueue: "tq",
                attempt: 1, continuedRunID: nil, firstExecutionRunID: "r", originalExecutionRunID: "r")
            let run = WorkflowRun(
                definition: WorkflowDefinition(SumSignals.self), info: info, converter: .default, logger: Logger(label: "r"))
            _ = try run.process(events: history.events, liveStartedEventID: started)
            return run
        }
        let old = try run(through: 3)
        cache.checkin("r", old)
        let held = try #require(cache.checkout("r"))  // a query holds it
        let newer = try run(through: 9)  // a task missed the cache and replayed
        cache.checkin("r", newer)
        #expect(cache.evict("r"))  // the newer copy leaves the cache
        cache.checkin("r", held)  // the query ends
        #expect(cache.count == 0)
        #expect(retired.withLock { $0 } == [newer.lastEventID, old.lastEventID])
        // A run checked out and in again (a task that took it further) is kept.
        let current = try run(through: 9)
        cache.checkin("r", current)
        let taken = try #require(cache.checkout("r"))
        cache.checkin("r", taken)
        #expect(cache.count == 1)
    }

    /// Cleanup that waits again once cancelled (a compensation in `nonCancellable`, as
    /// `Booking` does) left its waiter in the evicted run, which it kept alive for ever (a
    /// cycle through the waiting task): each eviction leaked the run.
    @Test func anEvictedRunWhoseCleanupWaitsAgainIsFreed() throws {
        var history = HistoryBuilder()
        history.started(Booking.name)
        let started = history.workflowTaskStarted()
        let info = WorkflowInfo(
            namespace: "default", workflowID: "wf", runID: "run-1", workflowType: Booking.name, taskQueue: "tq",
            attempt: 1, continuedRunID: nil, firstExecutionRunID: "run-1", originalExecutionRunID: "run-1")
        var run: WorkflowRun? = WorkflowRun(
            definition: WorkflowDefinition(Booking.self), info: info, converter: .default, logger: Logger(label: "teardown"))
        weak let freed = run
        let commands = try run?.process(events: history.events, liveStartedEventID: started)
        #expect(commands?.map(\.commandType) == [.scheduleActivityTask])
        run?.tearDown()
        #expect(run?.hasSuspendedWaiters == false)
        run = nil
        #expect(freed == nil, "the evicted run is still alive")
    }

    final class AwaitsAChannel: Workflow {
        init() {}
        func run(context: WorkflowContext, input: NoValue) async throws -> String {
            try await context.signalChannel("go", as: String.self).receive()
        }
    }

    /// A run that had made a signal channel (which holds its context, which holds the run) was
    /// never freed, evicted or finished: the run kept its channels after teardown.
    @Test(arguments: [false, true]) func aRunWithASignalChannelIsFreed(finished: Bool) throws {
        var history = HistoryBuilder()
        history.started(AwaitsAChannel.name)
        var started = history.workflowTaskStarted()
        let info = WorkflowInfo(
            namespace: "default", workflowID: "wf", runID: "run-1", workflowType: AwaitsAChannel.name, taskQueue: "tq",
            attempt: 1, continuedRunID: nil, firstExecutionRunID: "run-1", originalExecutionRunID: "run-1")
        var run: WorkflowRun? = WorkflowRun(
            definition: WorkflowDefinition(AwaitsAChannel.self), info: info, converter: .default, logger: Logger(label: "channel"))
        weak let freed = run
        #expect(try run?.process(events: history.events, liveStartedEventID: started).isEmpty == true)
        if finished {
            history.workflowTaskCompleted()
            history.signaled("go", payloads("now"))
            started = history.workflowTaskStarted()
            let commands = try run?.process(events: history.events, liveStartedEventID: started)
            #expect(commands?.map(\.commandType) == [.completeWorkflowExecution])
        }
        run?.tearDown()
        run = nil
        #expect(freed == nil, "the run is still alive")
    }
}

/// `__stack_trace` (the Web UI's "Call Stack" tab, `temporal workflow stack`) says where the
/// workflow's code waits.
@Suite struct StackTraceTests {
    final class WaitsOnThree: Workflow {
        var go = false
        init() {}
        func run(context: WorkflowContext, input: NoValue) async throws -> String {
            context.setSignalHandler("go") { self.go = true }
            async let fetched: String = context.executeActivity("fetch_page", options: ActivityOptions(startToCloseTimeout: .seconds(30)))
            async let slept: Void = context.sleep(for: .seconds(600))
            try await context.condition { self.go }
            _ = try await (fetched, slept)
            return "done"
        }
    }

    @Test func theStackTraceNamesEveryWait() throws {
        var history = HistoryBuilder()
        history.started(WaitsOnThree.name)
        let started = history.workflowTaskStarted()
        let run = makeRun(WaitsOnThree.self)
        _ = try run.process(events: history.events, liveStartedEventID: started)
        let trace = try DataConverter.default.fromPayloads(try run.query("__stack_trace", args: nil), as: String.self)
        #expect(trace.hasPrefix("workflow WaitsOnThree (id wf, run run-1)"), "\(trace)")
        #expect(trace.contains("waiting for activity fetch_page (activity id 1"), "\(trace)")
        #expect(trace.contains("waiting for timer"), "\(trace)")
        #expect(trace.contains("waiting on 1 condition"), "\(trace)")
    }

    /// `__temporal_workflow_metadata` (the Web UI's list of a workflow's queries and signals).
    @Test func theMetadataQueryListsQueriesAndSignals() throws {
        var history = HistoryBuilder()
        history.started(WaitsOnThree.name)
        let started = history.workflowTaskStarted()
        let run = makeRun(WaitsOnThree.self)
        _ = try run.process(events: history.events, liveStartedEventID: started)
        let payload = try #require(try run.query("__temporal_workflow_metadata", args: nil).payloads.first)
        #expect(payload.metadata["encoding"] == Data("json/protobuf".utf8))
        #expect(payload.metadata["messageType"] == Data("temporal.api.sdk.v1.WorkflowMetadata".utf8))
        let metadata = try Temporal_Api_Sdk_V1_WorkflowMetadata(jsonUTF8Data: payload.data)
        #expect(metadata.definition.type == "WaitsOnThree")
        #expect(metadata.definition.signalDefinitions.map(\.name) == ["go"])
        #expect(metadata.definition.queryDefinitions.map(\.name) == ["__stack_trace", "__temporal_workflow_metadata"])
    }
}
