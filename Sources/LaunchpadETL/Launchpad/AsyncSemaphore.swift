/// Limits how many tasks run a section at once, suspending (not blocking) the others.
actor AsyncSemaphore {
    private var available: Int
    /// Permits in all (held and available).
    private(set) var permits: Int
    private var waiters: [CheckedContinuation<Void, Never>] = []

    init(permits: Int) {
        precondition(permits > 0, "a semaphore needs at least one permit")
        available = permits
        self.permits = permits
    }

    /// Raises the number of permits to `newPermits` (no-op when it is not higher), letting
    /// waiters in at once.
    func raise(to newPermits: Int) {
        guard newPermits > permits else { return }
        available += newPermits - permits
        permits = newPermits
        while available > 0, !waiters.isEmpty {
            available -= 1
            waiters.removeFirst().resume()
        }
    }

    /// Lowers the number of permits to `newPermits` (no-op when it is not lower): permits held
    /// beyond it are not taken back, but no waiter gets in until enough are released.
    func lower(to newPermits: Int) {
        guard newPermits < permits, newPermits > 0 else { return }
        available -= permits - newPermits
        permits = newPermits
    }

    /// The generation of the last `set` applied.
    private var generation = 0

    /// Raises or lowers the permits to `newPermits`, unless a change of a later `generation`
    /// was applied already: callers decide changes in order (under a lock) but reach the actor
    /// in any order, and an older change applied last left the newer one undone.
    func set(to newPermits: Int, generation: Int) {
        guard generation > self.generation else { return }
        self.generation = generation
        if newPermits > permits { raise(to: newPermits) } else { lower(to: newPermits) }
    }

    func acquire() async {
        if available > 0 {
            available -= 1
            return
        }
        await withCheckedContinuation { waiters.append($0) }
    }

    func release() {
        available += 1
        // `available` may be below zero after `lower(to:)`: only a positive count lets one in.
        while available > 0, !waiters.isEmpty {
            available -= 1
            waiters.removeFirst().resume()
        }
    }

    /// Runs `body` holding one permit.
    nonisolated func withPermit<T: Sendable, E: Error>(_ body: () async throws(E) -> T) async throws(E) -> T {
        await acquire()
        do {
            let result = try await body()
            await release()
            return result
        } catch {
            await release()
            throw error
        }
    }
}
