import CoreMetrics
public import Prometheus

/// Connects swift-metrics to a Prometheus registry.
public enum PrometheusBootstrap {
    /// A swift-metrics factory that records into `registry` (pass it to
    /// `TemporalClient.connect(metricsFactory:)` or `WorkerOptions.metricsFactory` to keep the
    /// global `MetricsSystem` untouched, as tests do).
    public static func factory(for registry: PrometheusCollectorRegistry) -> PrometheusMetricsFactory {
        PrometheusMetricsFactory(registry: registry)
    }

    /// Makes a registry the process-wide `MetricsSystem` backend and returns it. Call once, at
    /// start-up, before connecting clients (they resolve the factory when they connect).
    public static func bootstrapGlobal(registry: PrometheusCollectorRegistry = PrometheusCollectorRegistry())
        -> PrometheusCollectorRegistry
    {
        MetricsSystem.bootstrap(factory(for: registry))
        return registry
    }
}
