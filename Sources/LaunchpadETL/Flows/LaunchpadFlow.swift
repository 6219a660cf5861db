public import TemporalWorker

/// The real Launchpad flow: one member's bugs, merge proposals and questions over a date
/// range, extracted over HTTP (resumably: the extract heartbeats its checkpoint), staged in
/// SQLite and loaded idempotently. Polls `launchpad-task-queue`; also registered as
/// `ETLFlow` and `ETLWorkflow` (the original project's workflow name) there.
public final class LaunchpadFlow: ETLFlow {
    /// `launchpad-task-queue`.
    public static let queueName = "launchpad-task-queue"
    /// `extract_data`, `transform_data`, `load_data` with the original's timeouts.
    public static let activityOptions = ETLActivityOptions()
    /// Other names the flow is registered under on its queue.
    public static let aliases = ["ETLFlow", "ETLWorkflow"]

    /// Creates the instance for one run (flows keep no state of their own).
    public init() {}

    /// `extract_data` (`LaunchpadExtractActivity`), `transform_data`, `load_data`.
    public static func activities(environment: FlowEnvironment) -> [ActivityDefinition] {
        let options = activityOptions
        return [
            LaunchpadExtractActivity.definition(options.extractName, environment: environment),
            StagingActivities.transform(options.transformName, environment: environment),
            StagingActivities.load(options.loadName, environment: environment),
        ]
    }

    /// The `LaunchpadQuery` a flow input describes (other query types are an `InvalidQuery` error).
    static func launchpadQuery(_ input: FlowInput) throws(ETLError) -> LaunchpadQuery {
        let query = try QueryFactory.standard.create(from: input)
        guard let launchpad = query as? LaunchpadQuery else {
            throw ETLError(
                .invalidQuery, "this flow extracts Launchpad data and needs a \(LaunchpadQuery.typeName), not a \(input.type)",
                nonRetryable: true)
        }
        return launchpad
    }
}
