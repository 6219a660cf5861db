import Foundation
import Temporal
import TemporalProto
import TemporalTestSupport
import Testing

@testable import TemporalWorker

/// A client's say over Worker Versioning against the dev server: an override at start or on
/// a running run beats what the workers report, and a pinned run's continue-as-new may move
/// its chain to the current version. Two versioned workers of one deployment share a queue.
@Suite struct VersioningOverrideTests {
    /// Workers of builds `v1` and `v2` of a new deployment, pinned by default, on one queue.
    static func withTwoVersions(
        workflows: [any Workflow.Type], _ body: @escaping @Sendable (String, RunningWorker) async throws -> Void
    ) async throws {
        let name = "swift-ovr-\(UUID().uuidString.prefix(8).lowercased())"
        let queue = uniqueQueue("ovr")
        func versioned(_ build: String) -> (inout WorkerOptions) -> Void {
            {
                $0.deployment = WorkerDeploymentOptions(
                    deploymentName: name, buildID: build, useVersioning: true, defaultVersioningBehavior: .pinned)
            }
        }
        let v2 = try await startWorker(taskQueue: queue, workflows: workflows, configure: versioned("v2"))
        do {
            let v1 = try await startWorker(taskQueue: queue, workflows: workflows, configure: versioned("v1"))
            do {
                try await withTimeout(120) { try await body(name, v1) }
                await v1.stop()
            } catch {
                await v1.stop(grace: .zero)
                throw error
            }
            await v2.stop()
        } catch {
            await v2.stop(grace: .zero)
            throw error
        }
    }

    /// The builds that completed the run's workflow tasks, in order.
    static func builds(_ handle: WorkflowHandle) async throws -> [String] {
        try await WorkerVersioningTests.completions(handle).map(\.deploymentVersion.buildID)
    }

    @Test func anOverrideAtStartKeepsTheRunOnItsVersion() async throws {
        let server = try await DevServer.shared()
        try await Self.withTwoVersions(workflows: [SumSignals.self]) { name, w in
            // Both versions registered (a pin to a version the queue has not seen is refused).
            try await WorkerVersioningTests.makeCurrent(name, build: "v1", server: server)
            try await WorkerVersioningTests.makeCurrent(name, build: "v2", server: server)
            let v1 = WorkerDeploymentVersion(deploymentName: name, buildID: "v1")
            let pinned = try await w.client.startWorkflow(
                type: SumSignals.name, id: "ovr-\(UUID())", taskQueue: w.taskQueue, args: 1,
                options: WorkflowOptions(versioningOverride: .pinned(v1)))
            // The server hands the new current version to the queue's partitions a moment after it
            // says so: a plain run started in between may still go to v1 (seen once in CI). Such a
            // run is ended, and another started, until one goes to the current version.
            var plain = try await w.client.startWorkflow(type: SumSignals.name, id: "plain-\(UUID())", taskQueue: w.taskQueue, args: 1)
            for _ in 0..<20 {
                let started = plain
                _ = try await eventually(20) { try await Self.builds(started).count == 1 }
                if try await Self.builds(plain) == ["v2"] { break }
                try await plain.terminate(reason: "started before v2 reached the queue")
                try await Task.sleep(for: .milliseconds(500))
                plain = try await w.client.startWorkflow(type: SumSignals.name, id: "plain-\(UUID())", taskQueue: w.taskQueue, args: 1)
            }
            #expect(try await eventually(20) { try await Self.builds(pinned).count == 1 })
            let described = try await pinned.describe().versioning
            #expect(described?.override == .pinned(v1) && described?.version == v1, "\(String(describing: described))")
            for handle in [pinned, plain] { try await handle.signal("add", 1) }
            #expect(try await pinned.result(as: Int.self) == 1)
            #expect(try await plain.result(as: Int.self) == 1)
            #expect(try await Self.builds(pinned) == ["v1", "v1"])
            #expect(try await Self.builds(plain) == ["v2", "v2"])
        }
    }

    /// A pinned run moved by an auto-upgrade override set while it runs; removing it leaves
    /// the run to what its workers report.
    @Test func anOverrideSetOnARunningRunMovesItAndCanBeRemoved() async throws {
        let server = try await DevServer.shared()
        try await Self.withTwoVersions(workflows: [SumSignals.self]) { name, w in
            try await WorkerVersioningTests.makeCurrent(name, build: "v1", server: server)
            let handle = try await w.client.startWorkflow(type: SumSignals.name, id: "move-\(UUID())", taskQueue: w.taskQueue, args: 3)
            _ = try await eventually(20) { try await Self.builds(handle).count == 1 }
            try await handle.signal("add", 1)
            _ = try await eventually(20) { try await Self.builds(handle) == ["v1", "v1"] }
            let early = try await Self.builds(handle)
            #expect(early == ["v1", "v1"], "\(early)")
            try await WorkerVersioningTests.makeCurrent(name, build: "v2", server: server)
            try await handle.signal("add", 1)
            #expect(try await eventually(20) { try await Self.builds(handle).count == 3 })
            #expect(try await Self.builds(handle).last == "v1", "pinned: stays on v1 though v2 is current")
            try await handle.setVersioningOverride(.autoUpgrade)
            #expect(try await handle.describe().versioning?.override == .autoUpgrade)
            try await handle.setVersioningOverride(nil)
            #expect(try await handle.describe().versioning?.override == nil)
            try await handle.setVersioningOverride(.autoUpgrade)
            try await handle.signal("add", 1)
            #expect(try await handle.result(as: Int.self) == 3)
            let final = try await Self.builds(handle)
            #expect(final.last == "v2", "\(final)")
        }
    }

    /// A pinned run continues as new on its own version unless it asks to start the next run
    /// on the current one.
    @Test func continueAsNewMayMoveAPinnedChainToTheCurrentVersion() async throws {
        let server = try await DevServer.shared()
        try await Self.withTwoVersions(workflows: [ContinuesOnSignal.self]) { name, w in
            try await WorkerVersioningTests.makeCurrent(name, build: "v1", server: server)
            let stays = try await w.client.startWorkflow(
                type: ContinuesOnSignal.name, id: "stay-\(UUID())", taskQueue: w.taskQueue, args: 0)
            let moves = try await w.client.startWorkflow(
                type: ContinuesOnSignal.name, id: "move-\(UUID())", taskQueue: w.taskQueue, args: 1)
            for handle in [stays, moves] { #expect(try await eventually(20) { try await Self.builds(handle) == ["v1"] }) }
            try await WorkerVersioningTests.makeCurrent(name, build: "v2", server: server)
            for handle in [stays, moves] { try await handle.signal("go") }
            #expect(try await stays.result(as: String.self) == "done")
            #expect(try await moves.result(as: String.self) == "done")
            let staysNext = w.client.workflowHandle(id: stays.id)
            let movesNext = w.client.workflowHandle(id: moves.id)
            #expect(try await Self.builds(staysNext) == ["v1"])
            #expect(try await Self.builds(movesNext) == ["v2"])
        }
    }
}

/// Waits for "go", then continues as new (input 2 ends the chain); input 1 asks the next run to
/// start on the deployment's current version, input 3 on its ramping version.
final class ContinuesOnSignal: Workflow {
    var go = false
    init() {}
    func run(context: WorkflowContext, input: Int) async throws -> String {
        if input == 2 { return "done" }
        context.setSignalHandler("go") { self.go = true }
        try await context.condition { self.go }
        let behavior: ContinueAsNewVersioningBehavior? =
            switch input {
            case 1: .autoUpgrade
            case 3: .useRampingVersion
            default: nil
            }
        try context.continueAsNew(input: 2, options: ContinueAsNewOptions(initialVersioningBehavior: behavior))
    }
}
