/// A typed, validated description of what a flow extracts (the original's `IQuery`).
///
/// A query is built from the `args` object of a `FlowInput` and summarised at the start of
/// the flow's result.
public protocol Query: Sendable {
    /// The name `FlowInput.type` uses for this query type, e.g. `"LaunchpadQuery"`.
    static var typeName: String { get }

    /// Builds and validates a query from a flow input's `args` (the original's `from_dict`).
    /// Throws an `ETLError` (`.invalidQuery`, non-retryable) that says what is wrong.
    static func fromDictionary(_ arguments: [String: JSONValue]) throws(ETLError) -> Self

    /// The arguments that rebuild this query through `fromDictionary`.
    func toDictionary() -> [String: JSONValue]

    /// The first keys of the flow's result (the original's `to_summary_base`).
    func summaryBase() -> [String: String]

    /// What a load of this query's events covers, for the store's record of extracted windows
    /// (`LoadedWindow`); `skipped` is what the extraction could not read. Nil: not recorded.
    func loadedWindow(skipped: [String]) -> LoadedWindow?
}

extension Query {
    /// Not recorded (queries without one member and window of one source).
    public func loadedWindow(skipped: [String]) -> LoadedWindow? { nil }
}
