import Synchronization
import Testing

@testable import TemporalWorker

/// Who gets a freed task slot (`Slots`), without a server: arrival order, except that a sticky
/// queue's polls go first while the server says that queue has a backlog.
@Suite struct SlotsTests {
    /// The order in which waiters got their slot.
    final class Order: Sendable {
        let names = Mutex<[String]>([])
        func add(_ name: String) { names.withLock { $0.append(name) } }
        var value: [String] { names.withLock { $0 } }
    }

    /// Two slots: one held by a task, the other by a normal poll when `normalPollOut` (else by
    /// a task too); a normal poll waits, then a preferred (sticky) one, with the sticky queue's
    /// `backlog`; the task's slot is freed. Each waiter, once served, records its name and gives
    /// the slot back (an empty poll), so the other is served.
    private func servedOrder(backlog: Int64, normalPollOut: Bool = true) async throws -> [String] {
        let slots = Slots(2)
        #expect(slots.tryAcquire())
        if normalPollOut {
            #expect(await slots.acquireForPoll())
        } else {
            #expect(slots.tryAcquire())
        }
        let order = Order()
        let normal = Task {
            if await slots.acquireForPoll() { order.add("normal") }
            slots.pollReturned(withTask: false)
        }
        try await waitUntil { slots.waiterCount == 1 }
        let sticky = Task {
            if await slots.acquireForPoll(preferred: true) { order.add("sticky") }
            slots.pollReturned(withTask: false, preferred: true)
        }
        try await waitUntil { slots.waiterCount == 2 }
        slots.prefer(backlog: backlog)
        slots.release()
        await normal.value
        await sticky.value
        return order.value
    }

    private func waitUntil(_ condition: () -> Bool) async throws {
        let deadline = ContinuousClock.now + .seconds(10)
        while !condition() {
            try #require(ContinuousClock.now < deadline, "waiters never queued")
            try await Task.sleep(for: .milliseconds(1))
        }
    }

    @Test func waitersAreServedInArrivalOrderWithoutABacklog() async throws {
        #expect(try await servedOrder(backlog: 0) == ["normal", "sticky"])
        #expect(try await servedOrder(backlog: 1) == ["normal", "sticky"], "one task: the sticky poll out will take it")
    }

    @Test func aPreferredWaiterGoesFirstWhileItsQueueHasABacklog() async throws {
        #expect(try await servedOrder(backlog: 5) == ["sticky", "normal"])
    }

    /// As Core: the other queue is never left without a poll (a normal poll that came back
    /// empty would otherwise queue behind every sticky poll for as long as the backlog lasts).
    @Test func aNormalPollGoesInOrderWhenNoneIsOut() async throws {
        #expect(try await servedOrder(backlog: 5, normalPollOut: false) == ["normal", "sticky"])
    }

    @Test func aCancelledPreferredWaiterLeavesTheSlotToTheNext() async throws {
        let slots = Slots(1)
        #expect(slots.tryAcquire())
        slots.prefer(backlog: 5)
        let normal = Task { await slots.acquireForPoll() }
        try await waitUntil { slots.waiterCount == 1 }
        let sticky = Task { await slots.acquireForPoll(preferred: true) }
        try await waitUntil { slots.waiterCount == 2 }
        sticky.cancel()
        #expect(await sticky.value == false)
        slots.release()
        #expect(await normal.value == true)
    }
}
