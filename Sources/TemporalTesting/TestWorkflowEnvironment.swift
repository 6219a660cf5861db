public import Foundation
public import Temporal
public import TemporalWorker

/// Runs workflows in-process against an `InMemoryTemporalService`: a real `TemporalClient` and
/// a real `Worker` over an in-memory transport, no server, milliseconds per test. Activities are
/// whatever the test registers (mocks of the real ones, under the same names).
///
/// ```swift
/// let env = try await TestWorkflowEnvironment.start()
/// let result = try await env.execute(MockFlow.self, input: query, activities: [mockExtract, mockTransform, mockLoad])
/// ```
public final class TestWorkflowEnvironment: Sendable {
    /// The service everything runs against (its clock, the histories).
    public let service: InMemoryTemporalService
    /// A client of the service.
    public let client: TemporalClient

    private init(service: InMemoryTemporalService, client: TemporalClient) {
        self.service = service
        self.client = client
    }

    /// A new environment with an empty in-memory service.
    /// - Parameter workflowTaskFailuresEndRuns: a failed workflow task terminates its run, so
    ///   that the test awaiting its result fails at once with the task's failure (as Go's test
    ///   suite returns a workflow's panic), instead of waiting for a task a server would retry
    ///   until the code is fixed (`InMemoryTemporalService.init(workflowTaskFailuresEndRuns:)`);
    ///   a potential deadlock or an unread history is tried twice more first.
    /// - Parameter searchAttributes: the custom search attributes the namespace has registered:
    ///   a start or an upsert of any other (or of a value of another type) is refused as a
    ///   server refuses it, so a test does not pass where production fails.
    /// - Parameter suggestContinueAsNewAt: the history length from which workflow tasks suggest
    ///   continuing as new; nil: never (see `InMemoryTemporalService.init`).
    public static func start(
        dataConverter: DataConverter = .default,
        interceptors: [any ClientInterceptor] = [],
        workflowTaskFailuresEndRuns: Bool = true,
        searchAttributes: [String: IndexedValueType] = [:],
        suggestContinueAsNewAt: Int? = nil
    ) async throws -> TestWorkflowEnvironment {
        let service = InMemoryTemporalService(
            workflowTaskFailuresEndRuns: workflowTaskFailuresEndRuns, searchAttributes: searchAttributes,
            suggestContinueAsNewAt: suggestContinueAsNewAt)
        let client = try await TemporalClient.connect(transport: service, dataConverter: dataConverter, interceptors: interceptors)
        return TestWorkflowEnvironment(service: service, client: client)
    }

    /// Worker options for this environment: no sticky cache (the in-memory service hands every
    /// workflow task the full history), a short graceful shutdown.
    public static var defaultWorkerOptions: WorkerOptions {
        var options = WorkerOptions()
        options.maxCachedWorkflows = 0
        options.gracefulShutdownTimeout = .seconds(1)
        return options
    }

    /// Runs `body` while a worker polls `taskQueue` of this environment; stops it afterwards.
    /// - Throws: the worker's refusal of its options (`TemporalError` `.invalidArgument`) before
    ///   `body` runs, or what `body` throws.
    public func withWorker<T: Sendable>(
        taskQueue: String = "test", workflows: [any Workflow.Type] = [],
        activities: [ActivityDefinition] = [],
        options: WorkerOptions = TestWorkflowEnvironment.defaultWorkerOptions,
        _ body: (Worker) async throws -> T
    ) async throws -> T {
        let worker = Worker(client: client, taskQueue: taskQueue, workflows: workflows, activities: activities, options: options)
        // Refused options end `run()` at once, and `body` (waiting for a result no worker will
        // make) would wait for ever: refuse them before.
        try worker.validateOptions()
        // The worker runs as a child task: it has stopped when this returns.
        return try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { try await worker.run() }
            do {
                // A cached run's next task goes to the sticky queue only while a poll waits there
                // (or did lately), as on a server: the body starts once the sticky poller is in.
                if let sticky = worker.stickyQueue {
                    let clock = ContinuousClock()
                    let deadline = clock.now + .seconds(5)
                    while service.waitingPolls(taskQueue: sticky, activities: false) == 0, clock.now < deadline {
                        try await Task.sleep(for: .milliseconds(1))
                    }
                }
                let value = try await body(worker)
                await worker.shutdown(gracePeriod: .seconds(1))
                try? await group.waitForAll()  // the body's outcome is the answer
                return value
            } catch {
                await worker.shutdown(gracePeriod: .zero)
                try? await group.waitForAll()
                throw error
            }
        }
    }

    /// Starts workflow `W` with `input` on a worker running `activities` (and `W` and `workflows`)
    /// and waits for its result.
    /// - Throws: as `WorkflowHandle.result` (e.g. `TemporalError` of kind `.workflowFailed`).
    public func execute<W: Workflow>(
        _ type: W.Type, input: W.Input, workflows: [any Workflow.Type] = [],
        activities: [ActivityDefinition] = [], id: String = "test-\(UUID().uuidString)",
        options: WorkerOptions = TestWorkflowEnvironment.defaultWorkerOptions
    ) async throws -> W.Output
    where W.Input: Encodable, W.Output: Decodable & Sendable {
        try await withWorker(taskQueue: "test-\(id)", workflows: [type] + workflows, activities: activities, options: options) { worker in
            let handle = try await client.startWorkflow(type: W.name, id: id, taskQueue: worker.taskQueue, arguments: [input])
            return try await handle.result(as: W.Output.self)
        }
    }

    /// Closes the client and the service.
    public func shutdown() {
        client.close()
    }
}
