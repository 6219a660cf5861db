import Foundation
import Synchronization
import Temporal
import TemporalProto
import TemporalTestSupport
import Testing

@testable import TemporalWorker

/// What an activity attempt sends as it ends, seen on the wire: a transport between the worker
/// and the dev server counts the calls and can hold one back.
@Suite struct ActivityEndingsOnTheWireTests {
    /// Passes calls to a real channel, counting them by RPC name; holds `ShutdownWorker` for
    /// `shutdownDelay` and each heartbeat for `heartbeatDelay` (as an unanswering server would,
    /// until the call's deadline).
    final class Counting: ServiceTransport {
        let inner: GRPCChannel
        let shutdownDelay: Duration
        let heartbeatDelay: Duration
        /// Added to the first heartbeat only.
        let firstHeartbeatDelay: Duration
        let counts = Mutex<[String: Int]>([:])
        init(_ inner: GRPCChannel, shutdownDelay: Duration = .zero, heartbeatDelay: Duration = .zero, firstHeartbeatDelay: Duration = .zero)
        {
            self.inner = inner
            self.shutdownDelay = shutdownDelay
            self.heartbeatDelay = heartbeatDelay
            self.firstHeartbeatDelay = firstHeartbeatDelay
        }
        var target: String { inner.target }
        func unary(method: String, request: Data, metadata: [(String, String)], timeout: Duration?) async throws -> Data {
            let rpc = String(method.split(separator: "/").last ?? "")
            let count = counts.withLock {
                $0[rpc, default: 0] += 1
                return $0[rpc] ?? 0
            }
            if rpc == "RecordActivityTaskHeartbeat", count == 1 { try await Task.sleep(for: firstHeartbeatDelay) }
            if rpc == "ShutdownWorker" { try await Task.sleep(for: shutdownDelay) }
            if rpc == "RecordActivityTaskHeartbeat" { try await Task.sleep(for: heartbeatDelay) }
            return try await inner.unary(method: method, request: request, metadata: metadata, timeout: timeout)
        }
        func close() { inner.close() }
        func count(_ rpc: String) -> Int { counts.withLock { $0[rpc] ?? 0 } }
    }

    /// A worker on `transport` serving `RunActivity` and `activity`, stopped after `body`.
    private func withWorker(
        _ transport: Counting, _ activity: ActivityDefinition, grace: Duration = .seconds(10),
        workflows: [any Workflow.Type] = [RunActivity.self], _ body: (TemporalClient, String, Worker) async throws -> Void
    ) async throws {
        let client = try await TemporalClient.connect(transport: transport)
        let queue = uniqueQueue("ending")
        var options = WorkerOptions()
        options.gracefulShutdownTimeout = grace
        let worker = Worker(client: client, taskQueue: queue, workflows: workflows, activities: [activity], options: options)
        let running = Task { try await worker.run() }
        do { try await body(client, queue, worker) } catch {
            await worker.shutdown()
            throw error
        }
        await worker.shutdown()
        _ = await running.result
    }

    /// A heartbeat still held back by the throttle when the attempt completes is dropped, as
    /// Go and Core drop it: the completion supersedes it. Before, it cost one more RPC, sent
    /// before the answer.
    @Test func aHeldBackHeartbeatIsDroppedWhenTheAttemptCompletes() async throws {
        let transport = Counting(try GRPCChannel(target: try await DevServer.shared().address))
        let chatty = ActivityDefinition("chatty") { (_: String, context: ActivityContext) -> String in
            context.heartbeat("first")
            try await Task.sleep(for: .milliseconds(20))
            context.heartbeat("second")  // within the throttle interval: held back
            return "done"
        }
        try await withWorker(transport, chatty) { client, queue, _ in
            let handle = try await client.startWorkflow(
                type: RunActivity.name, id: "chatty-\(UUID())", taskQueue: queue,
                args: ActivityCall(activity: "chatty", startToClose: 20, heartbeat: 10))
            #expect(try await handle.result(as: String.self) == "done")
        }
        #expect(transport.count("RecordActivityTaskHeartbeat") == 1)
    }

    /// An attempt that ends with a cancellation of its own while a heartbeat is in flight, whose
    /// answer then says the workflow asked to cancel it, answers "cancelled" and sends the details
    /// held back first, as a cancellation does. They were dropped: the decision to send them was
    /// taken before that answer came.
    @Test func heldBackDetailsGoOutWhenALateAnswerMakesTheAttemptCancelled() async throws {
        // The first heartbeat reaches the server 6 s late: after the workflow's cancel (at 1 s;
        // 2.5 s was not always after it in a loaded run).
        let transport = Counting(try GRPCChannel(target: try await DevServer.shared().address), firstHeartbeatDelay: .seconds(6))
        let cancellable = ActivityDefinition("cancellable") { (context: ActivityContext) -> String in
            context.heartbeat("first")  // sent at once, answered "cancel requested"
            try await Task.sleep(for: .milliseconds(50))
            context.heartbeat("second")  // held back by the throttle
            throw CancellationError()  // its own, before any cancel request is seen
        }
        // A heartbeat timeout of a minute: longer than the heartbeat held back.
        try await withWorker(transport, cancellable, workflows: [CancelActivity.self]) { client, queue, _ in
            let handle = try await client.startWorkflow(
                type: CancelActivity.name, id: "late-cancel-\(UUID())", taskQueue: queue, args: 60.0)
            #expect(try await handle.result(as: String.self) == "cancelled")
        }
        #expect(transport.count("RecordActivityTaskHeartbeat") == 2)
        #expect(transport.count("RespondActivityTaskCanceled") == 1)
    }

    /// At the shutdown notice, details held back by the throttle go out, and so does progress
    /// recorded after it (at most a second apart): the throttle window (here 24 s) is longer
    /// than the grace period, and held back, the details were lost to a kill after it (the next
    /// attempt resumed from older ones). Go flushes on its stop channel.
    @Test func heldAndLaterProgressGoOutOnceTheWorkerStops() async throws {
        let transport = Counting(try GRPCChannel(target: try await DevServer.shared().address))
        let started = Counter()
        let long = ActivityDefinition("long") { (_: String, context: ActivityContext) -> String in
            context.heartbeat("started")
            try await Task.sleep(for: .milliseconds(100))
            context.heartbeat("held before the stop")  // inside the window
            started.increment()
            await context.workerShutdown()
            // Long enough for the flush at the notice to go out first on a loaded CI box (after
            // 1.5 s, these details once replaced the held ones before they went out).
            try await Task.sleep(for: .seconds(5))
            context.heartbeat("saved at shutdown")
            try await Task.sleep(for: .seconds(60))
            return "late"
        }
        try await withWorker(transport, long, grace: .seconds(12)) { client, queue, worker in
            let handle = try await client.startWorkflow(
                type: RunActivity.name, id: "notice-\(UUID())", taskQueue: queue,
                args: ActivityCall(activity: "long", startToClose: 120, heartbeat: 30))
            #expect(try await eventually(20) { started.current == 1 })
            @Sendable func shows(_ details: String) async throws -> Bool {
                guard let pending = try await handle.describe().pendingActivities.first, pending.hasHeartbeatDetails else { return false }
                return try DataConverter.default.fromPayloads(pending.heartbeatDetails, as: String.self) == details
            }
            #expect(try await shows("started"))
            let stopping = Task { await worker.shutdown() }
            #expect(try await eventually(5) { try await shows("held before the stop") })
            #expect(try await eventually(15) { try await shows("saved at shutdown") })
            await stopping.value
        }
        #expect(transport.count("RecordActivityTaskHeartbeat") == 3)
    }

    /// The hard stop comes when the grace period ends, even while `ShutdownWorker` is still
    /// unanswered: a running activity is cancelled (and reported) within the grace. Before, the
    /// drain's steps ran first, each up to 5 s.
    @Test func runningActivitiesAreStoppedWhenTheGraceEndsWhateverTheDrainIsAt() async throws {
        let transport = Counting(try GRPCChannel(target: try await DevServer.shared().address), shutdownDelay: .seconds(10))
        let started = Counter()
        let stoppedAfter = Mutex<Duration?>(nil)
        let shutdownStart = Mutex<ContinuousClock.Instant?>(nil)
        let long = ActivityDefinition("long") { (_: String, _: ActivityContext) -> String in
            started.increment()
            do {
                try await Task.sleep(for: .seconds(60))
            } catch {
                stoppedAfter.withLock { $0 = shutdownStart.withLock { $0 }.map { ContinuousClock.now - $0 } }
                throw error
            }
            return "late"
        }
        try await withWorker(transport, long, grace: .seconds(1)) { client, queue, worker in
            _ = try await client.startWorkflow(
                type: RunActivity.name, id: "long-\(UUID())", taskQueue: queue, args: ActivityCall(activity: "long", startToClose: 120))
            #expect(try await eventually(20) { started.current == 1 })
            shutdownStart.withLock { $0 = ContinuousClock.now }
            await worker.shutdown()
        }
        let after = try #require(stoppedAfter.withLock { $0 })
        #expect(after < .seconds(6), "the activity was stopped \(after) after the shutdown began (grace 1 s)")
    }

    /// The hard stop does not wait for a heartbeat in flight: the attempt's failure carries the
    /// latest details anyway. Before, the answer (and the worker's stop) waited for the
    /// heartbeat's RPC, up to its retry budget (0.8 × the heartbeat timeout, here 48 s) while a
    /// server did not answer.
    @Test func theHardStopDoesNotWaitForAHeartbeatInFlight() async throws {
        let transport = Counting(
            try GRPCChannel(target: try await DevServer.shared().address), heartbeatDelay: .seconds(40))
        let started = Counter()
        let long = ActivityDefinition("long") { (_: String, context: ActivityContext) -> String in
            context.heartbeat("started")  // goes out at once, and is held
            started.increment()
            try await Task.sleep(for: .seconds(60))
            return "late"
        }
        let clock = ContinuousClock()
        var stopping: ContinuousClock.Instant?
        try await withWorker(transport, long, grace: .seconds(1)) { client, queue, worker in
            _ = try await client.startWorkflow(
                type: RunActivity.name, id: "held-\(UUID())", taskQueue: queue,
                args: ActivityCall(activity: "long", startToClose: 120, heartbeat: 60))
            #expect(try await eventually(20) { started.current == 1 && transport.count("RecordActivityTaskHeartbeat") == 1 })
            stopping = clock.now
            await worker.shutdown()
        }
        let took = clock.now - (stopping ?? clock.now)
        #expect(took < .seconds(15), "the worker stopped \(took) after the shutdown began (grace 1 s)")
        #expect(transport.count("RespondActivityTaskFailed") == 1)
    }
}
