import Foundation
import Testing

/// Docker does not run on our machines, so the deployment files are checked by reading them:
/// Tests/deployment/check_compose.py parses docker-compose.yml, temporal-config/ and the
/// Dockerfile (python3 + PyYAML, installed by scripts/test) and lists every broken promise.
@Suite struct DeploymentFilesTests {
    /// The repository root: this file is Tests/LaunchpadETLTests/DeploymentFilesTests.swift.
    static let root = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

    @Test func composeFileTemporalConfigAndDockerfileKeepTheirPromises() throws {
        let script = Self.root.appendingPathComponent("Tests/deployment/check_compose.py").path
        #expect(FileManager.default.fileExists(atPath: script), "missing \(script)")

        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = ["python3", script, Self.root.path]
        process.currentDirectoryURL = Self.root
        let output = Pipe()
        process.standardOutput = output
        process.standardError = output
        process.standardInput = FileHandle.nullDevice
        try process.run()
        let text = String(decoding: output.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        process.waitUntilExit()

        #expect(process.terminationStatus == 0, "check_compose.py failed:\n\(text)")
        #expect(text.contains("all checks passed"), "\(text)")
    }
}
