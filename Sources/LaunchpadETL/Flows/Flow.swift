public import TemporalWorker

/// A workflow of the ETL (the seed's `Flow`): the task queue its workers poll, the
/// activities it needs registered there, and its `run` (from `Workflow`).
///
/// Its input is one JSON object, `{"type": "LaunchpadQuery", "args": {...}}` (or the original
/// project's `{"query_type": ..., "args": ...}`), taken as raw JSON so that a malformed input
/// fails the workflow with a clear non-retryable error instead of failing workflow tasks.
public protocol Flow: Workflow where Input == JSONValue, Output == FlowResult {
    /// The task queue the flow's workers poll by default (e.g. `launchpad-task-queue`).
    static var queueName: String { get }

    /// The activities the flow calls, to register on its queue.
    static func activities(environment: FlowEnvironment) -> [ActivityDefinition]

    /// Workflow types the flow also runs as, registered with it (default none).
    static var additionalNames: [String] { get }
}

extension Flow {
    public static var additionalNames: [String] { [] }
}

extension Flow {
    /// Parses and validates a flow input inside workflow code (pure: no I/O).
    ///
    /// - Throws: `ApplicationError` (non-retryable, type e.g. `UnknownQueryType` or
    ///   `InvalidQuery`) saying what is wrong with the input.
    public static func parseInput(_ json: JSONValue, factory: QueryFactory = .standard) throws -> (FlowInput, any Query) {
        do {
            let input = try FlowInput(json: json)
            return (input, try factory.create(from: input))
        } catch {
            throw error.applicationError
        }
    }
}
