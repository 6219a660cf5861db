import Foundation
import Testing

@testable import LaunchpadETL
@testable import LaunchpadFixture

/// Starts the fixture server executable on a free port.
func startFixture(_ arguments: [String] = []) async throws -> FixtureServerProcess {
    try await FixtureServerProcess.start(arguments: arguments)
}

/// A client for the fixture with fast retries and short timeouts.
func fixtureClient(
    _ server: FixtureServerProcess, pageSize: Int = 300, concurrency: Int = 4, requestTimeout: Duration = .seconds(10),
    maxAttempts: Int = 4, maxRetryAfter: Duration = .seconds(2), version: String = "devel"
) throws -> LaunchpadClient {
    var configuration = LaunchpadClientConfiguration(
        serviceRoot: try ServiceRoot(server.serviceRoot), version: version, applicationName: "lpetl-tests")
    configuration.pageSize = pageSize
    configuration.maxConcurrentRequests = concurrency
    configuration.requestTimeout = requestTimeout
    configuration.connectTimeout = .seconds(2)
    configuration.retry = HTTPRetryPolicy(
        maxAttempts: maxAttempts, initialDelay: .milliseconds(50), maxDelay: .milliseconds(400), maxRetryAfter: maxRetryAfter)
    return LaunchpadClient(configuration: configuration)
}

/// March 2024, the window of the fixture's data.
func march2024() throws -> ExtractionWindow {
    ExtractionWindow(firstDay: try #require(CivilDate(iso: "2024-03-01")), lastDay: try #require(CivilDate(iso: "2024-03-31")))
}

func marchQuery(_ member: String, serviceRoot: String, version: String = "devel") throws -> LaunchpadQuery {
    try LaunchpadQuery(
        applicationName: "lpetl-tests", serviceRoot: serviceRoot, version: version, member: member,
        dataDateStart: "2024-03-01", dataDateEnd: "2024-03-31")
}

/// A March 2024 extractor of `member` against the fixture (pages of `pageSize`), staging into a
/// new SQLite file in `directory`, which must outlive the store.
func fixtureExtractor(_ member: String, _ server: FixtureServerProcess, pageSize: Int = 300, in directory: TemporaryDirectory) throws
    -> (SQLiteEventStore, LaunchpadExtractor)
{
    let database = try SQLiteEventStore(path: directory.file("events.db"))
    let extractor = try LaunchpadExtractor(
        query: try marchQuery(member, serviceRoot: server.serviceRoot), client: try fixtureClient(server, pageSize: pageSize),
        store: database)
    return (database, extractor)
}

/// Collects checkpoints reported by an extraction.
actor CheckpointRecorder {
    private(set) var checkpoints: [ExtractionCheckpoint] = []
    func record(_ checkpoint: ExtractionCheckpoint) { checkpoints.append(checkpoint) }
}
