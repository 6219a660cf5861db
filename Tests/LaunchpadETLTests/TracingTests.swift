import Foundation
import Temporal
import TemporalTestSupport
import Testing

@testable import LaunchpadETL
@testable import LaunchpadFixture

/// One ETL run, one trace: `StartLaunchpadWorkflow` and a `LaunchpadWorker` process export OTLP
/// (OTEL_EXPORTER_OTLP_ENDPOINT) to a collector in the test; every span of both processes —
/// the start, the run, the activities, each Launchpad request and store write — is in one trace
/// whose spans all lead to the starter's span.
extension WorkerProcessTests {
    @Suite struct TracingTests {
        struct ExportedSpan {
            var service: String
            var traceID: String
            var spanID: String
            var parentSpanID: String?
            var name: String
        }

        @Test func oneETLRunIsOneConnectedTraceAcrossProcesses() async throws {
            let server = try await DevServer.shared()
            let fixture = try await startFixture()
            let directory = try TemporaryDirectory()
            let spansFile = directory.file("spans.jsonl")
            _ = FileManager.default.createFile(atPath: spansFile, contents: nil)
            let port = try DevServer.freePort()
            let collector = Process()
            collector.executableURL = URL(fileURLWithPath: "/usr/bin/env")
            collector.arguments = [
                "python3",
                URL(fileURLWithPath: #filePath).deletingLastPathComponent()
                    .appendingPathComponent("../peers/otlp_collector.py").standardizedFileURL.path, "\(port)", spansFile,
            ]
            collector.standardOutput = FileHandle.nullDevice
            collector.standardError = FileHandle.nullDevice
            try collector.run()
            defer {
                Foundation.kill(collector.processIdentifier, SIGKILL)
                collector.waitUntilExit()
            }
            try await within(30) {
                while !FileManager.default.fileExists(atPath: spansFile + ".ready") { try await Task.sleep(for: .milliseconds(50)) }
            }
            let otel = ["OTEL_EXPORTER_OTLP_ENDPOINT": "http://127.0.0.1:\(port)"]

            let queue = flowQueue("traced")
            let worker = try WorkerProcess(server: server, directory: directory, name: "w", queue: queue, environment: otel)
            defer { worker.kill() }
            try await worker.waitForLog("exporting traces", seconds: 60)
            let (status, output) = try await ExecutableTests.run(
                try ExecutableTests.executable("StartLaunchpadWorkflow"),
                [
                    "--host", server.address, "--member", "alice-example", "--from", "2024-03-01", "--to", "2024-03-31",
                    "--service-root", fixture.serviceRoot, "--task-queue", queue,
                ], timeout: 120, environment: otel)
            #expect(status == 0, "\(output)")
            #expect(!output.contains("OTLP export"), "\(output)")
            worker.terminate()  // flushes its last spans

            var spans: [ExportedSpan] = []
            for line in try String(contentsOfFile: spansFile, encoding: .utf8).split(separator: "\n") {
                let body = try #require(try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any])
                for resource in body["resourceSpans"] as? [[String: Any]] ?? [] {
                    let attributes = (resource["resource"] as? [String: Any])?["attributes"] as? [[String: Any]] ?? []
                    let service = (attributes.first?["value"] as? [String: Any])?["stringValue"] as? String ?? "?"
                    for scope in resource["scopeSpans"] as? [[String: Any]] ?? [] {
                        for span in scope["spans"] as? [[String: Any]] ?? [] {
                            spans.append(
                                ExportedSpan(
                                    service: service, traceID: span["traceId"] as? String ?? "",
                                    spanID: span["spanId"] as? String ?? "", parentSpanID: span["parentSpanId"] as? String,
                                    name: span["name"] as? String ?? ""))
                        }
                    }
                }
            }
            let names = Set(spans.map(\.name))
            for expected in [
                "StartWorkflow:LaunchpadFlow", "RunWorkflow:LaunchpadFlow", "StartActivity:extract_data", "RunActivity:extract_data",
                "RunActivity:transform_data", "RunActivity:load_data", "store.stageEvents", "store.loadStagedBatch",
            ] {
                #expect(names.contains(expected), "no span \(expected) among \(names.sorted())")
            }
            #expect(spans.contains { $0.name.hasPrefix("GET /devel/~alice-example") }, "no Launchpad request span")
            #expect(Set(spans.map(\.traceID)).count == 1, "spans in \(Set(spans.map(\.traceID)).count) traces")
            #expect(Set(spans.map(\.service)) == ["start-launchpad-workflow", "launchpad-worker"])
            // Connected: exactly one root (the starter's), every other span's parent exported too.
            let ids = Set(spans.map(\.spanID))
            let roots = spans.filter { $0.parentSpanID == nil }
            #expect(roots.map(\.name) == ["StartWorkflow:LaunchpadFlow"])
            let orphans = spans.filter { $0.parentSpanID.map { !ids.contains($0) } ?? false }
            #expect(orphans.isEmpty, "spans whose parent is missing: \(orphans.map(\.name))")
        }
    }
}
