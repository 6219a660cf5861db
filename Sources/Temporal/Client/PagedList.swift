public import TemporalProto

#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// Summary of one workflow run as visibility reports it.
public typealias WorkflowExecutionInfo = Temporal_Api_Workflow_V1_WorkflowExecutionInfo
/// The result of `listWorkflows`.
public typealias WorkflowExecutionList = PagedList<WorkflowExecutionInfo>
/// The result of `listSchedules`.
public typealias ScheduleList = PagedList<ScheduleListEntry>

/// The items of a paged list call (`ListWorkflowExecutions`, `ListSchedules`, …) as an
/// asynchronous sequence that fetches the next page when the current one is used up.
public struct PagedList<Element: Sendable>: AsyncSequence, Sendable {
    /// One page: its items and the token of the next one (empty after the last).
    typealias Fetch = @Sendable (_ token: Data) async throws -> (items: [Element], next: Data)
    private let fetch: Fetch

    init(fetch: @escaping Fetch) { self.fetch = fetch }

    /// Fetches the next page when the current one is used up.
    public struct AsyncIterator: AsyncIteratorProtocol {
        let fetch: Fetch
        var buffer: [Element] = []
        var token = Data()
        var finished = false

        /// The next item, or nil after the last page.
        public mutating func next() async throws -> Element? {
            while buffer.isEmpty {
                if finished { return nil }
                let page = try await fetch(token)
                buffer = page.items.reversed()
                token = page.next
                finished = token.isEmpty
            }
            return buffer.popLast()
        }
    }

    /// Starts at the first page.
    public func makeAsyncIterator() -> AsyncIterator { AsyncIterator(fetch: fetch) }

    /// Collects every item.
    public func collect() async throws -> [Element] {
        var all: [Element] = []
        for try await item in self { all.append(item) }
        return all
    }
}
