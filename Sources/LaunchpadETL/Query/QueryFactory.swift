/// Builds queries from flow inputs by type name (the seed's `QueryFactory`).
public struct QueryFactory: Sendable {
    /// Builds one query type from its arguments.
    public typealias Builder = @Sendable ([String: JSONValue]) throws -> any Query

    private var builders: [String: Builder]

    /// A factory with no types registered.
    public init() { builders = [:] }

    /// The factory the flows use: `LaunchpadQuery`.
    public static let standard: QueryFactory = {
        var factory = QueryFactory()
        factory.register(LaunchpadQuery.self)
        return factory
    }()

    /// Registers `type` under `type.typeName`.
    public mutating func register<Q: Query>(_ type: Q.Type) {
        builders[Q.typeName] = { arguments in try Q.fromDictionary(arguments) }
    }

    /// The registered type names, sorted.
    public var knownTypes: [String] { builders.keys.sorted() }

    /// Builds the query named `type`. Unknown names throw `.unknownQueryType` (non-retryable)
    /// naming the known ones.
    public func create(type: String, args: [String: JSONValue]) throws(ETLError) -> any Query {
        guard let builder = builders[type] else {
            throw ETLError(
                .unknownQueryType, "unknown query type '\(type)'; known query types: \(knownTypes.joined(separator: ", "))",
                nonRetryable: true)
        }
        do {
            return try builder(args)
        } catch let error as ETLError {
            throw error
        } catch {
            throw ETLError(.invalidQuery, "cannot build a \(type) from its args: \(error)", nonRetryable: true, cause: error)
        }
    }

    /// Builds the query a flow input describes.
    public func create(from input: FlowInput) throws(ETLError) -> any Query {
        try create(type: input.type, args: input.args)
    }
}
