public import Temporal

/// A registered activity: a name (what workflows of any language call) and an async body.
public struct ActivityDefinition: Sendable {
    /// The activity type name.
    public let name: String
    let execute: @Sendable (Payloads?, ActivityContext) async throws -> Payloads

    /// An activity taking one argument (decoded from the first input payload).
    public init<Input: Decodable & SendableMetatype, Output: Encodable & SendableMetatype>(
        _ name: String, _ body: @escaping @Sendable (Input, ActivityContext) async throws -> Output
    ) {
        self.name = name
        self.execute = { payloads, context in
            let input = try context.dataConverter.fromPayloads(payloads, as: Input.self)
            let output = try await body(input, context)
            return try context.dataConverter.toPayloads(output)
        }
    }

    /// An activity taking no argument.
    public init<Output: Encodable & SendableMetatype>(_ name: String, _ body: @escaping @Sendable (ActivityContext) async throws -> Output)
    {
        self.name = name
        self.execute = { _, context in
            try context.dataConverter.toPayloads(try await body(context))
        }
    }

    /// An activity with raw payloads in and out.
    public init(name: String, raw: @escaping @Sendable (Payloads?, ActivityContext) async throws -> Payloads) {
        self.name = name
        self.execute = raw
    }

    /// An activity implemented as a type.
    public init<A: ActivityImplementation>(_ activity: A) {
        self.init(A.name) { (input: A.Input, context: ActivityContext) in try await activity.run(input: input, context: context) }
    }
}

/// An activity implemented as a type (an alternative to closures).
public protocol ActivityImplementation: Sendable {
    associatedtype Input: Decodable & SendableMetatype
    associatedtype Output: Encodable & SendableMetatype
    /// The activity type name; defaults to the type's name.
    static var name: String { get }
    func run(input: Input, context: ActivityContext) async throws -> Output
}

extension ActivityImplementation {
    public static var name: String { String(describing: Self.self) }
}
