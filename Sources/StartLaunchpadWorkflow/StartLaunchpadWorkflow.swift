import ArgumentParser
import Foundation
import LaunchpadETL
import Synchronization
import Temporal

/// `swift run StartLaunchpadWorkflow --member NAME --from DATE --to DATE`: one `LaunchpadFlow`
/// per member, progress printed as each completes; exit code 1 if any fails.
@main
struct StartLaunchpadWorkflow: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Extracts members' Launchpad activity for a date range into SQLite (one LaunchpadFlow per member)."
    )

    @Option(name: .customLong("member"), help: "Launchpad username (repeatable).")
    var members: [String] = []

    @Option(name: .customLong("from"), help: "First day, YYYY-MM-DD.")
    var from: String

    @Option(name: .customLong("to"), help: "Last day (inclusive), YYYY-MM-DD.")
    var to: String

    @Option(name: .customLong("service-root"), help: "production, staging, qastaging, dogfood, or a URL (the fixture server: http://127.0.0.1:PORT/).")
    var serviceRoot = "production"

    @Option(help: "Launchpad API version: beta, 1.0 or devel.")
    var version = "devel"

    @Option(help: "Temporal frontend host:port (env TEMPORAL_HOST, default localhost:7233).")
    var host: String?

    @Option(help: "Temporal namespace (env TEMPORAL_NAMESPACE, default default).")
    var namespace: String?

    @Option(name: .customLong("task-queue"), help: "LaunchpadFlow's queue (env LAUNCHPAD_TASK_QUEUE, default launchpad-task-queue).")
    var taskQueue: String?

    @Option(name: .customLong("ui-url"), help: "Temporal Web UI base URL (env TEMPORAL_UI_URL, default http://localhost:8233).")
    var uiURL: String?

    func run() async throws {
        let launches: [FlowLauncher.Launch]
        do {
            launches = try FlowLauncher.launchpadLaunches(members: members, from: from, to: to, serviceRoot: serviceRoot, version: version)
        } catch {
            throw ValidationError(error.message)
        }
        let env = ProcessInfo.processInfo.environment
        let client = try await TemporalClient.connectFromEnvironment(host: host, namespace: namespace)
        let launcher = FlowLauncher(client: client, uiBaseURL: uiURL ?? env["TEMPORAL_UI_URL"].flatMap { $0.isEmpty ? nil : $0 } ?? "http://localhost:8233")
        let queue = taskQueue ?? env["LAUNCHPAD_TASK_QUEUE"].flatMap { $0.isEmpty ? nil : $0 } ?? LaunchpadFlow.queueName
        let total = launches.count
        let done = Counter()
        let outcomes = try await launcher.run(
            launches, workflowType: LaunchpadFlow.name, taskQueue: queue,
            onStarted: { launch, link in print("started \(launch.workflowId)\n  \(link)") },
            onFinished: { outcome in
                let n = done.increment()
                switch outcome.result {
                case .success(let result): print("[\(n)/\(total)] \(outcome.launch.workflowId) completed: \(result)")
                case .failure(let error): print("[\(n)/\(total)] \(outcome.launch.workflowId) FAILED: \(error)")
                }
            })
        let failures = outcomes.filter { if case .failure = $0.result { true } else { false } }.count
        print(failures == 0 ? "all \(total) workflow(s) completed" : "\(failures) of \(total) workflow(s) failed")
        if failures > 0 { throw ExitCode(1) }
    }
}

/// A thread-safe progress counter.
final class Counter: Sendable {
    private let value = Mutex(0)
    func increment() -> Int { value.withLock { $0 += 1; return $0 } }
}
