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

/// The client's acceptors of eager workflow tasks, by task queue: several workers of one client
/// may serve one queue (other workflow types, other deployment versions), so each is kept
/// under a token of its own, and removing one leaves the others.
final class EagerAcceptors: Sendable {
    private struct State {
        var byQueue: [String: [(token: Int, acceptor: any EagerWorkflowTaskAcceptor)]] = [:]
        var nextToken = 0
    }

    private let state = Mutex(State())

    func register(_ acceptor: any EagerWorkflowTaskAcceptor, taskQueue: String) -> Int {
        state.withLock { s in
            s.nextToken += 1
            s.byQueue[taskQueue, default: []].append((s.nextToken, acceptor))
            return s.nextToken
        }
    }

    /// Removes the acceptor registered under `token`, or every acceptor of the queue (nil).
    func unregister(taskQueue: String, token: Int?) {
        state.withLock { s in
            guard let token else {
                s.byQueue[taskQueue] = nil
                return
            }
            s.byQueue[taskQueue]?.removeAll { $0.token == token }
            if s.byQueue[taskQueue]?.isEmpty == true { s.byQueue[taskQueue] = nil }
        }
    }

    /// The queue's acceptors, in random order (as Go tries them), so that starts spread over them.
    func acceptors(for taskQueue: String) -> [any EagerWorkflowTaskAcceptor] {
        state.withLock { $0.byQueue[taskQueue]?.map(\.acceptor) ?? [] }.shuffled()
    }

    /// The first acceptor of the queue that reserves a slot for `workflowType`, if any.
    func reserve(taskQueue: String, workflowType: String) -> (any EagerWorkflowTaskAcceptor)? {
        acceptors(for: taskQueue).first { $0.reserveEagerWorkflowTask(workflowType: workflowType) }
    }
}

extension TemporalClient {
    /// Adds `acceptor` (a worker on this client) to those that may run eagerly started
    /// workflows of `taskQueue`; a start goes to one of them with a free slot for its type.
    /// Workers call this themselves.
    /// - Returns: the registration's token, for `unregisterEagerWorkflowAcceptor(taskQueue:token:)`.
    @discardableResult
    public func registerEagerWorkflowAcceptor(_ acceptor: any EagerWorkflowTaskAcceptor, taskQueue: String) -> Int {
        eagerAcceptors.register(acceptor, taskQueue: taskQueue)
    }

    /// Undoes one `registerEagerWorkflowAcceptor` (its `token`), or every registration of the
    /// queue when `token` is nil.
    public func unregisterEagerWorkflowAcceptor(taskQueue: String, token: Int? = nil) {
        eagerAcceptors.unregister(taskQueue: taskQueue, token: token)
    }
}
