import ArgumentParser
import Foundation
import LaunchpadETL

/// `swift run LaunchpadReport`: per member and ISO week, the events in the store by type — as a
/// terminal table, CSV, or a self-contained HTML page with a heatmap — and which weeks were
/// extracted at all (from the loads' record of their windows).
@main
struct LaunchpadReport: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Shows the event store per member and ISO week: a terminal table, CSV, or an HTML page with a heatmap."
    )

    enum Format: String, ExpressibleByArgument, CaseIterable { case table, csv, html }

    @Option(name: .customLong("db-path"), help: "SQLite file (env ETL_DB_PATH, default launchpad_events.db).")
    var databasePath: String?

    @Option(
        name: .customLong("db-url"),
        help:
            "Event store URL, sqlite:///path or postgres://user:password@host:5432/db (env ETL_DB_URL, which overrides ETL_DB_PATH; not with --db-path)."
    )
    var databaseURL: String?

    @Option(help: "table, csv or html.")
    var format: Format = .table

    @Option(name: [.short, .customLong("output")], help: "Write to this file instead of standard output.")
    var output: String?

    @Option(help: "First day to include, YYYY-MM-DD, in UTC (its whole ISO week).")
    var from: String?

    @Option(help: "Last day to include, YYYY-MM-DD, in UTC (its whole ISO week).")
    var to: String?

    @Option(
        help:
            "Only this member (repeatable). One the store does not know is named on standard error, and the command then exits with status 3."
    )
    var member: [String] = []

    @Option(
        name: .customLong("source"),
        help: "Only events of this source (repeatable; default launchpad; 'all' for every source, e.g. with the mock flows' 'mock').")
    var source: [String] = []

    @Option(help: "The HTML page's title.")
    var title = "Launchpad activity"

    func validate() throws {
        for (name, value) in [("--from", from), ("--to", to)] {
            if let value, CivilDate(iso: value) == nil {
                throw ValidationError("\(name) '\(value)' is not a date: give a day that exists, as YYYY-MM-DD (e.g. 2024-02-29)")
            }
        }
        if let from, let to, let first = CivilDate(iso: from), let last = CivilDate(iso: to), last < first {
            throw ValidationError("--to \(to) is before --from \(from): swap them")
        }
        // The grid stops at 5,000 weeks: a longer span lost its later weeks from the table while
        // the totals still counted them.
        if let from, let to, let first = CivilDate(iso: from), let last = CivilDate(iso: to),
            (last.mondayOfWeek.daysSinceEpoch - first.mondayOfWeek.daysSinceEpoch) / 7 + 1 > ActivityReport.maximumWeeks
        {
            throw ValidationError(
                "--from \(from) to --to \(to) spans more than \(ActivityReport.maximumWeeks) weeks, more than the report shows: give a shorter span"
            )
        }
        if databaseURL != nil, databasePath != nil { throw ValidationError("give --db-path or --db-url, not both") }
    }

    func run() async throws {
        // A flag given here beats the environment: --db-path is not overridden by an exported
        // ETL_DB_URL.
        let environment = ProcessInfo.processInfo.environment
        // Blank is unset, as for the workers.
        let url = databaseURL ?? (databasePath == nil ? ETLEnvironment.value(EventStoreFactory.urlVariable, in: environment) : nil)
        let location: EventStoreLocation
        do {
            if let url {
                location = try EventStoreLocation(url: url)
            } else {
                location = .sqlite(path: databasePath ?? SQLiteEventStore.defaultPath)
            }
        } catch {
            throw ValidationError(error.message)
        }
        // A report never makes a store: a SQLite file that is not there is a mistyped path.
        if case .sqlite(let path) = location, !FileManager.default.fileExists(atPath: path) {
            let source: String
            if url != nil {
                source = databaseURL == nil ? "ETL_DB_URL" : "--db-url"
            } else if databasePath != nil {
                source = "--db-path"
            } else {
                let configured = !(environment["ETL_DB_PATH"] ?? "").isEmpty
                source =
                    (configured ? "ETL_DB_PATH" : "the default")
                    + (path.hasPrefix("/") ? "" : ", relative to \(FileManager.default.currentDirectoryPath)")
            }
            // Not a usage error (exit 64 and the usage text): the command line is fine, the
            // store is not there. Exit 1, with the sentence only.
            throw ReportFailure(
                "no event store at \(path) (from \(source)): run the ETL first, or give --db-path / --db-url the store the worker writes (scripts/run writes .run/launchpad_events.db)"
            )
        }
        // The report file is written by replacing whatever is at its path: never the store.
        if let output, case .sqlite(let path) = location {
            let resolved = { (path: String) in URL(fileURLWithPath: path).standardizedFileURL.resolvingSymlinksInPath().path }
            let store = resolved(path)
            if ["", "-wal", "-shm", "-journal"].map({ store + $0 }).contains(resolved(output)) {
                throw ValidationError(
                    "-o \(output) is the event store's file (or one beside it that SQLite keeps): the report would replace it; write the report to another file"
                )
            }
        }
        if let warning = EventStoreLocation.passwordOnCommandLine(databaseURL, option: "--db-url") {
            FileHandle.standardError.write(Data("warning: \(warning)\n".utf8))
        }
        FileHandle.standardError.write(Data("reading \(location)\n".utf8))
        // Read only: a report never migrates a store that older workers may still share.
        let store = try await EventStoreFactory.openForReading(location)
        // One snapshot: a load committing meanwhile is in the counts, the windows and the
        // Launchpad line, or in none (read one after the other, it could show as unread).
        let snapshot = try await store.reportSnapshot()
        FileHandle.standardError.write(Data((StoreLaunchpad.reportLine(snapshot.launchpad) + "\n").utf8))
        let sources: Set<String>? = source.contains("all") ? nil : Set(source.isEmpty ? [Event.launchpadSourceKind] : source)
        let (windows, counts) = (snapshot.windows, snapshot.counts)
        // A source given that the store holds nothing of is most likely a typo: an empty report
        // read as no activity (and exited 0).
        if let sources, !source.isEmpty {
            let held = Set(counts.map(\.sourceKind) + windows.map(\.sourceKind))
            if !held.isEmpty, let unknown = sources.subtracting(held).sorted().first {
                throw ValidationError(
                    "the store holds no events or windows of source '\(unknown)' (it holds: \(held.isEmpty ? "none" : held.sorted().joined(separator: ", "))); give one of those, or 'all'"
                )
            }
        }
        let report = ActivityReport(
            counts: counts, windows: windows, from: from.flatMap { CivilDate(iso: $0) },
            to: to.flatMap { CivilDate(iso: $0) },
            members: member.isEmpty ? nil : Set(member.map { EmployeeId.of(account: $0.lowercased()) }), sources: sources)
        if report.weeksCut {
            throw ValidationError(
                "the weeks asked for, or those the store holds, span more than \(ActivityReport.maximumWeeks) weeks, more than the report shows: give --from and --to a shorter span"
            )
        }
        let text: String
        switch format {
        case .table: text = report.table()
        case .csv: text = report.csv()
        case .html: text = report.html(title: title)
        }
        // A CSV file has no room for them; the table and the page list them.
        if format == .csv {
            let lines = report.notReadLines + report.readerLines
            if !lines.isEmpty { FileHandle.standardError.write(Data((lines.joined(separator: "\n") + "\n").utf8)) }
        }
        // Said in every format (a table already says why it is empty).
        if let note = report.membersNotShown {
            FileHandle.standardError.write(Data((note + "\n").utf8))
        } else if report.members.isEmpty, format != .table || output != nil {
            FileHandle.standardError.write(Data((report.emptyReason + "\n").utf8))
        }
        // Whole ISO weeks: --from and --to widen to the Monday and Sunday of theirs; days are
        // UTC days (an evening comment west of Greenwich counts on the next day). Said whatever
        // the output: a CSV on standard output held days before --from without a word.
        let span = report.daySpan.map { " (\($0.first) to \($0.last), days in UTC)" } ?? ""
        let weeks = report.weeks.count == 1 ? "1 whole week" : "\(report.weeks.count) whole weeks"
        if let output {
            try text.write(toFile: output, atomically: true, encoding: .utf8)
            FileHandle.standardError.write(
                Data(
                    "wrote \(output): \(report.members.count) members, \(weeks)\(span), \(report.total) events\n"
                        .utf8))
        } else {
            FileHandle.standardOutput.write(Data(text.utf8))
            if !span.isEmpty { FileHandle.standardError.write(Data("\(weeks)\(span)\n".utf8)) }
        }
        // The report is written (the members the store knows), but a name it does not know is
        // most likely a typo: a script that makes the report learns it from the status.
        if !report.unknownMembers.isEmpty { throw ExitCode(3) }
    }
}

/// A report that cannot be made from a correct command line (the store is not there): its
/// sentence, and exit status 1, without the usage text a `ValidationError` prints.
struct ReportFailure: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}
