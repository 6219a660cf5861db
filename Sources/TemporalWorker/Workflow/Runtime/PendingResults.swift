/// Results that workflow code awaits by sequence number. A result is delivered once (later
/// deliveries are ignored) and kept, so it can be awaited before or after it arrives, and
/// more than once. Only ever touched under the run's confinement (see `WorkflowRun`).
struct PendingResults<Value: Sendable> {
    private var waiters: [Int: [CheckedContinuation<Value, any Error>]] = [:]
    private var results: [Int: Result<Value, any Error>] = [:]
    /// Keep a result after handing it over (children: several handles may ask), or drop it
    /// (activities, timers, external signals: one awaiter each, and a long run has many).
    private let keepsResults: Bool

    init(keepsResults: Bool = true) { self.keepsResults = keepsResults }

    /// Hands `seq`'s result to `continuation` now, or when it arrives.
    mutating func await(_ seq: Int, _ continuation: CheckedContinuation<Value, any Error>) {
        if let result = results[seq] {
            if !keepsResults { results[seq] = nil }
            continuation.resume(with: result)
        } else {
            waiters[seq, default: []].append(continuation)
        }
    }

    /// Delivers `seq`'s result (at most once; later calls are ignored).
    mutating func resolve(_ seq: Int, _ result: Result<Value, any Error>) {
        guard results[seq] == nil else { return }
        let waiting = waiters.removeValue(forKey: seq) ?? []
        if keepsResults || waiting.isEmpty { results[seq] = result }
        for waiter in waiting { waiter.resume(with: result) }
    }

    /// The sequence numbers with code waiting on them, and how many wait on each.
    var awaited: [(seq: Int, waiters: Int)] { waiters.map { ($0.key, $0.value.count) }.sorted { $0.seq < $1.seq } }

    /// Whether code waits on any result.
    var hasWaiters: Bool { !waiters.isEmpty }

    /// Whether `seq` has been resolved.
    func isResolved(_ seq: Int) -> Bool { results[seq] != nil }

    /// Resumes every waiter with `CancellationError` (eviction).
    mutating func cancelAll() {
        for (_, list) in waiters { for waiter in list { waiter.resume(throwing: CancellationError()) } }
        waiters = [:]
    }
}
