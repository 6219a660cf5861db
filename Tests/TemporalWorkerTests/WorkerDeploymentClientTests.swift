import Foundation
import Synchronization
import Temporal
import TemporalProto
import TemporalTestSupport
import Testing

@testable import TemporalWorker

/// A client moves a Worker Deployment's routing against the dev server, as `temporal worker
/// deployment set-current-version` and `set-ramping-version` do: the versions its workers
/// register, the current version, a ramp, conflict tokens, and where new runs then go.
@Suite struct WorkerDeploymentClientTests {
    /// Makes `build` current once the server has registered its workers' polls (until then it
    /// refuses: no pollers seen).
    static func makeCurrent(_ deployment: WorkerDeploymentHandle, _ build: String?) async throws -> Data {
        let token = Mutex(Data())
        let last = Mutex("")
        let made = try await eventually(30) {
            do {
                let t = try await deployment.setCurrentVersion(buildID: build)
                token.withLock { $0 = t }
                return true
            } catch let error as TemporalError {
                last.withLock { $0 = error.message }
                return false
            }
        }
        #expect(made, "setCurrentVersion(\(build ?? "nil")) never succeeded: \(last.withLock { $0 })")
        return token.withLock { $0 }
    }

    @Test func aClientMovesTheRoutingAndNewRunsFollowIt() async throws {
        try await VersioningOverrideTests.withTwoVersions(workflows: [SumSignals.self]) { name, w in
            let deployment = w.client.workerDeployment(name)
            let v1 = WorkerDeploymentVersion(deploymentName: name, buildID: "v1")
            let v2 = WorkerDeploymentVersion(deploymentName: name, buildID: "v2")
            // Both versions are registered by their workers' polls.
            let registered = try await eventually(30) {
                let versions = try? await deployment.describe().versions.map(\.version)
                return Set(versions ?? []) == [v1, v2]
            }
            #expect(registered)
            try await Self.makeCurrent(deployment, "v1")
            var described = try await deployment.describe()
            #expect(described.name == name && described.routing.currentVersion == v1 && described.routing.ramp == nil)
            #expect(described.versions.first { $0.version == v1 }?.status == .current)
            #expect(described.versions.first { $0.version == v2 }?.status == .inactive)
            #expect(described.lastModifierIdentity == w.client.identity)

            let early = try await w.client.startWorkflow(type: SumSignals.name, id: "early-\(UUID())", taskQueue: w.taskQueue, args: 1)
            #expect(try await eventually(20) { try await VersioningOverrideTests.builds(early) == ["v1"] })

            // A ramp of 100 % sends new runs to v2; the pinned run stays on v1.
            let stale = described.conflictToken
            let afterRamp = try await deployment.setRamp(buildID: "v2", percentage: 100, WorkerDeploymentChange(conflictToken: stale))
            #expect(!afterRamp.isEmpty && afterRamp != stale)
            described = try await deployment.describe()
            #expect(described.routing.currentVersion == v1)
            #expect(described.routing.ramp == WorkerDeploymentRouting.Ramp(version: v2, percentage: 100))
            #expect(described.versions.first { $0.version == v2 }?.status == .ramping)
            let ramped = try await w.client.startWorkflow(type: SumSignals.name, id: "ramped-\(UUID())", taskQueue: w.taskQueue, args: 1)
            #expect(try await eventually(20) { try await VersioningOverrideTests.builds(ramped) == ["v2"] })

            // A change made with a token older than the last change is refused, and changes nothing.
            do {
                try await deployment.setCurrentVersion(buildID: "v2", WorkerDeploymentChange(conflictToken: stale))
                Issue.record("a stale conflict token was accepted")
            } catch let error as TemporalError {
                #expect(error.code == .failedPrecondition, "\(error)")
            }
            #expect(try await deployment.describe().routing.currentVersion == v1)

            // Ending the ramp sends new runs to v1 again.
            try await deployment.removeRamp(WorkerDeploymentChange(conflictToken: afterRamp))
            described = try await deployment.describe()
            #expect(described.routing.ramp == nil && described.routing.currentVersion == v1)
            let late = try await w.client.startWorkflow(type: SumSignals.name, id: "late-\(UUID())", taskQueue: w.taskQueue, args: 1)
            #expect(try await eventually(20) { try await VersioningOverrideTests.builds(late) == ["v1"] })
            for handle in [early, ramped, late] { try await handle.signal("add", 1) }
            for handle in [early, ramped, late] { #expect(try await handle.result(as: Int.self) == 1) }

            let listed = try await w.client.listWorkerDeployments().collect().first { $0.name == name }
            #expect(listed?.routing.currentVersion == v1)
            #expect(listed?.routing.ramp == nil)
        }
    }

    /// A pinned run that continues as new with `.useRampingVersion` starts its next run on the
    /// ramping version, whatever its percentage (0 here); with `.autoUpgrade`, on the current
    /// version; without either, on its own.
    @Test func continueAsNewMayStartTheNextRunOnTheRampingVersion() async throws {
        try await VersioningOverrideTests.withTwoVersions(workflows: [ContinuesOnSignal.self]) { name, w in
            let deployment = w.client.workerDeployment(name)
            try await Self.makeCurrent(deployment, "v2")
            try await Self.makeCurrent(deployment, "v1")  // both registered, v1 current
            var runs: [WorkflowHandle] = []
            for input in [0, 1, 3] {
                runs.append(
                    try await w.client.startWorkflow(
                        type: ContinuesOnSignal.name, id: "can-\(input)-\(UUID())", taskQueue: w.taskQueue, args: input))
            }
            for handle in runs {
                #expect(try await eventually(20) { try await VersioningOverrideTests.builds(handle) == ["v1"] })
            }
            try await deployment.setRamp(buildID: "v2", percentage: 0)
            for handle in runs { try await handle.signal("go") }
            for handle in runs { #expect(try await handle.result(as: String.self) == "done") }
            var next: [[String]] = []
            for handle in runs { next.append(try await VersioningOverrideTests.builds(w.client.workflowHandle(id: handle.id))) }
            #expect(next == [["v1"], ["v1"], ["v2"]], "pinned, auto-upgrade, ramping: \(next)")

            // The current version cannot be deleted; the unversioned workers can be made current.
            await #expect(throws: TemporalError.self) { try await deployment.deleteVersion(buildID: "v1") }
            try await deployment.setCurrentVersion(buildID: nil, WorkerDeploymentChange(ignoreMissingTaskQueues: true))
            let described = try await deployment.describe()
            #expect(described.routing.currentVersion == nil)
        }
    }

    /// A guarded change whose answer was lost is retried (transient failure) with the token it
    /// made stale; the server takes the retry for the change it already made and answers with
    /// the new token, not a conflict. (The handle relies on that: it does not re-check.)
    @Test(arguments: ["SetWorkerDeploymentCurrentVersion", "SetWorkerDeploymentRampingVersion"])
    func aGuardedChangeWhoseAnswerWasLostIsNotReportedAsAConflict(rpc: String) async throws {
        try await VersioningOverrideTests.withTwoVersions(workflows: [SumSignals.self]) { name, w in
            try await Self.makeCurrent(w.client.workerDeployment(name), "v1")
            let lossy = LosesFirstAnswer(w.client.workflowService.transport, method: rpc)
            let client = try await TemporalClient.connect(transport: lossy)
            let deployment = client.workerDeployment(name)
            let token = try await deployment.describe().conflictToken
            let guarded = WorkerDeploymentChange(conflictToken: token)
            let after =
                rpc.hasSuffix("CurrentVersion")
                ? try await deployment.setCurrentVersion(buildID: "v2", guarded)
                : try await deployment.setRamp(buildID: "v2", percentage: 40, guarded)
            #expect(lossy.calls.withLock { $0 } == 2, "the lost answer was retried")
            let described = try await deployment.describe()
            let v2 = WorkerDeploymentVersion(deploymentName: name, buildID: "v2")
            if rpc.hasSuffix("CurrentVersion") {
                #expect(described.routing.currentVersion == v2)
            } else {
                #expect(described.routing.ramp == WorkerDeploymentRouting.Ramp(version: v2, percentage: 40))
            }
            #expect(after == described.conflictToken)
            // Another change with that token is a conflict.
            let conflict = await #expect(throws: TemporalError.self) {
                try await deployment.setCurrentVersion(
                    buildID: nil, WorkerDeploymentChange(conflictToken: token, ignoreMissingTaskQueues: true))
            }
            #expect(
                conflict?.code == .failedPrecondition && conflict?.message.contains("conflict token") == true,
                "\(String(describing: conflict))")
        }
    }

    @Test func aRampMustBeAPercentage() async throws {
        let client = try await DevServer.client()
        for bad in [-1, 100.5, .nan] {
            await #expect(throws: TemporalError.self) {
                try await client.workerDeployment("swift-none").setRamp(buildID: "b", percentage: bad)
            }
        }
        await #expect(throws: TemporalError.self) { try await client.workerDeployment("swift-none-\(UUID())").describe() }
    }
}
