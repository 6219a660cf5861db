import TemporalProto

#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// How the client retries RPCs that failed for transient reasons.
///
/// Retried: UNAVAILABLE (server down, restarting, connection refused), RESOURCE_EXHAUSTED
/// from the server's rate limits (not a message over gRPC's size limit), ABORTED, UNKNOWN.
/// Never retried: everything else, including DEADLINE_EXCEEDED and CANCELLED. Starts,
/// signals, cancels and schedule changes carry a request id, so a retry of one the server did
/// carry out is not done twice.
public struct RPCRetryPolicy: Sendable, Equatable {
    /// First backoff (default 100 ms).
    public var initialInterval: Duration = .milliseconds(100)
    /// Backoff multiplier per attempt (default 2).
    public var backoffCoefficient: Double = 2
    /// Largest backoff (default 5 s).
    public var maximumInterval: Duration = .seconds(5)
    /// Give up once this much time has passed since the first attempt (default 60 s).
    public var maximumElapsed: Duration = .seconds(60)
    /// Random spread applied to each backoff, as a fraction (default 0.2 = ±20 %).
    public var jitter: Double = 0.2
    /// First backoff after the server throttled a call (RESOURCE_EXHAUSTED with its details;
    /// default 1 s): a namespace over its rate limit is not asked again at once, as Core does.
    public var throttledInitialInterval: Duration = .seconds(1)
    /// Largest backoff after the server throttled a call (default 10 s).
    public var throttledMaximumInterval: Duration = .seconds(10)

    public init() {}

    /// A policy that never retries.
    public static var none: RPCRetryPolicy {
        var p = RPCRetryPolicy()
        p.maximumElapsed = .zero
        return p
    }

    /// Whether an error is worth another attempt: UNAVAILABLE, ABORTED and UNKNOWN (what
    /// gRPC makes of an HTTP 500, and other statuses it does not map, from a proxy or load
    /// balancer in front of the server; Go and Core retry it too), and RESOURCE_EXHAUSTED when the server says it throttled the
    /// call (its `ResourceExhaustedFailure` details, which Temporal's rate limits carry, also
    /// inside the `MultiOperationExecutionFailure` of an update-with-start). A
    /// RESOURCE_EXHAUSTED without them comes from gRPC itself (a message larger than the
    /// channel's limit) or from a proxy, and would fail the same way again.
    public static func isTransient(_ error: GRPCStatusError) -> Bool {
        switch error.code {
        case .unavailable, .aborted, .unknown: return true
        case .resourceExhausted:
            var details = TemporalError.statusDetails(error.trailer("grpc-status-details-bin"))
            if let operation = TemporalError.failedOperation(details) { details = operation.details }
            if case .resourceExhausted? = TemporalError.decodeDetails(details) { return true }
            return false
        default: return false
        }
    }

    /// The backoff before retry number `attempt` (1-based), with jitter; after an attempt the
    /// server throttled, number `throttledAttempt` of those (1-based, counted apart, as Core
    /// does), the longer of that and the throttled backoff.
    public func backoff(attempt: Int, throttledAttempt: Int? = nil) -> Duration {
        let delay = ExponentialBackoff(initial: initialInterval, coefficient: backoffCoefficient, maximum: maximumInterval, jitter: jitter)
            .delay(beforeRetry: attempt)
        guard let throttledAttempt else { return max(delay, .milliseconds(1)) }
        let slower = ExponentialBackoff(
            initial: throttledInitialInterval, coefficient: backoffCoefficient, maximum: throttledMaximumInterval, jitter: jitter
        ).delay(beforeRetry: throttledAttempt)
        return max(delay, slower, .milliseconds(1))
    }
}
