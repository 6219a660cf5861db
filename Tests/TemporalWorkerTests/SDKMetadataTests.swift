import Foundation
import Temporal
import TemporalProto
import TemporalTestSupport
import Testing

@testable import TemporalWorker

/// The SDK name and version a worker records in the runs it serves.
@Suite struct SDKMetadataTests {
    /// An older build answered a run's first task; this build's answer to the next one records
    /// its own name and version, as Core and Go do. The old code sent them on a run's first task
    /// only, so the run kept naming the older build.
    @Test func aRunAnOlderBuildStartedRecordsThisBuild() async throws {
        let client = try await DevServer.client()
        let queue = uniqueQueue("sdk-metadata")
        let handle = try await client.startWorkflow(type: SumSignals.name, id: "sdk-\(UUID())", taskQueue: queue, arguments: [1])
        // The first task, answered as an older build would: SumSignals' first activation
        // sends no command.
        var poll = Temporal_Api_Workflowservice_V1_PollWorkflowTaskQueueRequest()
        poll.namespace = client.namespace
        poll.identity = "older-build"
        poll.taskQueue.name = queue
        poll.taskQueue.kind = .normal
        let task = try await client.workflowService.pollWorkflowTaskQueue(poll)
        try #require(!task.taskToken.isEmpty)
        var answer = Temporal_Api_Workflowservice_V1_RespondWorkflowTaskCompletedRequest()
        answer.taskToken = task.taskToken
        answer.namespace = client.namespace
        answer.identity = "older-build"
        answer.sdkMetadata.sdkName = TemporalClient.clientName
        answer.sdkMetadata.sdkVersion = "0.0.1-older"
        answer.sdkMetadata.langUsedFlags = [SDKFlag.updatesBeforeWorkflowCode.rawValue]
        _ = try await client.workflowService.respondWorkflowTaskCompleted(answer)

        let worker = try await startWorker(taskQueue: queue, workflows: [SumSignals.self])
        do {
            try await withTimeout(60) {
                try await handle.signal("add", 1)
                #expect(try await handle.result(as: Int.self) == 1)
            }
        } catch {
            await worker.stop(grace: .zero)
            throw error
        }
        await worker.stop()
        let recorded = try await handle.fetchHistory().filter { $0.eventType == .workflowTaskCompleted }
            .map(\.workflowTaskCompletedEventAttributes.sdkMetadata)
        #expect(recorded.map(\.sdkVersion) == ["0.0.1-older", TemporalClient.version], "\(recorded)")
        #expect(recorded.last?.sdkName == TemporalClient.clientName)
    }
}
