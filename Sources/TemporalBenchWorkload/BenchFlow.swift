import Temporal
public import TemporalWorker

#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// The benchmark's workflow: the MockFlow shape (extract → transform → load, three
/// activities), identical in name, inputs and outputs to the Python peer's
/// (scripts/bench/python_bench_worker.py).
public final class BenchFlow: Workflow {
    public static let name = "BenchFlow"
    public init() {}

    // The Python peer's JSON field names (snake_case), kept as they are on the wire.
    // swift-format-ignore: AlwaysUseLowerCamelCase
    public struct Row: Codable, Sendable {
        public var id: Int
        public var employee_id: String
    }
    // swift-format-ignore: AlwaysUseLowerCamelCase
    public struct Event: Codable, Sendable {
        public var id: String
        public var employee_id: String
        public var type: String
    }
    // swift-format-ignore: AlwaysUseLowerCamelCase
    public struct Summary: Codable, Sendable {
        public var member: String
        public var items_processed: Int
        public var items_inserted: Int
    }

    public func run(context: WorkflowContext, input member: String) async throws -> Summary {
        let options = ActivityOptions(startToCloseTimeout: .seconds(30))
        let rows = try await context.executeActivity("bench_extract", input: member, options: options, as: [Row].self)
        let events = try await context.executeActivity("bench_transform", input: rows, options: options, as: [Event].self)
        let inserted = try await context.executeActivity("bench_load", input: events, options: options, as: Int.self)
        return Summary(member: member, items_processed: events.count, items_inserted: inserted)
    }

    /// The three activities, answering at once.
    public static let activities: [ActivityDefinition] = activities(latency: .zero)

    /// The three activities, each waiting `latency` before it answers (a stand-in for the I/O
    /// of a real activity, e.g. an HTTP call; the scale scenario uses it so that a worker's
    /// activity slots, not the shared CPU, bound what one worker process can do).
    public static func activities(latency: Duration) -> [ActivityDefinition] {
        @Sendable func wait() async throws { if latency > .zero { try await Task.sleep(for: latency) } }
        return [
            ActivityDefinition("bench_extract") { (member: String, _: ActivityContext) in
                try await wait()
                return (0..<3).map { Row(id: $0, employee_id: member) }
            },
            ActivityDefinition("bench_transform") { (rows: [Row], _: ActivityContext) in
                try await wait()
                return rows.map { Event(id: "e-\($0.id)", employee_id: $0.employee_id, type: "bug:created") }
            },
            ActivityDefinition("bench_load") { (events: [Event], _: ActivityContext) in
                try await wait()
                return events.count
            },
        ]
    }
}

/// `BenchFlow` with its three steps as local activities (same activities, same result): the
/// latency scenario's comparison of local and normal activities (Swift worker only).
public final class BenchFlowLocal: Workflow {
    public static let name = "BenchFlowLocal"
    public init() {}

    public func run(context: WorkflowContext, input member: String) async throws -> BenchFlow.Summary {
        let options = LocalActivityOptions(startToCloseTimeout: .seconds(30))
        let rows = try await context.executeLocalActivity("bench_extract", input: member, options: options, as: [BenchFlow.Row].self)
        let events = try await context.executeLocalActivity("bench_transform", input: rows, options: options, as: [BenchFlow.Event].self)
        let inserted = try await context.executeLocalActivity("bench_load", input: events, options: options, as: Int.self)
        return BenchFlow.Summary(member: member, items_processed: events.count, items_inserted: inserted)
    }
}
