public import Temporal

/// A workflow: deterministic code that orchestrates activities, timers and signals.
///
/// Conform a (usually `final class`) type, register it with a `Worker`, and start it by
/// `name` from any client (ours, another SDK's, or the CLI):
///
/// ```swift
/// final class Greeting: Workflow {
///     var name = "?"
///     init() {}
///     func run(context: WorkflowContext, input: String) async throws -> String {
///         context.setSignalHandler("rename", as: String.self) { self.name = $0 }
///         context.setQueryHandler("name") { self.name }
///         return try await context.executeActivity("shout", input: input,
///                                                   options: .init(startToCloseTimeout: .seconds(10)),
///                                                   as: String.self)
///     }
/// }
/// ```
///
/// Rules of workflow code (the replay contract): read time with `context.now`, randomness
/// with `context.random`/`context.uuid()`; do I/O only in activities; wait only on what the
/// context offers (activities, `sleep`, signals, `condition`) or on tasks created inside the
/// workflow with `async let`/task groups; never hop to another actor or use `Task.sleep`.
/// Register signal and query handlers before the first `await` so that signals sent with
/// the start are delivered to them (earlier signals are buffered until a handler exists).
public protocol Workflow: SendableMetatype {
    /// The workflow's argument (`NoValue` for none). Decoded from the first input payload.
    associatedtype Input: Decodable = NoValue
    /// The workflow's result (`NoValue` for none).
    associatedtype Output: Encodable

    /// The workflow type name clients start it by; defaults to the type's name.
    static var name: String { get }

    /// How its runs move between Deployment Versions on a versioned worker
    /// (`WorkerOptions.deployment`); nil (the default) leaves it to the worker's
    /// `defaultVersioningBehavior`. Declare it optional, as here
    /// (`static var versioningBehavior: VersioningBehavior? { .pinned }`): a non-optional
    /// property does not implement this requirement and is ignored. `WorkflowDefinition(_:name:versioningBehavior:)`
    /// sets it per registration.
    static var versioningBehavior: VersioningBehavior? { get }

    /// Creates the instance for one run. The default calls `init()`; implement it to build
    /// state from the input (a type implementing it still needs an `init()`, which may be trivial).
    init(input: Input)
    /// Creates the instance for one run (used by the default `init(input:)`). Classes whose
    /// stored properties all have initial values get it for free.
    init()

    /// The workflow's body. Returning completes the run; throwing an `ApplicationError` (or
    /// letting an `ActivityError` escape) fails it; `context.continueAsNew` continues it; any
    /// other error fails the workflow *task*, which the server retries (a bug to fix and deploy).
    func run(context: WorkflowContext, input: Input) async throws -> Output
}

extension Workflow {
    public static var name: String { String(describing: Self.self) }
    public static var versioningBehavior: VersioningBehavior? { nil }
    public init(input: Input) { self.init() }
}
