import Foundation
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
        #expect(report.csv().contains("alice-example,2024-W10,2024-03-04,bug:commented,2\n"))
        let limited = ActivityReport(counts: counts, from: CivilDate(iso: "2024-03-13"), members: ["alice-example"])
        #expect(limited.weeks == ["2024-03-11", "2024-03-18"] && limited.total == 1)
    }

    @Test func theHTMLPageRendersInChromiumWithTheStoresNumbers() async throws {
        let directory = try TemporaryDirectory()
        let report = ActivityReport(counts: try await Self.store(directory).eventCounts())
        let page = directory.file("report.html")
        try report.html(title: "Team <March>").write(toFile: page, atomically: true, encoding: .utf8)
        let chromium = try #require(
            ["/usr/bin/chromium", "/usr/bin/chromium-browser"].first { FileManager.default.isExecutableFile(atPath: $0) },
            "install chromium (scripts/test does)")
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
        #expect(csv == "member,iso_week,week_start,event_type,events\nbob-<example>,2024-W10,2024-03-04,bug:created,1\n")
        let (htmlStatus, said) = try await ExecutableTests.run(
            report,
            [
                "--db-path", directory.file("events.db"), "--format", "html",
                "-o", directory.file("r.html"),
            ])
        #expect(htmlStatus == 0)
        #expect(said.contains("2 members, 3 weeks, 5 events"))
        #expect(try String(contentsOfFile: directory.file("r.html"), encoding: .utf8).hasPrefix("<!DOCTYPE html>"))
        let (missingStatus, missing) = try await ExecutableTests.run(report, ["--db-path", directory.file("none.db")])
        #expect(missingStatus != 0)
        #expect(missing.contains("no event store at"), "\(missing)")
        #expect(!FileManager.default.fileExists(atPath: directory.file("none.db")))
    }
}
