import Synchronization
import Temporal
import TemporalProto

#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// The number of polls of one task kind that should be open (`PollerBehavior.autoscaling`), and
/// the pollers' bookkeeping against it: a poller asks `keepPolling()` before each poll and
/// reports each outcome; when the target rises, `grew` is called so that the worker starts
/// pollers (`claimNewPoller()`), and surplus pollers stop at their next `keepPolling()`.
final class PollerScaler: Sendable {
    /// What a poll returned, as far as scaling is concerned.
    enum Outcome {
        /// A task (or, `isEmpty`, none before the long poll's timeout), with the server's hint.
        case polled(isEmpty: Bool, delta: Int32?)
        /// The poll failed; `resourceExhausted` when the server refused for load.
        case failed(resourceExhausted: Bool)
    }

    private struct State {
        var target: Int
        var active = 0
        var everSawHint = false
        var receivedThisPeriod = 0
        var receivedLastPeriod = 0
        var periodStart: ContinuousClock.Instant
        var scaleUpAllowed = true
    }

    let minimum: Int
    let maximum: Int
    /// How often the rate of tasks received is compared (a hint to add polls is followed only
    /// while it rises by 10 % or more from one period to the next).
    static let period: Duration = .milliseconds(100)
    private let state: Mutex<State>
    private let grew: @Sendable () -> Void

    /// - Parameter now: when the first period starts (tests give it; default now).
    init(minimum: Int, maximum: Int, initial: Int, now: ContinuousClock.Instant = .now, grew: @escaping @Sendable () -> Void) {
        self.minimum = max(1, minimum)
        self.maximum = max(self.minimum, maximum)
        state = Mutex(State(target: min(max(initial, self.minimum), self.maximum), periodStart: now))
        self.grew = grew
    }

    /// The number of polls that should be open.
    var target: Int { state.withLock { $0.target } }
    /// The number of pollers running.
    var active: Int { state.withLock { $0.active } }

    /// Counts a new poller if fewer run than the target; the caller then starts it.
    func claimNewPoller() -> Bool {
        state.withLock { s in
            guard s.active < s.target else { return false }
            s.active += 1
            return true
        }
    }

    /// Asked by a poller before each poll: false (and the poller is no longer counted) when
    /// more pollers run than the target.
    func keepPolling() -> Bool {
        state.withLock { s in
            guard s.active > s.target else { return true }
            s.active -= 1
            return false
        }
    }

    /// The namespace scales pollers (its `poller_autoscaling` capability): empty and failed
    /// polls bring the count down without waiting for a first hint, as Core and Go do (a server
    /// that sends no hint while the queue is idle left the initial polls, and their slots, open).
    func serverAutoscales() { state.withLock { $0.everSawHint = true } }

    /// A poller stopped for another reason (shutdown, a fatal poll error).
    func pollerStopped() { state.withLock { $0.active -= 1 } }

    func report(_ outcome: Outcome, now: ContinuousClock.Instant = .now) {
        let rose = state.withLock { s -> Bool in
            // The periods that ended since the last report, each compared with the one before
            // (those without a report received nothing); after two empty ones, 0 ≥ 0 allows.
            var ended = 0
            while now - s.periodStart >= Self.period, ended < 3 {
                // Rounded down, as Core compares: a steady few tasks per period allow it (2 ≥ ⌊2.2⌋);
                // compared exactly, a queue its pollers drained at a flat rate never grew.
                s.scaleUpAllowed = s.receivedThisPeriod >= Int(Double(s.receivedLastPeriod) * 1.1)
                s.receivedLastPeriod = s.receivedThisPeriod
                s.receivedThisPeriod = 0
                s.periodStart = s.periodStart + Self.period
                ended += 1
            }
            if now - s.periodStart >= Self.period { s.periodStart = now }  // a long idle time: start afresh
            let before = s.target
            switch outcome {
            case .failed(let resourceExhausted):
                // Without hints nothing would bring the count back up after an outage.
                if s.everSawHint { s.target = resourceExhausted ? s.target / 2 : s.target - 1 }
            case .polled(let isEmpty, let delta):
                if !isEmpty { s.receivedThisPeriod += 1 }
                if let delta {
                    s.everSawHint = true
                    if delta < 0 || s.scaleUpAllowed { s.target += Int(delta) }
                } else if isEmpty, s.everSawHint {
                    s.target -= 1
                }
            }
            s.target = min(max(s.target, minimum), maximum)
            return s.target > before && s.active < s.target
        }
        if rose { grew() }
    }
}

extension PollerScaler.Outcome {
    /// A failed poll: RESOURCE_EXHAUSTED (the server refused for load) or any other failure.
    static func failed(_ error: any Error) -> Self {
        .failed(resourceExhausted: (error as? TemporalError)?.code == .resourceExhausted)
    }
}

/// The fields of a poll response (workflow or activity task) that autoscaling reads.
protocol ScalingPollResponse {
    var taskToken: Data { get }
    var hasPollerScalingDecision: Bool { get }
    var pollerScalingDecision: Temporal_Api_Taskqueue_V1_PollerScalingDecision { get }
}

extension Temporal_Api_Workflowservice_V1_PollWorkflowTaskQueueResponse: ScalingPollResponse {}
extension Temporal_Api_Workflowservice_V1_PollActivityTaskQueueResponse: ScalingPollResponse {}

extension PollerScaler.Outcome {
    /// A poll that returned `response` (a task, or none), with the server's hint if any.
    static func polled(_ response: some ScalingPollResponse) -> Self {
        .polled(
            isEmpty: response.taskToken.isEmpty,
            delta: response.hasPollerScalingDecision ? response.pollerScalingDecision.pollRequestDeltaSuggestion : nil)
    }
}
