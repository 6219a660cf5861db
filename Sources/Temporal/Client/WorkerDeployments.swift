public import TemporalProto

#if canImport(FoundationEssentials)
public import FoundationEssentials
#else
public import Foundation
#endif

/// The server's name for "the unversioned workers" in the deprecated version strings.
let unversionedVersionString = "__unversioned__"

extension WorkerDeploymentVersion {
    /// Reads a deprecated version string (`deployment.build`); nil for `__unversioned__`, for
    /// an empty one and for one without a build.
    init?(versionString: String) {
        guard versionString != unversionedVersionString else { return nil }
        let parts = versionString.split(separator: ".", maxSplits: 1).map(String.init)
        guard parts.count == 2 else { return nil }
        self.init(deploymentName: parts[0], buildID: parts[1])
    }
}

/// How a version of a Worker Deployment stands in its routing.
public enum WorkerDeploymentVersionStatus: Sendable, Hashable {
    /// Takes no new runs (an override can still pin runs to it).
    case inactive
    /// Takes new runs and the next tasks of auto-upgrade and unversioned runs.
    case current
    /// Takes its ramp's share of them.
    case ramping
    /// No longer current or ramping; open runs pinned to it still need its workers.
    case draining
    /// No open run needs it: its workers may go once nobody queries its closed runs.
    case drained
    /// Created through the API; no worker of it has polled yet.
    case created
}

/// One version of a deployment, as `WorkerDeploymentHandle.describe()` lists it.
public struct WorkerDeploymentVersionSummary: Sendable, Equatable {
    public var version: WorkerDeploymentVersion
    public var status: WorkerDeploymentVersionStatus
    /// When the server first saw it.
    public var createTime: Date?
    /// When it became current, while it is.
    public var currentSince: Date?
    /// When it began to ramp, while it does.
    public var rampingSince: Date?
}

/// Which versions a deployment's new runs go to.
public struct WorkerDeploymentRouting: Sendable, Equatable {
    /// The version new runs go to; nil: the unversioned workers of the task queues.
    public var currentVersion: WorkerDeploymentVersion?
    /// A version that takes a share of them, if one ramps.
    public var ramp: Ramp?
    /// Goes up with each change of the routing (0 from servers that do not count).
    public var revision: Int64

    /// A share of new runs, and of the next tasks of auto-upgrade runs, going to a version.
    public struct Ramp: Sendable, Equatable {
        /// nil: the unversioned workers ramp.
        public var version: WorkerDeploymentVersion?
        /// 0 to 100.
        public var percentage: Double

        public init(version: WorkerDeploymentVersion?, percentage: Double) {
            self.version = version
            self.percentage = percentage
        }
    }

    init(proto p: Temporal_Api_Deployment_V1_RoutingConfig) {
        currentVersion =
            p.hasCurrentDeploymentVersion
            ? WorkerDeploymentVersion(proto: p.currentDeploymentVersion)
            : WorkerDeploymentVersion(versionString: p.currentVersion)
        // The wire holds a float: 33.3 comes back as 33.29999923706055 widened, so it is read
        // back as the shortest decimal the float stands for (33.3, what was set).
        let percentage = Double("\(p.rampingVersionPercentage)") ?? Double(p.rampingVersionPercentage)
        if p.hasRampingDeploymentVersion {
            ramp = Ramp(version: WorkerDeploymentVersion(proto: p.rampingDeploymentVersion), percentage: percentage)
        } else if !p.rampingVersion.isEmpty || p.rampingVersionPercentage > 0 {
            ramp = Ramp(version: WorkerDeploymentVersion(versionString: p.rampingVersion), percentage: percentage)
        } else {
            ramp = nil
        }
        revision = p.revisionNumber
    }
}

/// A Worker Deployment as the server holds it (`WorkerDeploymentHandle.describe()`).
public struct WorkerDeploymentDescription: Sendable {
    public var name: String
    public var createTime: Date?
    public var routing: WorkerDeploymentRouting
    /// Every version the server knows of, oldest first.
    public var versions: [WorkerDeploymentVersionSummary]
    /// The identity of the client that changed the routing last.
    public var lastModifierIdentity: String
    /// When set, only a client with this identity may change the deployment.
    public var managerIdentity: String
    /// Pass it to a change (`WorkerDeploymentChange.conflictToken`) to make the change fail if
    /// the deployment changed since this read.
    public var conflictToken: Data
    /// The whole response.
    public var raw: Temporal_Api_Workflowservice_V1_DescribeWorkerDeploymentResponse

    init(_ response: Temporal_Api_Workflowservice_V1_DescribeWorkerDeploymentResponse) {
        raw = response
        let info = response.workerDeploymentInfo
        name = info.name
        createTime = info.hasCreateTime ? info.createTime.date : nil
        let routing = WorkerDeploymentRouting(proto: info.routingConfig)
        self.routing = routing
        versions = info.versionSummaries.map { Self.summary($0, routing: routing) }
        lastModifierIdentity = info.lastModifierIdentity
        managerIdentity = info.managerIdentity
        conflictToken = response.conflictToken
    }

    /// The version a summary names, and its status; servers that predate the status field are
    /// read from the routing and the drainage they report.
    static func summary(
        _ s: Temporal_Api_Deployment_V1_WorkerDeploymentInfo.WorkerDeploymentVersionSummary,
        routing: WorkerDeploymentRouting
    ) -> WorkerDeploymentVersionSummary {
        let version =
            s.hasDeploymentVersion
            ? WorkerDeploymentVersion(proto: s.deploymentVersion)
            : WorkerDeploymentVersion(versionString: s.version)
                ?? WorkerDeploymentVersion(deploymentName: "", buildID: s.version)
        let status: WorkerDeploymentVersionStatus
        switch s.status {
        case .inactive: status = .inactive
        case .current: status = .current
        case .ramping: status = .ramping
        case .draining: status = .draining
        case .drained: status = .drained
        case .created: status = .created
        default:
            let drainage = s.hasDrainageInfo ? s.drainageInfo.status : s.drainageStatus
            if routing.currentVersion == version {
                status = .current
            } else if let ramp = routing.ramp, ramp.version == version {
                status = .ramping
            } else if drainage == .draining {
                status = .draining
            } else if drainage == .drained {
                status = .drained
            } else {
                status = .inactive
            }
        }
        return WorkerDeploymentVersionSummary(
            version: version, status: status,
            createTime: s.hasCreateTime ? s.createTime.date : nil,
            currentSince: s.hasCurrentSinceTime ? s.currentSinceTime.date : nil,
            rampingSince: s.hasRampingSinceTime ? s.rampingSinceTime.date : nil)
    }
}

/// How a routing change is made (`WorkerDeploymentHandle.setCurrentVersion`,
/// `setRamp`, `removeRamp`).
public struct WorkerDeploymentChange: Sendable {
    /// From `describe()` or an earlier change: the change fails (FAILED_PRECONDITION) if the
    /// deployment changed since. Nil: no check.
    public var conflictToken: Data?
    /// Go on even though the version does not poll every task queue the current version serves
    /// (the server refuses otherwise, to keep a queue from losing its workers).
    public var ignoreMissingTaskQueues: Bool
    /// Go on even though no worker of the version has polled yet (the server refuses otherwise,
    /// to keep tasks from going to workers that do not exist).
    public var allowNoPollers: Bool

    public init(conflictToken: Data? = nil, ignoreMissingTaskQueues: Bool = false, allowNoPollers: Bool = false) {
        self.conflictToken = conflictToken
        self.ignoreMissingTaskQueues = ignoreMissingTaskQueues
        self.allowNoPollers = allowNoPollers
    }
}

/// One deployment of `TemporalClient.listWorkerDeployments()`.
public struct WorkerDeploymentListEntry: Sendable, Equatable {
    public var name: String
    public var createTime: Date?
    public var routing: WorkerDeploymentRouting
}

/// A Worker Deployment of the client's namespace: which of its versions (builds) new runs go to
/// — the current version, and a ramping one taking a share — and which versions it has. The
/// server creates a deployment and its versions when their versioned workers first poll
/// (`WorkerOptions.deployment`); this handle moves the routing, as `temporal worker deployment
/// set-current-version` and `set-ramping-version` do.
///
/// A change answers with a new conflict token; pass it to the next change to make that one fail
/// if someone else changed the deployment in between.
public struct WorkerDeploymentHandle: Sendable {
    public let client: TemporalClient
    /// The deployment's name (`WorkerDeploymentOptions.deploymentName`).
    public let name: String

    /// The deployment's versions, routing and conflict token.
    /// - Throws: `TemporalError` with `.notFound` before any versioned worker of it has polled.
    public func describe() async throws -> WorkerDeploymentDescription {
        try checkName()
        var r = Temporal_Api_Workflowservice_V1_DescribeWorkerDeploymentRequest()
        r.namespace = client.namespace
        r.deploymentName = name
        return WorkerDeploymentDescription(try await client.workflowService.describeWorkerDeployment(r))
    }

    /// Makes `buildID` the version new runs go to (nil or empty: the unversioned workers of the
    /// deployment's task queues). Setting the version that is current already changes the
    /// routing nothing, but unless this client made the last change the server records it as
    /// the last modifier and answers with a new conflict token (others' tokens go stale).
    /// - Returns: the deployment's new conflict token.
    /// - Throws: `TemporalError`, e.g. FAILED_PRECONDITION while no worker of the build has polled
    ///   (`change.allowNoPollers`), or when `change.conflictToken` is stale.
    @discardableResult
    public func setCurrentVersion(buildID: String?, _ change: WorkerDeploymentChange = WorkerDeploymentChange())
        async throws -> Data
    {
        try checkName()
        let buildID = Self.versioned(buildID)
        var r = Temporal_Api_Workflowservice_V1_SetWorkerDeploymentCurrentVersionRequest()
        r.namespace = client.namespace
        r.deploymentName = name
        r.buildID = buildID ?? ""
        r.version = versionString(buildID)
        if let token = change.conflictToken { r.conflictToken = token }
        r.identity = client.identity
        r.ignoreMissingTaskQueues = change.ignoreMissingTaskQueues
        r.allowNoPollers = change.allowNoPollers
        return try await client.workflowService.setWorkerDeploymentCurrentVersion(r).conflictToken
    }

    /// Sends `percentage` per cent of new runs (and of the next tasks of auto-upgrade runs) to
    /// `buildID` (nil or empty: the unversioned workers); the rest go to the current version. A new ramp
    /// replaces the old one; changing only the percentage keeps the version's ramp.
    /// - Parameter percentage: 0 to 100.
    /// - Returns: the deployment's new conflict token.
    @discardableResult
    public func setRamp(
        buildID: String?, percentage: Double, _ change: WorkerDeploymentChange = WorkerDeploymentChange()
    ) async throws -> Data {
        guard percentage.isFinite, (0...100).contains(percentage) else {
            throw TemporalError(
                kind: .invalidArgument, code: .invalidArgument,
                message: "a ramp's percentage must be between 0 and 100, not \(percentage)")
        }
        return try await setRamping(buildID: buildID, percentage: Float(percentage), change)
    }

    /// Ends the ramp: every new run goes to the current version again.
    /// - Returns: the deployment's new conflict token.
    @discardableResult
    public func removeRamp(_ change: WorkerDeploymentChange = WorkerDeploymentChange()) async throws -> Data {
        try await setRamping(buildID: nil, percentage: 0, change, removing: true)
    }

    /// Forgets a version that is neither current nor ramping, has no pollers left and has
    /// drained (or `skipDrainage`: its open pinned runs then have no version to go to). A retry
    /// after a lost answer that finds the version gone counts as done.
    public func deleteVersion(buildID: String, skipDrainage: Bool = false) async throws {
        try checkName()
        guard !buildID.isEmpty else {
            throw TemporalError(
                kind: .invalidArgument, code: .invalidArgument,
                message: "deleteVersion needs the build id of the version to delete; the unversioned workers are no version")
        }
        var r = Temporal_Api_Workflowservice_V1_DeleteWorkerDeploymentVersionRequest()
        r.namespace = client.namespace
        r.deploymentVersion = WorkerDeploymentVersion(deploymentName: name, buildID: buildID).proto
        r.version = versionString(buildID)
        r.skipDrainage = skipDrainage
        r.identity = client.identity
        do {
            _ = try await client.workflowService.deleteWorkerDeploymentVersion(r)
        } catch let error as TemporalError where error.isNotFoundOnRetry {
            // An earlier attempt deleted it before its answer was lost.
        }
    }

    private func setRamping(buildID: String?, percentage: Float, _ change: WorkerDeploymentChange, removing: Bool = false)
        async throws -> Data
    {
        try checkName()
        let buildID = Self.versioned(buildID)
        var r = Temporal_Api_Workflowservice_V1_SetWorkerDeploymentRampingVersionRequest()
        r.namespace = client.namespace
        r.deploymentName = name
        r.buildID = buildID ?? ""
        // An empty version string ends the ramp; the unversioned workers are named.
        r.version = removing ? "" : versionString(buildID)
        r.percentage = percentage
        if let token = change.conflictToken { r.conflictToken = token }
        r.identity = client.identity
        r.ignoreMissingTaskQueues = change.ignoreMissingTaskQueues
        r.allowNoPollers = change.allowNoPollers
        return try await client.workflowService.setWorkerDeploymentRampingVersion(r).conflictToken
    }

    /// The deprecated version string older servers read (Go sends it beside the build id).
    private func versionString(_ buildID: String?) -> String {
        buildID.map { "\(name).\($0)" } ?? unversionedVersionString
    }

    /// A build id, or nil for the unversioned workers: an empty one names them too, as in Go (it
    /// went out as `<name>.`, which the server refused: "build id is empty").
    private static func versioned(_ buildID: String?) -> String? {
        buildID.flatMap { $0.isEmpty ? nil : $0 }
    }

    /// Refuses, before any call, a name the server would misread or refuses: empty, or holding
    /// the `.` that separates it from a build id in version strings (`a.b` and build `c` is
    /// `a.b.c`, which the server reads as deployment `a`), as Go's handle does, or `:` (the older
    /// separator, which the server refuses in names, as the worker's own check does).
    private func checkName() throws {
        guard !name.isEmpty, !name.contains("."), !name.contains(":") else {
            throw TemporalError(
                kind: .invalidArgument, code: .invalidArgument,
                message:
                    "'\(name)' is not a Worker Deployment name: it must be non-empty and without '.' or ':' (the separators of a version string, deployment.build)"
            )
        }
    }
}

extension TemporalClient {
    // MARK: Worker Deployments

    /// A handle to the Worker Deployment `name` of the namespace (no RPC).
    public func workerDeployment(_ name: String) -> WorkerDeploymentHandle {
        WorkerDeploymentHandle(client: self, name: name)
    }

    /// The namespace's Worker Deployments and their routing, fetched page by page.
    public func listWorkerDeployments(pageSize: Int = 100) -> PagedList<WorkerDeploymentListEntry> {
        PagedList { [self] token in
            var r = Temporal_Api_Workflowservice_V1_ListWorkerDeploymentsRequest()
            r.namespace = namespace
            r.pageSize = Int32(clamping: pageSize)
            r.nextPageToken = token
            let page = try await workflowService.listWorkerDeployments(r)
            let entries = page.workerDeployments.map {
                WorkerDeploymentListEntry(
                    name: $0.name, createTime: $0.hasCreateTime ? $0.createTime.date : nil,
                    routing: WorkerDeploymentRouting(proto: $0.routingConfig))
            }
            return (entries, page.nextPageToken)
        }
    }
}
