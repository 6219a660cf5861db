import Synchronization
public import TemporalProto

/// A worker in this process that can run a workflow's first task handed back by
/// `StartWorkflowExecution` (eager workflow start): the task then skips the matching service
/// and the worker's poll. `Worker` conforms and registers itself with its client while it runs.
public protocol EagerWorkflowTaskAcceptor: Sendable {
    /// Reserves capacity for one eager first task of `workflowType`; false when the type is
    /// not registered, no slot is free, or the worker is stopping.
    func reserveEagerWorkflowTask(workflowType: String) -> Bool
    /// Runs the task handed back by the server (consumes the reservation).
    func acceptEagerWorkflowTask(_ task: Temporal_Api_Workflowservice_V1_PollWorkflowTaskQueueResponse)
    /// Gives the reservation back (the server did not hand the task back).
    func releaseEagerWorkflowTaskReservation()
    /// The worker's deployment, sent with an eager start so that the server records which
    /// Deployment Version runs the first task (nil: none; the default).
    var eagerWorkerDeploymentOptions: Temporal_Api_Deployment_V1_WorkerDeploymentOptions? { get }
}

extension EagerWorkflowTaskAcceptor {
    public var eagerWorkerDeploymentOptions: Temporal_Api_Deployment_V1_WorkerDeploymentOptions? { nil }
}

/// The client's acceptors of eager workflow tasks, by task queue.
final class EagerAcceptors: Sendable {
    private let byQueue = Mutex<[String: any EagerWorkflowTaskAcceptor]>([:])

    func register(_ acceptor: any EagerWorkflowTaskAcceptor, taskQueue: String) {
        byQueue.withLock { $0[taskQueue] = acceptor }
    }

    func unregister(taskQueue: String) {
        _ = byQueue.withLock { $0.removeValue(forKey: taskQueue) }
    }

    func acceptor(for taskQueue: String) -> (any EagerWorkflowTaskAcceptor)? {
        byQueue.withLock { $0[taskQueue] }
    }
}

extension TemporalClient {
    /// Makes `acceptor` (a worker on this client) the one that runs eagerly started workflows
    /// of `taskQueue`. Workers call this themselves.
    public func registerEagerWorkflowAcceptor(_ acceptor: any EagerWorkflowTaskAcceptor, taskQueue: String) {
        eagerAcceptors.register(acceptor, taskQueue: taskQueue)
    }

    /// Undoes `registerEagerWorkflowAcceptor`.
    public func unregisterEagerWorkflowAcceptor(taskQueue: String) {
        eagerAcceptors.unregister(taskQueue: taskQueue)
    }
}
