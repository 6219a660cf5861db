import Synchronization
import Testing

@testable import TemporalWorker

/// The autoscaling pollers' arithmetic (`PollerBehavior.autoscaling`), without a server.
@Suite struct PollerScalerTests {
    final class Growth: Sendable {
        let count = Atomic<Int>(0)
        func grew() { count.add(1, ordering: .relaxed) }
    }

    @Test func startsAtTheInitialCountWithinTheBounds() {
        #expect(PollerScaler(minimum: 2, maximum: 4, initial: 9, grew: {}).target == 4)
        #expect(PollerScaler(minimum: 2, maximum: 4, initial: 0, grew: {}).target == 2)
        let scaler = PollerScaler(minimum: 1, maximum: 10, initial: 3, grew: {})
        var started = 0
        while scaler.claimNewPoller() { started += 1 }
        #expect(started == 3 && scaler.active == 3)
    }

    @Test func aNegativeHintRetiresSurplusPollersAtTheirNextPoll() {
        let scaler = PollerScaler(minimum: 1, maximum: 10, initial: 3, grew: {})
        while scaler.claimNewPoller() {}
        scaler.report(.polled(isEmpty: false, delta: -2))
        #expect(scaler.target == 1)
        #expect(!scaler.keepPolling())
        #expect(!scaler.keepPolling())
        #expect(scaler.keepPolling(), "the last poller keeps polling")
        #expect(scaler.active == 1)
    }

    @Test func aPositiveHintAddsPollersWhileTasksArriveFasterAndAsksForThem() {
        let growth = Growth()
        let scaler = PollerScaler(minimum: 1, maximum: 5, initial: 1, grew: growth.grew)
        while scaler.claimNewPoller() {}
        let start = ContinuousClock.now
        scaler.report(.polled(isEmpty: false, delta: 3), now: start)
        #expect(scaler.target == 4)
        #expect(growth.count.load(ordering: .relaxed) == 1)
        #expect(scaler.claimNewPoller() && scaler.claimNewPoller() && scaler.claimNewPoller() && !scaler.claimNewPoller())
        scaler.report(.polled(isEmpty: false, delta: 9), now: start)
        #expect(scaler.target == 5, "never above the maximum")
        // Two tasks in the first period, none in the next: once that period ends, additions
        // are ignored (the rate of tasks fell) while removals still apply.
        scaler.report(.polled(isEmpty: true, delta: -1), now: start + PollerScaler.period)
        #expect(scaler.target == 4)
        scaler.report(.polled(isEmpty: true, delta: 1), now: start + PollerScaler.period * 2)
        #expect(scaler.target == 4, "an addition is ignored while the rate of tasks fell")
        scaler.report(.polled(isEmpty: true, delta: -1), now: start + PollerScaler.period * 2)
        #expect(scaler.target == 3)
    }

    /// Tasks arriving at a steady rate allow an addition, as in Core (which compares with the
    /// last period's count times 1.1 rounded down): compared exactly, 2 tasks per period after
    /// 2 never did, and a backlog its few pollers drained at a flat rate never got more.
    @Test func aSteadyRateOfTasksAllowsTheServersAddition() {
        let start = ContinuousClock.now
        let scaler = PollerScaler(minimum: 1, maximum: 10, initial: 1, now: start, grew: {})
        while scaler.claimNewPoller() {}
        let period = PollerScaler.period
        scaler.report(.polled(isEmpty: false, delta: nil), now: start + period / 10)
        scaler.report(.polled(isEmpty: false, delta: nil), now: start + period / 5)
        scaler.report(.polled(isEmpty: false, delta: nil), now: start + period * 1.1)
        scaler.report(.polled(isEmpty: false, delta: nil), now: start + period * 1.5)
        scaler.report(.polled(isEmpty: false, delta: 1), now: start + period * 2.1)
        #expect(scaler.target == 2)
    }

    @Test func emptyPollsRemovePollersOnlyOnceTheServerHasHinted() {
        let scaler = PollerScaler(minimum: 1, maximum: 10, initial: 4, grew: {})
        scaler.report(.polled(isEmpty: true, delta: nil))
        #expect(scaler.target == 4, "without hints the count would never come back up")
        scaler.report(.polled(isEmpty: false, delta: 0))
        scaler.report(.polled(isEmpty: true, delta: nil))
        #expect(scaler.target == 3)
    }

    /// A namespace that scales pollers (`poller_autoscaling`) but sends no hint while its queue
    /// is idle: empty polls bring the count down anyway, as in Core and Go.
    @Test func emptyPollsRemovePollersWhenTheNamespaceScalesPollers() {
        let scaler = PollerScaler(minimum: 1, maximum: 10, initial: 4, grew: {})
        scaler.serverAutoscales()
        for _ in 0..<5 { scaler.report(.polled(isEmpty: true, delta: nil)) }
        #expect(scaler.target == 1)
    }

    @Test func failuresRemovePollersAndThrottlingHalvesThemOnceTheServerHasHinted() {
        let scaler = PollerScaler(minimum: 2, maximum: 20, initial: 16, grew: {})
        scaler.report(.failed(resourceExhausted: true))
        scaler.report(.failed(resourceExhausted: false))
        #expect(scaler.target == 16, "without hints nothing would bring the count back up after an outage")
        scaler.report(.polled(isEmpty: false, delta: 0))
        scaler.report(.failed(resourceExhausted: true))
        #expect(scaler.target == 8)
        scaler.report(.failed(resourceExhausted: false))
        #expect(scaler.target == 7)
        for _ in 0..<10 { scaler.report(.failed(resourceExhausted: true)) }
        #expect(scaler.target == 2, "never below the minimum")
    }

    /// Each workflow queue's autoscaled polls leave slots to the other's: the normal queue's
    /// the sticky minimum where the slots allow (never below one poll, nor its own minimum); the
    /// sticky queue's starts at its minimum.
    @Test func workflowQueueCapsLeaveSlotsToTheOtherQueue() throws {
        let behaviour = PollerBehavior.autoscaling(minimum: 1, maximum: 10, initial: 5)
        #expect(try #require(behaviour.scaler(slots: 4, reserving: 1) {}).maximum == 3)
        #expect(try #require(behaviour.scaler(slots: 100, reserving: 1) {}).maximum == 10)
        #expect(try #require(behaviour.scaler(slots: 1, reserving: 1) {}).maximum == 1)
        let sticky = try #require(behaviour.scaler(slots: 4, reserving: 1, startAtMinimum: true) {})
        #expect(sticky.target == 1 && sticky.maximum == 3)
        let wide = PollerBehavior.autoscaling(minimum: 3, maximum: 10, initial: 5)
        #expect(try #require(wide.scaler(slots: 4, reserving: 3) {}).maximum == 3, "never below its own minimum")
        #expect(PollerBehavior.fixed(3).scaler(slots: 4, reserving: 1) {} == nil)
    }

    @Test func behaviourCounts() {
        #expect(PollerBehavior.fixed(0).initialCount == 1)
        #expect(PollerBehavior.autoscaling(minimum: 2, maximum: 8, initial: 5).stickyCount == 2)
        var options = WorkerOptions()
        options.activityPollers = 3
        #expect(options.activityTaskPollerBehavior == .fixed(3))
    }
}
