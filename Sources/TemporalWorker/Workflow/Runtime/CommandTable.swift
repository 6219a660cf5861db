/// The commands of one kind that a run issues and awaits (activities, timers, signals to other
/// workflows, child workflows): the sequence numbers handed out, one state machine per command,
/// the history events that recorded each command (to route later events to it), and the
/// results that workflow code awaits. Only ever touched under the run's confinement.
struct CommandTable<Machine, Value: Sendable> {
    private var lastSeq = 0
    private var machines: [Int: Machine] = [:]
    /// Event id of a command's recording event (scheduled, started, initiated, cancel
    /// initiated) → the command's sequence number. Event ids are unique within a history.
    private var recordedBy: [Int64: Int] = [:]
    private var results: PendingResults<Value>

    /// - Parameter keepsResults: see `PendingResults` (true where several waiters may ask).
    init(keepsResults: Bool = false) { results = PendingResults(keepsResults: keepsResults) }

    /// The sequence number the next `add` hands out (ids derived from it, such as an
    /// activity's default id, are computed before the machine).
    var nextSeq: Int { lastSeq + 1 }

    /// Takes the next sequence number for a command whose machine comes later (`register`):
    /// the number is used even if building the command then fails, as the code's order of
    /// commands (and ids derived from the numbers) must not depend on such failures.
    mutating func reserve() -> Int {
        lastSeq += 1
        return lastSeq
    }

    /// Registers the machine of a command whose number was reserved.
    mutating func register(_ seq: Int, _ machine: Machine) { machines[seq] = machine }

    /// Registers a new command's machine under `nextSeq`, and returns that number.
    mutating func add(_ machine: Machine) -> Int {
        lastSeq += 1
        machines[lastSeq] = machine
        return lastSeq
    }

    /// The sequence numbers of every command, in order.
    var sequenceNumbers: [Int] { machines.keys.sorted() }

    /// The machine of command `seq` (nil: no such command).
    subscript(seq: Int) -> Machine? {
        get { machines[seq] }
        set { machines[seq] = newValue }
    }

    /// Command `seq` was recorded by event `eventID`: `transition` moves its machine on, and
    /// later events naming `eventID` reach it.
    mutating func record(_ seq: Int, by eventID: Int64, _ transition: (inout Machine) throws -> Void) rethrows {
        guard var machine = machines[seq] else { return }
        try transition(&machine)
        machines[seq] = machine
        recordedBy[eventID] = seq
    }

    /// Whether a command of this table was recorded by event `eventID`.
    func contains(recordedBy eventID: Int64) -> Bool { recordedBy[eventID] != nil }

    /// Runs `body` on the machine of the command recorded by `eventID`.
    /// - Throws: `unknown()` when no command was recorded by that event (a history this run did
    ///   not produce), or what `body` throws.
    mutating func update<R>(
        recordedBy eventID: Int64, unknown: () -> any Error,
        _ body: (Int, inout Machine) throws -> R
    ) throws -> R {
        guard let seq = recordedBy[eventID], var machine = machines[seq] else { throw unknown() }
        defer { machines[seq] = machine }
        return try body(seq, &machine)
    }

    /// Hands `seq`'s result to `continuation` now, or when it arrives.
    mutating func await(_ seq: Int, _ continuation: CheckedContinuation<Value, any Error>) {
        results.await(seq, continuation)
    }

    /// Delivers `seq`'s result (at most once; later deliveries are ignored).
    mutating func resolve(_ seq: Int, _ result: Result<Value, any Error>) { results.resolve(seq, result) }

    /// Whether `seq`'s result was delivered.
    func isResolved(_ seq: Int) -> Bool { results.isResolved(seq) }

    /// The commands that code waits on, with their machines, in issue order.
    var awaited: [(seq: Int, waiters: Int, machine: Machine?)] {
        results.awaited.map { ($0.seq, $0.waiters, machines[$0.seq]) }
    }

    /// Whether code waits on any of these commands.
    var hasWaiters: Bool { results.hasWaiters }

    /// Resumes every waiter with `CancellationError` (eviction).
    mutating func cancelAll() { results.cancelAll() }
}

extension WorkflowRun {
    /// Waits for the result of command `seq` in `table` (called from workflow code, on the
    /// run's thread); cancelling the waiting task calls `cancel(seq)`, which cancels the command
    /// per its options and may deliver its result (`CancellationError`).
    func result<Machine, Value>(
        of table: ReferenceWritableKeyPath<WorkflowRun, CommandTable<Machine, Value>>, _ seq: Int,
        cancel: @escaping @Sendable (Int) -> Void
    ) async throws -> Value {
        try await withTaskCancellationHandler {
            try await withCheckedThrowingContinuation { continuation in
                self[keyPath: table].await(seq, continuation)
            }
        } onCancel: {
            cancel(seq)
        }
    }
}
