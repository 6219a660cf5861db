import Temporal
import TemporalProto

/// How a workflow run of a versioned worker moves between Deployment Versions (Worker
/// Versioning; `Workflow.versioningBehavior`, `WorkerDeploymentOptions.defaultVersioningBehavior`).
public enum VersioningBehavior: Sendable, Equatable {
    /// The run stays on the version it started on until it closes: deploy a new version
    /// beside the old one, and retire the old one once its pinned runs are done.
    case pinned
    /// The run moves to the deployment's current version at its next workflow task: its code
    /// must replay histories of older versions (`context.patch`).
    case autoUpgrade

    var proto: Temporal_Api_Enums_V1_VersioningBehavior {
        switch self {
        case .pinned: .pinned
        case .autoUpgrade: .autoUpgrade
        }
    }
}

/// Which Worker Deployment and build this worker belongs to (`WorkerOptions.deployment`),
/// sent with its polls and answers, as the other SDKs' deployment options are.
///
/// With `useVersioning` the worker is part of the Deployment Version `deploymentName` +
/// `buildID`: the server sends it the tasks of runs on that version, and new runs once the
/// version is made current (`temporal worker deployment set-current-version`). Every workflow
/// type then needs a `VersioningBehavior`, its own or `defaultVersioningBehavior`. Without it,
/// the names are only recorded (the UI and `describe` show which build ran a task).
public struct WorkerDeploymentOptions: Sendable, Equatable {
    /// The deployment: every build of one worker service shares it.
    public var deploymentName: String
    /// This build (a git commit, an image tag).
    public var buildID: String
    /// Whether the worker takes part in Worker Versioning.
    public var useVersioning: Bool
    /// The behaviour of workflow types that declare none.
    public var defaultVersioningBehavior: VersioningBehavior?

    public init(
        deploymentName: String, buildID: String, useVersioning: Bool = true, defaultVersioningBehavior: VersioningBehavior? = nil
    ) {
        self.deploymentName = deploymentName
        self.buildID = buildID
        self.useVersioning = useVersioning
        self.defaultVersioningBehavior = defaultVersioningBehavior
    }

    /// As polls and answers carry it.
    var proto: Temporal_Api_Deployment_V1_WorkerDeploymentOptions {
        var p = Temporal_Api_Deployment_V1_WorkerDeploymentOptions()
        p.deploymentName = deploymentName
        p.buildID = buildID
        p.workerVersioningMode = useVersioning ? .versioned : .unversioned
        return p
    }

    /// The behaviour a workflow task of `definition` reports: its own, else the default;
    /// nil without versioning.
    func behavior(of definition: WorkflowDefinition) -> VersioningBehavior? {
        useVersioning ? definition.versioningBehavior ?? defaultVersioningBehavior : nil
    }

    /// Refuses options the server would refuse later, task by task (`Worker.run()` calls it).
    /// - Throws: `TemporalError` (`.invalidArgument`) saying what is missing.
    public func validate(workflows: [WorkflowDefinition]) throws {
        if useVersioning, deploymentName.isEmpty || buildID.isEmpty {
            throw TemporalError(
                kind: .invalidArgument,
                message:
                    "WorkerDeploymentOptions: a versioned worker needs a deployment name and a build id (got '\(deploymentName)' and '\(buildID)')"
            )
        }
        if deploymentName.contains(".") {
            throw TemporalError(
                kind: .invalidArgument,
                message:
                    "WorkerDeploymentOptions: the deployment name '\(deploymentName)' may not contain '.' (the server joins name and build id with it)"
            )
        }
        let missing = workflows.filter { useVersioning && behavior(of: $0) == nil }.map(\.name).sorted()
        if !missing.isEmpty {
            throw TemporalError(
                kind: .invalidArgument,
                message:
                    "workflow type(s) \(missing.joined(separator: ", ")) declare no versioning behavior and WorkerDeploymentOptions.defaultVersioningBehavior is not set: a versioned worker must say, per type or by default, whether runs stay on the version they started on (.pinned) or move to the current one (.autoUpgrade)"
            )
        }
    }
}
