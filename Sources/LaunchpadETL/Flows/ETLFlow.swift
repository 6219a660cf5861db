import Temporal
import TemporalWorker

/// A flow that runs extract → transform → load as three activities called **by name** (so
/// they can be implemented by a worker in any language), passing only a `StagedBatch`
/// reference between them: the rows stay in SQLite, never in workflow history.
///
/// Conformers supply the queue, the activity names/options and the activities; `run` is
/// provided. The result is the query's `summaryBase()` plus `workflow_id`,
/// `items_processed` and `items_inserted`.
public protocol ETLFlow: Flow {
    /// Names, timeouts and retry policies of the three activities.
    static var activityOptions: ETLActivityOptions { get }
    /// The query types the flow accepts (default `QueryFactory.standard`).
    static var queryFactory: QueryFactory { get }
}

extension ETLFlow {
    public static var queryFactory: QueryFactory { .standard }

    /// Validates the input, then extracts, transforms and loads.
    ///
    /// - Throws: a non-retryable `ApplicationError` for bad input (before any activity runs)
    ///   and for activities that failed for good (its type is the `ETLError` type, e.g.
    ///   `UnknownLaunchpadMember`).
    public func run(context: WorkflowContext, input: JSONValue) async throws -> FlowResult {
        let (flowInput, query) = try Self.parseInput(input, factory: Self.queryFactory)
        let names = Self.activityOptions
        let info = context.info
        context.logger.info("\(Self.name) starting", metadata: ["query": "\(flowInput.json.serialized())"])
        let request = ExtractRequest(input: flowInput, batchId: "\(info.workflowID)/\(info.runID)")
        let extracted = try await Self.call(context, names.extractName, request, names.extract, as: ExtractOutput.self)
        let transformed = try await Self.call(context, names.transformName, extracted.batch, names.transform, as: StagedBatch.self)
        let inserted = try await Self.call(context, names.loadName, transformed, names.load, as: Int.self)
        let result = FlowResult(summary: query.summaryBase(), workflowId: info.workflowID,
                                itemsProcessed: transformed.rowCount, itemsInserted: inserted)
        context.logger.info("\(Self.name) finished", metadata: ["result": "\(result)"])
        return result
    }

    /// Runs one activity; an application failure becomes a non-retryable `ApplicationError`
    /// naming the activity, with the activity's error type.
    static func call<I: Encodable, O: Decodable>(_ context: WorkflowContext, _ name: String, _ input: I,
                                                 _ options: ActivityOptions, as: O.Type) async throws -> O {
        do {
            return try await context.executeActivity(name, input: input, options: options, as: O.self)
        } catch let error as ActivityError {
            if let app = error.applicationError {
                throw ApplicationError("\(name) failed: \(app.message)", type: app.type, nonRetryable: true)
            }
            throw error
        }
    }
}
