import Synchronization

/// The sticky cache: runs kept in memory between their workflow tasks, least recently used
/// evicted first. A run is *checked out* while a task processes it (so a concurrent legacy
/// query finds it absent and replays on its own) and checked back in afterwards.
final class RunCache: Sendable {
    private struct State {
        var runs: [String: WorkflowRun] = [:]
        var order: [String] = []
        /// `close()` was called: runs checked in after it are torn down, not kept.
        var closed = false
        /// The runs checked out (by identity), with their run ids.
        var out: [ObjectIdentifier: String] = [:]
        /// For a run id with a run checked out: the latest event any copy of it checked in
        /// since had applied. The copy out, checked in behind it, is stale: a query held it while
        /// a task replayed another copy, which left the cache before the query ended.
        var newest: [String: Int64] = [:]
    }

    let capacity: Int
    private let state = Mutex(State())
    /// Sees the number of cached runs after every change, in order.
    private let onSizeChange: (@Sendable (Int) -> Void)?
    /// Sees each run evicted to make room for another.
    private let onEvictedForRoom: (@Sendable () -> Void)?
    /// Ends an evicted run (its teardown, on a workflow thread when the worker watches for
    /// deadlocks).
    private let retire: @Sendable ([WorkflowRun]) -> Void

    init(
        capacity: Int, retire: @escaping @Sendable ([WorkflowRun]) -> Void = { for run in $0 { run.tearDown() } },
        onEvictedForRoom: (@Sendable () -> Void)? = nil, onSizeChange: (@Sendable (Int) -> Void)? = nil
    ) {
        self.capacity = capacity
        self.retire = retire
        self.onEvictedForRoom = onEvictedForRoom
        self.onSizeChange = onSizeChange
        onSizeChange?(0)
    }

    var count: Int { state.withLock { $0.runs.count } }

    /// What the size gauge reports: the runs in memory between their tasks and those a task
    /// holds checked out, as Core counts its cache. Runs cached showed 0 while
    /// every run was being worked on. (A run's first task, before its first check-in, is not
    /// counted; two copies of one run out at once, a legacy query's and a task's, count twice
    /// for that while: no set is built per task.)
    private static func size(_ s: State) -> Int {
        s.out.values.reduce(s.runs.count) { count, runID in s.runs[runID] == nil ? count + 1 : count }
    }

    /// Removes and returns the cached run (nil on a miss).
    func checkout(_ runID: String) -> WorkflowRun? {
        state.withLock { s in
            guard let run = s.runs.removeValue(forKey: runID) else { return nil }
            s.order.removeAll { $0 == runID }
            s.out[ObjectIdentifier(run)] = runID
            s.newest[runID] = max(s.newest[runID] ?? 0, run.lastEventID)
            onSizeChange?(Self.size(s))
            return run
        }
    }

    /// Puts a run back as most recently used; evicts (and tears down) the oldest over capacity.
    func checkin(_ runID: String, _ run: WorkflowRun) {
        let evicted = state.withLock { s -> [WorkflowRun] in
            // A task that finished after the worker's shutdown emptied the cache (its answer
            // retried past the drain's bounded waits): its run would stay, suspended, for ever.
            if s.closed {
                s.out[ObjectIdentifier(run)] = nil
                return [run]
            }
            let wasOut = s.out.removeValue(forKey: ObjectIdentifier(run)) != nil
            defer { onSizeChange?(Self.size(s)) }  // on every way out: a run checked in changes it
            let newest = s.newest[runID]
            if !s.out.values.contains(runID) {
                s.newest[runID] = nil
            } else {
                s.newest[runID] = max(newest ?? 0, run.lastEventID)
            }
            if wasOut, let newest, newest > run.lastEventID { return [run] }
            var out: [WorkflowRun] = []
            // A legacy query and a workflow task may each have rebuilt the run: keep the newer.
            if let existing = s.runs[runID], existing !== run {
                if existing.lastEventID > run.lastEventID { return [run] }
                out.append(existing)
            }
            s.runs[runID] = run
            s.order.removeAll { $0 == runID }
            s.order.append(runID)
            while s.order.count > capacity, let oldest = s.order.first {
                s.order.removeFirst()
                if let r = s.runs.removeValue(forKey: oldest) {
                    out.append(r)
                    onEvictedForRoom?()
                }
            }
            return out
        }
        retire(evicted)
    }

    /// Forgets a checked-out run that will not be checked in (retired, or stuck).
    func forget(_ run: WorkflowRun) {
        state.withLock { s in
            guard let runID = s.out.removeValue(forKey: ObjectIdentifier(run)) else { return }
            if !s.out.values.contains(runID) { s.newest[runID] = nil }
            if !s.closed { onSizeChange?(Self.size(s)) }
        }
    }

    /// Drops every cached run, and every run checked in from now on (shutdown).
    func close() {
        let all = state.withLock { s -> [WorkflowRun] in
            defer {
                s.closed = true
                s.runs = [:]
                s.order = []
                s.out = [:]
                s.newest = [:]
                onSizeChange?(0)
            }
            return Array(s.runs.values)
        }
        retire(all)
    }

    /// Drops one run (tests: force a cache miss). Returns whether it was cached.
    @discardableResult
    func evict(_ runID: String) -> Bool {
        guard let run = checkout(runID) else { return false }
        forget(run)
        retire([run])
        return true
    }
}
