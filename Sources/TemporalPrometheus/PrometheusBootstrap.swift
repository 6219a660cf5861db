import CoreMetrics
public import Prometheus

/// Connects swift-metrics to a Prometheus registry.
public enum PrometheusBootstrap {
    /// A swift-metrics factory that records into `registry` (pass it to
    /// `TemporalClient.connect(metricsFactory:)` or `WorkerOptions.metricsFactory` to keep the
    /// global `MetricsSystem` untouched, as tests do).
    /// Latency histograms get buckets that fit what they time (`latencyBuckets`); the rest keep
    /// swift-prometheus's 5 ms – 10 s.
    public static func factory(for registry: PrometheusCollectorRegistry) -> PrometheusMetricsFactory {
        var factory = PrometheusMetricsFactory(registry: registry)
        factory.durationHistogramBuckets = latencyBuckets
        return factory
    }

    /// Buckets for the SDK's timers whose values outgrow 10 s: long polls wait up to about a
    /// minute, activities and their queues take minutes to hours, a backlog delays workflow
    /// tasks by tens of seconds. With the default buckets their samples would all fall in
    /// `+Inf`, and `histogram_quantile` would say nothing.
    public static let latencyBuckets: [String: [Duration]] = {
        let polls: [Duration] = [
            .milliseconds(50), .milliseconds(100), .milliseconds(500), .seconds(1), .seconds(5), .seconds(10), .seconds(30),
            .seconds(60), .seconds(90),
        ]
        let activities: [Duration] = [
            .milliseconds(10), .milliseconds(50), .milliseconds(100), .milliseconds(500), .seconds(1), .seconds(5), .seconds(10),
            .seconds(30), .seconds(60), .seconds(300), .seconds(900), .seconds(3_600), .seconds(4 * 3_600), .seconds(12 * 3_600),
            .seconds(24 * 3_600),
        ]
        let workflowTasks: [Duration] = [
            .milliseconds(1), .milliseconds(5), .milliseconds(10), .milliseconds(25), .milliseconds(50), .milliseconds(100),
            .milliseconds(250), .milliseconds(500), .seconds(1), .seconds(5), .seconds(10), .seconds(30), .seconds(60),
        ]
        return [
            "temporal_long_request_latency": polls,
            "temporal_activity_execution_latency": activities,
            "temporal_activity_schedule_to_start_latency": activities,
            "temporal_activity_succeed_endtoend_latency": activities,
            "temporal_workflow_endtoend_latency": activities,
            "temporal_workflow_task_schedule_to_start_latency": workflowTasks,
            "temporal_workflow_task_execution_latency": workflowTasks,
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
