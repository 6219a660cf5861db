import CoreMetrics
import Synchronization

/// A metrics backend that keeps one number: the time spent waiting for the server in the RPCs
/// that a run's critical path waits for (`temporal_request_latency` of every operation but the
/// polls and the history reads, which wait for something else to happen), so that a sequential
/// benchmark can split a run's latency into the server's share and its own. Every other metric
/// goes nowhere.
final class RPCTimeRecorder: MetricsFactory, Sendable {
    private let total = Atomic<Int64>(0)

    /// Nanoseconds spent in unary RPCs so far.
    var nanoseconds: Int64 { total.load(ordering: .relaxed) }

    func makeTimer(label: String, dimensions: [(String, String)]) -> any TimerHandler {
        let operation = dimensions.first { $0.0 == "operation" }?.1 ?? ""
        let waits = operation.hasPrefix("Poll") || operation == "GetWorkflowExecutionHistory"
        return label == "temporal_request_latency" && !waits ? Sum(total: self) : NOOPMetricsHandler.instance
    }
    func makeCounter(label: String, dimensions: [(String, String)]) -> any CounterHandler { NOOPMetricsHandler.instance }
    func makeRecorder(label: String, dimensions: [(String, String)], aggregate: Bool) -> any RecorderHandler {
        NOOPMetricsHandler.instance
    }
    func destroyCounter(_ handler: any CounterHandler) {}
    func destroyRecorder(_ handler: any RecorderHandler) {}
    func destroyTimer(_ handler: any TimerHandler) {}

    private final class Sum: TimerHandler, Sendable {
        let total: RPCTimeRecorder
        init(total: RPCTimeRecorder) { self.total = total }
        func recordNanoseconds(_ duration: Int64) { total.total.add(duration, ordering: .relaxed) }
    }
}
