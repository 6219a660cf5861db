public import CoreMetrics
import Synchronization

/// Metrics of the client's RPCs, named as the official SDKs name them. Every attempt counts
/// (a retried call records each attempt):
///
/// | metric | kind | dimensions |
/// |---|---|---|
/// | `temporal_request` / `temporal_long_request` | counter | `operation`, `namespace` |
/// | `temporal_request_latency` / `temporal_long_request_latency` | timer | `operation`, `namespace` |
/// | `temporal_request_failure` / `temporal_long_request_failure` | counter | `operation`, `namespace`, `status_code` |
/// | `temporal_request_resource_exhausted` / `temporal_long_request_resource_exhausted` | counter | `operation`, `namespace`, `cause` |
///
/// A `RESOURCE_EXHAUSTED` attempt counts as a failure and, by the limit the server named (its
/// `ResourceExhaustedFailure` detail), as `…_resource_exhausted`: `cause` is the cause's enum
/// name (`RESOURCE_EXHAUSTED_CAUSE_RPS_LIMIT`; `…_UNSPECIFIED` when the status named none), as
/// Go's SDK records it.
///
/// `long` marks long polls (task-queue polls, history waits). `operation` is the RPC name
/// (`PollWorkflowTaskQueue`), `status_code` the gRPC code name (`NOT_FOUND`).
public final class RPCMetrics: Sendable {
    /// Where the metrics go.
    public let factory: any MetricsFactory
    /// The `namespace` dimension.
    public let namespace: String

    private struct Instruments: Sendable {
        let requests: any CounterHandler
        let latency: any TimerHandler
    }

    /// An operation and whether it is a long poll (a struct: no key string built per call).
    private struct Key: Hashable {
        let operation: String
        let long: Bool
    }
    private struct FailureKey: Hashable {
        let key: Key
        let code: Int
    }
    private struct ExhaustedKey: Hashable {
        let key: Key
        let cause: Int
    }

    private let instruments = Mutex<[Key: Instruments]>([:])
    private let failures = Mutex<[FailureKey: any CounterHandler]>([:])
    private let exhaustions = Mutex<[ExhaustedKey: any CounterHandler]>([:])

    /// - Parameters:
    ///   - factory: the metrics backend (e.g. `MetricsSystem.factory`).
    ///   - namespace: the value of the `namespace` dimension.
    public init(factory: any MetricsFactory, namespace: String) {
        self.factory = factory
        self.namespace = namespace
    }

    /// Records one finished attempt of `operation`; `code` is nil when it succeeded.
    /// `exhaustedCause` is the `ResourceExhaustedCause` a `RESOURCE_EXHAUSTED` status named
    /// (0, unspecified, when none).
    func record(_ operation: String, long: Bool, elapsed: Duration, code: GRPCStatusCode?, exhaustedCause: Int = 0) {
        let prefix = long ? "temporal_long_request" : "temporal_request"
        let key = Key(operation: operation, long: long)
        let i = instruments.withLock { cache -> Instruments in
            if let i = cache[key] { return i }
            let dimensions = [("operation", operation), ("namespace", namespace)]
            let made = Instruments(
                requests: factory.makeCounter(label: prefix, dimensions: dimensions),
                latency: factory.makeTimer(label: "\(prefix)_latency", dimensions: dimensions))
            cache[key] = made
            return made
        }
        i.requests.increment(by: 1)
        i.latency.recordNanoseconds(elapsed.nanoseconds)
        guard let code else { return }
        let failureKey = FailureKey(key: key, code: code.rawValue)
        let failure = failures.withLock { cache -> any CounterHandler in
            if let c = cache[failureKey] { return c }
            let made = factory.makeCounter(
                label: "\(prefix)_failure",
                dimensions: [
                    ("operation", operation), ("namespace", namespace), ("status_code", code.description),
                ])
            cache[failureKey] = made
            return made
        }
        failure.increment(by: 1)
        guard code == .resourceExhausted else { return }
        let exhaustedKey = ExhaustedKey(key: key, cause: exhaustedCause)
        let exhausted = exhaustions.withLock { cache -> any CounterHandler in
            if let c = cache[exhaustedKey] { return c }
            let made = factory.makeCounter(
                label: "\(prefix)_resource_exhausted",
                dimensions: [
                    ("operation", operation), ("namespace", namespace), ("cause", Self.causeName(exhaustedCause)),
                ])
            cache[exhaustedKey] = made
            return made
        }
        exhausted.increment(by: 1)
    }

    /// The enum name of a `temporal.api.enums.v1.ResourceExhaustedCause` value (its number when
    /// this release does not know it).
    package static func causeName(_ value: Int) -> String {
        let names = [
            "UNSPECIFIED", "RPS_LIMIT", "CONCURRENT_LIMIT", "SYSTEM_OVERLOADED", "PERSISTENCE_LIMIT", "BUSY_WORKFLOW",
            "APS_LIMIT", "PERSISTENCE_STORAGE_LIMIT", "CIRCUIT_BREAKER_OPEN", "OPS_LIMIT", "WORKER_DEPLOYMENT_LIMITS",
        ]
        return names.indices.contains(value) ? "RESOURCE_EXHAUSTED_CAUSE_" + names[value] : String(value)
    }
}

extension Duration {
    /// Whole nanoseconds, saturating at `Int64.max`.
    package var nanoseconds: Int64 {
        let (seconds, attoseconds) = components
        let (ns, overflow) = seconds.multipliedReportingOverflow(by: 1_000_000_000)
        if overflow { return seconds < 0 ? .min : .max }
        return ns &+ attoseconds / 1_000_000_000
    }
}
