import Foundation
import Temporal
import TemporalTestSupport
import Testing

@testable import TemporalWorker

@Suite("Shutdown")
struct ShutdownTests {
    /// A name registered twice, and rates that are not positive, are refused when the worker
    /// starts. Before, the last definition of a name won silently (a workflow calling it ran the
    /// other body, whose input failed to decode on every attempt), and a task queue rate of 0
    /// was sent as it was: the server reads it as a pause of the queue's activities.
    @Test func namesRegisteredTwiceAndRatesThatAreNotPositiveAreRefused() async throws {
        let client = try await DevServer.client()
        let byInt = ActivityDefinition("fetch") { (n: Int, _: ActivityContext) -> Int in n }
        let byString = ActivityDefinition("fetch") { (s: String, _: ActivityContext) -> String in s }
        var cases: [(String, [any Workflow.Type], [ActivityDefinition], WorkerOptions)] = [
            ("activity type 'fetch'", [], [byInt, byString], WorkerOptions()),
            ("workflow type 'RunActivity'", [RunActivity.self, RunActivity.self], [], WorkerOptions()),
        ]
        for (option, value) in [("maxTaskQueueActivitiesPerSecond", 0.0), ("maxActivitiesPerSecond", -1), ("maxActivitiesPerSecond", .nan)]
        {
            var options = WorkerOptions()
            if option == "maxTaskQueueActivitiesPerSecond" {
                options.maxTaskQueueActivitiesPerSecond = value
            } else {
                options.maxActivitiesPerSecond = value
            }
            cases.append((option, [], [byInt], options))
        }
        for (named, workflows, activities, options) in cases {
            let worker = Worker(
                client: client, taskQueue: uniqueQueue("refused"), workflows: workflows, activities: activities, options: options)
            do {
                try await within(10) { try await worker.run() }
                Issue.record("\(named): the worker ran")
            } catch let error as TemporalError {
                #expect(error.kind == .invalidArgument && error.message.contains(named), "\(error)")
            } catch {
                Issue.record("\(named): the worker ran (\(error))")
            }
            await worker.shutdown()
        }
    }

    /// Slot counts that would leave a queue unpolled are refused when the worker starts: with
    /// one workflow-task slot and the sticky cache on, a sticky poll held the only slot for up
    /// to a minute while the normal queue went unpolled.
    @Test func slotCountsThatStarveAQueueAreRefused() async throws {
        let client = try await DevServer.client()
        for (workflowTasks, cached, activities) in [(1, 1000, 10), (2, 1000, 10), (0, 0, 10), (10, 1000, 0)] {
            var options = WorkerOptions()
            options.maxConcurrentWorkflowTasks = workflowTasks
            options.maxCachedWorkflows = cached
            options.maxConcurrentActivities = activities
            let worker = Worker(
                client: client, taskQueue: uniqueQueue("slots"), workflows: [RunActivity.self],
                activities: [ActivityDefinition("noop") { (_: String, _: ActivityContext) -> String in "" }], options: options)
            do {
                try await worker.run()
                Issue.record("\(workflowTasks) workflow-task slots, cache \(cached), \(activities) activity slots: the worker ran")
            } catch let error as TemporalError {
                #expect(error.kind == .invalidArgument, "\(error)")
                #expect(error.message.contains("must be at least"), "\(error)")
            }
            await worker.shutdown()  // a refused worker never started: this returns at once
        }
        // With the cache off, one slot is enough.
        var options = WorkerOptions()
        options.maxConcurrentWorkflowTasks = 1
        options.maxCachedWorkflows = 0
        let worker = Worker(client: client, taskQueue: uniqueQueue("slots"), workflows: [RunActivity.self], options: options)
        let run = Task { try await worker.run() }
        await worker.shutdown()
        try await run.value
    }

    /// One grace period in all: a workflow task running a local activity and an activity, both
    /// longer than it, are stopped once it is over. The activities' grace period used to start
    /// only after the workflow tasks had drained, which took the whole grace period here: twice
    /// the grace period in all.
    @Test func theGracePeriodCountsFromTheShutdownsStartForEveryKind() async throws {
        let started = Counter()
        let cancelled = Flag()
        let long = ActivityDefinition("long") { (_: String, ctx: ActivityContext) -> String in
            started.increment()
            for _ in 0..<600 {
                ctx.heartbeat()
                try await Task.sleep(for: .milliseconds(100))
            }
            return "done"
        }
        let localStarted = Flag()
        let slowLocal = LocalActivityTests.slowLocal(started: localStarted, cancelled: cancelled)
        let running = try await startWorker(workflows: [RunActivity.self, OneSlowLocal.self], activities: [long, slowLocal])
        let activity = try await running.start(RunActivity.self, ActivityCall(activity: "long", startToClose: 120, heartbeat: 30))
        let local = try await running.start(OneSlowLocal.self, 60.0)
        #expect(try await eventually(30) { started.current == 1 && localStarted.isSet })
        let clock = ContinuousClock()
        let stopping = clock.now
        await running.stop(grace: .seconds(10))
        let took = clock.now - stopping
        // Liveness bound with slack for a loaded box: the old code took at least twice the grace (20 s).
        #expect(took < .seconds(16), "shutdown took \(took)")
        try? await activity.terminate(reason: "test over")
        try? await local.terminate(reason: "test over")
    }

    @Test func gracefulShutdownLetsRunningActivitiesFinish() async throws {
        let started = Flag()
        let runs = Counter()
        let finished = Flag()
        let longish = ActivityDefinition("longish") { (_: String, ctx: ActivityContext) -> String in
            runs.increment()
            started.set()
            for _ in 0..<15 {
                ctx.heartbeat()
                try await Task.sleep(for: .milliseconds(100))
            }
            finished.set()
            return "done"
        }
        let queue = uniqueQueue("graceful")
        let first = try await startWorker(taskQueue: queue, workflows: [RunActivity.self], activities: [longish])
        // A generous heartbeat timeout: under a loaded CI box a 5 s one expired and the attempt was retried.
        let handle = try await first.start(RunActivity.self, ActivityCall(activity: "longish", heartbeat: 30))
        #expect(try await eventually(30) { started.isSet })
        await first.worker.shutdown(gracePeriod: .seconds(10))
        // Checked by order, not by time: a loaded box may resume this task late.
        #expect(finished.isSet, "shutdown returned before the activity finished")
        _ = await first.runTask.result
        // Another worker finishes the workflow; the activity was not retried.
        let second = try await startWorker(taskQueue: queue, workflows: [RunActivity.self], activities: [longish])
        let result = try await withTimeout(30) { try await handle.result(as: String.self) }
        await second.stop()
        #expect(result == "done")
        #expect(runs.current == 1)
    }

    /// An activity that ignores its cancellation (a blocking loop) kept `run()` from returning
    /// for ever after the shutdown gave up on it, and a service group with it: the process
    /// never exited. `run()` now returns about 1 s after `shutdown()`, leaving it behind.
    /// `blocking`: sets `started`, then waits for `release` deaf to cancellation, without
    /// holding a thread of the shared pool (2 on CI).
    static func deafActivity(started: Flag, release: Flag) -> ActivityDefinition {
        ActivityDefinition("blocking") { (_: String, _: ActivityContext) -> String in
            started.set()
            await withCheckedContinuation { (done: CheckedContinuation<Void, Never>) in
                DispatchQueue.global().async {
                    blockUntil(release)
                    done.resume()
                }
            }
            return "released"
        }
    }

    @Test func runReturnsThoughAnActivityIgnoresItsCancellation() async throws {
        let started = Flag()
        let release = Flag()
        defer { release.set() }
        let blocking = Self.deafActivity(started: started, release: release)
        let running = try await startWorker(taskQueue: uniqueQueue("deaf"), workflows: [RunActivity.self], activities: [blocking])
        let handle = try await running.start(RunActivity.self, ActivityCall(activity: "blocking", startToClose: 120, maxAttempts: 1))
        #expect(try await eventually(30) { started.isSet })
        await running.worker.shutdown(gracePeriod: .milliseconds(300))
        let returned = Flag()
        Task {
            _ = await running.runTask.result
            returned.set()
        }
        #expect(try await eventually(20) { returned.isSet }, "run() has not returned")  // old code: never, until released
        #expect(!release.isSet, "run() returned with the activity still blocking")
        release.set()
        try? await handle.terminate(reason: "test over")
    }

    /// A shorter request during a long grace period (a second Ctrl-C) stops what still runs,
    /// and `run()` returns soon after though an activity ignores its cancellation: it waited
    /// for the rest of the first grace period (two minutes here).
    @Test func aShorterRequestEndsTheWaitForADeafActivity() async throws {
        let started = Flag()
        let release = Flag()
        defer { release.set() }
        let blocking = Self.deafActivity(started: started, release: release)
        let running = try await startWorker(taskQueue: uniqueQueue("deaf-twice"), workflows: [RunActivity.self], activities: [blocking])
        let handle = try await running.start(RunActivity.self, ActivityCall(activity: "blocking", startToClose: 300, maxAttempts: 1))
        #expect(try await eventually(30) { started.isSet })
        running.worker.requestShutdown(gracePeriod: .seconds(120))
        try await Task.sleep(for: .milliseconds(500))
        running.worker.requestShutdown(gracePeriod: .zero)
        let returned = Flag()
        Task {
            _ = await running.runTask.result
            returned.set()
        }
        #expect(try await eventually(20) { returned.isSet }, "run() has not returned")  // old code: after about 126 s
        release.set()
        try? await handle.terminate(reason: "test over")
    }

    @Test func activitiesPastTheGracePeriodAreFailedForRetryElsewhere() async throws {
        let started = Flag()
        let stubborn = ActivityDefinition("stubborn") { (_: String, ctx: ActivityContext) -> String in
            if ctx.info.attempt > 1 { return "attempt \(ctx.info.attempt)" }
            started.set()
            try await Task.sleep(for: .seconds(60))
            return "never"
        }
        let queue = uniqueQueue("hard")
        let first = try await startWorker(taskQueue: queue, workflows: [RunActivity.self], activities: [stubborn])
        let handle = try await first.start(RunActivity.self, ActivityCall(activity: "stubborn", startToClose: 120, maxAttempts: 3))
        #expect(try await eventually(30) { started.isSet })
        await first.worker.shutdown(gracePeriod: .milliseconds(300))
        _ = await first.runTask.result
        let second = try await startWorker(taskQueue: queue, workflows: [RunActivity.self], activities: [stubborn])
        // Without the WorkerShutdown failure this would wait for the 120 s start-to-close timeout.
        let result = try await withTimeout(30) { try await handle.result(as: String.self) }
        await second.stop()
        #expect(result == "attempt 2")
    }
}

/// Blocks the calling thread until `flag` is set, deaf to cancellation (a blocking call).
private func blockUntil(_ flag: Flag) {
    while !flag.isSet { Thread.sleep(forTimeInterval: 0.05) }
}
