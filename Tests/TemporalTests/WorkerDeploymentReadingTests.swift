import Foundation
import TemporalProto
import Testing

@testable import Temporal

/// A deployment's routing and versions as servers of either age report them: build-id messages
/// and a status (newer), or `deployment.build` strings and a drainage status (older).
@Suite struct WorkerDeploymentReadingTests {
    @Test func anOlderServersVersionStringsAndDrainageAreRead() {
        var routing = Temporal_Api_Deployment_V1_RoutingConfig()
        routing.currentVersion = "etl.b3"
        routing.rampingVersion = "__unversioned__"
        routing.rampingVersionPercentage = 25
        var response = Temporal_Api_Workflowservice_V1_DescribeWorkerDeploymentResponse()
        response.workerDeploymentInfo.name = "etl"
        response.workerDeploymentInfo.routingConfig = routing
        for (version, drainage) in [
            ("etl.b1", Temporal_Api_Enums_V1_VersionDrainageStatus.drained), ("etl.b2", .draining), ("etl.b3", .unspecified),
        ] {
            var summary = Temporal_Api_Deployment_V1_WorkerDeploymentInfo.WorkerDeploymentVersionSummary()
            summary.version = version
            summary.drainageStatus = drainage
            response.workerDeploymentInfo.versionSummaries.append(summary)
        }
        let described = WorkerDeploymentDescription(response)
        #expect(described.routing.currentVersion == WorkerDeploymentVersion(deploymentName: "etl", buildID: "b3"))
        #expect(described.routing.ramp == WorkerDeploymentRouting.Ramp(version: nil, percentage: 25))
        #expect(described.versions.map(\.status) == [.drained, .draining, .current])
        #expect(described.versions.map(\.version.buildID) == ["b1", "b2", "b3"])
    }

    @Test func aNewerServersMessagesBeatTheStrings() {
        var routing = Temporal_Api_Deployment_V1_RoutingConfig()
        routing.currentVersion = "__unversioned__"
        routing.rampingDeploymentVersion = WorkerDeploymentVersion(deploymentName: "etl", buildID: "b9").proto
        routing.rampingVersionPercentage = 0
        routing.revisionNumber = 7
        let read = WorkerDeploymentRouting(proto: routing)
        #expect(read.currentVersion == nil)
        #expect(
            read.ramp == WorkerDeploymentRouting.Ramp(version: WorkerDeploymentVersion(deploymentName: "etl", buildID: "b9"), percentage: 0)
        )
        #expect(read.revision == 7)
        #expect(WorkerDeploymentRouting(proto: Temporal_Api_Deployment_V1_RoutingConfig()).ramp == nil)
    }
}
