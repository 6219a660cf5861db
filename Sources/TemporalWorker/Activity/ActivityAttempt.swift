#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
import Temporal
import Tracing

/// One attempt of an activity body, as activity tasks and local activities both run it: its own
/// task, inside a `RunActivity`/`RunLocalActivity` span (under `parent`, the workflow's
/// trace), with the worker's converter as `DataConverter.current`, cancelled at `info.deadline`.
struct ActivityAttempt {
    let work: Task<Payloads, any Error>
    private let watchdog: Task<Void, Never>?

    init(_ definition: ActivityDefinition, input: Payloads?, context: ActivityContext, converter: DataConverter,
         parent: ServiceContext) {
        let info = context.info
        let name = (info.isLocal ? "RunLocalActivity:" : "RunActivity:") + info.activityType
        let work = Task {
            try await withSpan(name, context: parent, ofKind: .server) { span in
                span.attributes["temporalActivityID"] = info.activityID
                span.attributes["temporalWorkflowID"] = info.workflowID
                return try await DataConverter.$current.withValue(converter) { try await definition.execute(input, context) }
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
