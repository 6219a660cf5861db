import Logging

/// What a flow's activities share on one worker process: the SQLite store and the settings
/// of the Launchpad client they create per query.
public struct FlowEnvironment: Sendable {
    /// Where activities stage and load events.
    public var database: Database
    /// Adjusts each Launchpad client configuration built from a query (page size, retries,
    /// concurrency, timeouts). Default: leave it as `LaunchpadClientConfiguration(query:)` made it.
    public var configureClient: @Sendable (inout LaunchpadClientConfiguration) -> Void
    /// Items processed between checkpoints in the extractor's detail phases (default 16).
    public var extractionChunkSize: Int
    /// The activities' logger.
    public var logger: Logger

    /// Creates an environment.
    public init(database: Database, extractionChunkSize: Int = 16, logger: Logger = Logger(label: "LaunchpadETL.Flows"),
                configureClient: @escaping @Sendable (inout LaunchpadClientConfiguration) -> Void = { _ in }) {
        self.database = database
        self.extractionChunkSize = extractionChunkSize
        self.logger = logger
        self.configureClient = configureClient
    }
}
