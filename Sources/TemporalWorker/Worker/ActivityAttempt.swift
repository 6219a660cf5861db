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
/// `run` runs the body as the one child of a task group and waits, without another task, for
/// whichever comes first: the body's end, the server's cancel request, the attempt's deadline or
/// the worker's hard stop; the last three cancel the body. The caller's cancellation reaches the
/// body the same way. Heartbeats are sent by a task of the attempt's `Heartbeater`, started by
/// the first heartbeat (most attempts never heartbeat).
struct ActivityAttempt {
    let definition: ActivityDefinition
    let input: Payloads?
    let context: ActivityContext
    let converter: DataConverter
    let parent: ServiceContext
    let headers: [String: Payload]
    let interceptors: [any WorkerInterceptor]

    /// Runs the body until it returns or is stopped, then ends the heartbeats: the details still
    /// pending are sent when `sendPendingDetails(result)` says so, and no heartbeat is in flight
    /// when this returns (none can race the attempt's completion); after the hard stop, a
    /// heartbeat in flight is cancelled rather than waited for.
    /// - Parameter stop: the worker's hard stop, which cancels the body (nil: none).
    func run(
        stop: OneShotEvent? = nil,
        sendPendingDetails: @escaping @Sendable (Result<Payloads, any Error>) -> Bool = { _ in true }
    )
        async -> Result<Payloads, any Error>
    {
        let heartbeater = context.heartbeater
        // A cancelled caller stops the heartbeats at once, whether the body still runs or the
        // attempt is finishing.
        return await withTaskCancellationHandler {
            let result = await runBody(heartbeater: heartbeater, stop: stop)
            await heartbeater.finish(sendPending: sendPendingDetails(result), cutShortBy: stop)
            return result
        } onCancel: {
            heartbeater.cancelSender()
        }
    }

    private func runBody(heartbeater: Heartbeater, stop: OneShotEvent?) async -> Result<Payloads, any Error> {
        let deadline = context.info.deadline
        return await withTaskGroup(of: Result<Payloads, any Error>.self) { attempt in
            let ended = OneShotEvent()
            attempt.addTask {
                let result = await body()
                ended.fire()
                return result
            }
            // The body's end, the server's cancel request, the worker's hard stop or the deadline,
            // whichever comes first (or the caller's cancellation, which reaches the body anyway);
            // or, with a heartbeat timeout, the body's silence past it (each heartbeat moves it),
            // as Core times it: the server timed the attempt out, and the body ran on beside the
            // next attempt, holding its slot, until its start-to-close (often hours).
            let events = [ended, heartbeater.cancelRequest] + (stop.map { [$0] } ?? [])
            while true {
                let silence = heartbeater.silenceRemaining.map { Date().addingTimeInterval(max(0, $0.seconds)) }
                await OneShotEvent.first(of: events, deadline: [deadline, silence].compactMap { $0 }.min())
                if events.contains(where: \.happened) || Task.isCancelled { break }
                if let deadline, deadline <= Date() { break }
                if let remaining = heartbeater.silenceRemaining, remaining <= .zero {
                    heartbeater.requestCancel(.heartbeatTimedOut)
                    break
                }
            }
            if !ended.happened { attempt.cancelAll() }
            return await attempt.next() ?? .failure(CancellationError())
        }
    }

    private func body() async -> Result<Payloads, any Error> {
        let info = context.info
        let name = (info.isLocal ? "RunLocalActivity:" : "RunActivity:") + info.activityType
        let (definition, context, input, headers, interceptors) = (definition, context, input, headers, interceptors)
        do {
            return try await withSpan(name, context: parent, ofKind: .server) { span in
                if span.isRecording {  // (the attributes are a dictionary built even for a no-op span)
                    span.attributes["temporalActivityID"] = info.activityID
                    span.attributes["temporalWorkflowID"] = info.workflowID
                }
                let input = ExecuteActivityInput(context: context, arguments: input, headers: headers)
                do {
                    return .success(
                        try await DataConverter.$current.withValue(converter) {
                            try await interceptors.run(input, through: { try await $0.executeActivity($1, next: $2) }) {
                                try await definition.execute($0.arguments, $0.context)
                            }
                        })
                } catch let asynchronous as ActivityCompletesAsynchronously {
                    // Not an error of the span: the attempt ended as the activity asked.
                    return .failure(asynchronous)
                }
            }
        } catch {
            return .failure(error)
        }
    }
}
