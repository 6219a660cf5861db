import Foundation
import Synchronization
import Temporal
import TemporalTestSupport
import Testing

@testable import LaunchpadETL
@testable import LaunchpadFixture

/// The executables, run as processes (build them first: `swift build --product LaunchpadWorker`
/// etc.; they are looked up next to the test binary).
@Suite struct ExecutableTests {
    static func executable(_ name: String) throws -> String {
        let fixture = try #require(FixtureServerProcess.locateExecutable(), "build the executables first")
        let path = URL(fileURLWithPath: fixture).deletingLastPathComponent().appendingPathComponent(name).path
        try #require(FileManager.default.isExecutableFile(atPath: path), "build \(name) first (swift build --product \(name))")
        return path
    }

    /// Starts the `LaunchpadWorker` executable with `arguments` (stdout discarded, stderr to
    /// `stderr`); the caller kills it when done.
    static func launchWorker(
        _ arguments: [String], stderr: FileHandle = .nullDevice, environment: [String: String] = [:]
    ) throws -> Process {
        let worker = Process()
        worker.executableURL = URL(fileURLWithPath: try executable("LaunchpadWorker"))
        worker.arguments = arguments
        if !environment.isEmpty { worker.environment = ProcessInfo.processInfo.environment.merging(environment) { $1 } }
        worker.standardOutput = FileHandle.nullDevice
        worker.standardError = stderr
        try worker.run()
        return worker
    }

    /// Runs a process to completion (bounded) and returns its exit status and output.
    static func run(
        _ path: String, _ arguments: [String], timeout: Double = 90,
        environment: [String: String] = [:]
    ) async throws -> (Int32, String) {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: path)
        process.arguments = arguments
        if !environment.isEmpty { process.environment = ProcessInfo.processInfo.environment.merging(environment) { $1 } }
        // The output goes to a file, read once the process ended: a blocking read of a pipe held
        // one of the few cooperative threads (two on a two-core machine) for the whole run, and
        // two such runs could starve a worker running in this process that they wait for.
        let directory = try TemporaryDirectory()
        let outputPath = directory.file("output")
        _ = FileManager.default.createFile(atPath: outputPath, contents: nil)
        let output = try FileHandle(forWritingTo: URL(fileURLWithPath: outputPath))
        defer { try? output.close() }
        process.standardOutput = output
        process.standardError = output
        try process.run()
        defer { if process.isRunning { kill(process.processIdentifier, SIGKILL) } }
        try await within(timeout) {
            while process.isRunning { try await Task.sleep(for: .milliseconds(20)) }
        }
        let text = (try? String(contentsOfFile: outputPath, encoding: .utf8)) ?? ""
        return (process.isRunning ? -1 : process.terminationStatus, text)
    }

    @Test func workerServesTheMockWorkflowsAndStopsOnSIGTERM() async throws {
        let server = try await DevServer.shared()
        let directory = try TemporaryDirectory()
        let queue = flowQueue("exe-mock")
        let worker = try Self.launchWorker([
            "--host", server.address, "--db-path", directory.file("events.db"), "--mock-task-queue", queue,
            "--no-launchpad", "--max-concurrent-activities", "4",
        ])
        defer { if worker.isRunning { kill(worker.processIdentifier, SIGKILL) } }

        let (status, output) = try await Self.run(
            try Self.executable("StartMockWorkflow"),
            ["--host", server.address, "--task-queue", queue, "--ui-url", "http://ui.example:8233"])
        #expect(status == 0, "\(output)")
        #expect(output.components(separatedBy: "\"items_inserted\":3").count - 1 == 4, "\(output)")
        #expect(output.contains("http://ui.example:8233/namespaces/default/workflows/launchpad-workflow-1-"))
        #expect(try await SQLiteEventStore(path: directory.file("events.db")).eventCount() == 12)

        worker.terminate()
        let deadline = Date().addingTimeInterval(15)
        while worker.isRunning, Date() < deadline { try await Task.sleep(for: .milliseconds(50)) }
        #expect(!worker.isRunning)
        #expect(worker.isRunning || worker.terminationStatus == 0)
    }

    /// A starter without the key of a worker that encrypts payloads (TEMPORAL_PAYLOAD_KEY_FILE)
    /// says each workflow completed but its result could not be read here, and exits 1 (it
    /// cannot tell the result complete). It said each FAILED, though they had all completed.
    @Test func aStarterWithoutThePayloadKeySaysTheWorkflowsCompleted() async throws {
        let server = try await DevServer.shared()
        let directory = try TemporaryDirectory()
        // The worker seals with a newer key and still reads the older one (a rotation).
        let (newer, older) = (Data(repeating: 7, count: 32).base64EncodedString(), Data(repeating: 9, count: 32).base64EncodedString())
        let keys = directory.file("payload.keys")
        try "\(newer)\n\(older)\n".write(toFile: keys, atomically: true, encoding: .utf8)
        let queue = flowQueue("exe-keyless")
        let worker = try Self.launchWorker(
            [
                "--host", server.address, "--db-path", directory.file("events.db"), "--mock-task-queue", queue, "--no-launchpad",
            ], environment: ["TEMPORAL_PAYLOAD_KEY_FILE": keys])
        defer { if worker.isRunning { kill(worker.processIdentifier, SIGKILL) } }
        let (status, output) = try await Self.run(
            try Self.executable("StartMockWorkflow"), ["--host", server.address, "--task-queue", queue],
            environment: ["TEMPORAL_PAYLOAD_KEY_FILE": ""])
        #expect(status == 1, "\(output)")
        #expect(!output.contains("FAILED"), "\(output)")
        #expect(output.components(separatedBy: "completed, but its result could not be read here").count - 1 == 4, "\(output)")
        #expect(try await SQLiteEventStore(path: directory.file("events.db")).eventCount() == 12)
        // The same with keys, but not the one the worker seals with: the older key only (the
        // worker reads the starter's input, the starter not the worker's result).
        let others = directory.file("other.keys")
        try older.write(toFile: others, atomically: true, encoding: .utf8)
        let (otherStatus, otherOutput) = try await Self.run(
            try Self.executable("StartMockWorkflow"), ["--host", server.address, "--task-queue", queue],
            environment: ["TEMPORAL_PAYLOAD_KEY_FILE": others])
        #expect(otherStatus == 1, "\(otherOutput)")
        #expect(!otherOutput.contains("FAILED"), "\(otherOutput)")
        #expect(otherOutput.components(separatedBy: "completed, but its result could not be read here").count - 1 == 4, "\(otherOutput)")
        worker.terminate()
    }

    /// SIGTERM while the worker still waits for its Temporal server (it may start first, under
    /// compose or systemd): it stops at once and cleanly. Before, nothing listened for signals
    /// until the workers ran: the default action killed it (status 15), and as a container's
    /// PID 1, where there is no default action, it ignored SIGTERM until the SIGKILL.
    /// A starter interrupted while it waits (Ctrl-C, docker stop) died without a word about
    /// the workflows it left running on the server. It names them and exits 130.
    @Test func anInterruptedStarterNamesTheWorkflowsThatKeepRunning() async throws {
        let server = try await DevServer.shared()
        let directory = try TemporaryDirectory()
        // No worker on this queue: the workflows wait for ever.
        let (starter, said) = try await Self.startWaitingMockStarter(server, queue: flowQueue("interrupted"), in: directory)
        defer { if starter.isRunning { kill(starter.processIdentifier, SIGKILL) } }
        kill(starter.processIdentifier, SIGINT)
        let deadline = Date().addingTimeInterval(20)
        while starter.isRunning, Date() < deadline { try await Task.sleep(for: .milliseconds(50)) }
        let text = said()
        #expect(!starter.isRunning && starter.terminationStatus == 130, "\(text)")
        #expect(text.contains("4 workflow(s) it started keep running on the server"), "\(text)")
        #expect(!text.contains("FAILED"), "\(text)")
        let client = try await DevServer.client()
        let ids = text.split(separator: "\n").compactMap { line in line.hasPrefix("started ") ? String(line.dropFirst(8)) : nil }
        #expect(ids.count == 4 && ids.allSatisfy { text.contains($0 + ",") || text.contains($0 + ";") }, "\(text)")
        for id in ids { try? await client.workflowHandle(id: id).terminate(reason: "test over") }
    }

    /// A starter whose workflows no worker polls for (a typo in the queue, a worker on another
    /// namespace) says so on standard error after 10 s, naming the queue and what to do; it
    /// said nothing and waited for ever.
    @Test func aStarterWhoseQueueNoWorkerPollsSaysSo() async throws {
        let server = try await DevServer.shared()
        let directory = try TemporaryDirectory()
        let queue = flowQueue("nobody-polls")
        let (starter, said) = try await Self.startWaitingMockStarter(server, queue: queue, in: directory)
        defer { if starter.isRunning { kill(starter.processIdentifier, SIGKILL) } }
        let noticed = try? await within(40) {
            while !said().contains("no worker polls task queue") { try await Task.sleep(for: .milliseconds(100)) }
        }
        let text = said()
        #expect(noticed != nil, "\(text)")
        #expect(text.contains("'\(queue)'") && text.contains("namespace 'default'") && text.contains("--task-queue"), "\(text)")
        kill(starter.processIdentifier, SIGINT)
        let deadline = Date().addingTimeInterval(20)
        while starter.isRunning, Date() < deadline { try await Task.sleep(for: .milliseconds(50)) }
        let client = try await DevServer.client()
        let ids = text.split(separator: "\n").compactMap { line in line.hasPrefix("started ") ? String(line.dropFirst(8)) : nil }
        for id in ids { try? await client.workflowHandle(id: id).terminate(reason: "test over") }
    }

    /// `StartMockWorkflow` on `queue` (no worker: its workflows wait for ever), once it started
    /// its four workflows, and what it has said so far. Its output goes to a file read without
    /// blocking: a blocking read of a pipe would hold one of the few cooperative threads (two on
    /// a two-core machine) until the starter ends.
    static func startWaitingMockStarter(
        _ server: DevServer, queue: String, in directory: TemporaryDirectory, environment: [String: String] = [:]
    ) async throws -> (Process, @Sendable () -> String) {
        let outputPath = directory.file("starter.out")
        _ = FileManager.default.createFile(atPath: outputPath, contents: nil)
        let output = try FileHandle(forWritingTo: URL(fileURLWithPath: outputPath))
        let starter = Process()
        starter.executableURL = URL(fileURLWithPath: try executable("StartMockWorkflow"))
        starter.arguments = ["--host", server.address, "--task-queue", queue]
        starter.environment = ProcessInfo.processInfo.environment.merging(environment) { $1 }
        starter.standardOutput = output
        starter.standardError = output
        try starter.run()
        let said: @Sendable () -> String = { (try? String(contentsOfFile: outputPath, encoding: .utf8)) ?? "" }
        do {
            try await within(60) {
                while said().components(separatedBy: "started ").count - 1 < 4 { try await Task.sleep(for: .milliseconds(50)) }
            }
        } catch {
            kill(starter.processIdentifier, SIGKILL)
            throw error
        }
        return (starter, said)
    }

    /// A starter finishing its trace export (a collector that does not answer holds it up to
    /// 10 s) heard no more signals: Ctrl-C did nothing until the export gave up. A signal no
    /// listener hears is said, and the next one ends the process at once.
    @Test func aStarterFlushingItsTracesStopsOnASecondUnheardSignal() async throws {
        let server = try await DevServer.shared()
        let directory = try TemporaryDirectory()
        guard let (collector, collectorPort) = LoopbackSocket.listen() else { throw POSIXError(.EADDRNOTAVAIL) }
        defer { close(collector) }  // listens, never accepts: every export waits for its timeout
        let (starter, said) = try await Self.startWaitingMockStarter(
            server, queue: flowQueue("unheard"), in: directory,
            environment: ["OTEL_EXPORTER_OTLP_ENDPOINT": "http://127.0.0.1:\(collectorPort)"])
        defer { if starter.isRunning { kill(starter.processIdentifier, SIGKILL) } }
        kill(starter.processIdentifier, SIGINT)  // heard: it stops waiting, then exports its spans
        try await within(20) { while !said().contains("keep running on the server") { try await Task.sleep(for: .milliseconds(20)) } }
        kill(starter.processIdentifier, SIGINT)  // unheard: said
        try await within(10) { while !said().contains("received while nothing listens") { try await Task.sleep(for: .milliseconds(20)) } }
        let second = ContinuousClock.now
        kill(starter.processIdentifier, SIGINT)  // unheard again: the end
        while starter.isRunning, ContinuousClock.now - second < .seconds(20) { try await Task.sleep(for: .milliseconds(20)) }
        let waited = ContinuousClock.now - second
        #expect(!starter.isRunning && starter.terminationReason == .uncaughtSignal && starter.terminationStatus == SIGINT, "\(said())")
        #expect(waited < .seconds(5), "it stopped \(waited) after the last Ctrl-C")
        let client = try await DevServer.client()
        let ids = said().split(separator: "\n").compactMap { line in line.hasPrefix("started ") ? String(line.dropFirst(8)) : nil }
        for id in ids { try? await client.workflowHandle(id: id).terminate(reason: "test over") }
    }

    @Test func workerStopsOnSIGTERMWhileWaitingForItsServer() async throws {
        let directory = try TemporaryDirectory()
        let log = directory.file("worker.log")
        _ = FileManager.default.createFile(atPath: log, contents: nil)
        let port = try DevServer.freePort()
        let worker = try Self.launchWorker(
            ["--host", "127.0.0.1:\(port)", "--db-path", directory.file("events.db"), "--task-queue", flowQueue("exe-early")],
            stderr: try FileHandle(forWritingTo: URL(fileURLWithPath: log)))
        defer { if worker.isRunning { kill(worker.processIdentifier, SIGKILL) } }
        try await within(60) {
            while !((try? String(contentsOfFile: log, encoding: .utf8)) ?? "").contains("waiting for the Temporal server") {
                try await Task.sleep(for: .milliseconds(50))
            }
        }
        worker.terminate()
        let deadline = Date().addingTimeInterval(20)
        while worker.isRunning, Date() < deadline { try await Task.sleep(for: .milliseconds(50)) }
        let text = (try? String(contentsOfFile: log, encoding: .utf8)) ?? ""
        #expect(!worker.isRunning, "\(text.suffix(2_000))")
        #expect(worker.isRunning || (worker.terminationReason == .exit && worker.terminationStatus == 0), "\(text.suffix(2_000))")
        #expect(text.contains("received SIGTERM while starting"), "\(text.suffix(2_000))")
    }

    /// SIGTERM while the Temporal server is gone (a cluster outage, or compose stopping
    /// everything at once): the worker, serving two queues, still exits promptly and cleanly.
    @Test func workerStopsOnSIGTERMEvenWhenTheServerIsGone() async throws {
        let server = try await DevServer.start()
        let directory = try TemporaryDirectory()
        let log = directory.file("worker.log")
        _ = FileManager.default.createFile(atPath: log, contents: nil)
        let worker = try Self.launchWorker(
            [
                "--host", server.address, "--db-path", directory.file("events.db"),
                "--task-queue", flowQueue("exe-gone"), "--mock-task-queue", flowQueue("exe-gone-mock"),
            ],
            stderr: try FileHandle(forWritingTo: URL(fileURLWithPath: log)))
        defer { if worker.isRunning { kill(worker.processIdentifier, SIGKILL) } }
        // Wait until both queues are polled, then take the server away.
        try await within(30) {
            while ((try? String(contentsOfFile: log, encoding: .utf8)) ?? "").components(separatedBy: "worker polling task queue").count < 3
            {
                try await Task.sleep(for: .milliseconds(50))
            }
        }
        server.stop()
        try await Task.sleep(for: .seconds(1))
        worker.terminate()
        // Liveness bound, not a timing measurement: the old code waited ~60 s retrying ShutdownWorker.
        let deadline = Date().addingTimeInterval(30)
        while worker.isRunning, Date() < deadline { try await Task.sleep(for: .milliseconds(50)) }
        let text = (try? String(contentsOfFile: log, encoding: .utf8)) ?? ""
        #expect(!worker.isRunning, "the worker ignored SIGTERM with the server gone:\n\(text.suffix(2_000))")
        #expect(worker.isRunning || worker.terminationStatus == 0, "\(text.suffix(2_000))")
        #expect(text.contains("received SIGTERM"))
    }

    /// A second signal stops what still runs at once: the first one's graceful shutdown waits
    /// for a running extraction up to the grace period (here 120 s), and a second Ctrl-C used to
    /// change nothing.
    @Test func aSecondSignalStopsTheWorkerWithoutWaitingOutTheGracePeriod() async throws {
        let fixture = try await startFixture(["--latency-ms", "30000"])  // every Launchpad request takes 30 s
        let server = try await DevServer.shared()
        let directory = try TemporaryDirectory()
        let log = directory.file("worker.log")
        _ = FileManager.default.createFile(atPath: log, contents: nil)
        let queue = flowQueue("exe-twice")
        let worker = try Self.launchWorker(
            [
                "--host", server.address, "--db-path", directory.file("events.db"), "--task-queue", queue, "--no-mock",
                "--shutdown-grace-seconds", "120",
            ],
            stderr: try FileHandle(forWritingTo: URL(fileURLWithPath: log)))
        defer { if worker.isRunning { kill(worker.processIdentifier, SIGKILL) } }
        let starter = Process()
        starter.executableURL = URL(fileURLWithPath: try Self.executable("StartLaunchpadWorkflow"))
        starter.arguments = [
            "--host", server.address, "--task-queue", queue, "--service-root", fixture.serviceRoot, "--member", "alice-example",
            "--from", "2024-03-01", "--to", "2024-03-31",
        ]
        starter.standardOutput = FileHandle.nullDevice
        starter.standardError = FileHandle.nullDevice
        try starter.run()
        defer { if starter.isRunning { kill(starter.processIdentifier, SIGKILL) } }
        // The extraction has started (and waits on its first requests).
        try await within(60) {
            while !((try? String(contentsOfFile: log, encoding: .utf8)) ?? "").contains("extracting") {
                try await Task.sleep(for: .milliseconds(100))
            }
        }

        kill(worker.processIdentifier, SIGINT)
        try await Task.sleep(for: .seconds(2))
        #expect(worker.isRunning, "the first signal's graceful shutdown waits for the running extraction")
        kill(worker.processIdentifier, SIGINT)
        // Liveness bound: without the second signal the worker would wait out its 120 s grace.
        let deadline = Date().addingTimeInterval(20)
        while worker.isRunning, Date() < deadline { try await Task.sleep(for: .milliseconds(50)) }
        let text = (try? String(contentsOfFile: log, encoding: .utf8)) ?? ""
        #expect(!worker.isRunning, "a second SIGINT did not stop the worker:\n\(text.suffix(2_000))")
        #expect(text.contains("received SIGINT again"), "\(text.suffix(2_000))")
    }

    @Test func startLaunchpadWorkflowRunsATeam() async throws {
        let fixture = try await startFixture()
        let server = try await DevServer.shared()
        let directory = try TemporaryDirectory()
        let workers = try await FlowWorkers(databasePath: directory.file("events.db"))
        let (status, output) = try await Self.run(
            try Self.executable("StartLaunchpadWorkflow"),
            [
                "--host", server.address, "--task-queue", workers.launchpadQueue, "--service-root", fixture.serviceRoot,
                "--team", "example-team", "--max-parallel", "2", "--from", "2024-03-01", "--to", "2024-03-31",
                "--member", "alice-example", "--member", "Alice-Example",
            ], timeout: 180)
        await workers.stop()
        #expect(status == 0, "\(output)")
        #expect(output.contains("all 2 workflow(s) completed"), "\(output)")
        // alice-example and Alice-Example are one Launchpad name: one run, beside the team's.
        #expect(output.components(separatedBy: "started launchpad-alice-example-").count == 2, "\(output)")
        #expect(output.contains("one LaunchpadFlow child per member of ~example-team, 2 at a time"), "\(output)")
        #expect(output.contains("\"team\":\"example-team\""), "\(output)")
        #expect(output.contains("\"members\":\"4\""), "\(output)")
    }

    /// `--schedule` again on a schedule someone paused keeps the pause and says so: it printed
    /// the next run (the server lists future times of a paused schedule too), and nothing ran.
    @Test func aScheduleUpdatedWhilePausedSaysItIsPaused() async throws {
        let server = try await DevServer.shared()
        let member = "pause-\(UUID().uuidString.prefix(8).lowercased())"
        let arguments = ["--host", server.address, "--schedule", "daily", "--member", member, "--task-queue", "q-\(member)"]
        let starter = try Self.executable("StartLaunchpadWorkflow")
        let (created, first) = try await Self.run(starter, arguments, timeout: 60)
        #expect(created == 0 && first.contains("created schedule") && first.contains("(next run"), "\(first)")
        let client = try await TemporalClient.connect(target: server.address)
        let handle = client.scheduleHandle(id: "launchpad-\(member)-daily")
        defer { Task { try? await handle.delete() } }
        try await handle.pause(note: "holiday freeze")
        let (updated, second) = try await Self.run(starter, arguments, timeout: 60)
        #expect(updated == 0 && second.contains("updated schedule") && second.contains("PAUSED (holiday freeze)"), "\(second)")
        #expect(!second.contains("(next run"), "\(second)")
        #expect(try await handle.describe().isPaused)
    }

    /// `--strict` sets the exit status of one-off runs; beside `--schedule` it was accepted and
    /// meant nothing (a schedule's partial runs are found by `LaunchpadStage = 'partial'`).
    @Test func strictIsRefusedBesideASchedule() async throws {
        let (status, output) = try await Self.run(
            try Self.executable("StartLaunchpadWorkflow"),
            ["--host", "127.0.0.1:1", "--schedule", "daily", "--member", "alice-example", "--strict"], timeout: 30)
        #expect(status == 64 && output.contains("--strict is for one-off runs") && output.contains("'partial'"), "\(output)")
    }

    /// Options a mode does not use were accepted and ignored: `--delete-schedule X --member bob`
    /// deleted X and said nothing of bob; `--max-parallel` without `--team` did nothing.
    @Test func optionsAModeDoesNotUseAreRefused() async throws {
        for (arguments, expected) in [
            (["--delete-schedule", "launchpad-alice-example-daily", "--member", "bob"], "--member is not used by --delete-schedule"),
            (["--list-schedules", "--team", "t"], "--team is not used by --list-schedules"),
            (
                ["--delete-schedule", "launchpad-alice-example-daily", "--service-root", "staging", "--version", "1.0"],
                "--service-root, --version are not used by --delete-schedule"
            ),
            (
                ["--member", "alice-example", "--from", "2024-03-01", "--to", "2024-03-31", "--max-parallel", "4"],
                "--max-parallel is for --team"
            ),
        ] {
            let (status, output) = try await Self.run(
                try Self.executable("StartLaunchpadWorkflow"), ["--host", "127.0.0.1:1"] + arguments, timeout: 30)
            #expect(status == 64 && output.contains(expected), "\(arguments): \(output)")
        }
    }

    /// A bad `--member` beside a `--team` is refused before the team starts (it was checked
    /// only after the team's flow had finished), here before any connection is tried.
    @Test func startLaunchpadWorkflowChecksEveryInputBeforeStartingATeam() async throws {
        for extra in [["--member", "Bad_Name"], ["--team", "bad team"]] {
            let (status, output) = try await Self.run(
                try Self.executable("StartLaunchpadWorkflow"),
                ["--host", "127.0.0.1:1", "--team", "example-team", "--from", "2024-03-01", "--to", "2024-03-31"] + extra, timeout: 30)
            #expect(status == 64, "\(extra): \(output)")
            #expect(output.contains(extra[0] == "--member" ? "bad_name" : "bad team"), "\(extra): \(output)")
            #expect(!output.contains("started"), "\(extra): \(output)")
        }
    }

    /// Options a worker would ignore, or an empty store path, are refused at once (exit 64,
    /// naming them): the worker served less than its command line read, or opened a temporary
    /// SQLite database and blamed a network file system once Temporal answered.
    @Test func aWorkerRefusesOptionsItWouldIgnore() async throws {
        let cases: [([String], String)] = [
            (["--db-path", ""], "--db-path is empty"),
            (["--no-launchpad", "--task-queue", "q"], "--no-launchpad"),
            (["--no-mock", "--mock-task-queue", "q"], "--no-mock"),
            (["--task-queue", "q", "--mock-task-queue", "q"], "share task queue 'q'"),
            (["--task-queue", "launchpad-mock-task-queue"], "share task queue 'launchpad-mock-task-queue'"),
            (["--metrics-host", "127.0.0.1"], "--metrics-port"),
        ]
        // A store that cannot open stops the worker at once, while its Temporal server is
        // still away (127.0.0.1:1): it waited for the server first, and said nothing of it.
        let (status, output) = try await Self.run(
            try Self.executable("LaunchpadWorker"), ["--host", "127.0.0.1:1", "--db-path", "/nonexistent-dir/e.db"], timeout: 20)
        #expect(status != 0 && status != -1, "\(output)")
        #expect(output.contains("/nonexistent-dir/e.db") && output.contains("--db-path"), "\(output)")
        for (arguments, words) in cases {
            let (status, output) = try await Self.run(
                try Self.executable("LaunchpadWorker"), ["--host", "127.0.0.1:1"] + arguments, timeout: 30,
                environment: ["METRICS_PORT": "", "LAUNCHPAD_TASK_QUEUE": "", "LAUNCHPAD_MOCK_TASK_QUEUE": ""])
            #expect(status == 64, "\(arguments): \(output)")
            #expect(output.contains(words), "\(arguments): \(output)")
        }
    }

    /// The fixture server refuses options that would give another fixture than the one asked
    /// for: a fault rate with no kinds (it injected nothing), a host name (it failed with
    /// "makeFailed(inet_pton AF_INET)"); `localhost` is 127.0.0.1.
    @Test func theFixtureServerRefusesOptionsThatWouldDoNothing() async throws {
        let fixture = try Self.executable("LaunchpadFixtureServer")
        for (arguments, words) in [
            (["--port", "0", "--fault-rate", "0.3", "--fault-kinds", ""], "injects nothing"),
            (["--port", "0", "--host", "fixture.example"], "not an IPv4 address"),
        ] {
            let (status, output) = try await Self.run(fixture, arguments, timeout: 20)
            #expect(status == 64 && output.contains(words), "\(arguments): \(output)")
        }
    }

    /// Half an OAuth token, or a limit out of range, stops the worker when it starts (before
    /// it connects anywhere), naming the variable; a mistyped LP_ variable is named in a warning.
    @Test func aWorkerWithBrokenLaunchpadSettingsStopsAtStart() async throws {
        let directory = try TemporaryDirectory()
        let cases: [([String: String], String)] = [
            (["LP_ACCESS_TOKEN": "token", "LP_ACCESS_SECRET": ""], "LP_ACCESS_SECRET"),
            (["LP_CREDENTIALS_FILE": directory.file("missing.ini")], "LP_CREDENTIALS_FILE"),
            (["LP_MAX_CONCURRENT_REQUESTS": "100"], "LP_MAX_CONCURRENT_REQUESTS"),
            (["LP_CREDENTIAL_HOSTS": "*.corp.example"], "LP_CREDENTIAL_HOSTS"),
            // It goes into every request's headers: before, every flow failed with an error
            // that did not name it.
            (["LP_APP_ID": "my \"etl\""], "LP_APP_ID"),
            // The worker's own settings: refused, not replaced by a default without a word.
            (["LOG_LEVEL": "verbose"], "LOG_LEVEL"), (["CODEC_SERVER_PORT": "abc"], "CODEC_SERVER_PORT"),
            (["SHUTDOWN_GRACE_SECONDS": "45s"], "SHUTDOWN_GRACE_SECONDS"),
            (["MAX_CONCURRENT_ACTIVITIES": "0"], "MAX_CONCURRENT_ACTIVITIES"),
            // A Worker Deployment half given, or with a behaviour that is not one.
            (["TEMPORAL_WORKER_BUILD_ID": "abc123"], "TEMPORAL_DEPLOYMENT_NAME"),
            (
                ["TEMPORAL_DEPLOYMENT_NAME": "etl", "TEMPORAL_WORKER_BUILD_ID": "abc123", "TEMPORAL_WORKER_VERSIONING": "always"],
                "TEMPORAL_WORKER_VERSIONING"
            ),
        ]
        for (environment, variable) in cases {
            let (status, output) = try await Self.run(
                try Self.executable("LaunchpadWorker"), ["--host", "127.0.0.1:1", "--db-path", directory.file("events.db")],
                timeout: 30, environment: environment)
            #expect(status != 0 && status != -1, "\(environment): \(output)")
            #expect(output.contains(variable), "\(environment): \(output)")
        }
    }

    /// A Temporal profile (`temporal.toml`, which this client does not read) with nothing else
    /// saying where to connect stops the worker at start, as it stops the starters; before, the
    /// worker dialled localhost:7233 (another cluster, or nothing, waiting forever).
    @Test func aWorkerGivenOnlyATemporalProfileStopsAtStart() async throws {
        let directory = try TemporaryDirectory()
        let (status, output) = try await Self.run(
            try Self.executable("LaunchpadWorker"), ["--db-path", directory.file("events.db")], timeout: 30,
            environment: ["TEMPORAL_PROFILE": "prod", "TEMPORAL_HOST": "", "TEMPORAL_ADDRESS": " "])
        #expect(status != 0 && status != -1, "\(output)")
        #expect(output.contains("TEMPORAL_PROFILE is set, which this client does not read"), "\(output)")
    }

    @Test func startLaunchpadWorkflowRejectsBadDatesBeforeStartingAnything() async throws {
        let (status, output) = try await Self.run(
            try Self.executable("StartLaunchpadWorkflow"),
            ["--host", "127.0.0.1:1", "--member", "alice-example", "--from", "2024-13-01", "--to", "2024-12-31"])
        #expect(status != 0)
        // The flag is named, as the user typed it (not the workflow input's field).
        #expect(output.contains("--from '2024-13-01' names no day: a month is 01 to 12"), "\(output)")
        // A day that does not exist is not called a matter of form; a window before Launchpad
        // existed is refused before anything starts (year 0001 reached Launchpad after the start).
        for (from, expected) in [
            ("2023-02-29", "--from '2023-02-29' names no day: 2023-02 has 28 days"), ("24-03-01", "is not a date in YYYY-MM-DD form"),
            ("0001-01-01", "--from 0001-01-01 is before 2004-01-01: Launchpad opened in 2004"),
        ] {
            let (fromStatus, output) = try await Self.run(
                try Self.executable("StartLaunchpadWorkflow"),
                ["--host", "127.0.0.1:1", "--member", "alice-example", "--from", from, "--to", "2024-03-31"])
            #expect(fromStatus == 64 && output.contains(expected), "\(from): \(output)")
        }
        let (swappedStatus, swapped) = try await Self.run(
            try Self.executable("StartLaunchpadWorkflow"),
            ["--host", "127.0.0.1:1", "--team", "example-team", "--from", "2024-03-31", "--to", "2024-03-01"])
        #expect(swappedStatus == 64 && swapped.contains("--to 2024-03-01 is before --from 2024-03-31: swap them"), "\(swapped)")
    }
}
