public import Logging

/// What a flow's activities share on one worker process: the event store (SQLite, or a
/// PostgreSQL store shared by every worker) and the settings of the Launchpad client they
/// create per query.
public struct FlowEnvironment: Sendable {
    /// Where activities stage and load events. With a shared (PostgreSQL) store, the three
    /// activities of one flow may run on different workers.
    public var store: any FlowStore
    /// Adjusts each Launchpad client configuration built from a query (page size, retries,
    /// concurrency, timeouts). Default: leave it as `LaunchpadClientConfiguration(query:)` made it.
    public var configureClient: @Sendable (inout LaunchpadClientConfiguration) -> Void
    /// Items processed between checkpoints in the extractor's detail phases (default 16).
    public var extractionChunkSize: Int
    /// Extract attempts in a row that may resume from one checkpoint without getting further
    /// before the extraction fails with `ExtractionStalled` (default `ExtractionStall.defaultLimit`).
    public var maxStalledExtractAttempts: Int = ExtractionStall.defaultLimit
    /// How long extract attempts may resume from one checkpoint without getting further before
    /// `maxStalledExtractAttempts` fails the extraction (default
    /// `ExtractionStall.defaultMinimumDuration`, 1 h: an outage stops attempts too).
    public var minStalledExtractDuration: Duration = ExtractionStall.defaultMinimumDuration
    /// The activities' logger.
    public var logger: Logger

    /// Creates an environment.
    public init(
        store: any FlowStore, extractionChunkSize: Int = 16, logger: Logger = Logger(label: "LaunchpadETL.Flows"),
        configureClient: @escaping @Sendable (inout LaunchpadClientConfiguration) -> Void = { _ in }
    ) {
        self.store = store
        self.extractionChunkSize = extractionChunkSize
        self.logger = logger
        self.configureClient = configureClient
    }
}
