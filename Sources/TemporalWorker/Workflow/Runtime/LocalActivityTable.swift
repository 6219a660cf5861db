/// The local activities a run asked for and has not resolved yet, which of them the worker is
/// executing, and the outcomes workflow code awaits. Only ever touched under the run's
/// confinement.
struct LocalActivityTable {
    private var lastSeq = 0
    /// Requested and not resolved yet, in request order by `seq`.
    private var requests: [Int: LocalActivityRequest] = [:]
    /// Requests handed to the worker to execute.
    private var handedOut: Set<Int> = []
    private var results = PendingResults<LocalActivityOutcome>(keepsResults: false)  // one awaiter each

    /// Registers a request made by `make` with the next sequence number, which it returns.
    mutating func add(_ make: (Int) -> LocalActivityRequest) -> Int {
        lastSeq += 1
        requests[lastSeq] = make(lastSeq)
        return lastSeq
    }

    subscript(seq: Int) -> LocalActivityRequest? { requests[seq] }

    var isEmpty: Bool { requests.isEmpty }

    /// The open requests in request order.
    var inOrder: [LocalActivityRequest] { requests.values.sorted { $0.seq < $1.seq } }

    /// The open requests not handed out yet, now marked as handed out.
    mutating func takeDue() -> [LocalActivityRequest] {
        let due = inOrder.filter { !handedOut.contains($0.seq) }
        for request in due { handedOut.insert(request.seq) }
        return due
    }

    /// Closes request `seq` with `result` for its awaiter. Returns false when it was not open.
    @discardableResult
    mutating func resolve(_ seq: Int, _ result: Result<LocalActivityOutcome, any Error>) -> Bool {
        guard requests.removeValue(forKey: seq) != nil else { return false }
        handedOut.remove(seq)
        results.resolve(seq, result)
        return true
    }

    mutating func await(_ seq: Int, _ continuation: CheckedContinuation<LocalActivityOutcome, any Error>) {
        results.await(seq, continuation)
    }

    /// The requests that code waits on.
    var awaited: [LocalActivityRequest] { results.awaited.compactMap { requests[$0.seq] } }

    /// Whether code waits on any outcome.
    var hasWaiters: Bool { results.hasWaiters }

    /// Resumes every waiter with `CancellationError` (eviction).
    mutating func cancelAll() { results.cancelAll() }
}
