#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
import TemporalProto

/// Summary of one workflow run as visibility reports it.
public typealias WorkflowExecutionInfo = Temporal_Api_Workflow_V1_WorkflowExecutionInfo

/// The result of `listWorkflows`: an asynchronous sequence that fetches pages lazily.
public struct WorkflowExecutionList: AsyncSequence, Sendable {
    public typealias Element = WorkflowExecutionInfo
    let client: TemporalClient
    let query: String
    let pageSize: Int

    public struct AsyncIterator: AsyncIteratorProtocol {
        let list: WorkflowExecutionList
        var buffer: [WorkflowExecutionInfo] = []
        var token = Data()
        var finished = false

        public mutating func next() async throws -> WorkflowExecutionInfo? {
            while buffer.isEmpty {
                if finished { return nil }
                var r = Temporal_Api_Workflowservice_V1_ListWorkflowExecutionsRequest()
                r.namespace = list.client.namespace
                r.pageSize = Int32(clamping: list.pageSize)
                r.query = list.query
                r.nextPageToken = token
                let page = try await list.client.workflowService.listWorkflowExecutions(r)
                buffer = page.executions.reversed()
                token = page.nextPageToken
                finished = token.isEmpty
            }
            return buffer.popLast()
        }
    }

    public func makeAsyncIterator() -> AsyncIterator { AsyncIterator(list: self) }

    /// Collects every matching run.
    public func collect() async throws -> [WorkflowExecutionInfo] {
        var all: [WorkflowExecutionInfo] = []
        for try await info in self { all.append(info) }
        return all
    }
}
