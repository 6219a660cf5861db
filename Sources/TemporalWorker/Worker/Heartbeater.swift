import Logging
import Synchronization
import Temporal
import TemporalProto

#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// Sends an activity attempt's heartbeats, throttled, without ever losing the latest details.
///
/// The first heartbeat goes out at once; later ones at most once per `interval` (0.8 × the
/// heartbeat timeout, at most `maxThrottle`; `defaultThrottle` without a timeout): details
/// recorded inside the window are kept (the latest wins) and sent when it ends. The sends are
/// made one after another (older details never land after newer ones) by a sender task that the
/// first heartbeat starts (it takes the task-locals of that `heartbeat()` call; the send path
/// reads none); `finish(sendPending:)` ends it, sending what is left first or not, and waits for
/// it; `cancelSender()` stops it when the attempt's caller is cancelled. A response with
/// `cancel_requested`, `activity_reset` or `activity_paused`, or NOT_FOUND (the attempt is
/// gone), fires `cancelRequest`, which the attempt turns into cancelling the body, and records
/// why (`stopReason`), which decides how the attempt answers.
final class Heartbeater: Sendable {
    private struct State {
        /// When the body last recorded a heartbeat (at first, when the attempt began).
        var lastRecorded = ContinuousClock.now
        var lastSent: ContinuousClock.Instant?
        /// When the server last took a heartbeat (at first, when the attempt began).
        var lastAcknowledged = ContinuousClock.now
        /// Details recorded and not sent yet (`.some(nil)`: a heartbeat without details).
        var pending: Payloads??
        var lastDetails: Payloads?
        /// nil while the attempt runs; then whether to send what is pending before stopping.
        var finishing: Bool?
        /// The sender, parked until there is something to do.
        var wakeUp: CheckedContinuation<Void, Never>?
        /// Whether the parked sender waits for details (else only for `finish`: it is waiting
        /// out the throttle window, and new details just replace the pending ones).
        var parkedForDetails = false
        /// The sender, from the first heartbeat on.
        var sender: Task<Void, Never>?
        /// The attempt's caller was cancelled: no sender any more (none started later either).
        var senderCancelled = false
    }

    let interval: Duration
    /// The attempt's heartbeat timeout, if it has one.
    let heartbeatTimeout: Duration?
    /// How long one heartbeat's RPC may take, retries included: the throttle interval (at least
    /// `minRetryBudget`), as Go bounds it. The next heartbeat is due by then, and past the
    /// heartbeat timeout the server has timed the attempt out anyway; the client's 60 s held
    /// the sender (and the attempt's answer, which waits for it) through an outage, and found
    /// a timed-out attempt late.
    let retryBudget: Duration
    static let minRetryBudget: Duration = .seconds(1)
    /// Fired when the server asks to cancel the attempt (or it is gone).
    let cancelRequest = OneShotEvent()
    private let service: WorkflowService
    private let namespace: String
    private let identity: String
    private let taskToken: Data
    private let logger: Logger
    private let state = Mutex(State())
    /// Fired when the worker begins to shut down: what is pending goes out then, and later
    /// heartbeats at most `stoppingInterval` apart (the body records its progress on that notice,
    /// and the grace period is shorter than a throttle window: held back, the details were lost
    /// to a kill after it; Go flushes on its stop channel too).
    private let workerStopping: OneShotEvent?
    /// The throttle interval once the worker stops (or `interval`, when shorter).
    static let stoppingInterval: Duration = .seconds(1)

    init(
        heartbeatTimeout: Duration?, maxThrottle: Duration = .seconds(60), defaultThrottle: Duration = .seconds(30),
        service: WorkflowService, namespace: String, identity: String, taskToken: Data, logger: Logger,
        workerStopping: OneShotEvent? = nil, began: ContinuousClock.Instant = .now
    ) {
        self.workerStopping = workerStopping
        if let timeout = heartbeatTimeout, timeout > .zero {
            interval = min(timeout * 0.8, maxThrottle)
            self.heartbeatTimeout = timeout
        } else {
            interval = min(defaultThrottle, maxThrottle)
            self.heartbeatTimeout = nil
        }
        retryBudget = max(interval, Self.minRetryBudget)
        self.service = service
        self.namespace = namespace
        self.identity = identity
        self.taskToken = taskToken
        self.logger = logger
        // The body's silence counts from the task's arrival (the server's timer runs from then).
        state.withLock { ($0.lastRecorded, $0.lastAcknowledged) = (began, began) }
    }

    /// Whether the attempt was asked to stop (cancel requested, paused, reset, or gone).
    var cancelRequested: Bool { cancelRequest.happened }

    /// Why the attempt was asked to stop (the first reason seen), nil while it may run on.
    var stopReason: ActivityStopReason? { reason.withLock { $0 } }

    private let reason = Mutex<ActivityStopReason?>(nil)

    /// The latest details recorded (sent or not), for `last_heartbeat_details` on failure.
    var latestDetails: Payloads? { state.withLock { s in s.pending.map { $0 } ?? s.lastDetails } }

    /// Records details to send (called by the body, from any thread; never blocks).
    func record(_ details: Payloads?) {
        let wake = state.withLock { s -> CheckedContinuation<Void, Never>? in
            s.lastDetails = details
            s.lastRecorded = .now
            // A local activity (no task token) has no server-side attempt to heartbeat.
            guard !taskToken.isEmpty, s.finishing == nil else { return nil }
            s.pending = .some(details)
            if s.sender == nil, !s.senderCancelled { s.sender = Task { await self.runSender() } }
            guard s.parkedForDetails else { return nil }
            defer { s.wakeUp = nil }
            return s.wakeUp
        }
        wake?.resume()
    }

    private var isWorkerStopping: Bool { workerStopping?.happened ?? false }

    /// How long past the heartbeat timeout a silent body runs on before it is stopped: the
    /// server's timer fires first, so the attempt is over there (Core's local timeout buffer).
    static let silenceMargin: Duration = .seconds(5)

    /// How long until a body that records no more heartbeats is to be stopped
    /// (`heartbeatTimedOut`): its last heartbeat, or the last one the server acknowledged when
    /// later (a heartbeat held by the throttle, or retried, reaches the server, which times the
    /// attempt from it, up to 0.8 × the timeout after the body recorded it), plus the heartbeat
    /// timeout and `silenceMargin`,
    /// less the time since (zero or less: now). Counted on the monotonic clock (a wall clock
    /// stepped forward would stop a healthy body). Nil without a heartbeat timeout, or for a
    /// local activity (no server-side attempt), as Core times them (from each send's end).
    var silenceRemaining: Duration? {
        guard let heartbeatTimeout, !taskToken.isEmpty else { return nil }
        let since = state.withLock { s in ContinuousClock.now - max(s.lastRecorded, s.lastAcknowledged) }
        return heartbeatTimeout + Self.silenceMargin - since
    }

    func requestCancel(_ why: ActivityStopReason = .cancelRequested) {
        reason.withLock { if $0 == nil { $0 = why } }
        cancelRequest.fire()
    }

    /// Stops sending at once (the attempt's caller was cancelled, as when it was a child task of
    /// the attempt): the sender is cancelled and no later heartbeat starts another.
    func cancelSender() {
        let sender = state.withLock { s -> Task<Void, Never>? in
            s.senderCancelled = true
            return s.sender
        }
        sender?.cancel()
    }

    /// Ends the sender and waits for it: it sends the details still pending first when
    /// `sendPending` (the attempt completed, was cancelled, or completes asynchronously), or drops
    /// them (it failed: they go with the failure instead); `cancelSender()` cuts it short. No
    /// heartbeat is in flight when this returns.
    /// - Parameter stop: the worker's hard stop, which cuts the sender short as `cancelSender()`
    ///   does, whether it fired before or while this waits: the attempt's answer does not wait
    ///   for a heartbeat's RPC (up to `retryBudget` while the server does not answer) then.
    func finish(sendPending: Bool, cutShortBy stop: OneShotEvent? = nil) async {
        let (wake, sender) = state.withLock { s -> (CheckedContinuation<Void, Never>?, Task<Void, Never>?) in
            if s.finishing == nil { s.finishing = sendPending }
            defer { s.wakeUp = nil }
            return (s.wakeUp, s.sender)
        }
        wake?.resume()
        guard let sender else { return }
        guard let stop else { return await sender.value }
        // (Only attempts that heartbeat come here: most never start a sender.)
        await withTaskGroup(of: Void.self) { group in
            group.addTask {
                await stop.wait()  // returns when cancelled too
                if stop.happened { self.cancelSender() }
            }
            await sender.value
            group.cancelAll()
        }
    }

    /// Sends the details a `finish(sendPending: false)` held back, once, if any: the attempt
    /// answers "cancelled" after all (a heartbeat in flight at its end brought the cancel
    /// request), and a cancellation sends them first.
    func sendHeldBack() async {
        // Only what `finish(sendPending: false)` held back: not what a hard stop or a cancelled
        // caller cut the sender short on (the answer must not wait for a heartbeat then).
        let held = state.withLock { s -> Payloads?? in
            guard s.finishing == false, !s.senderCancelled, let pending = s.pending else { return .none }
            s.pending = nil
            return .some(pending)
        }
        guard case .some(let details) = held else { return }
        await send(details)
    }

    /// Sends heartbeats until `finish(sendPending:)` (or until the sender task is cancelled).
    private func runSender() async {
        let clock = ContinuousClock()
        while !Task.isCancelled {
            switch nextStep(now: clock.now) {
            case .send(let details):
                await send(details)
            case .sleep(let wait, let stoppingSeen):
                // Out of the window's end, `finish` and the worker's stop, whichever comes first
                // (a stop since `nextStep` looked ends the wait at once: its waiter returns).
                await withTaskGroup(of: Void.self) { group in
                    group.addTask { try? await Task.sleep(for: wait) }
                    group.addTask { await self.park(wakeOnPending: false) }
                    if let stopping = workerStopping, !stoppingSeen { group.addTask { await stopping.wait() } }
                    await group.next()
                    group.cancelAll()
                }
            case .park:
                await park(wakeOnPending: true)
            case .stop:
                return
            }
        }
    }

    private enum Step {
        case send(Payloads?)
        /// Until the window ends; whether the worker's stop was seen when it was computed.
        case sleep(Duration, stoppingSeen: Bool)
        case park, stop
    }

    private func nextStep(now: ContinuousClock.Instant) -> Step {
        let stopping = isWorkerStopping
        return state.withLock { s in
            guard let details = s.pending else { return s.finishing == nil ? .park : .stop }
            if s.finishing == false { return .stop }
            let window = stopping ? min(interval, Self.stoppingInterval) : interval
            if s.finishing == nil, let last = s.lastSent, now - last < window {
                return .sleep(window - (now - last), stoppingSeen: stopping)
            }
            s.pending = nil
            s.lastSent = now
            return .send(details)
        }
    }

    /// Waits for `finish` or cancellation, and for details to send when `wakeOnPending`.
    private func park(wakeOnPending: Bool) async {
        await withTaskCancellationHandler {
            await withCheckedContinuation { (c: CheckedContinuation<Void, Never>) in
                let now = state.withLock { s -> Bool in
                    if (wakeOnPending && s.pending != nil) || s.finishing != nil || Task.isCancelled { return true }
                    s.wakeUp = c
                    s.parkedForDetails = wakeOnPending
                    return false
                }
                if now { c.resume() }
            }
        } onCancel: {
            let wake = state.withLock { s -> CheckedContinuation<Void, Never>? in
                defer { s.wakeUp = nil }
                return s.wakeUp
            }
            wake?.resume()
        }
    }

    /// Details above this size draw a warning when the server answers "cancel requested" (the
    /// server warns at 512 KB and fails the activity at 2 MB by default).
    static let blobWarningBytes = 512 * 1024

    private func send(_ details: Payloads?) async {
        var r = Temporal_Api_Workflowservice_V1_RecordActivityTaskHeartbeatRequest()
        r.taskToken = taskToken
        r.identity = identity
        r.namespace = namespace
        if let details { r.details = details }
        do {
            let response = try await service.recordActivityTaskHeartbeat(r, within: retryBudget)
            state.withLock { $0.lastAcknowledged = .now }
            if response.cancelRequested {
                // Details over the server's blob limit (2 MB by default) are not refused: the
                // server fails the activity itself, not retryable, and answers "cancel requested".
                // Said here, or the attempt looked cancelled by nobody.
                if let bytes = details.map({ $0.payloads.reduce(0) { $0 + $1.data.count } }), bytes > Self.blobWarningBytes {
                    logger.warning(
                        "heartbeat details of \(bytes) bytes: if they are over the server's blob size limit (2 MB by default), the server failed the activity (not retryable) and answers as if it were cancelled; heartbeat a cursor or a count rather than the data"
                    )
                }
                requestCancel(.cancelRequested)
            } else if response.activityReset {
                requestCancel(.reset)
            } else if response.activityPaused {
                requestCancel(.paused)
            }
        } catch is CancellationError {
            return  // the sender was stopped (`cancelSender()`): nothing to report
        } catch let error as TemporalError where error.code == .notFound {
            logger.debug("heartbeat: the activity attempt is gone (\(error.message)); cancelling it")
            requestCancel(.attemptGone)
        } catch {
            let refusal = SizeRefusal(error, of: r)
            if let refusal {
                // Every later heartbeat with these details is refused the same way, so the
                // server times the attempt out once the heartbeat timeout passes (below).
                logger.error(
                    "heartbeat refused: it is \(refusal.bytes) bytes, larger than the server accepts (\(refusal.words)); the progress its details carry is not saved: heartbeat a cursor or a count rather than the data"
                )
            }
            // The RPC's own retries are spent. Once no heartbeat has reached the server for
            // longer than the heartbeat timeout, the server has timed the attempt out and runs
            // it again elsewhere: stop this one rather than do the work twice (as Go does).
            let silent = ContinuousClock.now - state.withLock { $0.lastAcknowledged }
            if let timeout = heartbeatTimeout, silent > timeout {
                logger.warning(
                    "heartbeat failed: \(error); no heartbeat reached the server for \(silent), longer than the heartbeat timeout \(timeout), so the server has timed this attempt out: cancelling it"
                )
                requestCancel(.attemptGone)
            } else if refusal == nil {
                logger.warning("heartbeat failed: \(error)")
            }
        }
    }
}
