import Foundation
import Temporal
import TemporalTestSupport
import Testing
@testable import TemporalWorker

/// Workflow Update is not implemented yet; an update must still get an answer at once — a
/// rejection saying so — rather than leave the caller waiting for a timeout.
@Suite struct UpdateRejectionTests {
    @Test func anUpdateIsRejectedAtOnceWithAClearMessage() async throws {
        let server = try await DevServer.shared()
        try await withWorker(workflows: [Chatty.self]) { running in
            let handle = try await running.start(Chatty.self)
            _ = try await handle.describe()
            let cli = Process()
            cli.executableURL = URL(fileURLWithPath: try DevServer.findTemporalCLI())
            cli.arguments = ["workflow", "update", "execute", "--address", server.address, "--workflow-id", handle.id, "--name", "nope",
                             "--command-timeout", "30s"]
            let output = Pipe()
            cli.standardOutput = output
            cli.standardError = output
            let clock = ContinuousClock()
            let started = clock.now
            try cli.run()
            let text = String(decoding: output.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
            cli.waitUntilExit()
            #expect(cli.terminationStatus != 0)
            #expect(text.contains("has no handler for update 'nope'") && text.contains("UpdateNotSupported"), "\(text)")
            #expect(clock.now - started < .seconds(20), "a rejection, not a timeout")
            // The workflow goes on: a signal still completes it.
            try await handle.signal("go")
            _ = try await handle.result(as: String.self)
        }
    }
}
