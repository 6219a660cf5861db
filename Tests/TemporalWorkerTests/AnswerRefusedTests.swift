import Foundation
import Logging
import Synchronization
import Temporal
import TemporalProto
import Testing

@testable import TemporalWorker

/// Upserts a search attribute no namespace registers.
final class UpsertsUnregistered: Workflow {
    static let key = SearchAttributeKey.keyword("SwiftTestNeverRegistered")
    init() {}
    func run(context: WorkflowContext, input: NoValue) async throws -> String {
        context.upsertSearchAttributes(Self.key.value("x"))
        return "done"
    }
}

/// An answer the server refuses for what it holds stalls the workflow (the server records the
/// cause on the first attempt, then lets every retry time out): the worker says so at warning.
@Suite struct AnswerRefusedTests {
    @Test func anAnswerTheServerRefusesIsLoggedAtWarning() async throws {
        let box = LogBox()
        try await withWorker(
            workflows: [UpsertsUnregistered.self],
            configure: { $0.logger = Logger(label: "refused") { _ in CapturingLogHandler(box: box) } }
        ) { w in
            let handle = try await w.start(UpsertsUnregistered.self)
            let refused: @Sendable () -> [String] = {
                box.lines.withLock { $0 }.filter { $0.contains("refused the workflow task's answer") }
            }
            #expect(try await eventually(20) { !refused().isEmpty }, "\(box.lines.withLock { $0 })")
            let line = try #require(refused().first)
            #expect(line.contains("SwiftTestNeverRegistered"), "\(line)")
            let failed = try await handle.fetchHistory().filter { $0.eventType == .workflowTaskFailed }
            #expect(failed.first?.workflowTaskFailedEventAttributes.cause == .badSearchAttributes, "\(failed)")
            try await handle.terminate(reason: "test over")
        }
    }
}
