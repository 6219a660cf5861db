public import ArgumentParser
import ETLCommandLine
import Foundation
import LaunchpadETL
import SwiftProtobuf
import Synchronization
import Temporal
import TemporalOTLP
import TemporalProto
import TemporalWorker

/// `swift run StartLaunchpadWorkflow --member NAME --from DATE --to DATE`: one `LaunchpadFlow`
/// per member, progress printed as each completes; exit code 1 if any fails.
///
/// `--schedule daily|weekly --member NAME` creates (or updates) the schedule
/// `launchpad-<member>-<period>` that runs `ScheduledLaunchpadFlow` over the previous period
/// (`--team TEAM`: `launchpad-team:<team>-<period>`, a `TeamLaunchpadFlow`);
/// `--list-schedules` lists the project's schedules; `--delete-schedule ID` deletes one.
@main
struct StartLaunchpadWorkflow: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract:
            "Extracts members' Launchpad activity for a date range into the workers' event store (one LaunchpadFlow per member)."
    )

    @Option(name: .customLong("member"), help: "Launchpad username (repeatable).")
    var members: [String] = []

    @Option(
        name: .customLong("team"),
        help: "Launchpad team (repeatable): its direct members are listed at run time and extracted as child workflows.")
    var teams: [String] = []

    @Option(
        name: .customLong("max-parallel"),
        help: "With --team: members extracted at once (1-50, default \(TeamLaunchpadInput.defaultMaxParallel)).")
    var maxParallelOption: Int?

    /// `--max-parallel`, or the team flow's default.
    var maxParallel: Int { maxParallelOption ?? TeamLaunchpadInput.defaultMaxParallel }

    @Flag(
        name: .customLong("former-members"),
        help:
            "With --team: also extract people whose membership expired or was deactivated but may have been active during the window (by default: the members as of the run)."
    )
    var formerMembers = false

    @Option(name: .customLong("from"), help: "First day, YYYY-MM-DD (one-off runs).")
    var from: String?

    @Option(name: .customLong("to"), help: "Last day (inclusive), YYYY-MM-DD (one-off runs).")
    var to: String?

    @Option(
        name: .customLong("schedule"),
        help:
            "Create or update the schedule launchpad-<member>-<daily|weekly> (launchpad-team:<team>-<daily|weekly> for --team) that extracts the previous day (01:00 UTC) or ISO week (Mondays 02:00 UTC)."
    )
    var schedule: LaunchpadSchedulePeriod?

    @Option(
        name: .customLong("lookback-days"),
        help: ArgumentHelp(
            "With --schedule: days before its period that each run reads again, for comments Launchpad dates from a late email's Date: header (0 to \(ScheduledLaunchpadFlow.maxLookbackDays); default: what an existing schedule has, else \(ScheduledLaunchpadFlow.defaultLookbackDays)).",
            valueName: "N"))
    var lookbackDays: Int?

    @Flag(
        name: .customLong("strict"),
        help:
            "Exit with status 3 when every workflow completed but some could not read everything (their results list it under 'skipped' or 'skipped_members'), e.g. private data without credentials, or a team's suspended account."
    )
    var strict = false

    @Flag(name: .customLong("list-schedules"), help: "List the project's schedules (launchpad-…).")
    var listSchedules = false

    @Option(name: .customLong("delete-schedule"), help: "Delete one of the project's schedules (an id --list-schedules shows).")
    var deleteSchedule: String?

    @Option(
        name: .customLong("service-root"),
        help: "production, staging, qastaging, dogfood, or a URL (the fixture server: http://127.0.0.1:PORT/); default production.")
    var serviceRootOption: String?

    @Option(name: .customLong("version"), help: "Launchpad API version: beta, 1.0 or devel (default devel).")
    var versionOption: String?

    /// `--service-root`, or production (optional so that modes that do not use it can refuse it).
    var serviceRoot: String { serviceRootOption ?? "production" }

    /// `--version`, or devel.
    var version: String { versionOption ?? "devel" }

    @OptionGroup var server: TemporalServerOptions

    @OptionGroup var queue: TaskQueueOptions

    @OptionGroup var ui: WebUIOptions

    func validate() throws {
        let modes = [schedule != nil, listSchedules, deleteSchedule != nil].filter { $0 }.count
        if modes > 1 { throw ValidationError("use only one of --schedule, --list-schedules and --delete-schedule") }
        if modes == 1, from != nil || to != nil {
            throw ValidationError("--from/--to are for one-off runs; a schedule computes the previous period itself")
        }
        if lookbackDays != nil, schedule == nil { throw ValidationError("--lookback-days is for --schedule") }
        if strict, modes == 1 {
            throw ValidationError(
                "--strict is for one-off runs (it sets this command's exit status); a schedule's partial runs show under LaunchpadStage = 'partial' (temporal workflow list --query \"LaunchpadStage = 'partial'\")"
            )
        }
        if formerMembers, teams.isEmpty { throw ValidationError("--former-members is for --team") }
        if maxParallelOption != nil, teams.isEmpty { throw ValidationError("--max-parallel is for --team") }
        // Listing and deleting act on schedule ids: options naming members, teams or a
        // Launchpad were accepted and ignored (`--delete-schedule X --member bob` deleted X and
        // said nothing of bob).
        if listSchedules || deleteSchedule != nil {
            let ignored = [
                ("--member", !members.isEmpty), ("--team", !teams.isEmpty), ("--max-parallel", maxParallelOption != nil),
                ("--service-root", serviceRootOption != nil), ("--version", versionOption != nil),
            ].filter(\.1).map(\.0)
            if !ignored.isEmpty {
                throw ValidationError(
                    "\(ignored.joined(separator: ", ")) \(ignored.count == 1 ? "is" : "are") not used by \(listSchedules ? "--list-schedules" : "--delete-schedule"), which \(listSchedules ? "lists every schedule of the project" : "takes the schedule's id alone")"
                )
            }
        }
        if let option = serviceRootOption, let refusal = (try? ServiceRoot(option))?.refusal { throw ValidationError(refusal) }
        if let lookbackDays, !(0...ScheduledLaunchpadFlow.maxLookbackDays).contains(lookbackDays) {
            throw ValidationError("--lookback-days must be between 0 and \(ScheduledLaunchpadFlow.maxLookbackDays)")
        }
        if schedule != nil, members.isEmpty && teams.isEmpty {
            throw ValidationError("--schedule needs at least one --member NAME or --team TEAM")
        }
        if modes == 0, members.isEmpty && teams.isEmpty { throw ValidationError("give at least one --member NAME or --team TEAM") }
        if !(1...50).contains(maxParallel) { throw ValidationError("--max-parallel must be between 1 and 50") }
        if modes == 0, from == nil || to == nil {
            throw ValidationError("give --from and --to (or --schedule, --list-schedules, --delete-schedule)")
        }
        for (name, value) in [("--from", from), ("--to", to)] {
            if let value, let refusal = CivilDate.refusal(iso: value) { throw ValidationError("\(name) '\(value)' \(refusal)") }
        }
        if let from, let first = CivilDate(iso: from), let refusal = LaunchpadQuery.tooEarly(first, name: "--from") {
            throw ValidationError(refusal)
        }
        if let from, let to, let first = CivilDate(iso: from), let last = CivilDate(iso: to), last < first {
            throw ValidationError("--to \(to) is before --from \(from): swap them")
        }
        if modes == 0, let to, let last = CivilDate(iso: to) {
            let window = ExtractionWindow(firstDay: last, lastDay: last)
            if !window.hasEnded(by: Date()) {
                throw ValidationError(
                    "--to \(to) has not ended (the window ends at \(window.end)); a run now would miss what happens until then: give a day before today (UTC)"
                )
            }
        }
    }

    func run() async throws {
        // OTEL_EXPORTER_OTLP_ENDPOINT: the start spans join the runs' traces.
        try await OTLPTracer.tracing(serviceName: "start-launchpad-workflow") { try await runCommand() }
    }

    func runCommand() async throws {
        let queue = self.queue.resolved(env: "LAUNCHPAD_TASK_QUEUE", default: LaunchpadFlow.queueName)
        if schedule != nil || listSchedules || deleteSchedule != nil {
            // Every schedule's input is checked before the first is created or changed.
            let inputs = try scheduleInputs()
            let client = try await server.connect()
            defer { client.close() }
            var schedules = LaunchpadSchedules(client: client, taskQueue: queue)
            if schedule != nil {
                schedules.searchAttributes = await LaunchpadProgress.startAttributes(client: client) { ConsoleOutput.line($0) }
            }
            try await manageSchedules(schedules, inputs: inputs)
            return
        }
        // Every input is checked before anything starts: a bad member must not surface after
        // a team's extraction has run for hours.
        let teamInputs = try oneOffTeamInputs()
        let launches: [FlowLauncher.Launch]
        do {
            launches =
                members.isEmpty
                ? []
                : try FlowLauncher.launchpadLaunches(
                    members: members, from: from ?? "", to: to ?? "", serviceRoot: serviceRoot, version: version)
        } catch {
            throw ValidationError(error.message)
        }
        let client = try await server.connect()
        defer { client.close() }
        var launcher = FlowLauncher(client: client, uiBaseURL: ui.resolved)
        launcher.searchAttributes = await LaunchpadProgress.startAttributes(client: client) { ConsoleOutput.line($0) }
        launcher.noWorkerNotice = { ConsoleOutput.warning($0) }
        // Teams and members run side by side, and every result is waited for.
        let teamLaunches = teamInputs.map { input in
            FlowLauncher.Launch(
                workflowId: "launchpad-team-\(input.team)-\(from ?? "")-\(to ?? "")-\(UUID().uuidString.prefix(8).lowercased())",
                workflowType: TeamLaunchpadFlow.name, args: input.json,
                note:
                    "one LaunchpadFlow child per member of ~\(input.team)\(input.formerMembers ? " (former members who may have been members during the window too)" : ""), \(input.maxParallel) at a time"
            )
        }
        let all = teamLaunches + launches
        let done = Counter()
        let outcomes = try await Self.interruptible {
            try await launcher.runUntilInterrupted(
                all, workflowType: LaunchpadFlow.name, taskQueue: queue,
                onStarted: { launch, link in
                    ConsoleOutput.line("started \(launch.workflowId)\(launch.note.map { " (\($0))" } ?? "")\n  \(link)")
                },
                onFinished: { outcome in
                    let n = done.increment()
                    switch outcome.result {
                    case .success(let result): ConsoleOutput.line("[\(n)/\(all.count)] \(outcome.launch.workflowId) completed: \(result)")
                    case .failure(let error):
                        ConsoleOutput.line("[\(n)/\(all.count)] " + FlowLauncher.failureLine(outcome.launch.workflowId, error))
                    }
                })
        }
        let results = outcomes.map(\.result)
        let unreadable = results.filter { if case .failure(let e) = $0 { FlowLauncher.resultUnreadable(e) } else { false } }.count
        let failures = results.filter { if case .failure = $0 { true } else { false } }.count - unreadable
        let partial = results.filter { if case .success(let r) = $0 { r.isPartial } else { false } }.count
        ConsoleOutput.line(FlowLauncher.summaryLine(total: all.count, failures: failures, partial: partial, unreadable: unreadable))
        // A result that could not be read cannot be told complete: not a success either.
        if failures > 0 || unreadable > 0 { throw ExitCode(1) }
        if partial > 0, strict { throw ExitCode(Self.partialExitCode) }
    }

    /// `body`, or, when SIGINT/SIGTERM interrupts it, a line naming the workflows that keep
    /// running and exit status 130 (as a shell reports an interrupted command).
    static func interruptible<T>(_ body: () async throws -> T) async throws -> T {
        do {
            return try await body()
        } catch let interrupted as FlowLauncher.Interrupted {
            ConsoleOutput.line("\(interrupted)")
            throw ExitCode(130)
        }
    }

    /// The exit status with `--strict` when every workflow completed but some could not read
    /// everything (their results name it under `skipped`).
    static let partialExitCode: Int32 = 3

    /// The `TeamLaunchpadInput` of each distinct `--team` (one-off runs), validated.
    func oneOffTeamInputs() throws -> [TeamLaunchpadInput] {
        var inputs: [TeamLaunchpadInput] = []
        for team in teams {
            let input: TeamLaunchpadInput
            do {
                input = try TeamLaunchpadInput(
                    json: TeamLaunchpadInput(
                        team: team, dataDateStart: from, dataDateEnd: to, serviceRoot: serviceRoot,
                        version: version, maxParallel: maxParallel, formerMembers: formerMembers
                    ).json)
                _ = try input.query(member: input.team, window: input.window(now: Date()))
            } catch {
                throw ValidationError(error.message)
            }
            if !inputs.contains(where: { $0.team == input.team }) { inputs.append(input) }
        }
        return inputs
    }

    /// The inputs of `--schedule`: one per distinct team, then one per distinct member, all
    /// validated before any schedule is created or changed.
    func scheduleInputs() throws -> (teams: [TeamLaunchpadInput], members: [ScheduledLaunchpadInput]) {
        guard let period = schedule else { return ([], []) }
        do {
            var teamInputs: [TeamLaunchpadInput] = []
            for team in teams {
                let input = try TeamLaunchpadInput(
                    json: TeamLaunchpadInput(
                        team: team, period: period, serviceRoot: serviceRoot,
                        version: version, maxParallel: maxParallel, lookbackDays: lookbackDays, formerMembers: formerMembers
                    ).json)
                try LaunchpadSchedules.validate(team: input)
                if !teamInputs.contains(where: { $0.team == input.team }) { teamInputs.append(input) }
            }
            var memberInputs: [ScheduledLaunchpadInput] = []
            for member in members {
                let input = ScheduledLaunchpadInput(
                    member: member, period: period, serviceRoot: serviceRoot, version: version, lookbackDays: lookbackDays)
                try LaunchpadSchedules.validate(input)
                if !memberInputs.contains(where: { $0.member.lowercased() == input.member.lowercased() }) { memberInputs.append(input) }
            }
            return (teamInputs, memberInputs)
        } catch {
            throw ValidationError(error.message)
        }
    }

    /// When the schedule runs next (` (next run …)`), or that it is paused and runs no more
    /// until unpaused (an update keeps a pause: the server lists future times even then); empty
    /// when the look-up fails (the schedule exists now: that must not report failure).
    static func nextRun(_ handle: ScheduleHandle) async -> String {
        guard let description = try? await handle.describe() else { return "" }
        if description.isPaused {
            let note = description.note.isEmpty ? "" : " (\(description.note))"
            return
                " — PAUSED\(note): it starts no run until unpaused (the Web UI, or temporal schedule toggle --unpause --schedule-id \(handle.id))"
        }
        return description.futureActionTimes.first.map { " (next run \($0))" } ?? ""
    }

    /// `--schedule`, `--list-schedules`, `--delete-schedule`.
    func manageSchedules(
        _ schedules: LaunchpadSchedules, inputs: (teams: [TeamLaunchpadInput], members: [ScheduledLaunchpadInput])
    ) async throws {
        if schedule != nil {
            for input in inputs.teams {
                let result: (handle: ScheduleHandle, created: Bool)
                do {
                    result = try await schedules.createOrUpdate(team: input)
                } catch let error as ETLError {
                    throw ValidationError(error.message)
                }
                ConsoleOutput.line(
                    "\(result.created ? "created" : "updated") schedule \(result.handle.id)\(await Self.nextRun(result.handle))")
            }
            for input in inputs.members {
                let result: (handle: ScheduleHandle, created: Bool)
                do {
                    result = try await schedules.createOrUpdate(input)
                } catch let error as ETLError {
                    throw ValidationError(error.message)
                }
                ConsoleOutput.line(
                    "\(result.created ? "created" : "updated") schedule \(result.handle.id)\(await Self.nextRun(result.handle))")
            }
        } else if listSchedules {
            let entries = try await schedules.list()
            if entries.isEmpty { ConsoleOutput.line("no launchpad schedules") }
            for entry in entries {
                let next = entry.info.futureActionTimes.first.map { "next \($0.date)" } ?? "no next run"
                ConsoleOutput.line(
                    "\(entry.scheduleID)\t\(entry.info.workflowType.name)\t\(entry.info.paused ? "paused" : "active")\t\(next)")
            }
        } else if let id = deleteSchedule {
            try await schedules.delete(id: id)
            ConsoleOutput.line("deleted schedule \(id)")
        }
    }
}

extension LaunchpadSchedulePeriod: ExpressibleByArgument {}

/// A thread-safe progress counter.
final class Counter: Sendable {
    private let value = Mutex(0)
    func increment() -> Int {
        value.withLock {
            $0 += 1
            return $0
        }
    }
}
