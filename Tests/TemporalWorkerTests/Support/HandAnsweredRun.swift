import Foundation
import Temporal
import TemporalProto
import TemporalTestSupport

/// A run of workflow type "HandAnswered" (no worker runs it) whose workflow tasks a test polls
/// and answers by hand, to see what a service (in memory or the dev server) does with them.
struct HandAnsweredRun: Sendable {
    typealias Command = Temporal_Api_Command_V1_Command

    let client: TemporalClient
    let handle: WorkflowHandle
    /// The run's (normal) task queue.
    let queue: String

    /// Starts the run on a queue of its own (a 10 s task timeout).
    static func start(_ client: TemporalClient, _ prefix: String) async throws -> HandAnsweredRun {
        let queue = uniqueQueue(prefix)
        let handle = try await client.startWorkflow(
            type: "HandAnswered", id: "\(prefix)-\(UUID())", taskQueue: queue, options: WorkflowOptions(taskTimeout: .seconds(10)))
        return HandAnsweredRun(client: client, handle: handle, queue: queue)
    }

    /// A poll of `queue` (default: the run's), as a worker "by-hand" sends it.
    func pollRequest(queue: String? = nil) -> Temporal_Api_Workflowservice_V1_PollWorkflowTaskQueueRequest {
        var r = Temporal_Api_Workflowservice_V1_PollWorkflowTaskQueueRequest()
        r.namespace = client.namespace
        r.taskQueue.name = queue ?? self.queue
        r.identity = "by-hand"
        return r
    }

    /// The next workflow task of the run's queue, within `seconds`.
    func nextTask(within seconds: Double = 10) async throws -> Temporal_Api_Workflowservice_V1_PollWorkflowTaskQueueResponse {
        let (client, request) = (client, pollRequest())
        return try await TemporalTestSupport.within(seconds) { try await client.workflowService.pollWorkflowTaskQueue(request) }
    }

    /// Answers the task `token` names with `commands`, and `configure` for the rest.
    func answer(
        _ token: Data, _ commands: [Command],
        configure: (inout Temporal_Api_Workflowservice_V1_RespondWorkflowTaskCompletedRequest) -> Void = { _ in }
    ) async throws {
        var r = Temporal_Api_Workflowservice_V1_RespondWorkflowTaskCompletedRequest()
        r.namespace = client.namespace
        r.taskToken = token
        r.identity = "by-hand"
        r.commands = commands
        configure(&r)
        _ = try await client.workflowService.respondWorkflowTaskCompleted(r)
    }
}
