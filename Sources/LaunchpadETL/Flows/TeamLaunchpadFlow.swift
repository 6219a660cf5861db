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
    /// Marks runs that refused a `continuation` in an input no team run wrote (a run no other
    /// run continued into): it skipped the roster, the date checks and the window's end.
    static let startedContinuationPatch = "team-continuation-refused-at-start"
    /// Marks runs whose members' inputs name the team (`FlowInput.creditTeam`), so that each
    /// member's run credits the others' reviews and comments on the proposals it reads.
    static let coMembersPatch = "team-co-members"
    /// Marks runs whose members' inputs also list the people to credit as the run listed them
    /// (`FlowInput.creditPeople`); before, each member's run read the team's people again, and
    /// someone who left the team during the run was credited by none.
    static let creditPeoplePatch = "team-credit-people"
    /// The most people a team's members' inputs list (`FlowInput.creditPeople`): every member's
    /// input holds the list, so a team's histories grow with the square of its size (500 people:
    /// about 7.5 KB per member). Bigger teams' members read the team's people themselves.
    static let maxCreditPeopleListed = 500
    /// Marks runs that continue as new (`TeamContinuation`) when the server suggests it or after
    /// `membersPerRun` members; runs started before it hold every member in one history.
    static let continueAsNewPatch = "team-continue-as-new"
    /// The workflow type of the runs a team run continues as (`TeamContinuation`): workers of
    /// releases before the chain refuse a `TeamLaunchpadFlow` input with a continuation, for
    /// good; they do not have this type, so during a rolling upgrade its task waits for a worker
    /// that does.
    public static let continuedName = "TeamLaunchpadFlowContinued"

    public static var additionalNames: [String] { [continuedName] }

    /// The most members one run of a team's chain starts (about nine events each: under the
    /// server's 10,240-event warning), for servers that do not suggest continuing as new.
    static let membersPerRun = 1_000
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
        let day = LaunchpadQuery.earliestDay.description
        let probe = try input.query(member: input.team, window: (day, day))
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

    /// The body of `run`: one run of the team's chain (`TeamContinuation`).
    private func runTeam(_ context: WorkflowContext, _ json: JSONValue) async throws -> FlowResult {
        let plain: JSONValue
        let carried: TeamContinuation?
        let input: TeamLaunchpadInput
        let window: (start: String, end: String)
        var catchUp: ScheduleCatchUp?
        do {
            (plain, carried) = try TeamContinuation.split(json)
            input = try TeamLaunchpadInput(json: plain)
            // Only a run of the chain carries one (continued into, or a retry of such a run); in
            // a start written by hand it would run the members and window it names unchecked.
            if carried != nil, context.info.continuedRunID == nil, context.patched(Self.startedContinuationPatch) {
                try TeamContinuation.refuseInAStart()
            }
            if let carried {
                // The first run of the chain decided the window (and a scheduled run's catch-up).
                (window, catchUp) = ((carried.windowStart, carried.windowEnd), carried.catchUp)
                _ = try input.query(member: input.team, window: window)
            } else {
                let lookback = input.period == nil ? 0 : ScheduledLaunchpadFlow.lookbackDays(context, input.lookbackDays)
                let period = input.window(now: context.info.scheduledStartTime ?? context.now, lookbackDays: lookback)
                if input.period != nil {
                    let launchpad = try input.query(member: input.team, window: period).summaryBase()["launchpad"] ?? ""
                    catchUp = ScheduleCatchUp.plan(
                        context, window: period, lookbackDays: lookback, subject: ["team": input.team, "launchpad": launchpad])
                }
                window = catchUp?.window ?? period
                let query = try input.query(member: input.team, window: window)  // validates dates and service root
                try LaunchpadQuery.refuseTooEarly(window.start, name: "data_date_start", context: context)
                // A window that has not ended (the starter refuses it; the CLI and other clients
                // did not): every member's extract refused it after the roster was listed and the
                // children started, one failure per member. Asked under a patch, only then (runs
                // started before it replay as they ran).
                if input.period == nil, !query.hasEnded(now: context.now), context.patched(Self.endedWindowPatch) {
                    try query.requireEnded(now: context.now)
                }
            }
        } catch {
            throw error.applicationError
        }
        let members: [String]
        var hidden: [String] = []
        var periods: [String: TeamRoster.Period] = [:]
        if let carried {
            (members, hidden, periods) = (carried.members, carried.hidden, carried.periods)
        } else {
            // Former members are those who may have been members during the window: the activity
            // is given the window itself (a scheduled run computes it here).
            var rosterInput = input
            if input.formerMembers {
                (rosterInput.dataDateStart, rosterInput.dataDateEnd, rosterInput.period, rosterInput.lookbackDays) = (
                    window.start, window.end, nil, nil
                )
            }
            let options = input.formerMembers ? Self.membersAndFormerOptions : Self.membersOptions
            if context.patched(Self.rosterPatch) {
                let roster = try await LaunchpadFlow.call(context, Self.rosterActivityName, rosterInput, options, as: TeamRoster.self)
                (members, hidden, periods) = (roster.people, roster.hidden, roster.periods ?? [:])
            } else {
                members = try await LaunchpadFlow.call(
                    context, input.formerMembers ? Self.membersAndFormerActivityName : Self.membersActivityName, rosterInput, options,
                    as: [String].self)
            }
        }
        if carried != nil, LaunchpadProgress.isEnabled(context, patch: Self.progressPatch),
            context.searchAttribute(LaunchpadProgress.stage) == LaunchpadProgress.Stage.continued.rawValue
        {
            LaunchpadProgress.report(context, .started)
        }
        let total = carried?.total ?? members.count
        context.logger.info(
            "TeamLaunchpadFlow fanning out",
            metadata: [
                "team": "\(input.team)", "members": "\(members.count)", "of": "\(total)", "start": "\(window.start)",
                "end": "\(window.end)", "max_parallel": "\(input.maxParallel)", "run": "\((carried?.runs ?? 0) + 1)",
            ])
        let parentID = context.info.workflowID
        // Every member's input up front, so a bad one fails the team cleanly before any child starts.
        let childInputs: [(member: String, input: JSONValue)]
        // Each member's run credits the others' reviews and comments on the proposals it reads.
        let creditingTeam = carried?.creditTeam ?? context.patched(Self.coMembersPatch)
        // The people credited are the roster's current people (former members are read over
        // their own days only), as this chain's first run listed them (up to
        // `maxCreditPeopleListed`).
        let creditPeople: [String]?
        if !creditingTeam {
            creditPeople = nil
        } else if let carried {
            creditPeople = carried.creditPeople
        } else {
            let current = members.filter { periods[$0] == nil }
            creditPeople = current.count <= Self.maxCreditPeopleListed && context.patched(Self.creditPeoplePatch) ? current : nil
        }
        do {
            // A former member is read over the days they may have been a member on.
            childInputs = try members.map { member throws(ETLError) in
                let days = periods[member].map { (start: $0.first, end: $0.last) } ?? window
                let query = try input.query(member: member, window: days)
                return (
                    member,
                    FlowInput(query: query, creditTeam: creditingTeam ? input.team : nil, creditPeople: creditPeople).json
                )
            }
        } catch {
            throw error.applicationError
        }
        // Runs started before the chain existed replay as they ran: every member in one history.
        let chaining = carried != nil || context.patched(Self.continueAsNewPatch)
        let (outcomes, started) = await withTaskGroup(of: (String, Result<FlowResult, ApplicationError>).self) { group in
            var outcomes: [String: Result<FlowResult, ApplicationError>] = [:]
            var started = 0
            for (index, child) in childInputs.enumerated() {
                if index >= input.maxParallel, let (done, outcome) = await group.next() { outcomes[done] = outcome }
                // Decided from history (the suggestion comes in each task's started event), so
                // every replay stops at the same member.
                if chaining, started > 0, started >= Self.membersPerRun || context.isContinueAsNewSuggested { break }
                group.addTask {
                    (child.member, await Self.runMember(context, child.member, child.input, id: "\(parentID)/\(child.member)"))
                }
                started += 1
            }
            for await (done, outcome) in group { outcomes[done] = outcome }
            return (outcomes, started)
        }
        // The team flow itself was cancelled: its children were cancelled with it.
        try Task.checkCancellation()
        var tally = carried?.tally ?? TeamTally()
        for member in members.prefix(started) { tally.add(member, outcomes[member], logger: context.logger) }
        if started < members.count {
            let rest = Array(members.dropFirst(started))
            let left = Set(rest)
            let next = TeamContinuation(
                windowStart: window.start, windowEnd: window.end, members: rest, total: total, hidden: hidden,
                periods: periods.filter { left.contains($0.key) }, creditTeam: creditingTeam, creditPeople: creditPeople,
                catchUp: catchUp, tally: tally,
                runs: (carried?.runs ?? 0) + 1)
            context.logger.info(
                "TeamLaunchpadFlow continuing as new",
                metadata: [
                    "team": "\(input.team)", "members_done": "\(total - rest.count)", "members_left": "\(rest.count)",
                    "history_length": "\(context.historyLength)",
                ])
            // The stage says the run handed on (not `started` for ever among closed runs); the
            // next run, whose attributes start as this one's, says `started` again.
            if LaunchpadProgress.isEnabled(context, patch: Self.progressPatch) { LaunchpadProgress.report(context, .continued) }
            try context.continueAsNew(input: try next.attached(to: plain), workflowType: Self.continuedName)
        }
        if !tally.failures.isEmpty {
            throw ApplicationError(
                "\(tally.failures.count) of \(total) members of team '\(input.team)' failed (the others' events are loaded; read the failed ones again alone, StartLaunchpadWorkflow --member NAME with the team run's dates, service root and version, or re-run the whole team): "
                    + tally.failures.joined(separator: "; "), type: Self.membersFailedType, nonRetryable: true)
        }
        let base = (try? input.query(member: input.team, window: window).summaryBase()) ?? [:]
        let result = tally.result(
            base: base, team: input.team, total: total, hidden: hidden, workflowID: parentID, logger: context.logger)
        return catchUp?.annotate(result) ?? result
    }

    /// The note of a team whose members' events went to more than one store (`stores`: member
    /// → store short id), naming each store's members; nil when one store holds them all.
    static func splitStoresNote(_ stores: [String: NoteList]) -> String? {
        guard stores.count > 1 else { return nil }
        let named = stores.keys.sorted().map { store in
            let members = stores[store]!
            return "store \(store): \(bounded(members.notes.sorted(), separator: ", ", more: members.more))"
        }
        return
            "the members' events went to \(stores.count) event stores (\(named.joined(separator: "; "))), so a report of one store shows only its members; workers on several machines should share one PostgreSQL store (ETL_DB_URL / --db-url)"
    }

    /// `notes` joined, up to about `limit` characters, then how many more there are. A team's
    /// result and failure hold one note per member: with thousands of members (or most of them
    /// failing in an outage) they passed the server's 2 MiB payload limit, and the run ended
    /// with a size error after every load had committed. Each member's own run keeps its note.
    /// `more`: notes already counted and not kept (`NoteList`), said in the "… and N more".
    static func bounded(_ notes: [String], separator: String, limit: Int = noteLimit, more: Int = 0) -> String {
        var text = ""
        for (index, note) in notes.enumerated() {
            let next = (index == 0 ? "" : separator) + note
            if text.utf8.count + next.utf8.count > limit, index > 0 {
                return text + separator + "… and \(notes.count - index + more) more (each member's own run says)"
            }
            text += next
        }
        return more > 0 ? text + separator + "… and \(more) more (each member's own run says)" : text
    }

    /// About how many characters of notes of one kind a team's result holds.
    static let noteLimit = 32_768

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
