#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
import Logging
import Synchronization
import Temporal
import TemporalProto

/// Sends an activity attempt's heartbeats, throttled, without ever losing the latest details.
///
/// The first heartbeat goes out at once; later ones at most once per `interval` (0.8 × the
/// heartbeat timeout, at most `maxThrottle`; `defaultThrottle` without a timeout): details recorded inside the window are kept (the
/// latest wins) and sent when it ends. `flush()` sends what is left before completion. A
/// response with `cancel_requested`, or NOT_FOUND (the attempt is gone), cancels the activity.
final class Heartbeater: Sendable {
    private struct State {
        var lastSent: ContinuousClock.Instant?
        var pending: Payloads??
        var timer: Task<Void, Never>?
        var inFlight: Task<Void, Never>?
        var cancelRequested = false
        var work: Task<Payloads, any Error>?
        var closed = false
        var lastDetails: Payloads?
    }

    let interval: Duration
    private let service: WorkflowService
    private let namespace: String
    private let identity: String
    private let taskToken: Data
    private let logger: Logger
    private let state = Mutex(State())

    init(heartbeatTimeout: Duration?, maxThrottle: Duration = .seconds(60), defaultThrottle: Duration = .seconds(30),
         service: WorkflowService, namespace: String, identity: String, taskToken: Data, logger: Logger) {
        if let timeout = heartbeatTimeout, timeout > .zero {
            interval = min(timeout * 0.8, maxThrottle)
        } else {
            interval = min(defaultThrottle, maxThrottle)
        }
        self.service = service
        self.namespace = namespace
        self.identity = identity
        self.taskToken = taskToken
        self.logger = logger
    }

    /// The task running the activity body (cancelled on a server cancel request).
    func attach(_ work: Task<Payloads, any Error>) {
        let cancelNow = state.withLock { s -> Bool in
            s.work = work
            return s.cancelRequested
        }
        if cancelNow { work.cancel() }
    }

    var cancelRequested: Bool { state.withLock { $0.cancelRequested } }

    /// The latest details recorded (sent or not), for `last_heartbeat_details` on failure.
    var latestDetails: Payloads? { state.withLock { s in s.pending.map { $0 } ?? s.lastDetails } }

    func record(_ details: Payloads?) {
        // A local activity (no task token) has no server-side attempt to heartbeat.
        if taskToken.isEmpty {
            state.withLock { $0.lastDetails = details }
            return
        }
        let clock = ContinuousClock()
        let now = clock.now
        let sendNow: Bool = state.withLock { s in
            if s.closed { return false }
            s.lastDetails = details
            if let last = s.lastSent, now - last < interval {
                s.pending = .some(details)
                if s.timer == nil {
                    let wait = interval - (now - last)
                    s.timer = Task { [self] in
                        try? await Task.sleep(for: wait)
                        if Task.isCancelled { return }
                        self.timerFired()
                    }
                }
                return false
            }
            s.lastSent = now
            return true
        }
        if sendNow { startSend(details) }
    }

    private func timerFired() {
        let details: Payloads?? = state.withLock { s in
            s.timer = nil
            guard !s.closed, let pending = s.pending else { return nil }
            s.pending = nil
            s.lastSent = ContinuousClock.now
            return .some(pending)
        }
        if let details { startSend(details) }
    }

    /// Sends strictly one after another, so that older details never land after newer ones.
    private func startSend(_ details: Payloads?) {
        state.withLock { s in
            let previous = s.inFlight
            s.inFlight = Task { [self] in
                await previous?.value
                await self.send(details)
            }
        }
    }

    private func send(_ details: Payloads?) async {
        var r = Temporal_Api_Workflowservice_V1_RecordActivityTaskHeartbeatRequest()
        r.taskToken = taskToken
        r.identity = identity
        r.namespace = namespace
        if let details { r.details = details }
        do {
            let response = try await service.recordActivityTaskHeartbeat(r)
            if response.cancelRequested || response.activityReset { requestCancel() }
        } catch let error as TemporalError where error.code == .notFound {
            logger.debug("heartbeat: the activity attempt is gone (\(error.message)); cancelling it")
            requestCancel()
        } catch {
            logger.warning("heartbeat failed: \(error)")
        }
    }

    func requestCancel() {
        let work = state.withLock { s -> Task<Payloads, any Error>? in
            s.cancelRequested = true
            return s.work
        }
        work?.cancel()
    }

    /// Stops the window timer, sends the details still pending and waits for every heartbeat
    /// RPC in flight (so none races the completion).
    func flush() async {
        let (pending, inFlight) = state.withLock { s -> (Payloads??, Task<Void, Never>?) in
            s.timer?.cancel()
            s.timer = nil
            s.closed = true
            let p = s.pending
            s.pending = nil
            return (p, s.inFlight)
        }
        await inFlight?.value
        if let pending { await send(pending) }
    }

    /// Stops without sending anything more (the details go with the failure instead).
    func close() async {
        let inFlight = state.withLock { s -> Task<Void, Never>? in
            s.timer?.cancel()
            s.timer = nil
            s.closed = true
            return s.inFlight
        }
        await inFlight?.value
    }
}
