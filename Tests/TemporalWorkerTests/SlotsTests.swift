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

    /// One slot, held; a normal poll waits for it, then a preferred (sticky) one. Each, once
    /// served, records its name and gives the slot back (an empty poll), so the other is served.
    private func servedOrder(preferring: Bool) async throws -> [String] {
        let slots = Slots(1)
        #expect(slots.tryAcquire())
        let order = Order()
        let normal = Task {
            if await slots.acquireForPoll() { order.add("normal") }
            slots.pollReturned(withTask: false)
        }
        try await waitUntil { slots.waiterCount == 1 }
        let sticky = Task {
            if await slots.acquireForPoll(preferred: true) { order.add("sticky") }
            slots.pollReturned(withTask: false)
        }
        try await waitUntil { slots.waiterCount == 2 }
        slots.prefer(preferring)
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

    @Test func waitersAreServedInArrivalOrder() async throws {
        #expect(try await servedOrder(preferring: false) == ["normal", "sticky"])
    }

    @Test func aPreferredWaiterGoesFirstWhilePreferenceIsOn() async throws {
        #expect(try await servedOrder(preferring: true) == ["sticky", "normal"])
    }

    @Test func aCancelledPreferredWaiterLeavesTheSlotToTheNext() async throws {
        let slots = Slots(1)
        #expect(slots.tryAcquire())
        slots.prefer(true)
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
