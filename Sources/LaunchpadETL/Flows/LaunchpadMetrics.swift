import CoreMetrics
import TemporalWorker

/// Metrics of the ETL itself (the worker's `temporal_*` metrics come from TemporalWorker). They
/// go to the worker's metrics backend (`ActivityContext.metricsFactory`).
enum LaunchpadMetrics {
    /// `launchpad_events_loaded_total{namespace, task_queue}`: event rows a load activity
    /// inserted or changed (a replayed or retried load adds 0).
    static func eventsLoaded(_ rows: Int, _ context: ActivityContext) {
        context.metricsFactory
            .makeCounter(
                label: "launchpad_events_loaded_total",
                dimensions: [("namespace", context.info.namespace), ("task_queue", context.info.taskQueue)]
            )
            .increment(by: Int64(max(0, rows)))
    }
}
