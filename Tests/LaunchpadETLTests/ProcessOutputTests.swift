import Foundation
import TemporalTestSupport
import Testing

@testable import LaunchpadETL
@testable import LaunchpadFixture

/// What the executables tell a user while something is still pending.
@Suite struct ProcessOutputTests {
    /// A starter whose stdout is a file, interrupted before its workflows finish, has already
    /// written each `started <id>` line (they name the workflows to look for).
    @Test func anInterruptedStarterKeepsItsStartedLines() async throws {
        let server = try await DevServer.shared()
        let directory = try TemporaryDirectory()
        let output = directory.file("starter.out")
        _ = FileManager.default.createFile(atPath: output, contents: nil)
        let starter = Process()
        starter.executableURL = URL(fileURLWithPath: try ExecutableTests.executable("StartMockWorkflow"))
        // No worker polls this queue: the workflows stay open and the starter keeps waiting.
        starter.arguments = ["--host", server.address, "--task-queue", flowQueue("nobody-polls")]
        starter.standardOutput = try FileHandle(forWritingTo: URL(fileURLWithPath: output))
        starter.standardError = FileHandle.nullDevice
        try starter.run()
        defer { if starter.isRunning { kill(starter.processIdentifier, SIGKILL) } }
        let started: @Sendable () -> Int = {
            ((try? String(contentsOfFile: output, encoding: .utf8)) ?? "").components(separatedBy: "started launchpad-workflow-").count - 1
        }
        do {
            try await within(30) { while started() < 4 { try await Task.sleep(for: .milliseconds(50)) } }
        } catch {
            Issue.record("after 30 s the starter's output file holds \(started()) 'started' lines")
        }
        kill(starter.processIdentifier, SIGINT)
        starter.waitUntilExit()
        #expect(started() == 4)
    }

    /// A worker started before its Temporal server says, once, what it waits for.
    @Test func aWorkerWaitingForItsServerSaysSo() async throws {
        let silent = try SilentListener()
        let directory = try TemporaryDirectory()
        let worker = try WorkerProcess(
            server: try await DevServer.shared(), directory: directory, name: "w", queue: flowQueue("waiting"),
            extraArguments: ["--host", silent.address])
        defer { worker.kill() }
        try await worker.waitForLog("waiting for the Temporal server at \(silent.address)", seconds: 30)
        try await Task.sleep(for: .seconds(3))
        #expect(worker.log.components(separatedBy: "waiting for the Temporal server").count == 2, "\(worker.log)")
    }
}
