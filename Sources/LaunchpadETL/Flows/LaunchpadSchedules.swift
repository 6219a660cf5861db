import Foundation
public import Temporal
public import TemporalProto
import TemporalWorker

/// The project's Temporal schedules: one per member and period, id
/// `launchpad-<member>-<daily|weekly>`, each starting `ScheduledLaunchpadFlow` (daily at
/// 01:00 UTC, weekly on Mondays at 02:00 UTC) over the previous period.
public struct LaunchpadSchedules: Sendable {
    /// The prefix of every schedule id this project creates.
    public static let idPrefix = "launchpad-"

    /// The client the calls go through.
    public let client: TemporalClient
    /// The queue `ScheduledLaunchpadFlow` is served on.
    public var taskQueue: String
    /// Search attributes the scheduled runs start with (e.g. `LaunchpadProgress.startAttributes`).
    public var searchAttributes: [String: any Encodable & Sendable] = [:]

    /// Creates the helper.
    public init(client: TemporalClient, taskQueue: String = ScheduledLaunchpadFlow.queueName) {
        self.client = client
        self.taskQueue = taskQueue
    }

    /// `launchpad-<member>-<period>` (member lower-cased, as Launchpad names are).
    public static func scheduleID(member: String, period: LaunchpadSchedulePeriod) -> String {
        "\(idPrefix)\(member.lowercased())-\(period.rawValue)"
    }

    /// When a period's schedule runs: daily at 01:00 UTC, weekly on Mondays at 02:00 UTC.
    public static func spec(for period: LaunchpadSchedulePeriod) -> ScheduleSpec {
        switch period {
        case .daily: return .daily(hour: 1, minute: 0)
        case .weekly: return .weekly(on: 1, hour: 2, minute: 0)
        }
    }

    /// The schedule's action: start `ScheduledLaunchpadFlow` with `input`.
    public func action(for input: ScheduledLaunchpadInput) -> ScheduleAction {
        .startWorkflow(
            type: ScheduledLaunchpadFlow.name,
            workflowID: Self.scheduleID(member: input.member, period: input.period),
            taskQueue: taskQueue, args: [input], options: WorkflowOptions(searchAttributes: searchAttributes))
    }

    /// Creates the member's schedule for `input.period`, or updates it if it exists. An update
    /// whose input sets no `lookbackDays` keeps the one the schedule has.
    ///
    /// - Returns: the handle and whether it was created (false: updated).
    /// - Throws: `ETLError` (`InvalidQuery`) for a bad member, service root or version, before
    ///   any RPC; `TemporalError` for RPC failures.
    public func createOrUpdate(_ input: ScheduledLaunchpadInput) async throws -> (handle: ScheduleHandle, created: Bool) {
        try Self.validate(input)
        var input = input
        let id = Self.scheduleID(member: input.member, period: input.period)
        if input.lookbackDays == nil { input.lookbackDays = try await lookbackDays(ofSchedule: id) }
        try Self.validate(input)
        return try await createOrUpdate(id: id, period: input.period, action: action(for: input))
    }

    /// Checks a member schedule's input as its first run would read it (member, service root,
    /// version, lookback), without any RPC.
    /// - Throws: `ETLError` (`InvalidQuery`).
    public static func validate(_ input: ScheduledLaunchpadInput) throws(ETLError) {
        let lookback = try ScheduledLaunchpadFlow.lookbackDays(input.lookbackDays.map { .int($0) }, of: "ScheduledLaunchpadFlow")
        _ = try input.query(
            window: ScheduledLaunchpadFlow.window(
                input.period, now: Date(), lookbackDays: lookback ?? ScheduledLaunchpadFlow.defaultLookbackDays))
    }

    /// Checks a team schedule's input (a period and no dates; team, service root, version,
    /// lookback), without any RPC.
    /// - Returns: the schedule's period.
    /// - Throws: `ETLError` (`InvalidQuery`).
    @discardableResult
    public static func validate(team input: TeamLaunchpadInput) throws(ETLError) -> LaunchpadSchedulePeriod {
        guard let period = input.period, input.dataDateStart == nil, input.dataDateEnd == nil else {
            throw ETLError(.invalidQuery, "a team schedule needs a period (daily or weekly) and no dates", nonRetryable: true)
        }
        let lookback = try ScheduledLaunchpadFlow.lookbackDays(input.lookbackDays.map { .int($0) }, of: "TeamLaunchpadFlow")
        _ = try input.query(
            member: input.team,
            window: ScheduledLaunchpadFlow.window(period, now: Date(), lookbackDays: lookback ?? ScheduledLaunchpadFlow.defaultLookbackDays)
        )
        return period
    }

    /// `launchpad-team:<team>-<period>` (the `:` cannot occur in a Launchpad name, so a team's
    /// schedule never shares an id with a member's, e.g. member `team-x` and team `x`).
    public static func teamScheduleID(team: String, period: LaunchpadSchedulePeriod) -> String {
        "\(idPrefix)team:\(team.lowercased())-\(period.rawValue)"
    }

    /// The schedule's action for a team: start `TeamLaunchpadFlow` with `input` (which has a period).
    public func action(forTeam input: TeamLaunchpadInput) -> ScheduleAction {
        .startWorkflow(
            type: TeamLaunchpadFlow.name,
            workflowID: Self.teamScheduleID(team: input.team, period: input.period ?? .daily),
            taskQueue: taskQueue, args: [input.json], options: WorkflowOptions(searchAttributes: searchAttributes))
    }

    /// Creates the team's schedule for `input.period` (required), or updates it if it exists
    /// (keeping its `lookbackDays` when `input` sets none). Each run lists the team's members
    /// afresh, so joiners and leavers are followed.
    ///
    /// - Returns: the handle and whether it was created (false: updated).
    /// - Throws: `ETLError` (`InvalidQuery`) for a missing period or a bad service root or
    ///   version, before any RPC; `TemporalError` for RPC failures.
    public func createOrUpdate(team input: TeamLaunchpadInput) async throws -> (handle: ScheduleHandle, created: Bool) {
        let period = try Self.validate(team: input)
        var input = input
        if input.lookbackDays == nil {
            input.lookbackDays = try await lookbackDays(ofSchedule: Self.teamScheduleID(team: input.team, period: period))
        }
        try Self.validate(team: input)
        return try await createOrUpdate(
            id: Self.teamScheduleID(team: input.team, period: period), period: period,
            action: action(forTeam: input))
    }

    /// The `lookback_days` schedule `id` starts its runs with; nil when it sets none, or when
    /// there is no such schedule.
    public func lookbackDays(ofSchedule id: String) async throws -> Int? {
        let description: ScheduleDescription
        do {
            description = try await client.scheduleHandle(id: id).describe()
        } catch let error as TemporalError where error.code == .notFound {
            return nil
        }
        guard let start = description.startWorkflow, start.hasInput, !start.input.payloads.isEmpty else { return nil }
        let input = try client.dataConverter.fromPayloads(start.input, as: JSONValue.self)
        return input["lookback_days"]?.intValue
    }

    /// What the project's schedules do with runs that are due while one still runs, or that
    /// were missed while the server was down: each run covers its own period, so none may be
    /// dropped. Due runs wait their turn (buffer all, never skip: a skipped daily run would
    /// leave its day unread, and a green result for the next), and runs missed during an
    /// outage of up to a year are caught up, oldest first. A backfill takes the same policy.
    public static let policies = SchedulePolicies(overlap: .bufferAll, catchupWindow: .seconds(366 * 86_400))

    /// Creates schedule `id` or updates its spec, action and policies.
    func createOrUpdate(id: String, period: LaunchpadSchedulePeriod, action: ScheduleAction) async throws -> (
        handle: ScheduleHandle, created: Bool
    ) {
        let spec = Self.spec(for: period)
        let policies = Self.policies
        do {
            let handle = try await client.createSchedule(
                id: id, spec: spec, action: action, policies: policies,
                note: "created by StartLaunchpadWorkflow")
            return (handle, true)
        } catch let error as TemporalError where error.code == .alreadyExists {
            let handle = client.scheduleHandle(id: id)
            try await handle.update(spec: spec, action: action, policies: policies)
            return (handle, false)
        }
    }

    /// The ids of the project's schedules (`launchpad-…`), sorted, with their notes and
    /// paused state. Visibility is eventually consistent.
    public func list() async throws -> [ScheduleListEntry] {
        try await client.listSchedules().collect()
            .filter { $0.scheduleID.hasPrefix(Self.idPrefix) }
            .sorted { $0.scheduleID < $1.scheduleID }
    }

    /// Deletes one of the project's schedules (an id `list()` shows).
    /// - Throws: `ETLError` (`InvalidQuery`) for an id without the project's prefix, before any
    ///   RPC (a namespace's other schedules are not this tool's to delete); `TemporalError`
    ///   (`.notFound`, naming the id) when there is no such schedule.
    public func delete(id: String) async throws {
        guard id.hasPrefix(Self.idPrefix) else {
            throw ETLError(
                .invalidQuery,
                "schedule \(id) is not one of this project's (their ids start with \(Self.idPrefix); --list-schedules shows them): nothing was deleted. To delete another schedule, use `temporal schedule delete --schedule-id \(id)`",
                nonRetryable: true)
        }
        try await client.scheduleHandle(id: id).delete()
    }
}
