import Foundation
import Testing

@testable import TemporalWorker

/// `OneShotEvent.first(of:deadline:)`, which an activity attempt uses to watch its cancel
/// request, the worker's hard stop and its deadline with one task.
@Suite struct OneShotEventTests {
    @Test func firstReturnsWhenAnyEventFires() async {
        let a = OneShotEvent()
        let b = OneShotEvent()
        let waiting = Task { await OneShotEvent.first(of: [a, b], deadline: Date().addingTimeInterval(60)) }
        try? await Task.sleep(for: .milliseconds(50))
        b.fire()
        await waiting.value  // would hang for 60 s if the event did not wake it
        #expect(b.happened && !a.happened)
    }

    @Test func firstReturnsAtOnceForAnEventThatAlreadyHappened() async {
        let done = OneShotEvent()
        done.fire()
        await OneShotEvent.first(of: [OneShotEvent(), done], deadline: nil)
    }

    @Test func firstReturnsAtTheDeadline() async {
        let clock = ContinuousClock()
        let started = clock.now
        await OneShotEvent.first(of: [OneShotEvent()], deadline: Date().addingTimeInterval(0.2))
        #expect(clock.now - started >= .milliseconds(150))
        // A deadline already passed returns at once.
        await OneShotEvent.first(of: [OneShotEvent()], deadline: Date().addingTimeInterval(-1))
    }

    @Test func firstReturnsWhenTheWaitingTaskIsCancelled() async {
        let never = OneShotEvent()
        let waiting = Task { await OneShotEvent.first(of: [never], deadline: nil) }
        try? await Task.sleep(for: .milliseconds(50))
        waiting.cancel()
        await waiting.value
        // The event forgot the waiter: firing it later wakes nothing and does not crash.
        #expect(never.fire())
    }
}
