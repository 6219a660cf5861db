import Foundation
import Temporal
import TemporalProto
import TemporalTestSupport
import TemporalTesting
import Testing

@testable import TemporalWorker

/// The in-memory service refuses what a server's size checks refuse, as a server does: the
/// workflow task fails and the run is terminated (`workflowSizeChecker`; no retry of the same
/// code could pass). A workflow returning more than 2 MiB, a local activity's result over it,
/// or a search attribute over 2 KiB passed in memory, while a server terminated the run.
@Suite struct InMemorySizeLimitTests {
    @Test(arguments: [
        ("result", "BadScheduleActivityAttributes: CompleteWorkflowExecutionCommandAttributes.Result exceeds size limit."),
        ("local", "BadRecordMarkerAttributes: RecordMarkerCommandAttributes.Details exceeds size limit."),
        ("attribute", "BadSearchAttributes: search attribute Stage value size 3002 exceeds size limit 2048"),
        ("failure", "BadFailWorkflowExecutionAttributes: FailWorkflowExecutionCommandAttributes.Failure exceeds size limit."),
    ])
    func aPayloadOverTheServersLimitsTerminatesTheRun(what: String, reason: String) async throws {
        let env = try await TestWorkflowEnvironment.start(searchAttributes: ["Stage": .keyword])
        defer { env.shutdown() }
        let huge = ActivityDefinition("huge") { (n: Int, _: ActivityContext) -> String in String(repeating: "x", count: n) }
        let error = await #expect(throws: TemporalError.self) {
            _ = try await within(30) {
                try await env.execute(SendsTooMuch.self, input: what, activities: [huge], id: "too-much-\(what)")
            }
        }
        #expect(error?.kind == .workflowTerminated, "\(String(describing: error))")
        let history = try env.service.history(workflowID: "too-much-\(what)")
        #expect(history.contains { $0.eventType == .workflowTaskFailed })
        let terminated = history.last { $0.eventType == .workflowExecutionTerminated }
        #expect(terminated?.workflowExecutionTerminatedEventAttributes.reason == reason, "\(history.map(\.eventType))")
        #expect(terminated?.workflowExecutionTerminatedEventAttributes.identity == "history-service")
    }

    /// The dev server does the same, with the same reason: what the in-memory service copies.
    @Test func theDevServerTerminatesSoToo() async throws {
        try await withWorker(workflows: [SendsTooMuch.self]) { w in
            let handle = try await w.start(SendsTooMuch.self, "result")
            let error = await #expect(throws: TemporalError.self) { _ = try await within(30) { try await handle.result(as: String.self) } }
            #expect(error?.kind == .workflowTerminated, "\(String(describing: error))")
            let terminated = try await handle.fetchHistory().last { $0.eventType == .workflowExecutionTerminated }
            #expect(
                terminated?.workflowExecutionTerminatedEventAttributes.reason
                    == "BadScheduleActivityAttributes: CompleteWorkflowExecutionCommandAttributes.Result exceeds size limit.")
            #expect(terminated?.workflowExecutionTerminatedEventAttributes.identity == "history-service")
        }
    }

    /// The whole map of a run's search attributes is limited too (40 KiB), the upsert merged
    /// into what the run holds.
    @Test func searchAttributesOverTheirTotalTerminateTheRun() async throws {
        let names = (0..<25).map { "Big\($0)" }
        let env = try await TestWorkflowEnvironment.start(searchAttributes: Dictionary(uniqueKeysWithValues: names.map { ($0, .keyword) }))
        defer { env.shutdown() }
        let error = await #expect(throws: TemporalError.self) {
            _ = try await within(30) { try await env.execute(UpsertsManyBig.self, input: names, id: "many-big") }
        }
        #expect(error?.kind == .workflowTerminated, "\(String(describing: error))")
        let terminated = try env.service.history(workflowID: "many-big").last { $0.eventType == .workflowExecutionTerminated }
        #expect(
            terminated?.workflowExecutionTerminatedEventAttributes.reason.hasPrefix("BadSearchAttributes: total size of search attributes")
                == true, "\(String(describing: terminated))")
    }
}

/// Sends more than a server takes: a 3 MB result ("result"), a local activity's 3 MB result
/// ("local"), a 3 KB keyword ("attribute") or a 3 MB failure message ("failure").
final class SendsTooMuch: Workflow {
    init() {}
    func run(context: WorkflowContext, input: String) async throws -> String {
        switch input {
        case "result":
            return String(repeating: "x", count: 3_000_000)
        case "local":
            return try await context.executeLocalActivity(
                "huge", input: 3_000_000, options: LocalActivityOptions(startToCloseTimeout: .seconds(10)), as: String.self)
        case "attribute":
            context.upsertSearchAttributes(SearchAttributeKey.keyword("Stage").value(String(repeating: "x", count: 3_000)))
            try await context.sleep(for: .seconds(1))
            return "upserted"
        default:
            throw ApplicationError(String(repeating: "x", count: 3_000_000), type: "Huge", nonRetryable: true)
        }
    }
}

/// Upserts a 1.9 KB keyword for each name in turn, a task apart.
final class UpsertsManyBig: Workflow {
    init() {}
    func run(context: WorkflowContext, input: [String]) async throws -> String {
        for name in input {
            context.upsertSearchAttributes(SearchAttributeKey.keyword(name).value(String(repeating: "y", count: 1_900)))
            try await context.sleep(for: .seconds(1))
        }
        return "upserted"
    }
}
