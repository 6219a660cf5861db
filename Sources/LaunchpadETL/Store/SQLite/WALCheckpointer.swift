import CSQLite
import Dispatch
import Synchronization

/// Checkpoints a WAL-mode SQLite file from its own connection on its own queue, so a writer's
/// commit never waits for a checkpoint.
///
/// SQLite's built-in auto-checkpoint runs inside the `COMMIT` that pushes the WAL past 1,000
/// frames: that commit then copies the WAL's pages into the database file and syncs both
/// files. `SQLiteEventStore` replaces it with a WAL hook that hands the same work, at the same
/// threshold, to this checkpointer. The checkpoints are `PASSIVE` — they never block or wait
/// for readers and writers, in this process or another — and sync exactly as SQLite's own
/// do under `synchronous = NORMAL`, so durability is unchanged: only who waits changes.
final class WALCheckpointer: Sendable {
    /// SQLite's default auto-checkpoint threshold, in WAL frames (pages).
    static let defaultThresholdFrames = 1_000

    let thresholdFrames: Int
    private let confined: QueueConfined<SQLiteConnection>
    /// Whether a checkpoint is queued or running (at most one at a time).
    private let pending = Atomic<Bool>(false)

    /// Opens the checkpointing connection to `path` (which must already exist in WAL mode).
    init(path: String, busyTimeoutMilliseconds: Int32, thresholdFrames: Int = WALCheckpointer.defaultThresholdFrames) throws(ETLError) {
        precondition(thresholdFrames > 0, "the checkpoint threshold must be positive")
        let connection = try SQLiteConnection(path: path, busyTimeoutMilliseconds: busyTimeoutMilliseconds)
        // `synchronous` is per connection: checkpoint with the writer's syncs (the WAL before
        // copying, the database file after), as SQLite's auto-checkpoint did.
        try connection.execute("PRAGMA synchronous = NORMAL")
        try connection.execute("PRAGMA journal_size_limit = \(SQLiteEventStore.walSizeLimitBytes)")
        self.thresholdFrames = thresholdFrames
        self.confined = QueueConfined(connection, queue: DispatchQueue(label: "LaunchpadETL.WALCheckpointer"))
    }

    /// Called on the writer's thread after each commit with the WAL's size in frames;
    /// queues a checkpoint when the WAL has reached the threshold and none is pending.
    ///
    /// Returns `true` when the WAL has grown past `4 × thresholdFrames`: the writer should
    /// then checkpoint inline. A background checkpoint copies the frames committed before it
    /// started, but SQLite rewinds the WAL only when a write transaction begins with every
    /// frame copied, which a busy writer never lets happen; the inline checkpoint copies the
    /// short tail the background ones left, so the next transaction rewinds the WAL and the
    /// file stays bounded.
    func walDidCommit(frames: Int) -> Bool {
        if frames >= 4 * thresholdFrames { return true }
        guard frames >= thresholdFrames,
            pending.compareExchange(expected: false, desired: true, ordering: .acquiringAndReleasing).exchanged
        else { return false }
        confined.async { connection in
            // A failure (e.g. SQLITE_BUSY while another process checkpoints) leaves the WAL
            // as it was; the next commit past the threshold tries again, and the last
            // connection to close checkpoints whatever is left.
            _ = connection.checkpoint()
            self.pending.store(false, ordering: .releasing)
        }
        return false
    }
}
