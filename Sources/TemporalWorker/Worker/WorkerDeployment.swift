public import Temporal
import TemporalProto

/// Which Worker Deployment and build this worker belongs to (`WorkerOptions.deployment`),
/// sent with its polls and answers, as the other SDKs' deployment options are.
///
/// With `useVersioning` the worker is part of the Deployment Version `deploymentName` +
/// `buildID`: the server sends it the tasks of runs on that version, and new runs once the
/// version is made current (`client.workerDeployment(name).setCurrentVersion(buildID:)`, or
/// `temporal worker deployment set-current-version`). Every workflow
/// type then needs a `VersioningBehavior`, its own or `defaultVersioningBehavior` (Go refuses
/// such a worker too; the server would leave the type's runs unversioned). Without it (the
/// default, as in Go), the names are only recorded (the history and `describe` show which
/// build ran a task).
public struct WorkerDeploymentOptions: Sendable, Equatable {
    /// The deployment: every build of one worker service shares it.
    public var deploymentName: String
    /// This build (a git commit, an image tag).
    public var buildID: String
    /// Whether the worker takes part in Worker Versioning (default false).
    public var useVersioning: Bool
    /// The behaviour of workflow types that declare none (versioned workers only).
    public var defaultVersioningBehavior: VersioningBehavior?

    public init(
        deploymentName: String, buildID: String, useVersioning: Bool = false, defaultVersioningBehavior: VersioningBehavior? = nil
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

    /// Refuses options that cannot work (`Worker.run()` calls it): a versioned worker without a
    /// name or build id, or with a name the server refuses; a default behaviour on a worker that
    /// is not versioned (it would be ignored); a versioned worker with a workflow type of no
    /// behaviour.
    /// - Throws: `TemporalError` (`.invalidArgument`) saying what to change.
    public func validate(workflows: [WorkflowDefinition]) throws {
        func refuse(_ message: String) -> TemporalError { TemporalError(kind: .invalidArgument, message: message) }
        guard useVersioning else {
            if let behavior = defaultVersioningBehavior {
                throw refuse(
                    "WorkerDeploymentOptions: defaultVersioningBehavior is \(behavior) but useVersioning is false, so it would be ignored: set useVersioning: true, or drop the behaviour"
                )
            }
            return
        }
        if deploymentName.isEmpty || buildID.isEmpty {
            throw refuse(
                "WorkerDeploymentOptions: a versioned worker needs a deployment name and a build id (got '\(deploymentName)' and '\(buildID)')"
            )
        }
        if let bad = deploymentName.first(where: { $0 == "." || $0 == ":" }) {
            throw refuse(
                "WorkerDeploymentOptions: the deployment name '\(deploymentName)' may not contain '\(bad)' (the server joins name and build id with such characters)"
            )
        }
        // The server keeps names starting "__" for itself, and refused every poll of such a
        // worker (it stopped after its polls had failed for a while).
        for (field, value) in [("deployment name", deploymentName), ("build id", buildID)] where value.hasPrefix("__") {
            throw refuse(
                "WorkerDeploymentOptions: the \(field) '\(value)' may not start with '__' (the server keeps such names for itself)")
        }
        let missing = workflows.filter { behavior(of: $0) == nil }.map(\.name).sorted()
        if !missing.isEmpty {
            throw refuse(
                "workflow type(s) \(missing.joined(separator: ", ")) declare no versioning behavior and WorkerDeploymentOptions.defaultVersioningBehavior is not set: a versioned worker must say, per type or by default, whether runs stay on the version they started on (.pinned) or move to the current one (.autoUpgrade)"
            )
        }
    }
}
