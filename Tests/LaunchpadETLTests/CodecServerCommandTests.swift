import Foundation
import TemporalTestSupport
import Testing

/// `LaunchpadWorker codec-server` as a process: its token and namespaces from the environment.
@Suite struct CodecServerCommandTests {
    @Test func theTokenFileAndNamespacesComeFromTheEnvironment() async throws {
        let directory = try TemporaryDirectory()
        let keys = directory.file("keys")
        try Data((Data((0..<32).map { UInt8($0) }).base64EncodedString() + "\n").utf8).write(to: URL(fileURLWithPath: keys))
        let token = directory.file("token")
        try Data("t0ken-from-a-file\n".utf8).write(to: URL(fileURLWithPath: token))
        let port = try DevServer.freePort()
        let process = Process()
        process.executableURL = URL(fileURLWithPath: try ExecutableTests.executable("LaunchpadWorker"))
        process.arguments = ["codec-server", "--port", "\(port)"]
        process.environment = ProcessInfo.processInfo.environment.merging([
            "TEMPORAL_PAYLOAD_KEY_FILE": keys, "CODEC_SERVER_AUTH_TOKEN_FILE": token, "CODEC_SERVER_NAMESPACES": "etl, default",
        ]) { $1 }
        process.standardOutput = FileHandle.nullDevice
        let log = directory.file("codec.log")
        _ = FileManager.default.createFile(atPath: log, contents: nil)
        process.standardError = try FileHandle(forWritingTo: URL(fileURLWithPath: log))
        try process.run()
        defer { if process.isRunning { kill(process.processIdentifier, SIGKILL) } }
        func status(_ headers: [String], body: String = #"{"payloads": []}"#) async throws -> String {
            let (_, code) = try await ExecutableTests.run(
                "/usr/bin/curl",
                ["-s", "-o", "/dev/null", "-w", "%{http_code}", "-X", "POST", "--data-binary", body]
                    + headers.flatMap { ["-H", $0] } + ["http://127.0.0.1:\(port)/decode"])
            return code
        }
        var answered = "000"
        for _ in 0..<100 where answered == "000" {
            answered = try await status([])
            if answered == "000" { try await Task.sleep(for: .milliseconds(100)) }
        }
        #expect(answered == "401")
        #expect(try await status(["Authorization: Bearer t0ken-from-a-file", "X-Namespace: etl"]) == "200")
        #expect(try await status(["Authorization: Bearer t0ken-from-a-file", "X-Namespace: other"]) == "403")
        // The docker compose stack's Web UI (port 8080) is served by default, as the dev
        // server's; before, it was refused (403) and the UI said only that decoding failed.
        let fromTheUI = ["Authorization: Bearer t0ken-from-a-file", "X-Namespace: etl"]
        #expect(try await status(fromTheUI + ["Origin: http://localhost:8080"]) == "200")
        #expect(try await status(fromTheUI + ["Origin: http://localhost:8233"]) == "200")
        #expect(try await status(fromTheUI + ["Origin: http://evil.example"]) == "403")
        #expect(try await status(fromTheUI, body: "not json") == "400")
        // Each refusal is logged, saying why.
        let logged = try await within(10) { () -> String in
            while true {
                let text = (try? String(contentsOfFile: log, encoding: .utf8)) ?? ""
                if text.contains("refused a request (400)") { return text }  // the last one
                try await Task.sleep(for: .milliseconds(50))
            }
        }
        #expect(logged.contains("codec server refused a request (401)") && logged.contains("namespace 'other'"), "\(logged)")
        #expect(logged.contains("origin http://evil.example"), "\(logged)")
        // A token file that holds no single token is refused at start, saying how to make one.
        try Data("two words\n".utf8).write(to: URL(fileURLWithPath: token))
        let (exit, output) = try await ExecutableTests.run(
            try ExecutableTests.executable("LaunchpadWorker"), ["codec-server", "--port", "0"],
            environment: ["TEMPORAL_PAYLOAD_KEY_FILE": keys, "CODEC_SERVER_AUTH_TOKEN_FILE": token])
        #expect(exit != 0 && output.contains("must hold one token") && output.contains("openssl rand"), "\(output)")
        // Beyond this machine only with a token: it decrypts every payload for whoever asks.
        let (open, openOutput) = try await ExecutableTests.run(
            try ExecutableTests.executable("LaunchpadWorker"), ["codec-server", "--port", "0", "--host", "0.0.0.0"],
            environment: ["TEMPORAL_PAYLOAD_KEY_FILE": keys, "CODEC_SERVER_AUTH_TOKEN_FILE": ""])
        #expect(open == 64 && openOutput.contains("a codec server on 0.0.0.0 would decrypt payloads for anyone"), "\(openOutput)")
    }

    /// Its address reaches a pipe at once (Docker, systemd, a supervisor): standard output is
    /// block-buffered there, and the server runs until a signal ends it, so the lines never
    /// came out (with `--port 0`, the only word of the port it chose).
    @Test func itsAddressReachesAPipeWhileItRuns() async throws {
        let directory = try TemporaryDirectory()
        let keys = directory.file("keys")
        try Data((Data((0..<32).map { UInt8($0) }).base64EncodedString() + "\n").utf8).write(to: URL(fileURLWithPath: keys))
        let process = Process()
        process.executableURL = URL(fileURLWithPath: try ExecutableTests.executable("LaunchpadWorker"))
        // An option replaces its variable (merged, an exported list widened the origins served).
        process.arguments = ["codec-server", "--port", "0", "--origin", "https://ui.example.com", "--namespace", "etl"]
        process.environment = ProcessInfo.processInfo.environment.merging([
            "TEMPORAL_PAYLOAD_KEY_FILE": keys, "CODEC_SERVER_ORIGINS": "http://localhost:8233", "CODEC_SERVER_NAMESPACES": "other",
        ]) { $1 }
        let out = Pipe()
        process.standardOutput = out
        process.standardError = FileHandle.nullDevice
        try process.run()
        defer { if process.isRunning { kill(process.processIdentifier, SIGKILL) } }
        // Read on a thread of its own (a blocking read); the process is killed after 15 s at most.
        let killer = DispatchWorkItem { if process.isRunning { kill(process.processIdentifier, SIGKILL) } }
        DispatchQueue.global().asyncAfter(deadline: .now() + 15, execute: killer)
        defer { killer.cancel() }
        let seen = await withCheckedContinuation { (continuation: CheckedContinuation<String, Never>) in
            DispatchQueue.global().async {
                var text = ""
                while !text.contains("\n") {
                    let chunk = out.fileHandleForReading.availableData
                    if chunk.isEmpty { break }
                    text += String(decoding: chunk, as: UTF8.self)
                }
                continuation.resume(returning: text)
            }
        }
        #expect(seen.hasPrefix("codec server at http://127.0.0.1:") && process.isRunning, "\(seen)")
        #expect(seen.contains("browser origins https://ui.example.com; namespaces etl; no token asked for"), "\(seen)")
        // SIGTERM stops it cleanly: exit 0 (it died of the signal, 143).
        kill(process.processIdentifier, SIGTERM)
        let ended = ContinuousClock.now + .seconds(5)
        while process.isRunning, ContinuousClock.now < ended { try await Task.sleep(for: .milliseconds(20)) }
        #expect(!process.isRunning && process.terminationReason == .exit && process.terminationStatus == 0)
    }
}
