public import TemporalProto

/// How a workflow run of a versioned worker moves between Deployment Versions (Worker
/// Versioning: a workflow type's `versioningBehavior`, a worker's `defaultVersioningBehavior`,
/// or a client's `VersioningOverride`).
public enum VersioningBehavior: Sendable, Equatable {
    /// The run stays on the version it started on until it closes: deploy a new version
    /// beside the old one, and retire the old one once its pinned runs are done.
    case pinned
    /// The run moves to the deployment's current version at its next workflow task: its code
    /// must replay histories of older versions (`context.patch`).
    case autoUpgrade

    package var proto: Temporal_Api_Enums_V1_VersioningBehavior {
        switch self {
        case .pinned: .pinned
        case .autoUpgrade: .autoUpgrade
        }
    }

    init?(proto: Temporal_Api_Enums_V1_VersioningBehavior) {
        switch proto {
        case .pinned: self = .pinned
        case .autoUpgrade: self = .autoUpgrade
        default: return nil
        }
    }
}

/// One Deployment Version: a build of a Worker Deployment (`deploymentName.buildID`, as the
/// server and the CLI write it).
public struct WorkerDeploymentVersion: Sendable, Hashable, CustomStringConvertible {
    public var deploymentName: String
    public var buildID: String

    public init(deploymentName: String, buildID: String) {
        self.deploymentName = deploymentName
        self.buildID = buildID
    }

    public var description: String { "\(deploymentName).\(buildID)" }

    var proto: Temporal_Api_Deployment_V1_WorkerDeploymentVersion {
        var p = Temporal_Api_Deployment_V1_WorkerDeploymentVersion()
        p.deploymentName = deploymentName
        p.buildID = buildID
        return p
    }

    init(proto: Temporal_Api_Deployment_V1_WorkerDeploymentVersion) {
        self.init(deploymentName: proto.deploymentName, buildID: proto.buildID)
    }
}

/// Set by a client on one run (`WorkflowOptions.versioningOverride` at start,
/// `WorkflowHandle.setVersioningOverride` later), it beats the versioning behaviour the run's
/// workers report until it is removed: to keep a run on a version while the deployment moves
/// on, or to move a pinned run to the current version. A pinned override carries over to
/// retries, continue-as-new runs, cron runs and children whose task queue belongs to the
/// pinned version.
public enum VersioningOverride: Sendable, Hashable {
    /// The run stays on this version.
    case pinned(WorkerDeploymentVersion)
    /// The run moves to the deployment's current version at its next workflow task.
    case autoUpgrade

    /// The oneof that servers read, and the deprecated fields older servers read instead (as Go
    /// sends both).
    var proto: Temporal_Api_Workflow_V1_VersioningOverride {
        var p = Temporal_Api_Workflow_V1_VersioningOverride()
        switch self {
        case .pinned(let version):
            var pinned = Temporal_Api_Workflow_V1_VersioningOverride.PinnedOverride()
            pinned.behavior = .pinned
            pinned.version = version.proto
            p.pinned = pinned
            p.behavior = .pinned
            p.pinnedVersion = version.description
        case .autoUpgrade:
            p.autoUpgrade = true
            p.behavior = .autoUpgrade
        }
        return p
    }

    /// The override a server reports (e.g. in a schedule's action); nil for none, or for one
    /// this client does not know (a one-time move).
    public init?(proto: Temporal_Api_Workflow_V1_VersioningOverride) {
        switch proto.override {
        case .pinned(let pinned)?: self = .pinned(WorkerDeploymentVersion(proto: pinned.version))
        case .autoUpgrade(true)?: self = .autoUpgrade
        case nil:
            switch proto.behavior {
            case .autoUpgrade: self = .autoUpgrade
            case .pinned:
                guard let version = WorkerDeploymentVersion(versionString: proto.pinnedVersion) else { return nil }
                self = .pinned(version)
            default: return nil
            }
        default: return nil
        }
    }
}

/// Where a run stands in Worker Versioning (`WorkflowDescription.versioning`).
public struct WorkflowVersioningInfo: Sendable, Equatable {
    /// The behaviour its last completed workflow task reported; nil for an unversioned run.
    public var behavior: VersioningBehavior?
    /// The version it is on; nil for an unversioned run.
    public var version: WorkerDeploymentVersion?
    /// The client's override, which beats both.
    public var override: VersioningOverride?

    init(proto: Temporal_Api_Workflow_V1_WorkflowExecutionVersioningInfo) {
        behavior = VersioningBehavior(proto: proto.behavior)
        version = proto.hasDeploymentVersion ? WorkerDeploymentVersion(proto: proto.deploymentVersion) : nil
        override = proto.hasVersioningOverride ? VersioningOverride(proto: proto.versioningOverride) : nil
    }
}
