import ArgumentParser
import ETLCommandLine
import Foundation
import LaunchpadETL
import Temporal
import TemporalOTLP
import TemporalWorker

/// `swift run StartMockWorkflow`: the original `run_mock_wf.py` — four `MockFlow` runs
/// (members 1–4 over the quarters of 2023), each printed with its Web UI link and result.
@main
struct StartMockWorkflow: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Starts MockFlow for four members over the four quarters of 2023 and prints the results."
    )

    @OptionGroup var server: TemporalServerOptions

    @OptionGroup var queue: TaskQueueOptions

    @OptionGroup var ui: WebUIOptions

    func run() async throws {
        // OTEL_EXPORTER_OTLP_ENDPOINT: the start spans join the runs' traces.
        try await OTLPTracer.tracing(serviceName: "start-mock-workflow") { try await runCommand() }
    }

    func runCommand() async throws {
        let client = try await server.connect()
        var launcher = FlowLauncher(client: client, uiBaseURL: ui.resolved)
        launcher.searchAttributes = await LaunchpadProgress.startAttributes(client: client) { ConsoleOutput.line($0) }
        launcher.noWorkerNotice = { ConsoleOutput.warning($0) }
        let queue = self.queue.resolved(env: "LAUNCHPAD_MOCK_TASK_QUEUE", default: MockFlow.queueName)
        let launches = FlowLauncher.mockLaunches()
        let outcomes: [FlowLauncher.Outcome]
        do {
            outcomes = try await launcher.runUntilInterrupted(
                launches, workflowType: MockFlow.name, taskQueue: queue,
                onStarted: { launch, link in ConsoleOutput.line("started \(launch.workflowId)\n  \(link)") })
        } catch let interrupted as FlowLauncher.Interrupted {
            ConsoleOutput.line("\(interrupted)")
            throw ExitCode(130)
        }
        var failed = 0
        for outcome in outcomes.sorted(by: { $0.launch.workflowId < $1.launch.workflowId }) {
            switch outcome.result {
            case .success(let result): ConsoleOutput.line("\(outcome.launch.workflowId): \(result)")
            case .failure(let error):
                failed += 1
                ConsoleOutput.line(FlowLauncher.failureLine(outcome.launch.workflowId, error))
            }
        }
        if failed > 0 { throw ExitCode(1) }
    }
}
