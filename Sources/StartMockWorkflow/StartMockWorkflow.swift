import ArgumentParser
import Foundation
import LaunchpadETL
import TemporalOTLP
import Temporal

/// `swift run StartMockWorkflow`: the original `run_mock_wf.py` — four `MockFlow` runs
/// (members 1–4 over the quarters of 2023), each printed with its Web UI link and result.
@main
struct StartMockWorkflow: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Starts MockFlow for four members over the four quarters of 2023 and prints the results."
    )

    @Option(help: "Temporal frontend host:port (env TEMPORAL_HOST, default localhost:7233).")
    var host: String?

    @Option(help: "Temporal namespace (env TEMPORAL_NAMESPACE, default default).")
    var namespace: String?

    @Option(name: .customLong("task-queue"), help: "MockFlow's queue (env LAUNCHPAD_MOCK_TASK_QUEUE, default launchpad-mock-task-queue).")
    var taskQueue: String?

    @Option(name: .customLong("ui-url"), help: "Temporal Web UI base URL (env TEMPORAL_UI_URL, default http://localhost:8233).")
    var uiURL: String?

    func run() async throws {
        // OTEL_EXPORTER_OTLP_ENDPOINT: the start spans join the runs' traces.
        try await OTLPTracer.tracing(serviceName: "start-mock-workflow") { try await runCommand() }
    }

    func runCommand() async throws {
        let env = ProcessInfo.processInfo.environment
        let client = try await TemporalClient.connectFromEnvironment(host: host, namespace: namespace)
        var launcher = FlowLauncher(client: client, uiBaseURL: uiURL ?? env["TEMPORAL_UI_URL"].flatMap { $0.isEmpty ? nil : $0 } ?? "http://localhost:8233")
        launcher.searchAttributes = await LaunchpadProgress.startAttributes(client: client) { ConsoleOutput.line($0) }
        let queue = taskQueue ?? env["LAUNCHPAD_MOCK_TASK_QUEUE"].flatMap { $0.isEmpty ? nil : $0 } ?? MockFlow.queueName
        let outcomes = try await launcher.run(FlowLauncher.mockLaunches(), workflowType: MockFlow.name, taskQueue: queue,
                                              onStarted: { launch, link in ConsoleOutput.line("started \(launch.workflowId)\n  \(link)") })
        var failed = 0
        for outcome in outcomes.sorted(by: { $0.launch.workflowId < $1.launch.workflowId }) {
            switch outcome.result {
            case .success(let result): ConsoleOutput.line("\(outcome.launch.workflowId): \(result)")
            case .failure(let error):
                failed += 1
                ConsoleOutput.line("\(outcome.launch.workflowId) FAILED: \(error)")
            }
        }
        if failed > 0 { throw ExitCode(1) }
    }
}
