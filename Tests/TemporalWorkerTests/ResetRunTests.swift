import Foundation
import Temporal
import TemporalProto
import TemporalTestSupport
import Testing

@testable import TemporalWorker

/// A run reset on a real server (`temporal workflow reset`).
@Suite struct ResetRunTests {
    /// A reset run replays its base's history up to the reset point, then the server's
    /// WorkflowTaskFailed (RESET_WORKFLOW) names the new run: from there on the run is live, and
    /// it must not draw the numbers its base drew.
    @Test func aResetRunReplaysItsBaseThenDrawsNumbersOfItsOwn() async throws {
        let server = try await DevServer.shared()
        try await withWorker(workflows: [DrawThenWait.self], timeout: 120) { worker in
            let id = "reset-\(UUID().uuidString)"
            let base = try await worker.start(DrawThenWait.self, id: id)
            let drawnByBase = try #require(await firstAnswer { try await base.query("drawn", as: String.self) })
            let output = try await runProcess(
                try DevServer.findTemporalCLI(),
                [
                    "workflow", "reset", "--address", server.address, "--namespace", "default", "--workflow-id", id,
                    "--run-id", base.resultRunID ?? "", "--type", "FirstWorkflowTask", "--reason", "test",
                ])
            let latest = worker.client.workflowHandle(id: id)
            let newRun = try #require(
                await firstAnswer {
                    let run = try await latest.describe().raw.workflowExecutionInfo.execution.runID
                    return run == base.resultRunID ? nil : run
                }, "the reset gave no new run: \(output)")
            let reset = worker.client.workflowHandle(id: id, runID: newRun)
            let drawnByReset = try #require(await firstAnswer { try await reset.query("drawn", as: String.self) })
            #expect(drawnByReset != drawnByBase)
            try await reset.signal("go", 1)
            #expect(try await reset.result(as: [String].self) == [drawnByReset, newRun])
        }
    }
}

/// The first non-empty answer of `ask` within `seconds` (errors count as no answer yet).
private func firstAnswer(_ seconds: Double = 30, _ ask: @Sendable () async throws -> String?) async -> String? {
    let deadline = Date().addingTimeInterval(seconds)
    while Date() < deadline {
        if let answer = try? await ask(), !answer.isEmpty { return answer }
        try? await Task.sleep(for: .milliseconds(100))
    }
    return nil
}

/// Draws a UUID in its first task, then waits for signal `go`; returns what it drew and its run id.
final class DrawThenWait: Workflow {
    var drawn = ""
    var go = false
    init() {}
    func run(context: WorkflowContext, input: NoValue) async throws -> [String] {
        context.setQueryHandler("drawn") { self.drawn }
        context.setSignalHandler("go", as: Int.self) { _ in self.go = true }
        drawn = context.uuid().uuidString
        try await context.condition { self.go }
        return [drawn, context.info.runID]
    }
}
