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

/// Completes after a local activity that waits until the test has signalled the workflow: the
/// completion races the signal (the server refuses it: UNHANDLED_COMMAND) and the next task
/// brings the signal.
final class CompletesWhileSignalled: Workflow {
    static let signalled = Mutex<Set<String>>([])
    /// The runs whose local activity runs: their first workflow task is in flight.
    static let waiting = Mutex<Set<String>>([])
    var late = false
    init() {}
    func run(context: WorkflowContext, input: NoValue) async throws -> String {
        context.setSignalHandler("late") { self.late = true }
        let id = context.info.workflowID
        _ = try await context.executeLocalActivity(
            "waitForTheSignal", input: id, options: LocalActivityOptions(startToCloseTimeout: .seconds(30)), as: String.self)
        return late ? "saw the signal" : "done"
    }

    static let waitForTheSignal = ActivityDefinition("waitForTheSignal") { (id: String, _: ActivityContext) -> String in
        waiting.withLock { _ = $0.insert(id) }
        while !signalled.withLock({ $0.contains(id) }) { try await Task.sleep(for: .milliseconds(20)) }
        try await Task.sleep(for: .milliseconds(200))  // the signal is in history by now
        return id
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

    /// A completion a signal raced (UNHANDLED_COMMAND, answered INVALID_ARGUMENT) is the
    /// ordinary race every workflow meets: it was logged at warning as an answer "refused again
    /// until the workflow code changes" and counted as one.
    @Test func aCompletionASignalRacedIsNotReportedAsRefused() async throws {
        let box = LogBox()
        try await withWorker(
            workflows: [CompletesWhileSignalled.self], activities: [CompletesWhileSignalled.waitForTheSignal],
            configure: { $0.logger = Logger(label: "raced") { _ in CapturingLogHandler(box: box) } }
        ) { w in
            let handle = try await w.start(CompletesWhileSignalled.self)
            // Signalled while the first task runs (its local activity), not before it started.
            #expect(try await eventually(20) { CompletesWhileSignalled.waiting.withLock { $0.contains(handle.id) } })
            try await handle.signal("late")
            CompletesWhileSignalled.signalled.withLock { _ = $0.insert(handle.id) }
            #expect(try await handle.result(as: String.self) == "saw the signal")
            let failed = try await handle.fetchHistory().filter { $0.eventType == .workflowTaskFailed }
            #expect(failed.map(\.workflowTaskFailedEventAttributes.cause) == [.unhandledCommand], "\(failed)")
            let refused = box.lines.withLock { $0 }.filter { $0.contains("refused the workflow task's answer") }
            #expect(refused.isEmpty, "\(refused)")
        }
    }
}
