public import TemporalProto

#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// How the server retries a workflow or an activity. Unset fields take the server's defaults
/// (1 s initial interval, coefficient 2, maximum 100 × initial, unlimited attempts).
public struct RetryPolicy: Sendable, Equatable {
    public var initialInterval: Duration?
    public var backoffCoefficient: Double?
    public var maximumInterval: Duration?
    /// 0 or nil = unlimited; 1 = no retries.
    public var maximumAttempts: Int?
    /// Application failure types (`ApplicationError.type`) that are never retried.
    public var nonRetryableErrorTypes: [String]

    public init(
        initialInterval: Duration? = nil, backoffCoefficient: Double? = nil, maximumInterval: Duration? = nil,
        maximumAttempts: Int? = nil, nonRetryableErrorTypes: [String] = []
    ) {
        self.initialInterval = initialInterval
        self.backoffCoefficient = backoffCoefficient
        self.maximumInterval = maximumInterval
        self.maximumAttempts = maximumAttempts
        self.nonRetryableErrorTypes = nonRetryableErrorTypes
    }

    /// Why a server refuses this policy (`retrypolicy.Validate`, after filling unset fields with
    /// its defaults), or nil when it takes it: a negative interval or attempt count, a backoff
    /// coefficient below 1, a maximum interval below the initial one. A policy of one attempt is
    /// not checked further, as a server does not.
    public var refusal: String? {
        if maximumAttempts == 1 { return nil }
        let initial = initialInterval ?? .zero
        if initial < .zero { return "initialInterval is negative (\(initial))" }
        if let coefficient = backoffCoefficient, coefficient != 0, coefficient < 1 {  // NaN passes, as on the server
            return "backoffCoefficient is \(coefficient); it is 1 or more (2 when unset)"
        }
        let maximum = maximumInterval ?? .zero
        if maximum < .zero { return "maximumInterval is negative (\(maximum))" }
        let effectiveInitial = initial == .zero ? .seconds(1) : initial
        if maximum > .zero, maximum < effectiveInitial {
            return
                "maximumInterval (\(maximum)) is less than initialInterval (\(effectiveInitial)\(initial == .zero ? ", the default" : ""))"
        }
        if let attempts = maximumAttempts, attempts < 0 { return "maximumAttempts is negative (\(attempts)); 0 or nil is unlimited" }
        return nil
    }

    /// The wire form.
    public var proto: Temporal_Api_Common_V1_RetryPolicy {
        var p = Temporal_Api_Common_V1_RetryPolicy()
        if let initialInterval { p.initialInterval = .init(duration: initialInterval) }
        if let backoffCoefficient { p.backoffCoefficient = backoffCoefficient }
        if let maximumInterval { p.maximumInterval = .init(duration: maximumInterval) }
        if let maximumAttempts { p.maximumAttempts = Int32(clamping: maximumAttempts) }
        p.nonRetryableErrorTypes = nonRetryableErrorTypes
        return p
    }

    /// The wait before the attempt after `attempt` (1-based) fails, as the server computes it:
    /// initial interval × coefficient^(attempt − 1), at most the maximum interval (unset or
    /// non-positive fields take the server's defaults: 1 s, 2, 100 × initial). A failure's own
    /// `nextRetryDelay` wins over it.
    public func delay(afterAttempt attempt: Int) -> Duration {
        let filled = withServerDefaults
        return ExponentialBackoff(
            initial: filled.initialInterval ?? .seconds(1), coefficient: filled.backoffCoefficient ?? 2,
            maximum: filled.maximumInterval ?? .seconds(100)
        ).delay(beforeRetry: attempt)
    }

    /// This policy with the server's defaults in its unset (or non-positive) intervals and
    /// coefficient: 1 s, 2, 100 × the initial interval. The attempts stay as they are (unset:
    /// unlimited).
    package var withServerDefaults: RetryPolicy {
        var filled = self
        let initial = initialInterval.flatMap { $0 > .zero ? $0 : nil } ?? .seconds(1)
        filled.initialInterval = initial
        filled.backoffCoefficient = backoffCoefficient ?? 2
        filled.maximumInterval = maximumInterval.flatMap { $0 > .zero ? $0 : nil } ?? initial * 100
        return filled
    }

    /// From the wire form.
    public init(proto p: Temporal_Api_Common_V1_RetryPolicy) {
        self.init(
            initialInterval: p.hasInitialInterval ? Duration(p.initialInterval) : nil,
            backoffCoefficient: p.backoffCoefficient == 0 ? nil : p.backoffCoefficient,
            maximumInterval: p.hasMaximumInterval ? Duration(p.maximumInterval) : nil,
            maximumAttempts: p.maximumAttempts == 0 ? nil : Int(p.maximumAttempts),
            nonRetryableErrorTypes: p.nonRetryableErrorTypes)
    }
}
