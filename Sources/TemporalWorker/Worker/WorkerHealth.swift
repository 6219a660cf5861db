/// What a worker is doing, for liveness and readiness checks (`Worker.health`; `LaunchpadWorker`
/// serves it at `/healthz` and `/readyz` beside `/metrics`).
public struct WorkerHealth: Sendable, Equatable, CustomStringConvertible {
    public enum Status: String, Sendable, Equatable {
        /// `run()` has not been called yet.
        case starting
        /// Polling, and no poll is failing (a poll of an idle queue waits up to a minute).
        case serving
        /// Its polls fail (the server is away, or refuses them); it keeps retrying. It reads
        /// `serving` again when a poll comes back or, after polls that could not reach the
        /// server, when a short call (DescribeNamespace, one per worker at most once a second,
        /// after a poller's backoff) finds it back: about 12 s at most after the server's return
        /// (the longest backoff with its jitter), not when a poll that waits on an idle queue for
        /// a task comes back (up to a minute). A poll that fails again makes it `pollingFailing`,
        /// as does one kind of poll failing while another works (activity polls refused while
        /// workflow tasks come), as long as its pollers wait out their backoff.
        case pollingFailing = "polling failing"
        /// A shutdown is under way: no new tasks, running ones finishing.
        case stopping
        /// It stopped: `run()` returned or threw.
        case stopped
    }

    public var status: Status
    /// Why: the last poll error while polling fails, the error that stopped the worker.
    public var detail: String?

    public init(status: Status, detail: String? = nil) {
        self.status = status
        self.detail = detail
    }

    /// Alive: anything but stopped. A stopped worker's process has nothing left to do; a
    /// supervisor restarts it.
    public var isLive: Bool { status != .stopped }
    /// Ready: its polls reach the server.
    public var isReady: Bool { status == .serving }

    public var description: String { detail.map { "\(status.rawValue): \($0)" } ?? status.rawValue }
}
