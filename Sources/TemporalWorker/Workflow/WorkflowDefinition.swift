public import Temporal

/// A registered workflow type, with its generic parts erased so a worker can hold many.
public struct WorkflowDefinition: Sendable {
    /// The workflow type name.
    public let name: String
    /// How its runs move between Deployment Versions on a versioned worker (`W.versioningBehavior`).
    public let versioningBehavior: VersioningBehavior?
    /// Starts the root task of a run on the run's deterministic executor.
    let start: @Sendable (_ run: WorkflowRun, _ input: Payloads?) -> Task<Void, Never>

    /// The definition of `W`, registered under `W.name` (or `name`), with `W.versioningBehavior`
    /// (or `versioningBehavior`).
    public init<W: Workflow>(_ type: W.Type, name: String? = nil, versioningBehavior: VersioningBehavior? = nil) {
        self.name = name ?? W.name
        self.versioningBehavior = versioningBehavior ?? W.versioningBehavior
        self.start = { run, input in
            Self.startRoot(type, run: run, input: input)
        }
    }

    private static func startRoot<W: Workflow>(_ type: W.Type, run: WorkflowRun, input: Payloads?) -> Task<Void, Never> {
        Task(executorPreference: run.executor) {
            // Made here, not stored on the run: the context holds the run strongly, so a stored
            // context was a retain cycle that leaked every run (and its task) after it ended.
            let context = WorkflowContext(run: run)
            await DataConverter.$current.withValue(run.converter) {
                do {
                    let input = ExecuteWorkflowInput(context: context, arguments: input, headers: run.startHeaders)
                    let payloads = try await run.interceptors.run(input, through: { try await $0.executeWorkflow($1, next: $2) }) { input in
                        let value = try run.converter.fromPayloads(input.arguments, as: W.Input.self)
                        let instance = W(input: value)
                        let output = try await instance.run(context: context, input: value)
                        return try run.converter.toPayloads(output)
                    }
                    run.finish(.completed(payloads))
                } catch {
                    run.finish(with: error)
                }
            }
        }
    }
}
