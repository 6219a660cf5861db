import Foundation
import Synchronization
import Temporal
import TemporalProto
import TemporalTestSupport
import Testing

@testable import TemporalWorker

/// Worker Versioning against the dev server: a versioned worker joins its Deployment Version,
/// gets the runs routed to it once the version is current, and records how they move between
/// versions; an unversioned worker only names its deployment.
@Suite struct WorkerVersioningTests {
    /// Makes `build` the current version of `deployment`, once the worker's polls have
    /// registered it with the server.
    static func makeCurrent(_ deployment: String, build: String, server: DevServer) async throws {
        let lastOutput = Mutex("")
        let made = try await eventually(30) {
            let output = try await temporalCLI([
                "worker", "deployment", "set-current-version", "--address", server.address, "--deployment-name", deployment,
                "--build-id", build, "--yes",
            ])
            lastOutput.withLock { $0 = output }
            return !output.contains("Error")
        }
        #expect(made, "set-current-version of \(deployment).\(build) never succeeded: \(lastOutput.withLock { $0 })")
    }

    static func completions(_ handle: WorkflowHandle) async throws -> [Temporal_Api_History_V1_WorkflowTaskCompletedEventAttributes] {
        try await handle.fetchHistory().filter { $0.eventType == .workflowTaskCompleted }.map(\.workflowTaskCompletedEventAttributes)
    }

    /// Every task of the run recorded the pinned behaviour and the deployment, and `describe`
    /// shows the run pinned to the build.
    static func expectPinned(_ handle: WorkflowHandle, to deployment: String, build: String, server: DevServer) async throws {
        let completed = try await completions(handle)
        #expect(!completed.isEmpty)
        #expect(completed.allSatisfy { $0.versioningBehavior == .pinned && $0.workerDeploymentName == deployment }, "\(completed)")
        let described = try await temporalCLI([
            "workflow", "describe", "--address", server.address, "--workflow-id", handle.id, "--output", "json",
        ])
        #expect(described.contains("VERSIONING_BEHAVIOR_PINNED") && described.contains(build), "\(described)")
    }

    @Test func aVersionedWorkerRunsThePinnedRunsOfItsCurrentVersion() async throws {
        let server = try await DevServer.shared()
        let name = "swift-dep-\(UUID().uuidString.prefix(8).lowercased())"
        let deployment = WorkerDeploymentOptions(
            deploymentName: name, buildID: "build-1", useVersioning: true, defaultVersioningBehavior: .pinned)
        try await withWorker(workflows: [GreetThenSleep.self], activities: [greet], timeout: 90, configure: { $0.deployment = deployment })
        { w in
            try await Self.makeCurrent(name, build: "build-1", server: server)
            let handle = try await w.start(GreetThenSleep.self, "versioned")
            #expect(try await handle.result(as: String.self) == "hi versioned")
            try await Self.expectPinned(handle, to: name, build: "build-1", server: server)
        }
    }

    /// A versioned worker takes eager starts, and their runs are pinned to its version. (The
    /// start also names the worker's deployment, as Go's does; the test passes without that
    /// too, since the first task's answer records the deployment anyway.)
    @Test func anEagerStartIsOnTheVersionOfTheWorkerThatTookIt() async throws {
        let server = try await DevServer.shared()
        let name = "swift-dep-\(UUID().uuidString.prefix(8).lowercased())"
        let deployment = WorkerDeploymentOptions(
            deploymentName: name, buildID: "e1", useVersioning: true, defaultVersioningBehavior: .pinned)
        try await withWorker(workflows: [Instant.self], timeout: 90, configure: { $0.deployment = deployment }) { w in
            try await Self.makeCurrent(name, build: "e1", server: server)
            let plain = try await w.start(Instant.self, "plain")
            #expect(try await plain.result(as: String.self) == "at once: plain")
            let eager = try await w.client.startWorkflow(
                type: Instant.name, id: "eager-\(UUID())", taskQueue: w.taskQueue, args: "eager", options: WorkflowOptions(eagerStart: true)
            )
            #expect(try await eager.result(as: String.self) == "at once: eager")
            #expect(w.worker.metrics.snapshot.eagerWorkflowTasks == 1)
            try await Self.expectPinned(eager, to: name, build: "e1", server: server)
        }
    }

    /// The task queue's pollers say which deployment and build each polls for (the check
    /// before making a version current); they said nothing of it before.
    @Test func theQueuesPollersNameTheirDeploymentAndBuild() async throws {
        let name = "swift-dep-\(UUID().uuidString.prefix(8).lowercased())"
        let deployment = WorkerDeploymentOptions(
            deploymentName: name, buildID: "p1", useVersioning: true, defaultVersioningBehavior: .pinned)
        try await withWorker(workflows: [Instant.self], timeout: 60, configure: { $0.deployment = deployment }) { w in
            let seen = Mutex<[TaskQueuePoller]>([])
            let found = try await eventually(20) {
                let pollers = try await w.client.taskQueuePollers(w.taskQueue, type: .workflow)
                seen.withLock { $0 = pollers }
                return pollers.contains { $0.deploymentName == name && $0.buildID == "p1" }
            }
            #expect(found, "\(seen.withLock { $0 })")
        }
    }

    /// A workflow type's own behaviour beats the worker's default.
    @Test func aWorkflowTypesOwnBehaviourBeatsTheDefault() async throws {
        let server = try await DevServer.shared()
        let name = "swift-dep-\(UUID().uuidString.prefix(8).lowercased())"
        let deployment = WorkerDeploymentOptions(
            deploymentName: name, buildID: "b2", useVersioning: true, defaultVersioningBehavior: .pinned)
        try await withWorker(workflows: [AutoUpgrading.self], timeout: 90, configure: { $0.deployment = deployment }) { w in
            try await Self.makeCurrent(name, build: "b2", server: server)
            let handle = try await w.start(AutoUpgrading.self)
            #expect(try await handle.result(as: String.self) == "upgraded")
            #expect(try await Self.completions(handle).allSatisfy { $0.versioningBehavior == .autoUpgrade })
        }
    }

    /// Unversioned, the worker names its deployment and runs every task of its queue.
    @Test func anUnversionedWorkerOnlyNamesItsDeployment() async throws {
        let name = "swift-dep-\(UUID().uuidString.prefix(8).lowercased())"
        let deployment = WorkerDeploymentOptions(deploymentName: name, buildID: "b3", useVersioning: false)
        try await withWorker(workflows: [GreetThenSleep.self], activities: [greet], configure: { $0.deployment = deployment }) { w in
            let handle = try await w.start(GreetThenSleep.self, "plain")
            #expect(try await handle.result(as: String.self) == "hi plain")
            let completed = try await Self.completions(handle)
            #expect(completed.allSatisfy { $0.versioningBehavior == .unspecified && $0.workerDeploymentName == name }, "\(completed)")
        }
    }

    /// Options that cannot work are refused at `run()`, saying what to change: a versioned
    /// worker with a workflow type of no behaviour and no default (Go refuses it too; the
    /// server would leave the type's runs unversioned), a name the server refuses, a default
    /// behaviour on a worker that is not versioned (it would be ignored).
    @Test func optionsThatCannotWorkAreRefused() async throws {
        let client = try await DevServer.client()
        func refusal(_ deployment: WorkerDeploymentOptions, _ workflows: [WorkflowDefinition] = [WorkflowDefinition(GreetThenSleep.self)])
            async -> String
        {
            var options = WorkerOptions()
            options.deployment = deployment
            let worker = Worker(client: client, taskQueue: uniqueQueue(), workflowDefinitions: workflows, options: options)
            do {
                try await worker.run()
                return "accepted"
            } catch {
                return "\(error)"
            }
        }
        let noBehaviour = await refusal(WorkerDeploymentOptions(deploymentName: "d", buildID: "1", useVersioning: true))
        #expect(noBehaviour.contains("GreetThenSleep") && noBehaviour.contains(".pinned"), "\(noBehaviour)")
        for bad in ["a.b", "a:b"] {
            let text = await refusal(
                WorkerDeploymentOptions(deploymentName: bad, buildID: "1", useVersioning: true, defaultVersioningBehavior: .pinned))
            #expect(text.contains("may not contain"), "\(text)")
        }
        // Names the server keeps for itself: every poll was refused, until the worker stopped.
        for (name, build) in [("__d", "1"), ("d", "__main")] {
            let reserved = WorkerDeploymentOptions(
                deploymentName: name, buildID: build, useVersioning: true, defaultVersioningBehavior: .pinned)
            #expect(throws: TemporalError.self, "\(name) \(build)") { try reserved.validate(workflows: []) }
        }
        let ignored = await refusal(WorkerDeploymentOptions(deploymentName: "d", buildID: "1", defaultVersioningBehavior: .pinned))
        #expect(ignored.contains("useVersioning is false"), "\(ignored)")
        // A registration's own behaviour is enough.
        var options = WorkerOptions()
        options.deployment = WorkerDeploymentOptions(deploymentName: "d", buildID: "1", useVersioning: true)
        #expect(throws: Never.self) {
            try options.deployment?.validate(workflows: [WorkflowDefinition(GreetThenSleep.self, versioningBehavior: .autoUpgrade)])
        }
    }
}

/// Declares its own versioning behaviour.
final class AutoUpgrading: Workflow {
    static var versioningBehavior: VersioningBehavior? { .autoUpgrade }
    init() {}
    func run(context: WorkflowContext, input: NoValue) async throws -> String {
        try await context.sleep(for: .milliseconds(50))
        return "upgraded"
    }
}
