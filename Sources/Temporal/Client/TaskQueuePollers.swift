public import TemporalProto

#if canImport(FoundationEssentials)
public import FoundationEssentials
#else
public import Foundation
#endif

/// Which tasks of a task queue to look at: a queue name carries workflow tasks and activity
/// tasks separately, each with its own pollers.
public enum TaskQueueType: Sendable, Hashable, CaseIterable {
    /// Workflow tasks (polled with `PollWorkflowTaskQueue`).
    case workflow
    /// Activity tasks (polled with `PollActivityTaskQueue`).
    case activity

    /// The wire value.
    public var proto: Temporal_Api_Enums_V1_TaskQueueType {
        switch self {
        case .workflow: .workflow
        case .activity: .activity
        }
    }
}

/// A worker the server has seen polling a task queue recently, as `DescribeTaskQueue` lists it.
public struct TaskQueuePoller: Sendable, Hashable {
    /// The identity the worker polls with (`pid@host` for our workers).
    public var identity: String
    /// When the server last saw a poll from this identity; nil if the server did not say.
    public var lastAccessTime: Date?
    /// The dispatch rate the poller asked for; 0 when it set none.
    public var ratePerSecond: Double
    /// The worker deployment the poller said it polls for; nil for a worker without one.
    public var deploymentName: String?
    /// The build the poller said it runs (with a deployment); nil when it said none: check it
    /// polls before making its version current.
    public var buildID: String?

    public init(
        identity: String, lastAccessTime: Date?, ratePerSecond: Double = 0, deploymentName: String? = nil, buildID: String? = nil
    ) {
        self.identity = identity
        self.lastAccessTime = lastAccessTime
        self.ratePerSecond = ratePerSecond
        self.deploymentName = deploymentName
        self.buildID = buildID
    }

    /// Reads one entry of a `DescribeTaskQueue` response.
    public init(_ info: Temporal_Api_Taskqueue_V1_PollerInfo) {
        let deployment = info.hasDeploymentOptions ? info.deploymentOptions : nil
        self.init(
            identity: info.identity,
            lastAccessTime: info.hasLastAccessTime ? info.lastAccessTime.date : nil,
            ratePerSecond: info.ratePerSecond,
            deploymentName: deployment.flatMap { $0.deploymentName.isEmpty ? nil : $0.deploymentName },
            buildID: deployment.flatMap { $0.buildID.isEmpty ? nil : $0.buildID })
    }
}

extension TemporalClient {
    // MARK: Task queues

    /// The workers polling a task queue for one type of task (`DescribeTaskQueue`, legacy mode).
    ///
    /// The server keeps pollers for a few minutes after their last poll, so a worker that just
    /// stopped may still be listed; check `lastAccessTime`. An unknown queue name is not an
    /// error: the list is empty.
    /// - Parameters:
    ///   - name: the task queue's name (a normal queue).
    ///   - type: workflow or activity pollers.
    public func taskQueuePollers(_ name: String, type: TaskQueueType) async throws -> [TaskQueuePoller] {
        var r = Temporal_Api_Workflowservice_V1_DescribeTaskQueueRequest()
        r.namespace = namespace
        r.taskQueue.name = name
        r.taskQueue.kind = .normal
        r.taskQueueType = type.proto
        return try await workflowService.describeTaskQueue(r).pollers.map(TaskQueuePoller.init)
    }
}
