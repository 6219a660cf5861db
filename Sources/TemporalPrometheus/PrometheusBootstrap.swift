public import CoreMetrics
public import Prometheus

/// Connects swift-metrics to a Prometheus registry.
public enum PrometheusBootstrap {
    /// A swift-metrics factory that records into `registry` (pass it to
    /// `TemporalClient.connect(metricsFactory:)` or `WorkerOptions.metricsFactory` to keep the
    /// global `MetricsSystem` untouched, as tests do).
    /// Latency histograms get buckets that fit what they time (`latencyBuckets`); the rest keep
    /// swift-prometheus's 5 ms – 10 s.
    ///
    /// Names follow Prometheus' conventions as the Go and Java SDKs export them (and as
    /// temporalio/dashboards' Go/Java board queries them): a counter ends `_total`
    /// (`temporal_request_total`), a duration, recorded in seconds, ends `_seconds`
    /// (`temporal_request_latency_seconds_bucket`); gauges keep their names. Before, counters had
    /// no suffix and durations were seconds under Core's names, whose dashboards read them as
    /// milliseconds.
    public static func factory(for registry: PrometheusCollectorRegistry) -> PrometheusNamingFactory {
        var factory = PrometheusMetricsFactory(registry: registry)
        factory.durationHistogramBuckets = Dictionary(
            uniqueKeysWithValues: latencyBuckets.map { (PrometheusNamingFactory.timerName($0.key), $0.value) })
        return PrometheusNamingFactory(base: factory)
    }

    /// Buckets for the SDK's timers (by the name they record under, before `_seconds`) whose values outgrow 10 s: long polls wait up to about a
    /// minute, activities and their queues take minutes to hours, a backlog delays workflow
    /// tasks by tens of seconds. With the default buckets their samples would all fall in
    /// `+Inf`, and `histogram_quantile` would say nothing.
    public static let latencyBuckets: [String: [Duration]] = {
        let polls: [Duration] = [
            .milliseconds(50), .milliseconds(100), .milliseconds(500), .seconds(1), .seconds(5), .seconds(10), .seconds(30),
            .seconds(60), .seconds(90),
        ]
        // 200 and 250 ms: the usual schedule-to-start alert thresholds; a week: runs and
        // activities that outlive a day.
        let activities: [Duration] = [
            .milliseconds(10), .milliseconds(50), .milliseconds(100), .milliseconds(200), .milliseconds(250), .milliseconds(500),
            .seconds(1), .seconds(5), .seconds(10), .seconds(30), .seconds(60), .seconds(300), .seconds(900), .seconds(3_600),
            .seconds(4 * 3_600), .seconds(12 * 3_600), .seconds(24 * 3_600), .seconds(7 * 24 * 3_600),
        ]
        // Up to 5 minutes: a task that waits on local activities runs as long as they do.
        let workflowTasks: [Duration] = [
            .milliseconds(1), .milliseconds(5), .milliseconds(10), .milliseconds(25), .milliseconds(50), .milliseconds(100),
            .milliseconds(250), .milliseconds(500), .seconds(1), .seconds(5), .seconds(10), .seconds(30), .seconds(60),
            .seconds(120), .seconds(300),
        ]
        return [
            "temporal_long_request_latency": polls,
            "temporal_activity_execution_latency": activities,
            "temporal_activity_schedule_to_start_latency": activities,
            "temporal_activity_succeed_endtoend_latency": activities,
            "temporal_workflow_endtoend_latency": activities,
            "temporal_workflow_task_schedule_to_start_latency": workflowTasks,
            "temporal_workflow_task_execution_latency": workflowTasks,
            "temporal_local_activity_execution_latency": activities,
            "temporal_local_activity_succeed_endtoend_latency": activities,
        ]
    }()

    /// Makes a registry the process-wide `MetricsSystem` backend and returns it. Call once, at
    /// start-up, before connecting clients (they resolve the factory when they connect).
    public static func bootstrapGlobal(registry: PrometheusCollectorRegistry = PrometheusCollectorRegistry())
        -> PrometheusCollectorRegistry
    {
        MetricsSystem.bootstrap(factory(for: registry))
        return registry
    }
}

/// A swift-metrics factory over swift-prometheus that names metrics as Prometheus and the Go and
/// Java SDKs do (`PrometheusBootstrap.factory(for:)`): counters end `_total`, timers `_seconds`.
public struct PrometheusNamingFactory: MetricsFactory {
    /// The factory that records (its buckets and sanitizer may be changed; they apply to the
    /// exported names).
    public var base: PrometheusMetricsFactory

    /// Names `base`'s metrics.
    public init(base: PrometheusMetricsFactory) { self.base = base }

    /// A counter's exported name: `label` ending `_total`.
    public static func counterName(_ label: String) -> String { label.hasSuffix("_total") ? label : label + "_total" }

    /// A timer's exported name: `label` ending `_seconds` (its unit).
    public static func timerName(_ label: String) -> String { label.hasSuffix("_seconds") ? label : label + "_seconds" }

    public func makeCounter(label: String, dimensions: [(String, String)]) -> any CounterHandler {
        base.makeCounter(label: Self.counterName(label), dimensions: dimensions)
    }

    public func makeFloatingPointCounter(label: String, dimensions: [(String, String)]) -> any FloatingPointCounterHandler {
        base.makeFloatingPointCounter(label: Self.counterName(label), dimensions: dimensions)
    }

    public func makeMeter(label: String, dimensions: [(String, String)]) -> any MeterHandler {
        base.makeMeter(label: label, dimensions: dimensions)
    }

    public func makeRecorder(label: String, dimensions: [(String, String)], aggregate: Bool) -> any RecorderHandler {
        base.makeRecorder(label: label, dimensions: dimensions, aggregate: aggregate)
    }

    /// A timer that records negative durations as 0: swift-prometheus traps when it writes a
    /// histogram whose sum is negative, so one duration measured across a wall-clock step back
    /// would end the process at every scrape.
    public func makeTimer(label: String, dimensions: [(String, String)]) -> any TimerHandler {
        NonNegativeTimer(base: base.makeTimer(label: Self.timerName(label), dimensions: dimensions))
    }

    public func destroyCounter(_ handler: any CounterHandler) { base.destroyCounter(handler) }
    public func destroyFloatingPointCounter(_ handler: any FloatingPointCounterHandler) { base.destroyFloatingPointCounter(handler) }
    public func destroyMeter(_ handler: any MeterHandler) { base.destroyMeter(handler) }
    public func destroyRecorder(_ handler: any RecorderHandler) { base.destroyRecorder(handler) }
    public func destroyTimer(_ handler: any TimerHandler) {
        base.destroyTimer((handler as? NonNegativeTimer)?.base ?? handler)
    }
}

/// A timer that records a negative duration as 0 (see `PrometheusNamingFactory.makeTimer`).
final class NonNegativeTimer: TimerHandler, Sendable {
    let base: any TimerHandler
    init(base: any TimerHandler) { self.base = base }
    func recordNanoseconds(_ duration: Int64) { base.recordNanoseconds(max(0, duration)) }
    func preferDisplayUnit(_ unit: TimeUnit) { base.preferDisplayUnit(unit) }
}
