import Testing

@testable import TemporalWorker

/// The queue that hands polled tasks to the worker's task groups: order, close, cancellation.
@Suite struct ExecutionQueueTests {
    @Test func runsEverythingSubmittedBeforeAndAfterItStartsThenDrainsWhenClosed() async {
        let queue = ExecutionQueue()
        let log = Recorded<Int>()
        #expect(queue.submit { log.append(1) })
        let running = Task { await queue.run() }
        try? await Task.sleep(for: .milliseconds(50))  // run() now waits for work
        for n in 2...50 { #expect(queue.submit { log.append(n) }) }
        queue.close()
        await running.value  // returns only once closed and every execution has ended
        #expect(queue.drained.happened)
        #expect(log.values.sorted() == Array(1...50))
        #expect(!queue.submit { log.append(99) }, "a closed queue refuses work")
    }

    @Test func closingWaitsForTheRunningExecutions() async {
        let queue = ExecutionQueue()
        let release = OneShotEvent()
        let log = Recorded<Int>()
        _ = queue.submit {
            _ = await release.wait(timeout: .seconds(30))
            log.append(1)
        }
        let running = Task { await queue.run() }
        queue.close()
        try? await Task.sleep(for: .milliseconds(50))
        #expect(!queue.drained.happened)
        release.fire()
        await running.value
        #expect(log.values == [1])
    }

    @Test func cancellingRunStillRunsWhatWasAcceptedAndRefusesTheRest() async {
        // Accepted work must run (it releases its slot and answers its task), even in a
        // cancelled group: as the AsyncStream it replaces did.
        let queue = ExecutionQueue()
        let log = Recorded<Int>()
        for n in 1...3 { #expect(queue.submit { log.append(n) }) }
        let running = Task {
            withUnsafeCurrentTask { $0?.cancel() }  // cancelled before it takes anything
            await queue.run()
        }
        await running.value
        #expect(log.values.sorted() == [1, 2, 3])
        #expect(!queue.submit { log.append(4) })
    }

    @Test func cancellingRunStopsTakingWork() async {
        let queue = ExecutionQueue()
        let running = Task { await queue.run() }
        try? await Task.sleep(for: .milliseconds(50))
        running.cancel()
        await running.value  // would hang if the waiting run() did not see the cancellation
        #expect(queue.drained.happened)
        #expect(!queue.submit {}, "a cancelled queue refuses work")
    }
}
