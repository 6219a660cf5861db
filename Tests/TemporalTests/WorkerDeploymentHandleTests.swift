import Foundation
import Synchronization
import Temporal
import TemporalProto
import Testing

/// What a Worker Deployment handle sends, checked on the wire without a server: names the
/// server would misread are refused before any call, an empty build id names the unversioned
/// workers (as in Go), and a ramp's percentage reads back as it was set.
@Suite struct WorkerDeploymentHandleTests {
    /// Records each call's method and request, and answers `answers[method]` or an empty message.
    final class Recorder: ServiceTransport {
        let calls = Mutex<[(method: String, request: Data)]>([])
        let answers: [String: Data]
        init(answers: [String: Data] = [:]) { self.answers = answers }
        var target: String { "recorder" }
        func unary(method: String, request: Data, metadata: [(String, String)], timeout: Duration?) async throws -> Data {
            let name = String(method.split(separator: "/").last ?? "")
            calls.withLock { $0.append((name, request)) }
            return answers[name] ?? Data()
        }
        func close() {}
        func requests(_ method: String) -> [Data] { calls.withLock { $0 }.filter { $0.method == method }.map(\.request) }
    }

    @Test func aNameTheServerWouldMisreadIsRefusedBeforeAnyCall() async throws {
        let recorder = Recorder()
        let client = try await TemporalClient.connect(transport: recorder)
        let before = recorder.calls.withLock { $0.count }
        for name in ["", "team.etl", "team:etl"] {
            let deployment = client.workerDeployment(name)
            for change in [
                { _ = try await deployment.describe() },
                { try await deployment.setCurrentVersion(buildID: "v1") },
                { try await deployment.setRamp(buildID: "v1", percentage: 10) },
                { try await deployment.deleteVersion(buildID: "v1") },
            ] as [@Sendable () async throws -> Void] {
                let error = await #expect(throws: TemporalError.self) { try await change() }
                #expect(error?.code == .invalidArgument && error?.message.contains("'.'") == true, "\(String(describing: error))")
            }
        }
        await #expect(throws: TemporalError.self) { try await client.workerDeployment("etl").deleteVersion(buildID: "") }
        #expect(recorder.calls.withLock { $0.count } == before, "nothing reached the server")
    }

    /// An empty build id names the unversioned workers, as nil does (Go's handle does the
    /// same); it went out as the version string `etl.`, which the server refuses.
    @Test func anEmptyBuildIDNamesTheUnversionedWorkers() async throws {
        let recorder = Recorder()
        let client = try await TemporalClient.connect(transport: recorder)
        let deployment = client.workerDeployment("etl")
        try await deployment.setCurrentVersion(buildID: "")
        try await deployment.setRamp(buildID: "", percentage: 20)
        try await deployment.setCurrentVersion(buildID: "v2")
        let current = try recorder.requests("SetWorkerDeploymentCurrentVersion").map {
            try Temporal_Api_Workflowservice_V1_SetWorkerDeploymentCurrentVersionRequest(serializedBytes: $0)
        }
        #expect(current.map(\.version) == ["__unversioned__", "etl.v2"])
        #expect(current.map(\.buildID) == ["", "v2"])
        let ramp = try recorder.requests("SetWorkerDeploymentRampingVersion").map {
            try Temporal_Api_Workflowservice_V1_SetWorkerDeploymentRampingVersionRequest(serializedBytes: $0)
        }
        #expect(ramp.map(\.version) == ["__unversioned__"] && ramp.map(\.percentage) == [20])
    }

    /// The wire holds a ramp's percentage as a float: 33.3 read back is 33.3, not 33.29999923706055.
    @Test func aRampsPercentageReadsBackAsItWasSet() async throws {
        var answer = Temporal_Api_Workflowservice_V1_DescribeWorkerDeploymentResponse()
        answer.workerDeploymentInfo.name = "etl"
        answer.workerDeploymentInfo.routingConfig.rampingDeploymentVersion.deploymentName = "etl"
        answer.workerDeploymentInfo.routingConfig.rampingDeploymentVersion.buildID = "v2"
        answer.workerDeploymentInfo.routingConfig.rampingVersionPercentage = Float(33.3)
        let recorder = Recorder(answers: ["DescribeWorkerDeployment": try answer.serializedData()])
        let client = try await TemporalClient.connect(transport: recorder)
        let described = try await client.workerDeployment("etl").describe()
        #expect(described.routing.ramp?.percentage == 33.3, "\(String(describing: described.routing.ramp))")
    }
}
