import Foundation
import Synchronization
import Temporal
import TemporalProto
import TemporalTestSupport
import TemporalWorker
import Testing

@testable import LaunchpadETL
@testable import LaunchpadFixture

/// The heaviest process-level tests (whole extractions of carol-busy by `LaunchpadWorker`
/// processes): one at a time, so that together they do not starve the shared dev server of
/// CPU on a small machine.
@Suite(.serialized) struct WorkerProcessTests {}

/// Two `LaunchpadWorker` processes on one queue, each with its own SQLite file (the default):
/// the worker that extracts is stopped mid-extract and the retry lands on the other one.
/// Resuming from the first worker's heartbeat would skip everything staged in the first file
/// and finish green with a fraction of the events; the retry must instead refuse a
/// checkpoint written to another store, extract everything into its own, and load there.
extension WorkerProcessTests {
    @Suite struct SplitStoreTests {
        @Test func aRetryOnAWorkerWithAnotherSQLiteFileLoadsEveryEvent() async throws {
            let server = try await DevServer.shared()
            let client = try await DevServer.client()
            let fixture = try await startFixture(["--latency-ms", "60"])
            let directory = try TemporaryDirectory()
            let queue = flowQueue("split")
            let first = try WorkerProcess(server: server, directory: directory, name: "a", queue: queue)
            defer { first.kill() }

            let handle = try await client.startWorkflow(
                type: LaunchpadFlow.name, id: "split-\(UUID().uuidString)", taskQueue: queue,
                args: launchpadInput("carol-busy", serviceRoot: fixture.serviceRoot))
            let batchId = "\(handle.id)/\(try await handle.describe().runID)"
            // Wait until the first worker has staged part of the details in its own file.
            let firstStore = try SQLiteEventStore(path: first.databasePath)
            let staged = try await within(90) { () -> ExtractionCheckpoint in
                while true {
                    if let checkpoint = try await firstStore.loadCheckpoint(batchId: batchId), checkpoint.phase == .bugDetails,
                        checkpoint.rowsSoFar > 100
                    {
                        return checkpoint
                    }
                    try await Task.sleep(for: .milliseconds(50))
                }
            }
            #expect(staged.storeId == firstStore.identity.id)
            // Held mid-extract (SIGSTOP) while the second worker starts, however slow this machine
            // is: left running, it could finish the extraction before it is stopped.
            first.pause()

            // The second worker, with a file of its own, sees the first on the queue and says so.
            let second = try WorkerProcess(server: server, directory: directory, name: "b", queue: queue)
            defer { second.kill() }
            try await second.waitForLog("also served by workers with another event store", seconds: 60)
            first.terminate()

            let result = try await within(180) { try await handle.result(as: FlowResult.self) }
            #expect(result.itemsProcessed == 981, "the flow finished with \(result.itemsProcessed) of carol-busy's 981 events")
            #expect(result.itemsInserted == 981)
            let secondStore = try SQLiteEventStore(path: second.databasePath)
            #expect(try await secondStore.eventCount(employeeId: "carol-busy") == 981)
            #expect(Set(try await secondStore.events(employeeId: "carol-busy").map(\.id)).count == 981)
            let extracts = try await handle.activityResults("extract_data", as: ExtractOutput.self)
            let last = try #require(extracts.last)
            #expect(last.attempt >= 2)
            #expect(
                last.resumedFrom == nil, "the retry resumed from \(last.resumedFrom ?? "") although its store holds nothing of the batch")
            #expect(
                last.refusedCheckpoints?.contains { $0.contains("was written to store \(firstStore.identity.shortId)") } == true,
                "\(last.refusedCheckpoints ?? [])")
            #expect(last.storeQueue == StoreRouting.queue(base: queue, store: secondStore.identity))
            #expect(last.batch.storeId == secondStore.identity.id)
        }
    }
}

/// A `LaunchpadWorker` process serving `LaunchpadFlow` on `queue` with its own SQLite file,
/// its stderr in `<name>.log`.
final class WorkerProcess: Sendable {
    let process: Process
    let databasePath: String
    let logPath: String
    private let paused = Atomic<Bool>(false)

    init(
        server: DevServer, directory: TemporaryDirectory, name: String, queue: String, extraArguments: [String] = [],
        environment: [String: String] = [:]
    ) throws {
        databasePath = directory.file("\(name).db")
        logPath = directory.file("\(name).log")
        _ = FileManager.default.createFile(atPath: logPath, contents: nil)
        let process = Process()
        process.executableURL = URL(fileURLWithPath: try ExecutableTests.executable("LaunchpadWorker"))
        process.arguments =
            [
                "--host", server.address, "--db-path", databasePath, "--task-queue", queue, "--no-mock",
                "--shutdown-grace-seconds", "0",
            ] + extraArguments
        if !environment.isEmpty { process.environment = ProcessInfo.processInfo.environment.merging(environment) { $1 } }
        process.standardOutput = FileHandle.nullDevice
        process.standardError = try FileHandle(forWritingTo: URL(fileURLWithPath: logPath))
        try process.run()
        self.process = process
    }

    var log: String { (try? String(contentsOfFile: logPath, encoding: .utf8)) ?? "" }

    func waitForLog(_ text: String, seconds: Double) async throws {
        let path = logPath
        do {
            try await within(seconds) {
                while !((try? String(contentsOfFile: path, encoding: .utf8)) ?? "").contains(text) {
                    try await Task.sleep(for: .milliseconds(50))
                }
            }
        } catch {
            Issue.record("'\(text)' not in the worker's log after \(seconds) s:\n\(log.suffix(3_000))")
            throw error
        }
    }

    /// SIGSTOP: the process stays alive (its pollers stay listed on the server) and does nothing.
    func pause() {
        paused.store(true, ordering: .relaxed)
        _ = process.suspend()
    }

    /// SIGTERM (then SIGCONT when paused, so that it is handled), then waits (bounded) for the exit.
    func terminate() {
        guard process.isRunning else { return }
        process.terminate()
        if paused.load(ordering: .relaxed) { _ = process.resume() }
        let deadline = Date().addingTimeInterval(20)
        while process.isRunning, Date() < deadline { usleep(20_000) }
    }

    /// SIGKILL, as a crash would.
    func kill() {
        guard process.isRunning else { return }
        Foundation.kill(process.processIdentifier, SIGKILL)
        process.waitUntilExit()
    }
}

/// A worker killed with SIGKILL mid-extract and restarted on the same file: the retry resumes
/// from the newest checkpoint its store vouches for (saved after every page and chunk), not
/// from the server's older heartbeat, and re-fetches well under the whole extraction.
extension WorkerProcessTests {
    @Suite struct CrashResumeTests {
        @Test func aRestartAfterSIGKILLResumesFromTheStoresNewestCheckpoint() async throws {
            let server = try await DevServer.shared()
            let client = try await DevServer.client()
            let fixture = try await startFixture(["--latency-ms", "60"])
            let directory = try TemporaryDirectory()
            let queue = flowQueue("crash")
            let first = try WorkerProcess(server: server, directory: directory, name: "w", queue: queue)
            defer { first.kill() }
            let handle = try await client.startWorkflow(
                type: LaunchpadFlow.name, id: "crash-\(UUID().uuidString)", taskQueue: queue,
                args: launchpadInput("carol-busy", serviceRoot: fixture.serviceRoot))
            let batchId = "\(handle.id)/\(try await handle.describe().runID)"
            let store = try SQLiteEventStore(path: first.databasePath)
            let before = try await within(90) { () -> ExtractionCheckpoint in
                while true {
                    if let checkpoint = try await store.loadCheckpoint(batchId: batchId), checkpoint.phase == .bugDetails,
                        checkpoint.rowsSoFar >= 300
                    {
                        return checkpoint
                    }
                    try await Task.sleep(for: .milliseconds(20))
                }
            }
            first.kill()
            let restarted = try WorkerProcess(server: server, directory: directory, name: "w", queue: queue)
            defer { restarted.kill() }

            // The attempt is retried after its 30 s heartbeat timeout.
            let result = try await within(180) { try await handle.result(as: FlowResult.self) }
            #expect(result.itemsProcessed == 981)
            #expect(result.itemsInserted == 981)
            let extract = try #require(try await handle.activityResults("extract_data", as: ExtractOutput.self).last)
            #expect(extract.attempt >= 2)
            #expect(extract.resumedPhase == .bugDetails)
            // A whole extraction of carol-busy makes ~960 requests; resuming from the store's
            // checkpoint (≥ 300 of 981 rows staged) must save a good part of them.
            #expect(
                extract.requests < 960 * 6 / 10,
                "the retry re-fetched \(extract.requests) of ~960 requests (resumed from \(extract.resumedFrom ?? "start"), \(before.rowsSoFar) rows staged before the kill)"
            )
            #expect(Set(try await store.events(employeeId: "carol-busy").map(\.id)).count == 981)
        }
    }
}

/// Launchpad answering 2 % of requests with 503, 502, 500, truncated JSON or a 3 s stall:
/// the client retries each request (a GET is idempotent), so the flow completes with every
/// event once.
extension WorkerProcessTests {
    @Suite struct FaultToleranceTests {
        @Test func twoPercentFaultsStillLoadEveryEventOnce() async throws {
            let server = try await DevServer.shared()
            let client = try await DevServer.client()
            let fixture = try await startFixture([
                "--fault-rate", "0.02", "--fault-kinds", "503,502,500,truncate,stall",
                "--stall-ms", "3000", "--seed", "11",
            ])
            let directory = try TemporaryDirectory()
            let queue = flowQueue("faults")
            let worker = try WorkerProcess(server: server, directory: directory, name: "w", queue: queue)
            defer { worker.kill() }
            let handle = try await client.startWorkflow(
                type: LaunchpadFlow.name, id: "faults-\(UUID().uuidString)", taskQueue: queue,
                args: launchpadInput("carol-busy", serviceRoot: fixture.serviceRoot))
            let result = try await within(240) { try await handle.result(as: FlowResult.self) }
            #expect(result.itemsProcessed == 981)
            #expect(result.itemsInserted == 981)
            let events = try await SQLiteEventStore(path: worker.databasePath).events(employeeId: "carol-busy")
            #expect(events.count == 981)
            #expect(Set(events.map(\.id)).count == 981)
            #expect(worker.log.contains("retrying Launchpad request"))
            // The client absorbed every fault: the extract needed no second attempt.
            #expect(try await handle.activityResults("extract_data", as: ExtractOutput.self).last?.attempt == 1)
        }

        /// A request that fails every time: attempts stop getting further, and after the allowed
        /// number in a row at one checkpoint the flow fails with a clear, non-retryable error
        /// instead of retrying for hours.
        @Test func anExtractionThatNeverGetsFurtherFailsLoudly() async throws {
            let fixture = try await startFixture(["--faults", "500@3x400"])
            let directory = try TemporaryDirectory()
            let workers = try await FlowWorkers(
                store: try SQLiteEventStore(path: directory.file("events.db")), maxStalledExtractAttempts: 2,
                minStalledExtractDuration: .zero)
            let handle = try await workers.start(LaunchpadFlow.self, launchpadInput("alice-example", serviceRoot: fixture.serviceRoot))
            let failure = try await within(120) { await flowFailure(handle) }
            let attempts = try await handle.fetchHistory().compactMap { event -> Int32? in
                if case .activityTaskStartedEventAttributes(let a)? = event.attributes { return a.attempt }
                return nil
            }
            await workers.stop()
            #expect(failure?.type == ETLError.Code.extractionStalled.rawValue, "\(String(describing: failure))")
            #expect(failure?.nonRetryable == true)
            #expect(failure?.message.contains("made no progress in 2 attempts in a row") == true, "\(failure?.message ?? "")")
            #expect(attempts == [4], "one attempt that got somewhere, two that did not, and the one that gave up")
        }
    }
}
