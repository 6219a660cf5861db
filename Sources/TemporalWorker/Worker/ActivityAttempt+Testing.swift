import CoreMetrics
import Instrumentation
package import Logging
package import Temporal
package import TemporalProto

/// One attempt of an activity outside a worker, for `TemporalTesting`'s `ActivityTestEnvironment`:
/// the body runs as a worker runs it (its task, `DataConverter.current`, the deadline), its
/// heartbeats go to `onHeartbeat` and, throttled, to `service`, whose answers may cancel it.
package struct TestActivityAttempt: Sendable {
    private let heartbeater: Heartbeater
    private let attempt: ActivityAttempt

    package init(
        _ definition: ActivityDefinition, task: Temporal_Api_Workflowservice_V1_PollActivityTaskQueueResponse,
        service: WorkflowService, dataConverter: DataConverter, logger: Logger,
        interceptors: [any WorkerInterceptor], onHeartbeat: @escaping @Sendable (Payloads?) -> Void
    ) {
        let info = ActivityInfo(task: task, namespace: "default", taskQueue: "test")
        heartbeater = Heartbeater(
            heartbeatTimeout: info.heartbeatTimeout, maxThrottle: .zero, defaultThrottle: .zero,
            service: service, namespace: "default", identity: "test", taskToken: task.taskToken, logger: logger)
        let context = ActivityContext(
            info: info, dataConverter: dataConverter, logger: logger, heartbeater: heartbeater,
            previousDetails: task.hasHeartbeatDetails ? task.heartbeatDetails : nil,
            metricsFactory: NOOPMetricsHandler.instance, onHeartbeat: onHeartbeat)
        attempt = ActivityAttempt(
            definition: definition, input: task.hasInput ? task.input : nil, context: context,
            converter: dataConverter, parent: .topLevel, headers: task.header.fields,
            interceptors: interceptors)
    }

    /// Cancels the attempt as a server's cancel request does (`isCancellationRequested` turns
    /// true); before `result()` too.
    package func requestCancel() { heartbeater.requestCancel() }

    /// Runs the body; its result, once the last heartbeat went out.
    package func result() async -> Result<Payloads, any Error> {
        await attempt.run()
    }
}
