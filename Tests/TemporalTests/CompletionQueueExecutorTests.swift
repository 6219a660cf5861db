import Foundation
import Synchronization
import Testing

@testable import Temporal

/// `CompletionQueueExecutor`: tasks that prefer it run on their channel's completion-queue
/// thread, are woken there from other threads, never starve the channel's completions, and
/// outlive the channel (their jobs then go to the global executor).
@Suite struct CompletionQueueExecutorTests {
    static let getSystemInfo = "/temporal.api.workflowservice.v1.WorkflowService/GetSystemInfo"

    /// Nothing listens on port 9 (discard): calls there fail once their deadline passes.
    private func unreachableChannel() throws -> GRPCChannel { try GRPCChannel(target: "127.0.0.1:9") }

    @Test func tasksThatPreferItRunOnTheCompletionThreadAndAreWokenFromOthers() async throws {
        let channel = try unreachableChannel()
        defer { channel.close() }
        let executor = channel.completionQueueExecutor
        #expect(!executor.isCurrent)
        let onThread = await Task(executorPreference: executor) { executor.isCurrent }.value
        #expect(onThread)
        // A task on the executor that waits for a resume from another thread (a sleep, resumed
        // by the global executor's timer) comes back to the completion thread.
        let afterSleep = await Task(executorPreference: executor) { () -> Bool in
            try? await Task.sleep(for: .milliseconds(20))
            return executor.isCurrent
        }.value
        #expect(afterSleep)
        #expect(executor.jobsRun >= 3)
        #expect(executor.wakes >= 1, "the sleeping completion thread was woken to run the jobs")
    }

    @Test func aCallsResponseResumesItsCallerOnTheCompletionThread() async throws {
        let channel = try unreachableChannel()
        defer { channel.close() }
        let executor = channel.completionQueueExecutor
        let resumedOnThread = await Task(executorPreference: executor) { () -> Bool in
            _ = try? await channel.unary(method: Self.getSystemInfo, request: Data(), metadata: [], timeout: .milliseconds(50))
            return executor.isCurrent
        }.value
        #expect(resumedOnThread)
    }

    /// A task that keeps yielding on the executor must not keep the channel's completions from
    /// being delivered: the executor runs a few rounds of jobs, then looks for completions.
    @Test func aTaskThatKeepsYieldingDoesNotStarveTheChannel() async throws {
        let channel = try unreachableChannel()
        defer { channel.close() }
        let executor = channel.completionQueueExecutor
        let stop = Atomic<Bool>(false)
        let started = ContinuousClock.now
        let spinner = Task(executorPreference: executor) { () -> Int in
            var rounds = 0
            // Gives up after 5 s on its own: a starved call only completes after that.
            while !stop.load(ordering: .relaxed), ContinuousClock.now < started + .seconds(5) {
                rounds += 1
                await Task.yield()
            }
            return rounds
        }
        let call = await Task(executorPreference: executor) { () -> GRPCStatusCode? in
            do {
                _ = try await channel.unary(
                    method: Self.getSystemInfo, request: Data(), metadata: [], timeout: .milliseconds(100))
                return .ok
            } catch let error as GRPCStatusError {
                return error.code
            } catch {
                return nil
            }
        }.value
        let waited = ContinuousClock.now - started
        stop.store(true, ordering: .relaxed)
        let rounds = await spinner.value
        #expect(call == .deadlineExceeded || call == .unavailable)
        #expect(waited < .seconds(4), "the call's completion was delivered while the spinner ran")
        #expect(rounds > 0)
    }

    /// After `close()`, tasks that still prefer the executor run on the global executor.
    @Test func tasksOutliveTheirChannel() async throws {
        let channel = try unreachableChannel()
        let executor = channel.completionQueueExecutor
        channel.close()
        let ran = await Task(executorPreference: executor) { () -> Bool in
            try? await Task.sleep(for: .milliseconds(5))
            return !executor.isCurrent
        }.value
        #expect(ran)
    }

    /// A task running on the completion thread may close the channel (or drop its last
    /// reference): joining the thread from itself would deadlock, so the thread finishes the
    /// destruction after delivering the cancelled calls.
    @Test func closingTheChannelFromItsOwnCompletionThread() async throws {
        for _ in 0..<20 {
            let channel = try unreachableChannel()
            let executor = channel.completionQueueExecutor
            let pending = Task {
                try await channel.unary(method: Self.getSystemInfo, request: Data(), metadata: [], timeout: .seconds(60))
            }
            try await Task.sleep(for: .milliseconds(5))
            let closedOnThread = await Task(executorPreference: executor) { () -> Bool in
                let onThread = executor.isCurrent
                channel.close()
                return onThread
            }.value
            #expect(closedOnThread)
            let outcome = await pending.result
            #expect(throws: GRPCStatusError.self) { try outcome.get() }
            // Later tasks that prefer the executor still run.
            #expect(await Task(executorPreference: executor) { 1 }.value == 1)
        }
    }

    /// The last reference to a channel dropped by a task on its completion thread: the
    /// channel's deinit closes it there.
    @Test func releasingTheChannelOnItsOwnCompletionThread() async throws {
        for _ in 0..<20 {
            var channel: GRPCChannel? = try unreachableChannel()
            let executor = channel!.completionQueueExecutor
            let box = ChannelBox(channel!)
            channel = nil
            let released = await Task(executorPreference: executor) { () -> Bool in
                let onThread = executor.isCurrent
                box.drop()
                return onThread
            }.value
            #expect(released)
        }
    }

    private final class ChannelBox: Sendable {
        private let channel: Mutex<GRPCChannel?>
        init(_ channel: GRPCChannel) { self.channel = Mutex(channel) }
        func drop() {
            let last = channel.withLock { c -> GRPCChannel? in
                defer { c = nil }
                return c
            }
            _ = last  // released here, on the caller's thread
        }
    }
}
