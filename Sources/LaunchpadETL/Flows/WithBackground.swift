/// Runs `body` with `background` beside it as a child task (a periodic heartbeat, a delayed
/// notice, a watcher), which is cancelled and awaited once `body` returns or throws: nothing
/// outlives the call.
func withBackground<T: Sendable, Failure: Error>(
    _ background: @escaping @Sendable () async -> Void,
    _ body: () async throws(Failure) -> T
) async throws(Failure) -> T {
    let result: Result<T, Failure> = await withTaskGroup(of: Void.self) { group in
        group.addTask { await background() }
        defer { group.cancelAll() }
        do throws(Failure) {
            return .success(try await body())
        } catch {
            return .failure(error)
        }
    }
    return try result.get()
}
