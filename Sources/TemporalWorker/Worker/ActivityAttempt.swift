#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
import Temporal
import Tracing

/// One attempt of an activity body, as activity tasks and local activities both run it: its own
/// task, through the worker's interceptors, inside a `RunActivity`/`RunLocalActivity` span (under `parent`, the workflow's
/// trace), with the worker's converter as `DataConverter.current`, cancelled at `info.deadline`.
struct ActivityAttempt {
    let work: Task<Payloads, any Error>
    private let watchdog: Task<Void, Never>?

    init(_ definition: ActivityDefinition, input: Payloads?, context: ActivityContext, converter: DataConverter,
         parent: ServiceContext, headers: [String: Payload], interceptors: [any WorkerInterceptor]) {
        let info = context.info
        let name = (info.isLocal ? "RunLocalActivity:" : "RunActivity:") + info.activityType
        let work = Task {
            try await withSpan(name, context: parent, ofKind: .server) { span in
                span.attributes["temporalActivityID"] = info.activityID
                span.attributes["temporalWorkflowID"] = info.workflowID
                let input = ExecuteActivityInput(context: context, arguments: input, headers: headers)
                return try await DataConverter.$current.withValue(converter) {
                    try await interceptors.run(input, through: { try await $0.executeActivity($1, next: $2) }) {
                        try await definition.execute($0.arguments, $0.context)
                    }
                }
            }
        }
        self.work = work
        watchdog = info.deadline.map { deadline in
            Task {
                let wait = deadline.timeIntervalSinceNow
                if wait > 0 { try? await Task.sleep(for: .seconds(wait)) }
                if !Task.isCancelled { work.cancel() }
            }
        }
    }

    /// Waits for the body; cancelling the caller cancels it.
    func result() async -> Result<Payloads, any Error> {
        let work = self.work
        let outcome = await withTaskCancellationHandler { await work.result } onCancel: { work.cancel() }
        watchdog?.cancel()
        return outcome
    }
}
