import Temporal
import Tracing

#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// One attempt of an activity body, as activity tasks and local activities both run it: through
/// the worker's interceptors, inside a `RunActivity`/`RunLocalActivity` span (under `parent`, the
/// workflow's trace), with the worker's converter as `DataConverter.current`.
///
/// `run` is one task group: the body, its heartbeat sender, and the watchers that stop it — the
/// server's cancel request, the attempt's deadline, the worker's hard stop. Whatever stops the
/// body cancels the group's children; the caller's cancellation flows down the same way.
struct ActivityAttempt {
    let definition: ActivityDefinition
    let input: Payloads?
    let context: ActivityContext
    let converter: DataConverter
    let parent: ServiceContext
    let headers: [String: Payload]
    let interceptors: [any WorkerInterceptor]

    private enum Step: Sendable {
        case finished(Result<Payloads, any Error>)
        case stop
    }

    /// Runs the body until it returns or is stopped, then ends the heartbeats: the details still
    /// pending are sent when `sendPendingDetails(result)` says so, and no heartbeat is in flight
    /// when this returns (none can race the attempt's completion).
    /// - Parameter stop: the worker's hard stop, which cancels the body (nil: none).
    func run(
        stop: OneShotEvent? = nil,
        sendPendingDetails: @escaping @Sendable (Result<Payloads, any Error>) -> Bool = { _ in true }
    )
        async -> Result<Payloads, any Error>
    {
        let heartbeater = context.heartbeater
        let deadline = context.info.deadline
        return await withTaskGroup(of: Void.self) { heartbeats in
            heartbeats.addTask { await heartbeater.runSender() }
            let result = await withTaskGroup(of: Step.self) { attempt in
                attempt.addTask { .finished(await body()) }
                // One watcher for the server's cancel request, the worker's hard stop and the
                // deadline; it returns when one of them happened or when it is cancelled.
                let events = [heartbeater.cancelRequest] + (stop.map { [$0] } ?? [])
                attempt.addTask {
                    await OneShotEvent.first(of: events, deadline: deadline)
                    return .stop
                }
                var outcome: Result<Payloads, any Error> = .failure(CancellationError())
                while let step = await attempt.next() {
                    attempt.cancelAll()
                    if case .finished(let result) = step { outcome = result }
                }
                return outcome
            }
            heartbeater.finish(sendPending: sendPendingDetails(result))
            return result
        }
    }

    private func body() async -> Result<Payloads, any Error> {
        let info = context.info
        let name = (info.isLocal ? "RunLocalActivity:" : "RunActivity:") + info.activityType
        let (definition, context, input, headers, interceptors) = (definition, context, input, headers, interceptors)
        do {
            return .success(
                try await withSpan(name, context: parent, ofKind: .server) { span in
                    if span.isRecording {  // (the attributes are a dictionary built even for a no-op span)
                        span.attributes["temporalActivityID"] = info.activityID
                        span.attributes["temporalWorkflowID"] = info.workflowID
                    }
                    let input = ExecuteActivityInput(context: context, arguments: input, headers: headers)
                    return try await DataConverter.$current.withValue(converter) {
                        try await interceptors.run(input, through: { try await $0.executeActivity($1, next: $2) }) {
                            try await definition.execute($0.arguments, $0.context)
                        }
                    }
                })
        } catch {
            return .failure(error)
        }
    }
}
