import Temporal
import TemporalProto

#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// Reads the pages of a workflow task's history with GetWorkflowExecutionHistory.
struct HistoryFetcher: Sendable {
    let client: TemporalClient

    /// Pages following the poll's first page, using the poll's token (it carries the transient
    /// workflow-task events).
    func remainingPages(execution: Temporal_Api_Common_V1_WorkflowExecution, token: Data) async throws -> [HistoryEvent] {
        var events: [HistoryEvent] = []
        var token = token
        while !token.isEmpty {
            var r = Temporal_Api_Workflowservice_V1_GetWorkflowExecutionHistoryRequest()
            r.namespace = client.namespace
            r.execution = execution
            r.nextPageToken = token
            let page = try await client.workflowService.getWorkflowExecutionHistory(r)
            events.append(contentsOf: page.history.events)
            token = page.nextPageToken
        }
        return events
    }

    /// The full history from event 1 (a sticky cache miss), up to `upTo` when given.
    func fullHistory(execution: Temporal_Api_Common_V1_WorkflowExecution, upTo: Int64?) async throws -> [HistoryEvent] {
        var events: [HistoryEvent] = []
        var token = Data()
        repeat {
            var r = Temporal_Api_Workflowservice_V1_GetWorkflowExecutionHistoryRequest()
            r.namespace = client.namespace
            r.execution = execution
            r.nextPageToken = token
            let page = try await client.workflowService.getWorkflowExecutionHistory(r)
            events.append(contentsOf: page.history.events)
            token = page.nextPageToken
            if let upTo, let last = events.last, last.eventID >= upTo { break }
        } while !token.isEmpty
        if let upTo { events.removeAll { $0.eventID > upTo } }
        return events
    }
}
