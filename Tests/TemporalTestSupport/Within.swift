/// The error of a `within` that ran out of time.
public struct FlowTimeout: Error, CustomStringConvertible {
    public let seconds: Double
    public init(seconds: Double) { self.seconds = seconds }
    public var description: String { "timed out after \(seconds) s" }
}

/// Runs `body`, failing with `FlowTimeout` after `seconds` (so that a test whose subject hangs
/// fails instead of holding the run).
public func within<T: Sendable>(_ seconds: Double, _ body: @escaping @Sendable () async throws -> T) async throws -> T {
    try await withThrowingTaskGroup(of: T.self) { group in
        group.addTask { try await body() }
        group.addTask {
            try await Task.sleep(for: .seconds(seconds))
            throw FlowTimeout(seconds: seconds)
        }
        defer { group.cancelAll() }
        guard let first = try await group.next() else { throw FlowTimeout(seconds: seconds) }
        return first
    }
}
