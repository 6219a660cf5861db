import Foundation
import TemporalTestSupport
import Testing

@testable import LaunchpadETL

/// A load records the version of the event builders that built its batch (its checkpoint's):
/// a week loaded by older builders (which counted, say, a comment on a solved question as
/// solving it) is not shown as read whole, and says why, until a read by this build's builders
/// covers it. It showed as complete, its counts those of the older rules.
@Suite struct OlderBuildersReportTests {
    static func load(_ store: any FlowStore, batch: String, builders: Int?, days: (String, String), event: String) async throws {
        let events = [
            try Event(id: event, parentId: "q-5", employeeId: "alice", type: "question:commented", timeUTC: "2024-03-05T10:00:00Z")
        ]
        _ = try await store.stageEvents(events, batchId: batch)
        if let builders {
            try await store.saveCheckpointState(#"{"batch_id": "\#(batch)", "event_builders": \#(builders)}"#, batchId: batch)
        }
        var staged = try await store.stagedBatch(batch)
        staged.window = LoadedWindow(member: "alice", sourceKind: Event.launchpadSourceKind, firstDay: days.0, lastDay: days.1)
        _ = try await store.loadBatch(staged)
    }

    static func check(_ store: any FlowStore) async throws {
        let older = EventBuilders.version - 2
        try await load(store, batch: "old", builders: older, days: ("2024-03-04", "2024-03-17"), event: "q-5-m1")
        try await load(store, batch: "unrecorded", builders: nil, days: ("2024-03-18", "2024-03-24"), event: "q-5-m2")
        var windows = try await store.loadedWindows()
        #expect(windows.map(\.eventBuilders) == [older, nil], "\(windows)")
        var report = ActivityReport(counts: try await store.eventCounts(), windows: windows)
        #expect(report.coverage(member: "alice", week: "2024-03-04") == .partial)
        #expect(report.coverage(member: "alice", week: "2024-03-18") == .complete, "no version recorded: nothing to say")
        #expect(report.cell(member: "alice", week: "2024-03-04") == "2*")
        #expect(
            report.notReadLines == [
                "not read for alice, 2024-03-04 to 2024-03-17: loaded by event builders version \(older), which counted some activity otherwise than this build's (version \(EventBuilders.version)): read these days again to count them as it does"
            ], "\(report.notReadLines)")
        // A read of the first week by this build's builders: that week is read whole again.
        try await load(store, batch: "new", builders: EventBuilders.version, days: ("2024-03-04", "2024-03-10"), event: "q-5-m1")
        windows = try await store.loadedWindows()
        report = ActivityReport(counts: try await store.eventCounts(), windows: windows)
        #expect(report.coverage(member: "alice", week: "2024-03-04") == .complete)
        #expect(report.coverage(member: "alice", week: "2024-03-11") == .partial)
        #expect(report.notRead.map { "\($0.firstDay) \($0.lastDay)" } == ["2024-03-04 2024-03-17"])
    }

    @Test func anSQLiteWeekLoadedByOlderBuildersIsNotReadWhole() async throws {
        let directory = try TemporaryDirectory()
        try await Self.check(try SQLiteEventStore(path: directory.file("events.db")))
    }

    @Test(.enabled(if: PostgresTestServer.isAvailable, PostgresTestServer.unavailableReason))
    func aPostgresWeekLoadedByOlderBuildersIsNotReadWhole() async throws {
        try await Self.check(try await PostgresEventStore.connect(url: try await PostgresTestServer.shared().makeDatabase()))
    }
}
