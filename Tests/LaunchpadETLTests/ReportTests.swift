import Foundation
import TemporalTestSupport
import Testing

@testable import LaunchpadETL
@testable import LaunchpadFixture

/// `LaunchpadReport`'s library side: counts from a real store, the table, CSV and HTML, and
/// the HTML rendered by headless Chromium.
@Suite struct ReportTests {
    @Test func isoWeeksFollowISO8601() {
        #expect(ActivityReport.isoWeek("2024-03-04") == "2024-W10")
        #expect(ActivityReport.isoWeek("2024-12-30") == "2025-W01")
        #expect(ActivityReport.isoWeek("2021-01-04") == "2021-W01")
        #expect(ActivityReport.isoWeek("2020-12-28") == "2020-W53")
        #expect(ActivityReport.isoWeek("2024-03-06") == "2024-W10")
    }

    /// Two members over three weeks (one of them empty), several types.
    static func store(_ directory: TemporaryDirectory) async throws -> SQLiteEventStore {
        let database = try SQLiteEventStore(path: directory.file("events.db"))
        var events: [Event] = []
        for (index, (member, day, type)) in [
            ("alice-example", "2024-03-04", "bug:created"), ("alice-example", "2024-03-05", "bug:commented"),
            ("alice-example", "2024-03-06", "bug:commented"), ("alice-example", "2024-03-20", "merge_proposal:voted"),
            ("bob-<example>", "2024-03-05", "bug:created"),
        ].enumerated() {
            events.append(
                try Event(
                    id: "r-\(index)", parentId: "r", employeeId: member, type: type, timeUTC: "\(day)T10:00:00Z",
                    relationProperties: [:]))
        }
        _ = try await database.insertEventsBatch(events)
        return database
    }

    @Test func theStoreCountsPerMemberWeekAndType() async throws {
        let directory = try TemporaryDirectory()
        let counts = try await Self.store(directory).eventCounts()
        #expect(
            counts == [
                EventCount(member: "alice-example", week: "2024-03-04", type: "bug:commented", count: 2),
                EventCount(member: "alice-example", week: "2024-03-04", type: "bug:created", count: 1),
                EventCount(member: "alice-example", week: "2024-03-18", type: "merge_proposal:voted", count: 1),
                EventCount(member: "bob-<example>", week: "2024-03-04", type: "bug:created", count: 1),
            ])
        let report = ActivityReport(counts: counts)
        #expect(report.weeks == ["2024-03-04", "2024-03-11", "2024-03-18"])
        #expect(report.total(member: "alice-example", week: "2024-03-04") == 3)
        #expect(report.total(member: "alice-example") == 4)
        #expect(report.total == 5)
        let table = report.table()
        #expect(table.contains("2024-W10") && table.contains("2024-W11") && table.contains("2024-W12"))
        #expect(
            table.split(separator: "\n").first { $0.hasPrefix("alice-example") }?.split(separator: " ").map(String.init) == [
                "alice-example", "3", "0", "1", "4",
            ])
        #expect(report.csv().contains("alice-example,2024-W10,2024-03-04,bug:commented,2,\n"))
        let limited = ActivityReport(counts: counts, from: CivilDate(iso: "2024-03-13"), members: ["alice-example"])
        #expect(limited.weeks == ["2024-03-11", "2024-03-18"] && limited.total == 1)
        // Without a record of coverage, a member with nothing in the weeks shown has no row (it would read 0).
        #expect(ActivityReport(counts: counts, from: CivilDate(iso: "2024-03-13")).members == ["alice-example"])
    }

    /// A member the store knows with nothing in the weeks shown (their runs of those weeks
    /// failed or were skipped) keeps a row of "-" (not extracted): the row went, and the report
    /// read as a team without them.
    @Test func aMemberWithNothingInTheWeeksShownKeepsARow() async throws {
        let directory = try TemporaryDirectory()
        let database = try await Self.storeWithWindows(directory)
        let report = ActivityReport(
            counts: try await database.eventCounts(), windows: try await database.loadedWindows(), from: CivilDate(iso: "2024-03-25"),
            to: CivilDate(iso: "2024-03-31"))
        #expect(report.members == ["alice-example", "bob-<example>", "erin"])
        #expect(report.weeks == ["2024-03-25"])
        #expect(report.cell(member: "erin", week: "2024-03-25") == "-")
        let limited = ActivityReport(
            counts: try await database.eventCounts(), windows: try await database.loadedWindows(), from: CivilDate(iso: "2024-03-25"),
            to: CivilDate(iso: "2024-03-31"), members: ["erin"])
        #expect(limited.members == ["erin"])
    }

    /// A bound given alone beyond everything stored (`--from` after the last load) shows its
    /// week, not extracted: no week was shown and every member read 0, a team idle.
    @Test func aBoundAloneBeyondTheDataShowsItsWeekNotExtracted() async throws {
        let directory = try TemporaryDirectory()
        let database = try await Self.storeWithWindows(directory)
        let (counts, windows) = (try await database.eventCounts(), try await database.loadedWindows())
        let later = ActivityReport(counts: counts, windows: windows, from: CivilDate(iso: "2024-06-05"))
        #expect(later.weeks == ["2024-06-03"])
        #expect(later.members.allSatisfy { later.cell(member: $0, week: "2024-06-03") == "-" }, "\(later.table())")
        #expect(later.members.allSatisfy { later.totalCell(member: $0) == "-" }, "no week shown was extracted: \(later.table())")
        let earlier = ActivityReport(counts: counts, windows: windows, to: CivilDate(iso: "2024-01-10"))
        #expect(earlier.weeks == ["2024-01-08"])
        #expect(earlier.members.allSatisfy { earlier.cell(member: $0, week: "2024-01-08") == "-" }, "\(earlier.table())")
    }

    /// Loads that recorded their windows, through the store's real load path: alice's two
    /// weeks, erin's (no events at all), bob's part of a week with a note of what was not read.
    static func storeWithWindows(_ directory: TemporaryDirectory) async throws -> SQLiteEventStore {
        let database = try await store(directory)
        let windows = [
            LoadedWindow(member: "alice-example", sourceKind: "launchpad", firstDay: "2024-03-04", lastDay: "2024-03-17"),
            LoadedWindow(member: "erin", sourceKind: "launchpad", firstDay: "2024-03-04", lastDay: "2024-03-24"),
            LoadedWindow(
                member: "bob-<example>", sourceKind: "launchpad", firstDay: "2024-03-06", lastDay: "2024-03-10",
                skipped: ["review_targets: netplan could not list its merge proposals"]),
        ]
        for (index, window) in windows.enumerated() {
            var batch = try await database.stagedBatch("w\(index)")
            batch.window = window
            _ = try await database.loadStagedBatch(batch)
        }
        // A mock flow's rows: not Launchpad activity.
        _ = try await database.insertEvent(
            try Event(
                id: "mock-1", parentId: "m", employeeId: "erin", type: "bug:created", timeUTC: "2024-03-05T09:00:00Z", sourceKindId: "mock")
        )
        return database
    }

    /// A week nobody extracted is not a week without activity: the report tells "-" (not
    /// extracted) from "0" (extracted, nothing happened), marks a week read in part, and lists
    /// members whose windows hold no event at all. Before, erin was missing and every empty
    /// cell read 0.
    @Test func aWeekNobodyExtractedIsNotAWeekWithoutActivity() async throws {
        let directory = try TemporaryDirectory()
        let database = try await Self.storeWithWindows(directory)
        let windows = try await database.loadedWindows()
        try #require(windows.map(\.member) == ["alice-example", "bob-<example>", "erin"])
        // The report reads them in one snapshot: the same as read one by one here.
        let snapshot = try await database.reportSnapshot()
        let (counts, launchpad) = (try await database.eventCounts(), try await database.boundLaunchpad())
        #expect(snapshot.windows == windows && snapshot.counts == counts && snapshot.launchpad == launchpad)
        #expect(windows.map(\.batchId) == ["w0", "w2", "w1"])
        #expect(windows[1].skipped == ["review_targets: netplan could not list its merge proposals"])
        let report = ActivityReport(counts: try await database.eventCounts(), windows: windows)
        #expect(report.members == ["alice-example", "bob-<example>", "erin"])
        #expect(report.weeks == ["2024-03-04", "2024-03-11", "2024-03-18"])
        func row(_ member: String) -> [String] { report.weeks.map { report.cell(member: member, week: $0) } }
        #expect(row("alice-example") == ["3", "0", "1?"], "extracted, extracted without events, loaded without a record")
        #expect(row("bob-<example>") == ["1*", "-", "-"], "read in part (5 days, with a note), then never")
        #expect(row("erin") == ["0", "0", "0"], "the mock row is not counted")
        // Totals carry their weeks' marks (they read as complete whatever the weeks said).
        #expect(["alice-example", "bob-<example>", "erin"].map(report.totalCell) == ["4?", "1*", "0"])
        #expect(report.table().contains("bob-<example>        1*         -         -      1*\n"), "\(report.table())")
        let table = report.table()
        #expect(table.contains(ActivityReport.legend))
        #expect(table.contains("not read for bob-<example>, 2024-03-06 to 2024-03-10: review_targets: netplan could not list"))
        let csv = report.csv()
        #expect(csv.contains("\nerin,2024-W10,2024-03-04,,0,complete\n"), "\(csv)")
        #expect(csv.contains("\nbob-<example>,2024-W10,2024-03-04,bug:created,1,partial\n"))
        #expect(csv.contains("\nalice-example,2024-W12,2024-03-18,merge_proposal:voted,1,none\n"))
        // A week nobody extracted has a line without a count (it had none: a pivot filled it with 0).
        #expect(csv.contains("\nbob-<example>,2024-W11,2024-03-11,,,none\n"), "\(csv)")
        let html = report.html()
        #expect(html.contains("data-member=\"bob-&lt;example&gt;\" data-week=\"2024-03-11\" data-events=\"0\" data-coverage=\"none\""))
        #expect(html.contains("<ul id=\"not-read\"><li>bob-&lt;example&gt;, 2024-03-06 to 2024-03-10: review_targets"))

        // Every source, with the mock row; and a store without records reads as before.
        let all = ActivityReport(counts: try await database.eventCounts(), windows: windows, sources: nil)
        #expect(all.total(member: "erin", week: "2024-03-04") == 1)
        let unrecorded = ActivityReport(counts: try await database.eventCounts())
        #expect(!unrecorded.recordsCoverage && unrecorded.cell(member: "alice-example", week: "2024-03-18") == "1")
        #expect(!unrecorded.table().contains(ActivityReport.legend))
        let mockOnly = ActivityReport(counts: [
            EventCount(member: "m", week: "2024-03-04", type: "bug:created", count: 1, sourceKind: "mock")
        ])
        #expect(mockOnly.table().contains("the store also holds mock events (--source all shows every source)"))
        // Notes are kept as they were written, line breaks included.
        let noted = LoadedWindow(
            member: "m", sourceKind: "launchpad", firstDay: "2024-03-04", lastDay: "2024-03-04", skipped: ["a\nb", "c"])
        #expect(LoadedWindow.skipped(fromStored: noted.storedSkipped) == ["a\nb", "c"])
        // ... and listed on one line each.
        #expect(
            ActivityReport(counts: [], windows: [noted]).notReadLines == [
                "not read for m, 2024-03-04 to 2024-03-04: a b", "not read for m, 2024-03-04 to 2024-03-04: c",
            ])
    }

    /// A day read whole once stays read whole (a load with notes removes nothing), a note repeated by
    /// many loads is listed once, a note whose days a clean read covers is not listed, the marks do
    /// not depend on the member filter, and a batch an older worker loaded without a window gets it
    /// when the load is retried.
    @Test func coverageFollowsTheBestReadOfEachDay() async throws {
        let directory = try TemporaryDirectory()
        let database = try await Self.storeWithWindows(directory)
        let note = "review_targets: netplan could not list its merge proposals"
        for (index, day) in ["2024-03-11", "2024-03-12"].enumerated() {
            var batch = try await database.stagedBatch("bob-daily-\(index)")
            batch.window = LoadedWindow(member: "bob-<example>", sourceKind: "launchpad", firstDay: day, lastDay: day, skipped: [note])
            _ = try await database.loadStagedBatch(batch)
        }
        // Loaded by an older worker (no window), then retried by this one: the window is kept.
        _ = try await database.loadStagedBatch(try await database.stagedBatch("bob-rerun"))
        var rerun = try await database.stagedBatch("bob-rerun")
        rerun.window = LoadedWindow(member: "bob-<example>", sourceKind: "launchpad", firstDay: "2024-03-04", lastDay: "2024-03-10")
        #expect(try await database.loadStagedBatch(rerun) == 0, "the recorded count")
        let windows = try await database.loadedWindows()
        #expect(windows.contains { $0.batchId == "bob-rerun" })

        let report = ActivityReport(counts: try await database.eventCounts(), windows: windows)
        #expect(report.coverage(member: "bob-<example>", week: "2024-03-04") == .complete, "the clean re-read covers the noted days")
        #expect(report.coverage(member: "bob-<example>", week: "2024-03-11") == .partial)
        #expect(report.notRead.count == 1)
        // The noted window of 03-06…03-10 is superseded by the clean re-read of 03-04…03-10: only
        // the daily loads still say what they could not read (before: all three, 03-06 to 03-12).
        #expect(ActivityReport.describe(report.notRead[0]) == "bob-<example>, 2024-03-11 to 2024-03-12 (2 loads): \(note)")
        let onlyDave = ActivityReport(counts: try await database.eventCounts(), windows: windows, members: ["dave"])
        #expect(onlyDave.recordsCoverage, "the store records coverage, whatever the filter")
        let filtered = ActivityReport(
            counts: try await database.eventCounts(), windows: windows, members: ["alice-example"])
        #expect(filtered.cell(member: "alice-example", week: "2024-03-18") == "1?")
    }

    /// A clean read whose load kept stored events it no longer found (an anonymous re-read of
    /// what credentials had read: removing them was not safe) does not make its days read
    /// whole: the week is marked and the reason listed. Before, the clean read made the week
    /// complete and hid the earlier read's note, while its count held events Launchpad may no
    /// longer show.
    @Test func aLoadThatKeptWhatItNoLongerFoundLeavesItsWeekMarked() async throws {
        let directory = try TemporaryDirectory()
        try await Self.checkKeptEventsMarkTheirWeek(try SQLiteEventStore(path: directory.file("events.db")))
    }

    @Test(.enabled(if: PostgresTestServer.isAvailable, PostgresTestServer.unavailableReason))
    func aPostgresLoadThatKeptWhatItNoLongerFoundLeavesItsWeekMarked() async throws {
        try await Self.checkKeptEventsMarkTheirWeek(
            try await PostgresEventStore.connect(url: try await PostgresTestServer.shared().makeDatabase()))
    }

    static func checkKeptEventsMarkTheirWeek(_ store: any FlowStore) async throws {
        /// Member `member`'s comment on bug `bug` in the week of 2024-03-04.
        func comment(_ member: String, bug: Int) throws -> Event {
            try Event(
                id: "b-\(bug)-m1", parentId: "b-\(bug)", employeeId: member, type: "bug:commented", timeUTC: "2024-03-05T10:00:00Z",
                relationProperties: ["bug_id": .int(bug)])
        }
        /// Loads `events` as `member`'s read of that week that looked at `bug`, its reader
        /// recorded now unless `readStarted` (recorded earlier).
        func load(
            _ batchId: String, _ member: String, bug: Int, _ events: [Event], access: String, skipped: [String] = [],
            readStarted: Bool = false
        ) async throws -> LoadOutcome {
            if !readStarted {
                try await Task.sleep(for: .milliseconds(3))
                try await store.recordReader(access, batchId: batchId)
            }
            try await store.stageItems([(LaunchpadExtractor.key(bug), .int(bug))], kind: .bug, batchId: batchId)
            try await store.stageEvents(events, batchId: batchId)
            var batch = try await store.stagedBatch(batchId)
            batch.window = LoadedWindow(
                member: member, sourceKind: "launchpad", firstDay: "2024-03-04", lastDay: "2024-03-10", skipped: skipped, access: access)
            return try await store.loadBatch(batch)
        }
        let token = "oauth:aaaaaaaaaaaaaaaa"
        let note = "questions: searchQuestions exists only in the devel API (version is 1.0)"
        _ = try await load("k1", "kim", bug: 1, [try comment("kim", bug: 1)], access: token, skipped: [note])
        let anonymous = try await load("k2", "kim", bug: 1, [], access: LaunchpadAccess.anonymous)
        #expect(anonymous.kept == 1, "\(anonymous)")
        let windows = try await store.loadedWindows()
        #expect(windows.map(\.keptNotFound?.isEmpty) == [nil, false], "\(windows)")
        let report = ActivityReport(counts: try await store.eventCounts(), windows: windows)
        #expect(report.cell(member: "kim", week: "2024-03-04") == "1*")
        let listed = report.notRead.map(ActivityReport.describe)
        #expect(listed.contains { $0.contains(note) } && listed.contains { $0.contains("no longer found were kept") }, "\(listed)")

        // The same when the first read was whole: the week holds an event Launchpad no longer
        // shows. Before, that clean read marked the days read whole, hiding the later kept one.
        _ = try await load("l1", "lee", bug: 2, [try comment("lee", bug: 2)], access: token)
        #expect(try await load("l2", "lee", bug: 2, [], access: LaunchpadAccess.anonymous).kept == 1)
        let kept = ActivityReport(counts: try await store.eventCounts(), windows: try await store.loadedWindows())
        #expect(kept.cell(member: "lee", week: "2024-03-04") == "1*")
        #expect(kept.notRead.contains { $0.member == "lee" && $0.note.contains("no longer found were kept") }, "\(kept.notRead)")
        // A clean read after it (the credentialed reader finds the comment again) clears the mark.
        _ = try await load("l3", "lee", bug: 2, [try comment("lee", bug: 2)], access: token)
        let clean = ActivityReport(counts: try await store.eventCounts(), windows: try await store.loadedWindows())
        #expect(clean.cell(member: "lee", week: "2024-03-04") == "1")
        #expect(!clean.notRead.contains { $0.member == "lee" }, "\(clean.notRead)")

        // An older read loaded after a newer one keeps what the newer one stored and it lacks:
        // that says nothing against the newer read's days, which stay read whole.
        try await Task.sleep(for: .milliseconds(3))
        try await store.recordReader(LaunchpadAccess.anonymous, batchId: "m-old")
        _ = try await load("m-new", "max", bug: 3, [try comment("max", bug: 3)], access: token)
        let older = try await load("m-old", "max", bug: 3, [], access: LaunchpadAccess.anonymous, readStarted: true)
        #expect(older.kept == 1, "\(older)")
        let outOfOrder = ActivityReport(counts: try await store.eventCounts(), windows: try await store.loadedWindows())
        #expect(outOfOrder.cell(member: "max", week: "2024-03-04") == "1", "\(outOfOrder.notRead)")
    }

    /// A week stored on another day than its Monday (the original project's mock flow wrote
    /// Sundays into the same table) is counted in the ISO week of that day: as the report's
    /// first week, it shifted every column off the Mondays, and the other counts fell outside.
    @Test func aWeekStoredOnAnotherDayIsCountedOnItsMonday() {
        let report = ActivityReport(counts: [
            EventCount(member: "m", week: "2023-10-01", type: "bug:created", count: 2),  // a Sunday: the week of 2023-09-25
            EventCount(member: "m", week: "2023-09-25", type: "bug:created", count: 1),
            EventCount(member: "m", week: "2023-10-02", type: "bug:commented", count: 4),
        ])
        #expect(report.weeks == ["2023-09-25", "2023-10-02"])
        #expect(report.total(member: "m", week: "2023-09-25") == 3 && report.total(member: "m", week: "2023-10-02") == 4)
        #expect(report.weeks.map { report.total(member: "m", week: $0) }.reduce(0, +) == report.total(member: "m"))
        #expect(report.counts.count == 2)
    }

    /// A window covers its own source only: the mock flows' events (which record no window)
    /// beside a Launchpad window of the same week are marked `?`, as alone. They showed as read
    /// whole with `--source all`.
    @Test func aWindowCoversItsOwnSourceOnly() {
        let counts = [
            EventCount(member: "alice", week: "2024-03-04", type: "bug:commented", count: 2),
            EventCount(member: "alice", week: "2024-03-04", type: "mock:event", count: 3, sourceKind: "mock"),
            EventCount(member: "alice", week: "2024-03-11", type: "bug:commented", count: 1),
        ]
        let windows = [LoadedWindow(member: "alice", sourceKind: "launchpad", firstDay: "2024-03-04", lastDay: "2024-03-17")]
        let all = ActivityReport(counts: counts, windows: windows, sources: nil)
        #expect(all.cell(member: "alice", week: "2024-03-04") == "5?")
        #expect(all.cell(member: "alice", week: "2024-03-11") == "1")
        #expect(all.totalCell(member: "alice") == "6?")
        // The CSV does not call that week complete (every row of it said so).
        let week = all.csv().split(separator: "\n").filter { $0.contains(",2024-03-04,") }
        #expect(!week.isEmpty && week.allSatisfy { $0.hasSuffix(",partial") }, "\(week)")
        #expect(all.html().contains("(extracted, beside events loaded without a record"))
        let launchpad = ActivityReport(counts: counts, windows: windows)
        #expect(launchpad.cell(member: "alice", week: "2024-03-04") == "2" && launchpad.totalCell(member: "alice") == "3")
    }

    /// A CSV field is quoted for every line break, and one that starts as a formula is shown
    /// as text in a spreadsheet (`\r\n` went unquoted; `=HYPERLINK(…)` ran).
    @Test func csvFieldsAreQuotedAndNeverFormulas() {
        #expect(ActivityReport.csvField("a\r\nb") == "\"a\r\nb\"")
        #expect(ActivityReport.csvField("a\rb") == "\"a\rb\"")
        #expect(ActivityReport.csvField("=HYPERLINK(\"x\")") == "\"'=HYPERLINK(\"\"x\"\")\"")
        #expect(ActivityReport.csvField("@sum") == "'@sum" && ActivityReport.csvField("-1") == "'-1")
        #expect(ActivityReport.csvField("alice-example") == "alice-example" && ActivityReport.csvField("bug:commented") == "bug:commented")
    }

    /// A note repeated by windows with a gap between them is listed once per span: one line
    /// from the first window's first day to the last one's claimed the days between, read
    /// whole by a clean read.
    @Test func aNoteIsListedOncePerSpanOfDays() {
        let note = "review_targets: netplan could not list its merge proposals"
        func window(_ first: String, _ last: String, _ skipped: [String]) -> LoadedWindow {
            LoadedWindow(member: "m", sourceKind: "launchpad", firstDay: first, lastDay: last, skipped: skipped)
        }
        let report = ActivityReport(
            counts: [],
            windows: [
                window("2024-01-01", "2024-01-31", [note]), window("2024-02-01", "2024-02-10", [note]),
                window("2024-04-01", "2024-04-30", []), window("2024-06-01", "2024-06-30", [note]),
            ])
        #expect(
            report.notReadLines == [
                "not read for m, 2024-01-01 to 2024-02-10 (2 loads): \(note)", "not read for m, 2024-06-01 to 2024-06-30: \(note)",
            ], "\(report.notReadLines)")
        // In any order (the report takes windows from anyone): the same spans.
        let shuffled = ActivityReport(
            counts: [],
            windows: [
                window("2024-06-01", "2024-06-30", [note]), window("2024-02-01", "2024-02-10", [note]),
                window("2024-01-01", "2024-01-31", [note]),
            ])
        #expect(shuffled.notReadLines == report.notReadLines, "\(shuffled.notReadLines)")
    }

    /// PostgreSQL keeps the same record, read back the same way.
    @Test(.enabled(if: PostgresTestServer.isAvailable, PostgresTestServer.unavailableReason))
    func postgresRecordsTheSameWindows() async throws {
        let directory = try TemporaryDirectory()
        let sqlite = try await Self.storeWithWindows(directory)
        let server = try await PostgresTestServer.shared()
        let url = try server.makeDatabase()
        await #expect(throws: ETLError.self) { _ = try await PostgresEventStore.connectForReading(url: url) }
        let postgres = try await PostgresEventStore.connect(url: url)
        _ = try await postgres.insertEventsBatch(try await sqlite.events())
        for window in try await sqlite.loadedWindows() {
            var batch = try await postgres.stagedBatch(window.batchId)
            batch.window = window
            _ = try await postgres.loadStagedBatch(batch)
        }
        let reader = try await PostgresEventStore.connectForReading(url: url)
        // The same windows, but for when each store's reads started.
        let undated = { (windows: [LoadedWindow]) in
            windows.map {
                var window = $0
                window.readStartedAt = nil
                return window
            }
        }
        let (read, written) = (try await reader.loadedWindows(), try await sqlite.loadedWindows())
        #expect(undated(read) == undated(written))
        #expect(read.allSatisfy { $0.readStartedAt != nil } && written.allSatisfy { $0.readStartedAt != nil })
        #expect(try await reader.eventCounts() == (try await sqlite.eventCounts()))
        // A report's reader finds an older schema and leaves it so.
        _ = try await postgres.schemaVersion()
        let older = PostgresSchema.currentVersion - 1
        try await postgres.perform { connection throws(ETLError) in
            try connection.query("DELETE FROM schema_version WHERE version > $1::integer", [String(older)])
        }
        do {
            _ = try await PostgresEventStore.connectForReading(url: url)
            Issue.record("an older schema was read")
        } catch {
            #expect(error.message.contains("has schema version \(older), older than this build's"), "\(error.message)")
        }
        #expect(try await postgres.schemaVersion() == older)
    }

    @Test(.enabled(if: Chromium.path != nil, Comment(rawValue: Chromium.missing))) func theHTMLPageRendersInChromiumWithTheStoresNumbers()
        async throws
    {
        let directory = try TemporaryDirectory()
        let report = ActivityReport(counts: try await Self.store(directory).eventCounts())
        let page = directory.file("report.html")
        try report.html(title: "Team <March>").write(toFile: page, atomically: true, encoding: .utf8)
        let chromium = try #require(Chromium.path)
        let flags = [
            "--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--user-data-dir=\(directory.file("profile"))",
        ]
        let dom = try await ExecutableTests.run(chromium, flags + ["--dump-dom", "file://\(page)"], timeout: 120)
        #expect(dom.1.contains("cells: 6, events: 5"), "\(dom.1.suffix(2_000))")
        #expect(dom.1.contains("Team &lt;March&gt;"))
        #expect(dom.1.contains("data-member=\"bob-&lt;example&gt;\" data-week=\"2024-03-04\" data-events=\"1\""))
        let shot = directory.file("report.png")
        _ = try await ExecutableTests.run(
            chromium, flags + ["--screenshot=\(shot)", "--window-size=900,500", "file://\(page)"], timeout: 120)
        let png = try Data(contentsOf: URL(fileURLWithPath: shot))
        #expect(png.count > 5_000 && png.starts(with: [0x89, 0x50, 0x4E, 0x47]))
    }

    @Test func theExecutableWritesEachFormatAndSaysWhatIsMissing() async throws {
        let directory = try TemporaryDirectory()
        _ = try await Self.store(directory)
        let report = try ExecutableTests.executable("LaunchpadReport")
        let (status, table) = try await ExecutableTests.run(report, ["--db-path", directory.file("events.db")])
        #expect(status == 0, "\(table)")
        #expect(table.contains("2024-W10") && table.contains("merge_proposal:voted"))
        let (csvStatus, csv) = try await ExecutableTests.run(
            report,
            [
                "--db-url", "sqlite://\(directory.file("events.db"))", "--format", "csv",
                "--member", "bob-<example>",
            ])
        #expect(csvStatus == 0)
        // Standard error (merged here) names the store read first, and the Launchpad its events
        // come from.
        #expect(
            csv.hasPrefix(
                "reading sqlite://\(directory.file("events.db"))\nevents of no recorded Launchpad (no load of this release named one)\n"),
            "\(csv)")
        #expect(
            csv.split(separator: "\n", omittingEmptySubsequences: false).dropFirst(2).joined(separator: "\n")
                == "member,iso_week,week_start,event_type,events,coverage\nbob-<example>,2024-W10,2024-03-04,bug:created,1,\n"
                + "1 whole week (2024-03-04 to 2024-03-10, days in UTC)\n", "standard error says the days the CSV covers, in UTC")
        let (htmlStatus, said) = try await ExecutableTests.run(
            report,
            [
                "--db-path", directory.file("events.db"), "--format", "html",
                "-o", directory.file("r.html"),
            ])
        #expect(htmlStatus == 0)
        #expect(said.contains("2 members, 3 whole weeks (2024-03-04 to 2024-03-24, days in UTC), 5 events"), "\(said)")
        #expect(try String(contentsOfFile: directory.file("r.html"), encoding: .utf8).hasPrefix("<!DOCTYPE html>"))
        // CSV has no room for what the reads could not read: standard error says it.
        let noted = try TemporaryDirectory()
        _ = try await Self.storeWithWindows(noted)
        let (notedStatus, notedCSV) = try await ExecutableTests.run(report, ["--db-path", noted.file("events.db"), "--format", "csv"])
        #expect(notedStatus == 0)
        #expect(notedCSV.contains("\nnot read for bob-<example>, 2024-03-06 to 2024-03-10: review_targets"), "\(notedCSV)")
        #expect(StoreLaunchpad.reportLine("local") == "events read from a local Launchpad (the fixture server)")
        let (missingStatus, missing) = try await ExecutableTests.run(report, ["--db-path", directory.file("none.db")])
        // A store that is not there is no usage error: exit 1, without the usage text.
        #expect(missingStatus == 1, "\(missing)")
        #expect(missing.contains("no event store at") && !missing.contains("Usage:"), "\(missing)")
        #expect(!FileManager.default.fileExists(atPath: directory.file("none.db")))
    }

    /// The report reads the store it is told to and says which; a filter that matches nothing
    /// says why. Before: an exported ETL_DB_URL beat --db-path, a mistyped sqlite URL made an
    /// empty store and printed "no events", reversed dates and an uppercase member matched
    /// nothing.
    @Test func theExecutableReadsTheStoreItIsToldAndSaysWhyItShowsNothing() async throws {
        let directory = try TemporaryDirectory()
        _ = try await Self.store(directory)
        let report = try ExecutableTests.executable("LaunchpadReport")
        let file = directory.file("events.db")
        let (typoStatus, typo) = try await ExecutableTests.run(
            report, [], environment: ["ETL_DB_URL": "sqlite://\(directory.file("evnets.db"))"])
        #expect(typoStatus != 0 && typo.contains("no event store at") && typo.contains("ETL_DB_URL"), "\(typo)")
        #expect(!FileManager.default.fileExists(atPath: directory.file("evnets.db")))
        let (pathStatus, byPath) = try await ExecutableTests.run(
            report, ["--db-path", file], environment: ["ETL_DB_URL": "postgres://nobody@127.0.0.1:1/none"])
        #expect(pathStatus == 0 && byPath.contains("reading sqlite://\(file)") && byPath.contains("alice-example"), "\(byPath)")
        // -o naming the store (or its WAL) is refused: the report replaced the database.
        for target in [file, file + "-wal", directory.file("./events.db")] {
            let (status, refused) = try await ExecutableTests.run(report, ["--db-path", file, "-o", target])
            #expect(status == 64 && refused.contains("is the event store's file"), "\(target): \(refused)")
        }
        #expect(try await SQLiteEventStore(path: file).eventCount() > 0, "the store is still a database")
        let (reversedStatus, reversed) = try await ExecutableTests.run(
            report, ["--db-path", file, "--from", "2024-03-31", "--to", "2024-03-01"])
        #expect(reversedStatus == 64 && reversed.contains("swap them"), "\(reversed)")
        let (_, upper) = try await ExecutableTests.run(report, ["--db-path", file, "--member", "Alice-Example"])
        #expect(upper.contains("alice-example") && !upper.contains("bob-<example>"), "\(upper)")
        let (nobodyStatus, nobody) = try await ExecutableTests.run(report, ["--db-path", file, "--member", "alise-example"])
        #expect(nobody.contains("the store knows no member alise-example (it knows alice-example, bob-<example>)"), "\(nobody)")
        #expect(nobodyStatus == 3, "a name the store does not know fails the command (it exited 0)")
        // A typo beside a good name, in every format: said, not just missing (it was, unless
        // no member at all matched, and then only in a table).
        for format in ["table", "csv", "html"] {
            let (_, mixed) = try await ExecutableTests.run(
                report, ["--db-path", file, "--format", format, "--member", "alice-example", "--member", "alise-example"])
            #expect(mixed.contains("not shown: the store knows no member alise-example"), "\(format): \(mixed)")
        }
        let (_, csvNobody) = try await ExecutableTests.run(report, ["--db-path", file, "--format", "csv", "--member", "alise-example"])
        #expect(csvNobody.contains("the store knows no member alise-example"), "\(csvNobody)")
        // A source the store holds nothing of (a typo) is refused; it gave an empty report and status 0.
        let (sourceStatus, noSource) = try await ExecutableTests.run(report, ["--db-path", file, "--source", "launchpadd"])
        #expect(sourceStatus == 64 && noSource.contains("no events or windows of source 'launchpadd' (it holds: launchpad)"), "\(noSource)")
        // A span longer than the report shows is refused; its later weeks went missing from the grid.
        let (spanStatus, span) = try await ExecutableTests.run(report, ["--db-path", file, "--from", "1900-01-01", "--to", "2024-03-31"])
        #expect(spanStatus == 64 && span.contains("spans more than 5000 weeks"), "\(span)")
        let (fromStatus, fromOnly) = try await ExecutableTests.run(report, ["--db-path", file, "--from", "1900-01-01"])
        #expect(fromStatus == 64 && fromOnly.contains("span more than 5000 weeks"), "\(fromOnly)")
    }

    /// A report reads a store as it is. Before, it migrated the store it opened, so a report of
    /// a newer build moved a store to a schema that the older workers sharing it refuse.
    @Test func theExecutableNeverMigratesTheStoreItReads() async throws {
        let directory = try TemporaryDirectory()
        let file = directory.file("events.db")
        do {
            let store = try await Self.store(directory)
            #expect(try await store.schemaVersion() == SQLiteSchema.currentVersion)
        }
        // What the previous schema version left: no store_launchpad table.
        let older = SQLiteSchema.currentVersion - 1
        do {
            let connection = try SQLiteConnection(path: file, busyTimeoutMilliseconds: 1_000)
            try connection.execute("DROP TABLE store_launchpad; PRAGMA user_version = \(older)")
        }
        let report = try ExecutableTests.executable("LaunchpadReport")
        let (status, output) = try await ExecutableTests.run(report, ["--db-path", file])
        #expect(status != 0 && output.contains("has schema version \(older), older than this build's"), "\(output)")
        #expect(output.contains("start a worker of this build on it once"), "\(output)")
        let connection = try SQLiteConnection(path: file, busyTimeoutMilliseconds: 1_000, readOnly: true)
        #expect(try connection.scalarInt("PRAGMA user_version") == older)
        #expect(try connection.scalarInt("SELECT count(*) FROM sqlite_master WHERE name = 'store_launchpad'") == 0)

        let empty = directory.file("empty.db")
        #expect(FileManager.default.createFile(atPath: empty, contents: Data()))
        let (emptyStatus, emptyOutput) = try await ExecutableTests.run(report, ["--db-path", empty])
        #expect(emptyStatus != 0 && emptyOutput.contains("holds no event store"), "\(emptyOutput)")
        #expect(try Data(contentsOf: URL(fileURLWithPath: empty)).isEmpty)
    }

    /// Another program's SQLite file (it sets `PRAGMA user_version` too) is named as such, by
    /// the report and by a worker, which leaves it as it was: the report said "newer than this
    /// build's, use a newer build", and a worker migrated a file of version 3 as an old store.
    @Test func anotherProgramsDatabaseIsNotTakenForAStore() async throws {
        let directory = try TemporaryDirectory()
        for version in [0, 3, SQLiteSchema.currentVersion + 64] {
            let file = directory.file("places-\(version).sqlite")
            do {
                let connection = try SQLiteConnection(path: file, busyTimeoutMilliseconds: 1_000)
                try connection.execute("CREATE TABLE moz_places (id INTEGER PRIMARY KEY, url TEXT); PRAGMA user_version = \(version)")
            }
            let report = try ExecutableTests.executable("LaunchpadReport")
            let (status, output) = try await ExecutableTests.run(report, ["--db-path", file])
            #expect(status != 0 && output.contains("is not an event store of this ETL"), "\(output)")
            let error = #expect(throws: ETLError.self) { _ = try SQLiteEventStore(path: file) }
            #expect(
                error?.message.contains("it has no events table") == true && error?.nonRetryable == true, "\(String(describing: error))")
            let connection = try SQLiteConnection(path: file, busyTimeoutMilliseconds: 1_000, readOnly: true)
            #expect(try connection.scalarInt("PRAGMA user_version") == version)
            #expect(try connection.scalarInt("SELECT count(*) FROM sqlite_master WHERE type = 'table'") == 1, "left as it was")
        }
    }

    /// A store opened for reading reads what a writer commits meanwhile and writes nothing.
    @Test func aStoreOpenedForReadingReadsAndRefusesWrites() async throws {
        let directory = try TemporaryDirectory()
        let writer = try await Self.store(directory)
        let reader = try await EventStoreFactory.openForReading(.sqlite(path: directory.file("events.db")))
        #expect(try await reader.eventCounts().map(\.count).reduce(0, +) == 5)
        _ = try await writer.insertEventsBatch([
            try Event(
                id: "r-late", parentId: "r", employeeId: "alice-example", type: "bug:created", timeUTC: "2024-03-07T10:00:00Z",
                relationProperties: [:])
        ])
        #expect(try await reader.eventCounts().map(\.count).reduce(0, +) == 6)
        await #expect(throws: ETLError.self) {
            _ = try await reader.insertEventsBatch([
                try Event(
                    id: "r-other", parentId: "r", employeeId: "alice-example", type: "bug:created", timeUTC: "2024-03-07T10:00:00Z",
                    relationProperties: [:])
            ])
        }
    }

    /// The report says who read Launchpad for its counts: whether private bugs, proposals and
    /// teams could be in them. One sentence when every recorded window read alike, else one per
    /// member and reader; windows of older releases (no reader) say nothing.
    @Test func theReportSaysWhoReadLaunchpad() {
        func window(_ member: String, _ first: String, _ last: String, _ access: String?) -> LoadedWindow {
            LoadedWindow(member: member, sourceKind: "launchpad", firstDay: first, lastDay: last, access: access)
        }
        let counts = [EventCount(member: "alice", week: "2024-03-04", type: "bug:created", count: 2, sourceKind: "launchpad")]
        let anonymous = ActivityReport(
            counts: counts,
            windows: [
                window("alice", "2024-03-04", "2024-03-10", LaunchpadAccess.anonymous),
                window("bob", "2024-03-04", "2024-03-10", LaunchpadAccess.anonymous), window("bob", "2024-03-11", "2024-03-12", nil),
            ])
        #expect(
            anonymous.readerLines == [
                "every load that records its reader read Launchpad anonymously (public data only: private bugs, merge proposals and teams are not counted)"
            ])
        #expect(anonymous.table().contains(anonymous.readerLines[0]))
        #expect(anonymous.html().contains("<ul id=\"readers\"><li>every load that records its reader read Launchpad anonymously"))

        let mixed = ActivityReport(
            counts: counts,
            windows: [
                window("alice", "2024-03-04", "2024-03-05", "oauth:0123456789abcdef"),
                window("alice", "2024-03-06", "2024-03-10", "oauth:0123456789abcdef"),
                window("bob", "2024-03-04", "2024-03-10", LaunchpadAccess.anonymous),
                window("bob", "2024-03-11", "2024-03-12", LaunchpadAccess.mixed),
            ])
        #expect(
            mixed.readerLines == [
                "read with the credentials oauth:0123456789abcdef (what that account may see) for alice, 2024-03-04 to 2024-03-10 (2 loads)",
                "read anonymously (public data only: private bugs, merge proposals and teams are not counted) for bob, 2024-03-04 to 2024-03-10",
                "read partly anonymously and partly with credentials, or with several (counts may mix what each could see) for bob, 2024-03-11 to 2024-03-12",
            ])
        #expect(ActivityReport(counts: counts, windows: [window("alice", "2024-03-04", "2024-03-10", nil)]).readerLines.isEmpty)
    }
}
