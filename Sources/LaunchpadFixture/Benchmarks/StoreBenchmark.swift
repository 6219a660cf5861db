import Foundation
public import LaunchpadETL

/// Measures batch inserts into a fresh SQLite store (for `TemporalBench`).
public enum StoreBenchmark {
    /// What one run measured.
    public struct Result: Sendable, Hashable, CustomStringConvertible {
        public var events: Int
        public var batchSize: Int
        public var inserted: Int
        public var seconds: Double
        /// Where the time went, summed over the batches; empty when the run has one step. The
        /// staged path's are stage, reference and load (which takes the reference again to check it).
        public var steps: [Step] = []
        /// Events per second over the whole run.
        public var eventsPerSecond: Double { seconds > 0 ? Double(events) / seconds : 0 }

        public var description: String {
            let split =
                steps.isEmpty ? "" : " (" + steps.map { "\($0.name) \(String(format: "%.3f", $0.seconds)) s" }.joined(separator: ", ") + ")"
            return "\(events) events in batches of \(batchSize): \(String(format: "%.3f", seconds)) s, \(Int(eventsPerSecond)) events/s"
                + split
        }
    }

    /// One step's share of a run.
    public struct Step: Sendable, Hashable {
        public var name: String
        public var seconds: Double
    }

    /// Inserts `events` synthetic events with `insertEventsBatch` in batches of `batchSize`
    /// into the database at `databasePath` (created if absent) and times it.
    public static func run(events: Int = 100_000, batchSize: Int = 1_000, databasePath: String) async throws(ETLError) -> Result {
        try await run(events: events, batchSize: batchSize, store: try SQLiteEventStore(path: databasePath))
    }

    /// Inserts `events` synthetic events with `insertEventsBatch` in batches of `batchSize`
    /// into `store` (SQLite or PostgreSQL) and times it. Event ids start with `idPrefix`, so
    /// another prefix gives new events on a store that already holds a run's.
    public static func run(
        events: Int = 100_000, batchSize: Int = 1_000, store: any EventStore,
        idPrefix: String = "bench"
    ) async throws(ETLError) -> Result {
        let batches = try makeBatches(events: events, batchSize: batchSize, idPrefix: idPrefix)
        let clock = ContinuousClock()
        let started = clock.now
        var inserted = 0
        for batch in batches { inserted += try await store.insertEventsBatch(batch) }
        return Result(events: events, batchSize: batchSize, inserted: inserted, seconds: seconds(clock.now - started))
    }

    /// The flow's own path, timed end to end: each batch is staged (`stageEvents`, as the
    /// extract activity does), its reference taken (`stagedBatch`: count and SHA-256) and
    /// loaded (`loadStagedBatch`, as the load activity does). Batch ids start with `runLabel`,
    /// so a second run loads the same events under new batches, like a re-run schedule.
    public static func runStaged(
        events: Int = 100_000, batchSize: Int = 1_000, store: any FlowStore,
        runLabel: String, idPrefix: String = "bench"
    ) async throws(ETLError) -> Result {
        let batches = try makeBatches(events: events, batchSize: batchSize, idPrefix: idPrefix)
        let clock = ContinuousClock()
        let started = clock.now
        var inserted = 0
        var stage = Duration.zero
        var reference = Duration.zero
        var load = Duration.zero
        for (index, batch) in batches.enumerated() {
            let batchId = "\(runLabel)-\(index)"
            let t0 = clock.now
            _ = try await store.stageEvents(batch, batchId: batchId)
            let t1 = clock.now
            let staged = try await store.stagedBatch(batchId)
            let t2 = clock.now
            inserted += try await store.loadStagedBatch(staged)
            stage += t1 - t0
            reference += t2 - t1
            load += clock.now - t2
        }
        return Result(
            events: events, batchSize: batchSize, inserted: inserted, seconds: seconds(clock.now - started),
            steps: [
                Step(name: "stage", seconds: seconds(stage)), Step(name: "reference", seconds: seconds(reference)),
                Step(name: "load", seconds: seconds(load)),
            ])
    }

    /// `events` synthetic events (50 members, two types, one a minute apart) in batches.
    static func makeBatches(events: Int, batchSize: Int, idPrefix: String = "bench") throws(ETLError) -> [[Event]] {
        let base = UTCTimestamp(startOf: CivilDate(daysSinceEpoch: 19_800))
        var batches: [[Event]] = []
        var current: [Event] = []
        current.reserveCapacity(batchSize)
        for index in 0..<events {
            let time = UTCTimestamp(microsecondsSinceEpoch: base.microsecondsSinceEpoch + Int64(index) * 61_000_017)
            current.append(
                try Event(
                    id: "\(idPrefix)-\(index)", parentId: "\(idPrefix)-parent-\(index / 10)", employeeId: "bench-\(index % 50)",
                    type: index % 2 == 0 ? "bug:commented" : "merge_proposal:voted", timeUTC: time.description,
                    relationProperties: ["index": .int(index), "link": .string("https://bugs.launchpad.net/bugs/\(index)")]
                ))
            if current.count == max(1, batchSize) {
                batches.append(current)
                current.removeAll(keepingCapacity: true)
            }
        }
        if !current.isEmpty { batches.append(current) }
        return batches
    }

    static func seconds(_ duration: Duration) -> Double {
        let (whole, attoseconds) = duration.components
        return Double(whole) + Double(attoseconds) / 1e18
    }
}
