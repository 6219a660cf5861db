public import CoreMetrics
public import Logging
public import Temporal
import TemporalProto

#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// What activity code may use: facts about the attempt, heartbeats, and the details recorded
/// by the previous attempt's heartbeats. Cancellation (requested by the workflow, a heartbeat
/// timeout's NOT_FOUND, the local deadline, or worker shutdown) arrives as Swift `Task`
/// cancellation: check `Task.isCancelled` / `try Task.checkCancellation()` between steps.
public final class ActivityContext: Sendable {
    public let info: ActivityInfo
    public let dataConverter: DataConverter
    /// Logs with the attempt's metadata: `workflow_id`, `run_id`, `workflow_type`,
    /// `activity_id`, `activity_type`, `attempt`, `namespace`, `task_queue`.
    public let logger: Logger
    /// The worker's metrics backend, for the activity's own metrics.
    public let metricsFactory: any MetricsFactory
    let heartbeater: Heartbeater
    private let previousDetails: Payloads?
    /// Sees every heartbeat's details before throttling (`TemporalTesting`'s activity environment).
    private let onHeartbeat: (@Sendable (Payloads?) -> Void)?
    /// Fired when the worker begins to shut down (nil: a worker that never tells).
    private let workerStopping: OneShotEvent?

    init(
        info: ActivityInfo, dataConverter: DataConverter, logger: Logger, heartbeater: Heartbeater, previousDetails: Payloads?,
        metricsFactory: any MetricsFactory, onHeartbeat: (@Sendable (Payloads?) -> Void)? = nil,
        workerStopping: OneShotEvent? = nil
    ) {
        self.onHeartbeat = onHeartbeat
        self.workerStopping = workerStopping
        self.info = info
        self.metricsFactory = metricsFactory
        self.dataConverter = dataConverter
        self.logger = logger
        self.heartbeater = heartbeater
        self.previousDetails = previousDetails
    }

    /// Records progress. Throttled to one RPC per 0.8 × heartbeat timeout (30 s without one);
    /// the latest details are kept and sent at the end of the window, and before the attempt
    /// completes, so they are never lost.
    public func heartbeat<Details: Encodable>(_ details: Details) {
        do {
            let payloads = try dataConverter.toPayloads(details)
            onHeartbeat?(payloads)
            heartbeater.record(payloads)
        } catch {
            // Still a sign of life, with the details recorded last: dropped whole, the attempt
            // was timed out while its body worked.
            // (This attempt's last details, else the previous attempt's: a heartbeat without
            // details would clear the progress the server holds.)
            logger.warning("heartbeat details not encodable (sending the last ones again): \(error)")
            let last = heartbeater.latestDetails ?? previousDetails
            onHeartbeat?(last)
            heartbeater.record(last)
        }
    }

    /// Records liveness without details.
    public func heartbeat() {
        onHeartbeat?(nil)
        heartbeater.record(nil)
    }

    /// The details of the last heartbeat of a previous attempt (nil on the first attempt or
    /// when it recorded none): where to resume.
    public func lastHeartbeatDetails<T: Decodable>(as type: T.Type = T.self) throws -> T? {
        guard let previousDetails, !previousDetails.payloads.isEmpty else { return nil }
        return try dataConverter.fromPayloads(previousDetails, as: T.self)
    }

    /// Whether the server asked to stop this attempt (seen on a heartbeat response): the
    /// activity was cancelled, paused or reset, or the attempt is gone (`stopReason` says which).
    public var isCancellationRequested: Bool { heartbeater.cancelRequested }

    /// Whether the worker running this attempt has begun to shut down (activities; a local
    /// activity is cancelled when its worker stops, and is not told before). The attempt may finish
    /// within the worker's grace period; after it, the body is cancelled and the attempt fails
    /// as `WorkerShutdown`, to run again elsewhere. A long activity can use the notice to
    /// record its progress (`heartbeat(_:)`) and stop early (as Go's `GetWorkerStopChannel`).
    public var isWorkerShuttingDown: Bool { workerStopping?.happened ?? false }

    /// Returns once the worker running this attempt begins to shut down (see
    /// `isWorkerShuttingDown`), or when the calling task is cancelled.
    public func workerShutdown() async {
        // Without a worker that tells (a test context), an event that never fires: only the
        // caller's cancellation ends the wait.
        await (workerStopping ?? OneShotEvent()).wait()
    }

    /// Why the server asked to stop this attempt, nil while it may run on. A reset activity runs
    /// again from attempt 1 and a paused one when it is unpaused (keep partial progress in the
    /// heartbeat details for them); a cancelled one does not run again.
    public var stopReason: ActivityStopReason? { heartbeater.stopReason }

    /// Ends this body without answering the server: someone else completes the attempt later
    /// through `TemporalClient.asyncActivityHandle(taskToken:)` (pass them `info.taskToken`) or
    /// by ids. The attempt stays open until then or until its timeouts; give it a
    /// start-to-close timeout that covers the outside work (and a heartbeat timeout only if the
    /// outside system heartbeats).
    public func completeAsynchronously() throws -> Never {
        throw ActivityCompletesAsynchronously()
    }
}

/// Thrown by `ActivityContext.completeAsynchronously()`: the worker leaves the attempt open.
public struct ActivityCompletesAsynchronously: Error, CustomStringConvertible {
    public init() {}
    public var description: String { "the activity completes asynchronously (by task token or id)" }
}

/// Why the server asked an activity attempt to stop (`ActivityContext.stopReason`).
public enum ActivityStopReason: Sendable, Hashable {
    /// The workflow asked to cancel the activity: the attempt answers as cancelled.
    case cancelRequested
    /// An operator paused the activity: the attempt answers as failed (`ActivityPaused`), and
    /// the server runs it again once it is unpaused.
    case paused
    /// An operator reset the activity: the attempt answers as failed (`ActivityReset`), and the
    /// server runs it again from attempt 1.
    case reset
    /// The server no longer knows the attempt (it timed out, or the workflow closed).
    case attemptGone
    /// The body recorded no heartbeat for longer than the heartbeat timeout (and a margin):
    /// the server has timed the attempt out and runs it again; this one is stopped, answering
    /// nothing, so that it neither runs on beside the next nor holds its slot.
    case heartbeatTimedOut
}
