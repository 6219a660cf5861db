import Foundation
import Temporal
import TemporalProto
import TemporalTestSupport
import Testing

@testable import TemporalWorker

/// A cancel request of the workflow cancels its running update handlers, as Go runs them under
/// the workflow's root context: the handler's activity is asked to stop, and the update's
/// caller gets the cancellation. Before, the handler ran on (its activity to its end), and the
/// workflow, waiting for its handlers, was cancelled only after.
@Suite struct UpdateCancellationTests {
    @Test func aWorkflowsCancelRequestCancelsItsRunningUpdates() async throws {
        let started = Flag()
        let beating = ActivityDefinition("beating") { (ctx: ActivityContext) -> String in
            started.set()
            for _ in 0..<600 {  // a minute, unless cancelled
                ctx.heartbeat()
                try await Task.sleep(for: .milliseconds(100))
            }
            return "finished"
        }
        try await withWorker(
            workflows: [CancelsItsUpdates.self], activities: [beating], timeout: 90,
            configure: { $0.maxHeartbeatThrottleInterval = .milliseconds(500) }
        ) { w in
            let handle = try await w.start(CancelsItsUpdates.self)
            let update = try await handle.startUpdate("work", waitFor: .accepted)
            #expect(try await eventually(20) { started.isSet })
            try await handle.cancel()
            let failed = await #expect(throws: TemporalError.self) {
                _ = try await within(30) { try await update.result(as: String.self) }
            }
            #expect(failed?.kind == .updateFailed, "\(String(describing: failed))")
            let ended = await #expect(throws: TemporalError.self) {
                _ = try await within(30) { try await handle.result(as: String.self) }
            }
            #expect(ended?.kind == .workflowCanceled, "\(String(describing: ended))")
            let events = try await handle.fetchHistory()
            #expect(events.contains { $0.eventType == .activityTaskCancelRequested }, "\(events.map(\.eventType))")
            #expect(try WorkflowReplayer(workflows: [CancelsItsUpdates.self]).replay(events: events).closed)
        }
    }
}

/// Waits for ever; its "work" update runs an activity until it is cancelled. Cancelled, it lets
/// its handlers finish before it ends.
final class CancelsItsUpdates: Workflow {
    init() {}
    func run(context: WorkflowContext, input: NoValue) async throws -> String {
        context.setUpdateHandler("work") { () async throws -> String in
            var options = ActivityOptions(startToCloseTimeout: .seconds(90), heartbeatTimeout: .seconds(5))
            options.cancellationType = .waitCancellationCompleted
            return try await context.executeActivity("beating", options: options, as: String.self)
        }
        do {
            try await context.condition { false }
        } catch is CancellationError {
            try await context.nonCancellable { try await context.condition { context.allHandlersFinished } }
            throw CancellationError()
        }
        return "never"
    }
}
