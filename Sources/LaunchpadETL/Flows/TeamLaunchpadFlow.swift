import Foundation
import Logging
import Temporal
import TemporalProto
public import TemporalWorker

/// A Launchpad team's activity: lists the team's people (an activity, following every page of
/// `~team/members` and expanding sub-teams transitively, each person once; with
/// `former_members`, also the people whose membership ended but may have been active during
/// the window: see `LaunchpadClient.formerMembers`), then runs one
/// `LaunchpadFlow` child workflow per person over the same window, at most `max_parallel` at a
/// time, and sums their results. A member whose account is suspended (410) is
/// skipped and named in the result's `skipped_members`, not a failure (the result is partial:
/// its activity before the suspension exists but cannot be read).
///
/// Every member's flow runs to its end even when another fails: the events of the members
/// that succeeded are loaded, and the team flow then fails with `TeamMembersFailed` naming
/// each failed member and why (re-running the team is safe: loads are idempotent). Children
/// have ids `<team flow id>/<member>`, so each member's run is easy to find in the Web UI.
public final class TeamLaunchpadFlow: Flow {
    /// `launchpad-task-queue`: its children are `LaunchpadFlow`s on the same queue.
    public static let queueName = LaunchpadFlow.queueName
    /// The members activity's name.
    public static let membersActivityName = "list_team_members"
    /// Its name in runs with `former_members` (the members, then the former members).
    public static let membersAndFormerActivityName = "list_team_members_and_former"
    /// The roster activity of runs that record `rosterPatch`: the people (former members too,
    /// when asked for) and what the members listings did not show (`TeamRoster`).
    public static let rosterActivityName = "list_team_roster"
    /// Marks runs that take their members from `rosterActivityName`; earlier runs replay with
    /// the activities they called.
    static let rosterPatch = "team-roster-hidden-members"
    /// The patch guarding the team run's own progress attributes (`LaunchpadProgress`): runs
    /// started before it recorded none, and replay without them.
    static let progressPatch = "team-progress-search-attributes"
    /// Marks runs that refuse a window that has not ended before listing the roster.
    static let endedWindowPatch = "team-window-ended"
    /// Marks runs whose members' inputs name the team (`FlowInput.creditTeam`), so that each
    /// member's run credits the others' reviews and comments on the proposals it reads.
    static let coMembersPatch = "team-co-members"
    /// The failure type when some members' flows failed.
    public static let membersFailedType = "TeamMembersFailed"

    /// Creates the instance for one run.
    public init() {}

    /// The roster activities: `list_team_roster` (runs with `rosterPatch`), and for runs of
    /// earlier releases `list_team_members` and `list_team_members_and_former`.
    public static func activities(environment: FlowEnvironment) -> [ActivityDefinition] {
        // Runs of earlier releases: one body under two names (runs with `former_members` called
        // the second, which a worker that predates them does not have, so such a run failed
        // loudly there instead of listing the members as of the run without a word).
        [membersActivityName, membersAndFormerActivityName].map { name in
            ActivityDefinition(name) { (input: TeamLaunchpadInput, context: ActivityContext) async throws -> [String] in
                try await StagingActivities.etl(context) { () throws(ETLError) -> [String] in
                    try await withBackground({ await rosterHeartbeat(context) }) { () throws(ETLError) in
                        try await roster(input, context, environment).people
                    }
                }
            }
        }
            + [
                ActivityDefinition(rosterActivityName) { (input: TeamLaunchpadInput, context: ActivityContext) async throws -> TeamRoster in
                    try await StagingActivities.etl(context) { () throws(ETLError) -> TeamRoster in
                        try await withBackground({ await rosterHeartbeat(context) }) { () throws(ETLError) in
                            try await roster(input, context, environment)
                        }
                    }
                }
            ]
    }

    /// The team's people, sub-teams expanded, then (with `former_members`) those who left but
    /// may have been members during the window; and what the listings did not show.
    static func roster(_ input: TeamLaunchpadInput, _ context: ActivityContext, _ environment: FlowEnvironment) async throws(ETLError)
        -> TeamRoster
    {
        // Any member name makes a valid query; only the service root, version and name matter here.
        let probe = try input.query(member: input.team, window: ("2000-01-01", "2000-01-01"))
        var configuration = try LaunchpadClientConfiguration(query: probe)
        environment.configureClient(&configuration)
        let client = LaunchpadClient(configuration: configuration, logger: context.logger)
        let roster = try await client.teamPeople(team: input.team)
        var former: (people: [String], periods: [String: ExtractionWindow], hidden: [String]) = ([], [:], [])
        if input.formerMembers, let first = input.dataDateStart.flatMap(CivilDate.init(iso:)),
            let last = input.dataDateEnd.flatMap(CivilDate.init(iso:))
        {
            former = try await client.formerMembers(
                of: [input.team] + roster.subTeams, during: ExtractionWindow(firstDay: first, lastDay: last),
                excluding: Set(roster.people))
        }
        context.logger.info(
            "team members",
            metadata: [
                "team": "\(input.team)", "people": "\(roster.people.count)",
                "sub_teams": "\(roster.subTeams.joined(separator: ","))",
                "former_members": "\(former.people.joined(separator: ","))",
                "hidden": "\((roster.hidden + former.hidden).joined(separator: "; "))",
            ])
        var said: Set<String> = []
        return TeamRoster(
            people: roster.people + former.people, hidden: (roster.hidden + former.hidden).filter { said.insert($0).inserted },
            periods: input.formerMembers
                ? former.periods.mapValues { TeamRoster.Period(first: $0.firstDay.description, last: $0.lastDay.description) } : nil)
    }

    /// Lists the members, fans out one `LaunchpadFlow` child per member, and sums the results.
    /// - Throws: non-retryable `ApplicationError`s: `InvalidQuery` (bad input, before any
    ///   activity), `UnknownLaunchpadTeam`, or `TeamMembersFailed` after every child finished.
    public func run(context: WorkflowContext, input json: JSONValue) async throws -> FlowResult {
        // Started with progress attributes (the starter and the schedules do): the team run ends
        // at `loaded`, `partial` or `failed` too, so that a failing daily team run (a renamed
        // team, a failed member) shows under `LaunchpadStage = 'failed'`.
        let progress = LaunchpadProgress.isEnabled(context, patch: Self.progressPatch)
        return try await LaunchpadProgress.tracking(context, enabled: progress) { try await runTeam(context, json) }
    }

    /// The body of `run`.
    private func runTeam(_ context: WorkflowContext, _ json: JSONValue) async throws -> FlowResult {
        let input: TeamLaunchpadInput
        let window: (start: String, end: String)
        var catchUp: ScheduleCatchUp?
        do {
            input = try TeamLaunchpadInput(json: json)
            let lookback = input.period == nil ? 0 : ScheduledLaunchpadFlow.lookbackDays(context, input.lookbackDays)
            let period = input.window(now: context.info.scheduledStartTime ?? context.now, lookbackDays: lookback)
            if input.period != nil {
                let launchpad = try input.query(member: input.team, window: period).summaryBase()["launchpad"] ?? ""
                catchUp = ScheduleCatchUp.plan(
                    context, window: period, lookbackDays: lookback, subject: ["team": input.team, "launchpad": launchpad])
            }
            window = catchUp?.window ?? period
            let query = try input.query(member: input.team, window: window)  // validates dates and service root
            // A window that has not ended (the starter refuses it; the CLI and other clients
            // did not): every member's extract refused it after the roster was listed and the
            // children started, one failure per member. Asked under a patch, only then (runs
            // started before it replay as they ran).
            if input.period == nil, !query.hasEnded(now: context.now), context.patched(Self.endedWindowPatch) {
                try query.requireEnded(now: context.now)
            }
        } catch {
            throw error.applicationError
        }
        // Former members are those who may have been members during the window: the activity
        // is given the window itself (a scheduled run computes it here).
        var rosterInput = input
        if input.formerMembers {
            (rosterInput.dataDateStart, rosterInput.dataDateEnd, rosterInput.period, rosterInput.lookbackDays) = (
                window.start, window.end, nil, nil
            )
        }
        let options = input.formerMembers ? Self.membersAndFormerOptions : Self.membersOptions
        let members: [String]
        var hidden: [String] = []
        var periods: [String: TeamRoster.Period] = [:]
        if context.patched(Self.rosterPatch) {
            let roster = try await LaunchpadFlow.call(context, Self.rosterActivityName, rosterInput, options, as: TeamRoster.self)
            (members, hidden, periods) = (roster.people, roster.hidden, roster.periods ?? [:])
        } else {
            members = try await LaunchpadFlow.call(
                context, input.formerMembers ? Self.membersAndFormerActivityName : Self.membersActivityName, rosterInput, options,
                as: [String].self)
        }
        context.logger.info(
            "TeamLaunchpadFlow fanning out",
            metadata: [
                "team": "\(input.team)", "members": "\(members.count)", "start": "\(window.start)", "end": "\(window.end)",
                "max_parallel": "\(input.maxParallel)",
            ])
        let parentID = context.info.workflowID
        // Every member's input up front, so a bad one fails the team cleanly before any child starts.
        let childInputs: [(member: String, input: JSONValue)]
        // Each member's run credits the others' reviews and comments on the proposals it reads.
        let creditingTeam = context.patched(Self.coMembersPatch)
        do {
            // A former member is read over the days they may have been a member on.
            childInputs = try members.map { member throws(ETLError) in
                let days = periods[member].map { (start: $0.first, end: $0.last) } ?? window
                let query = try input.query(member: member, window: days)
                return (member, FlowInput(query: query, creditTeam: creditingTeam ? input.team : nil).json)
            }
        } catch {
            throw error.applicationError
        }
        let outcomes = await withTaskGroup(of: (String, Result<FlowResult, ApplicationError>).self) { group in
            var outcomes: [String: Result<FlowResult, ApplicationError>] = [:]
            for (index, child) in childInputs.enumerated() {
                if index >= input.maxParallel, let (done, outcome) = await group.next() { outcomes[done] = outcome }
                group.addTask {
                    (child.member, await Self.runMember(context, child.member, child.input, id: "\(parentID)/\(child.member)"))
                }
            }
            for await (done, outcome) in group { outcomes[done] = outcome }
            return outcomes
        }
        // The team flow itself was cancelled: its children were cancelled with it.
        try Task.checkCancellation()
        var processed = 0
        var inserted = 0
        var removed: Int?
        var kept: [String] = []
        var failures: [String] = []
        var nameTaken: [String] = []
        var skipped: [String] = []
        var unread: [String] = []
        var anonymous = 0
        var teamProjectsLeft: [String] = []
        var superseded: [String] = []
        var reread: [String] = []
        var stores: [String: String] = [:]  // member → store short id
        for member in members {
            switch outcomes[member] {
            case .success(let result)?:
                if let store = result.summary[FlowResult.storeKey] { stores[member] = store }
                processed += result.itemsProcessed
                inserted += result.itemsInserted
                if let count = result.itemsRemoved { removed = (removed ?? 0) + count }
                if let note = result.summary[FlowResult.keptKey] { kept.append("\(member): \(note)") }
                if let note = result.summary[FlowResult.supersededKey] { superseded.append("\(member): \(note)") }
                if result.summary[FlowResult.accessKey] != nil { anonymous += 1 }
                if let note = result.summary[FlowResult.teamProjectsNotSearchedKey] { teamProjectsLeft.append("\(member): \(note)") }
                if let notes = result.summary[FlowResult.skippedKey] { unread.append("\(member): \(notes)") }
                if result.summary[FlowResult.rereadKey] != nil { reread.append(member) }
            case .failure(let error)? where error.type == ETLError.Code.memberGone.rawValue:
                // A suspended account cannot be read (410): named in the result, which is partial.
                skipped.append(member)
                context.logger.warning(
                    "skipping a member whose account is gone", metadata: ["member": "\(member)", "reason": "\(error.message)"])
            case .failure(let error)? where error.type == ETLError.Code.deactivatedNameTaken.rawValue:
                // No re-run can change it: named in the result, which is partial, as a suspended one.
                nameTaken.append(member)
                context.logger.warning(
                    "skipping a deactivated member whose old name another account holds",
                    metadata: ["member": "\(member)", "reason": "\(error.message)"])
            case .failure(let error)?:
                failures.append("\(member): \(error.type): \(error.message)")
            case nil:
                failures.append("\(member): no result")
            }
        }
        if !failures.isEmpty {
            throw ApplicationError(
                "\(failures.count) of \(members.count) members of team '\(input.team)' failed (the others' events are loaded; read the failed ones again alone, StartLaunchpadWorkflow --member NAME with the team run's dates, service root and version, or re-run the whole team): "
                    + Self.bounded(failures, separator: "; "), type: Self.membersFailedType, nonRetryable: true)
        }
        let first = try? input.query(member: input.team, window: window).summaryBase()
        var summary = first ?? [:]
        summary.removeValue(forKey: "member")
        summary["team"] = input.team
        summary["members"] = String(members.count)
        let skippedMembers =
            skipped.map { "\($0) (account suspended)" }
            + nameTaken.map { "\($0) (deactivated, and its old name is another account's now)" }
        if !skippedMembers.isEmpty { summary[FlowResult.skippedMembersKey] = Self.bounded(skippedMembers, separator: ", ") }
        // What the roster did not show comes first: whole people missing, not parts of a run.
        unread = hidden.map { "team roster: \($0)" } + unread
        if !unread.isEmpty { summary[FlowResult.skippedKey] = Self.bounded(unread, separator: "; ") }
        if !reread.isEmpty {
            summary[FlowResult.rereadKey] =
                "listings were read short of their total_size for " + Self.bounded(reread, separator: ", ") + "; read these days again"
        }
        if anonymous > 0 {
            summary[FlowResult.accessKey] =
                FlowResult.anonymousAccess
                + (anonymous < members.count - skipped.count - nameTaken.count ? ", \(anonymous) of the members" : "")
        }
        if !kept.isEmpty { summary[FlowResult.keptKey] = Self.bounded(kept, separator: "; ") }
        if !superseded.isEmpty { summary[FlowResult.supersededKey] = Self.bounded(superseded, separator: "; ") }
        if !teamProjectsLeft.isEmpty { summary[FlowResult.teamProjectsNotSearchedKey] = Self.bounded(teamProjectsLeft, separator: "; ") }
        if let split = Self.splitStoresNote(stores) {
            summary[FlowResult.splitStoresKey] = split
            context.logger.warning("the team's events went to several event stores", metadata: ["stores": "\(split)"])
        }
        var result = FlowResult(summary: summary, workflowId: parentID, itemsProcessed: processed, itemsInserted: inserted)
        result.itemsRemoved = removed
        return catchUp?.annotate(result) ?? result
    }

    /// The note of a team whose members' events went to more than one store (`stores`: member
    /// → store short id), naming each store's members; nil when one store holds them all.
    static func splitStoresNote(_ stores: [String: String]) -> String? {
        var byStore: [String: [String]] = [:]
        for (member, store) in stores { byStore[store, default: []].append(member) }
        guard byStore.count > 1 else { return nil }
        let named = byStore.keys.sorted().map { "store \($0): \(bounded(byStore[$0]!.sorted(), separator: ", "))" }
        return
            "the members' events went to \(byStore.count) event stores (\(named.joined(separator: "; "))), so a report of one store shows only its members; workers on several machines should share one PostgreSQL store (ETL_DB_URL / --db-url)"
    }

    /// `notes` joined, up to about `limit` characters, then how many more there are. A team's
    /// result and failure hold one note per member: with thousands of members (or most of them
    /// failing in an outage) they passed the server's 2 MiB payload limit, and the run ended
    /// with a size error after every load had committed. Each member's own run keeps its note.
    static func bounded(_ notes: [String], separator: String, limit: Int = 32_768) -> String {
        var text = ""
        for (index, note) in notes.enumerated() {
            let next = (index == 0 ? "" : separator) + note
            if text.utf8.count + next.utf8.count > limit, index > 0 {
                return text + separator + "… and \(notes.count - index) more (each member's own run says)"
            }
            text += next
        }
        return text
    }

    /// A team run started with progress attributes starts its members' flows with them too
    /// (children's attributes are not matched on replay, so older runs replay unchanged).
    static func memberAttributes(_ context: WorkflowContext) -> [String: any Encodable & Sendable] {
        context.searchAttribute(LaunchpadProgress.stage) == nil
            ? [:] : [LaunchpadProgress.stage.name: LaunchpadProgress.Stage.started.rawValue]
    }

    /// One member's `LaunchpadFlow` child; every way it can end becomes a result, so one
    /// member (failed, cancelled from the UI, impossible to start) never stops the others.
    static func runMember(_ context: WorkflowContext, _ member: String, _ input: JSONValue, id: String) async -> Result<
        FlowResult, ApplicationError
    > {
        do {
            return .success(
                try await context.executeChildWorkflow(
                    LaunchpadFlow.name, input: input,
                    options: ChildWorkflowOptions(
                        workflowID: id, parentClosePolicy: .requestCancel,
                        searchAttributes: memberAttributes(context)), as: FlowResult.self))
        } catch let error as ChildWorkflowError {
            if error.isCancellation { return .failure(ApplicationError("its flow \(id) was cancelled", type: "ChildWorkflowCancelled")) }
            let cause = error.applicationError
            return .failure(ApplicationError(cause?.message ?? "\(error)", type: cause?.type ?? "ChildWorkflowFailed"))
        } catch let error as ChildWorkflowStartError {
            return .failure(ApplicationError("\(error)", type: "ChildWorkflowStartError"))
        } catch {
            return .failure(ApplicationError("\(error)", type: "ChildWorkflowError"))
        }
    }

    /// The members activity: 30 min an attempt, retried like the ETL activities. It lists
    /// sub-teams one after another, each GET retried up to 6 times and honouring a
    /// `Retry-After` of up to a minute: one slow Launchpad outage used up the 2 min it had,
    /// on every attempt. It heartbeats while it runs (`rosterHeartbeat`), so a worker that
    /// dies is noticed within the heartbeat timeout, not the attempt's.
    static let membersOptions = ActivityOptions(
        startToCloseTimeout: .seconds(1_800), heartbeatTimeout: rosterHeartbeatTimeout,
        retryPolicy: ETLActivityOptions.retryPolicy(maximumAttempts: 5))
    /// With former members: one more request per former member (a big team has hundreds).
    static let membersAndFormerOptions = ActivityOptions(
        startToCloseTimeout: .seconds(3 * 3_600), heartbeatTimeout: rosterHeartbeatTimeout,
        retryPolicy: ETLActivityOptions.retryPolicy(maximumAttempts: 5))
    /// How long the roster activity may go without a heartbeat.
    static let rosterHeartbeatTimeout: Duration = .seconds(60)

    /// Heartbeats every third of the attempt's heartbeat timeout until cancelled (the roster
    /// activities' background: they have no progress to record, only that they are alive).
    static func rosterHeartbeat(_ context: ActivityContext) async {
        guard let timeout = context.info.heartbeatTimeout else { return }
        while !Task.isCancelled {
            context.heartbeat()
            try? await Task.sleep(for: timeout / 3)
        }
    }
}
