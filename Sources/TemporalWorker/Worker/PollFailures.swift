import Logging
import Synchronization
import Temporal

/// How a worker's pollers live through failed polls: exponential backoff with jitter (capped)
/// while the server is away, the outage logged once and then at most once a minute, recovery
/// logged; and a stop, with an error saying what to do, for failures that will not heal
/// (an unknown namespace, a rejected request, refused credentials): after 2 s of them when the
/// worker has not polled successfully yet, after 60 s once it has.
///
/// Each kind of poll (`poll`: the RPC's name) keeps its own count and backoff: a workflow poll
/// that works says nothing about activity polls the server refuses (before, one shared count
/// let the workflow polls' successes reset it, so such a worker polled activities every 200 ms
/// for ever without running one, and never stopped). The outage's log and probes are the
/// worker's: any poll that works ends them; `outage` (health) goes on while a kind's pollers
/// wait out a backoff after failing, though another kind's polls work.
final class PollFailures: Sendable {
    /// What a poller does after a failed poll.
    enum Action {
        case retry(after: Duration)
        case stop(WorkerStoppedError)
    }

    /// Consecutive failures of a kind that will not heal before the worker stops, over at
    /// least `fatalAfterDuration` (so that a passing error, e.g. during a failover, does not).
    static let fatalAfter = 3
    /// Before the first successful poll: a worker started with a wrong namespace or
    /// credentials stops soon, saying so.
    static let fatalAfterDuration: Duration = .seconds(2)
    /// Once a poll has succeeded, the same errors are more likely passing (a proxy answering
    /// 404 or 403 for a moment, credentials being rotated, a namespace failing over): the worker
    /// keeps polling this long before it stops (Core retries such polls for 60 s, Go for 2 min).
    static let fatalAfterDurationOnceServed: Duration = .seconds(60)
    /// Backoff bounds.
    static let initialDelay: Duration = .milliseconds(200)
    /// First backoff after RESOURCE_EXHAUSTED (the server throttles): longer, as Go's pollers
    /// back off from 1 s then, so that a throttled fleet does not keep the pressure up.
    static let resourceExhaustedInitialDelay: Duration = .seconds(1)
    static let maxDelay: Duration = .seconds(10)
    /// How often an ongoing outage is logged again.
    static let logInterval: Duration = .seconds(60)

    /// One kind of poll's failures.
    private struct Kind {
        /// Failed polls of the kind since its last success.
        var consecutive = 0
        var fatalInARow = 0
        var fatalSince: ContinuousClock.Instant?
        /// Whether a poll of the kind has ever succeeded (kept across outages): refusals of a
        /// kind that never worked are a configuration the server will not take, not a passing
        /// error.
        var served = false
        /// Since its first failure after its last success, and its last error.
        var failingSince: ContinuousClock.Instant?
        var lastError: String?
        /// Its pollers waiting out a backoff after a failure (not polling again yet).
        var backingOff = 0
    }

    private struct State {
        var kinds: [String: Kind] = [:]
        /// Failed polls of every kind in the ongoing outage.
        var consecutive = 0
        var outageStarted: ContinuousClock.Instant?
        var lastLogged: ContinuousClock.Instant?
        var failedSinceLog = 0
        /// The last failure of the ongoing outage.
        var lastError: String?
        /// A probe (see `beginProbe`) answered since the last failed poll: the server is back,
        /// the polls wait on it.
        var probeAnswered = false
        /// A probe is in flight (one per worker at a time).
        var probing = false
        var lastProbe: ContinuousClock.Instant?
        /// "Answers again" was logged in this outage.
        var announced = false
    }

    private let state = Mutex(State())
    private let taskQueue: String
    private let namespace: String
    private let logger: Logger

    init(taskQueue: String, namespace: String, logger: Logger) {
        self.taskQueue = taskQueue
        self.namespace = namespace
        self.logger = logger
    }

    /// Records a failed poll; says how long to wait, or that the worker must stop.
    func failed(_ error: any Error, poll: String) -> Action {
        let now = ContinuousClock.now
        let fatal = Self.willNotHeal(error)
        let (attempt, fatalCount, fatalFor, logged, outage, served, first) = state.withLock {
            s -> (Int, Int, Duration, Int?, Duration, Bool, Bool) in
            var kind = s.kinds[poll] ?? Kind()
            kind.consecutive += 1
            kind.fatalInARow = fatal ? kind.fatalInARow + 1 : 0
            kind.fatalSince = fatal ? (kind.fatalSince ?? now) : nil
            kind.failingSince = kind.failingSince ?? now
            kind.lastError = "\(error)"
            kind.backingOff += 1
            s.kinds[poll] = kind
            s.consecutive += 1
            if s.outageStarted == nil { s.outageStarted = now }
            s.probeAnswered = false
            s.failedSinceLog += 1
            s.lastError = "\(error)"
            // Log now (with the failures since the last message) at most once per interval.
            var logged: Int?
            if s.lastLogged.map({ now - $0 >= Self.logInterval }) ?? true {
                s.lastLogged = now
                logged = s.failedSinceLog
                s.failedSinceLog = 0
            }
            return (
                kind.consecutive, kind.fatalInARow, now - (kind.fatalSince ?? now), logged, now - (s.outageStarted ?? now), kind.served,
                s.consecutive == 1
            )
        }
        let grace = served ? Self.fatalAfterDurationOnceServed : Self.fatalAfterDuration
        if fatal, fatalCount >= Self.fatalAfter, fatalFor >= grace {
            var stopped = WorkerStoppedError(
                taskQueue: taskQueue, namespace: namespace, cause: "\(error)", advice: Self.advice(for: error, namespace: namespace))
            stopped.failingFor = grace
            return .stop(stopped)
        }
        let delay = Self.delay(afterFailures: attempt, throttled: (error as? TemporalError)?.code == .resourceExhausted)
        if let count = logged {
            if first {
                logger.warning(
                    "polling task queue '\(taskQueue)' failed (\(poll)): \(error); retrying with backoff up to \(Self.maxDelay), and logging at most once a minute until it works again"
                )
            } else {
                logger.warning(
                    "polling task queue '\(taskQueue)' still failing after \(Self.text(outage)) (\(count) failed polls since the last message): \(error)"
                )
            }
        }
        return .retry(after: delay)
    }

    /// The ongoing outage (how long, the last error), nil while polls work, and from when a
    /// probe found the server back until a poll fails again. A kind whose pollers wait out a
    /// backoff after failing is an outage too when another kind's polls work (its activities,
    /// say, refused while workflow tasks come: the worker read as serving); not a kind polling
    /// again after failures, whose poll may wait on an idle queue for a minute.
    var outage: (duration: Duration, lastError: String)? {
        state.withLock { s in
            guard !s.probeAnswered else { return nil }
            let now = ContinuousClock.now
            let failing = s.kinds.values.filter { $0.consecutive > 0 && $0.backingOff > 0 }
            let kindsSince = failing.compactMap(\.failingSince).min()
            if s.consecutive > 0, let started = s.outageStarted {
                return (now - min(started, kindsSince ?? started), s.lastError ?? "unknown error")
            }
            guard let oldest = kindsSince else { return nil }
            let error = failing.first { $0.failingSince == oldest }?.lastError
            return (now - oldest, error ?? "unknown error")
        }
    }

    /// A poller of kind `poll` waited out its backoff and polls again.
    func backoffEnded(poll: String) {
        state.withLock { s in
            guard var kind = s.kinds[poll] else { return }
            kind.backingOff = max(0, kind.backingOff - 1)
            s.kinds[poll] = kind
        }
    }

    /// Records a successful poll of kind `poll`; ends the outage, and logs its end unless a
    /// probe did.
    func succeeded(poll: String) {
        let ended = state.withLock { s -> (Int, Duration, announced: Bool)? in
            // Its other pollers still waiting out a backoff stay counted.
            s.kinds[poll] = Kind(served: true, backingOff: s.kinds[poll]?.backingOff ?? 0)
            // Any poll that works ends the worker's outage, its log and probes (the server
            // answers: readiness need not wait a minute for an idle queue's long poll of another
            // kind); a kind still failing keeps its own count and backoff, reads as failing
            // while its pollers wait out that backoff (`outage`), and starts another outage if it
            // fails again.
            guard s.consecutive > 0, let started = s.outageStarted else { return nil }
            // The log's pace is kept while another kind still fails (its next failure would
            // start another outage at once, and two kinds alternating would log every cycle).
            let stillFailing = s.kinds.values.contains { $0.consecutive > 0 }
            // A probe's answer is kept (only a failure clears it): the kinds still waiting out
            // the backoff of the outage the server came back from do not read as failing again.
            defer { s = State(kinds: s.kinds, lastLogged: stillFailing ? s.lastLogged : nil, probeAnswered: s.probeAnswered) }
            return (s.consecutive, ContinuousClock.now - started, s.announced)
        }
        if let (failures, duration, announced) = ended, !announced {
            logger.info("polling task queue '\(taskQueue)' works again after \(failures) failed polls over \(Self.text(duration))")
        }
    }

    /// Whether to probe the server now (after a backoff that followed a failure to reach it):
    /// during an outage the probes have not ended, one at a time per worker, at most once a
    /// second however many pollers there are. True reserves the probe: call `probeFinished`.
    func beginProbe() -> Bool {
        let now = ContinuousClock.now
        return state.withLock { s in
            guard s.consecutive > 0, !s.probeAnswered, !s.probing,
                s.lastProbe.map({ now - $0 >= Self.probeInterval }) ?? true
            else { return false }
            s.probing = true
            s.lastProbe = now
            return true
        }
    }

    /// A probe ended; when the server answered, the outage reads as over (until a poll fails
    /// again: the backoff and the log's pace are kept), and that is logged once per outage.
    func probeFinished(answered: Bool) {
        let announce = state.withLock { s -> (Int, Duration)? in
            s.probing = false
            guard answered, s.consecutive > 0, let started = s.outageStarted else { return nil }
            s.probeAnswered = true
            guard !s.announced else { return nil }
            s.announced = true
            return (s.consecutive, ContinuousClock.now - started)
        }
        if let (failures, duration) = announce {
            logger.info(
                "the server answers again after \(failures) failed polls of task queue '\(taskQueue)' over \(Self.text(duration)); polling goes on"
            )
        }
    }

    /// The shortest time between two probes of one worker.
    static let probeInterval: Duration = .seconds(1)

    /// A duration for the log, to a tenth of a second ("10.3 s").
    static func text(_ duration: Duration) -> String {
        "\((duration.seconds * 10).rounded() / 10) s"
    }

    /// How long a probe of the server after a failed poll may take.
    static let probeTimeout: Duration = .seconds(5)

    /// Failures that say the server could not be reached (or did not answer in time), after
    /// which a short call tells when it is back sooner than a poll, which waits for a task.
    static func serverWasUnreachable(_ error: any Error) -> Bool {
        guard let error = error as? TemporalError else { return false }
        return error.code == .unavailable || error.code == .deadlineExceeded
    }

    /// Exponential from 200 ms (from 1 s when `throttled`: RESOURCE_EXHAUSTED), doubling, at
    /// most 10 s, ±20 % jitter.
    static func delay(afterFailures count: Int, throttled: Bool = false) -> Duration {
        ExponentialBackoff(initial: throttled ? resourceExhaustedInitialDelay : initialDelay, maximum: maxDelay, jitter: 0.2)
            .delay(beforeRetry: count)
    }

    /// Errors that retrying cannot fix: the namespace does not exist, the request is invalid,
    /// the credentials are refused, the server does not offer the call or refuses this client's
    /// version (`ClientVersionNotSupportedFailure`, a FAILED_PRECONDITION: as Go).
    static func willNotHeal(_ error: any Error) -> Bool {
        guard let error = error as? TemporalError else { return false }
        if case .clientVersionNotSupported? = error.details { return true }
        return [.notFound, .invalidArgument, .permissionDenied, .unauthenticated, .unimplemented].contains(error.code)
    }

    static func advice(for error: any Error, namespace: String) -> String {
        if case .clientVersionNotSupported(let version, let name, let supported)? = (error as? TemporalError)?.details {
            return
                "the server does not serve client '\(name)' at version \(version) (it serves \(supported)): run a worker release the server supports, or upgrade the server"
        }
        switch (error as? TemporalError)?.code {
        case .notFound?:
            return
                "check that namespace '\(namespace)' exists (temporal operator namespace describe \(namespace)) or set TEMPORAL_NAMESPACE"
        case .permissionDenied?, .unauthenticated?:
            return "check the credentials (TEMPORAL_API_KEY, TEMPORAL_TLS_CERT/KEY) and their access to namespace '\(namespace)'"
        default: return "check the worker's configuration against the server (version, namespace, task queue name)"
        }
    }
}

/// A worker stopped because polling failed in a way that will not heal; `Worker.run()` throws it.
public struct WorkerStoppedError: Error, Sendable, CustomStringConvertible {
    /// The worker's task queue.
    public var taskQueue: String
    /// The namespace polled.
    public var namespace: String
    /// The last poll error.
    public var cause: String
    /// What to do about it.
    public var advice: String
    /// How long the polls kept failing before the worker stopped (zero: it stopped at once,
    /// its client closed).
    public var failingFor: Duration = PollFailures.fatalAfterDuration

    public var description: String {
        if failingFor == .zero {
            return "the worker for task queue '\(taskQueue)' in namespace '\(namespace)' stopped: \(cause); \(advice)"
        }
        return
            "the worker for task queue '\(taskQueue)' in namespace '\(namespace)' stopped: polling kept failing (at least \(PollFailures.fatalAfter) times in a row over \(failingFor)) with \(cause); \(advice)"
    }
}
