import LaunchpadETL

extension FixtureRouter {
    static let bugStatuses = LaunchpadEnums.bugTaskStatuses
    static let unresolvedBugStatuses = LaunchpadEnums.unresolvedBugTaskStatuses
    static let importanceRank = ["Critical": 0, "High": 1, "Medium": 2, "Low": 3, "Wishlist": 4, "Undecided": 5, "Unknown": 6]

    /// Whether `name` commented (message index > 0) or has any activity row on `bug` but the
    /// bug's creation (`whatchanged` "bug" with message "added bug"): Launchpad's
    /// `bug_commenter`. Subscriptions (`whatchanged` "bug", "added subscriber …") count.
    static func touched(_ bug: FixtureWorld.Bug, by name: String) -> Bool {
        bug.messages.dropFirst().contains { $0.owner == name }
            || bug.activity.contains { $0.person == name && !($0.whatChanged == "bug" && $0.message == "added bug") }
    }

    func searchTasks(_ context: FixtureContext, person: String?) throws(FixtureFailure) -> FixtureResponse {
        let reporter = try context.person("bug_reporter")
        let commenter = try context.person("bug_commenter")
        let assignee = try context.person("assignee")
        let createdSince = try context.time("created_since")
        let createdBefore = try context.time("created_before")
        let modifiedSince = try context.time("modified_since")
        let statuses = Set(context.list("status") ?? Self.unresolvedBugStatuses)
        if let unknown = statuses.first(where: { !Self.bugStatuses.contains($0) }) {
            throw .badRequest("status: Invalid value \"\(unknown)\". Acceptable values are: \(Self.bugStatuses.joined(separator: ", "))")
        }
        let omitDuplicates = context.bool("omit_duplicates", default: true)
        var rows: [(bug: FixtureWorld.Bug, task: FixtureWorld.Task)] = []
        for bug in world.bugs.values {
            if omitDuplicates && bug.duplicateOf != nil { continue }
            if let reporter, bug.owner != reporter { continue }
            if let commenter, !Self.touched(bug, by: commenter) { continue }
            if let modifiedSince, !(bug.lastUpdated > modifiedSince) { continue }
            if let person, reporter == nil, commenter == nil, assignee == nil,
                !(bug.owner == person || bug.tasks.contains { $0.assignee == person } || Self.touched(bug, by: person))
            {
                continue
            }
            // Every search here has a person or no target as its context: the tasks of
            // deactivated projects are left out (a bug with another task is still listed by it).
            for task in bug.tasks where statuses.contains(task.status) && !faults.deactivatedProjects.contains(task.target) {
                if let assignee, task.assignee != assignee { continue }
                // As on Launchpad: the task's creation date, not the bug's.
                let taskCreated = task.created ?? bug.created
                if let createdSince, !(taskCreated > createdSince) { continue }
                if let createdBefore, !(taskCreated < createdBefore) { continue }
                rows.append((bug, task))
            }
        }
        let order = context.list("order_by") ?? ["-importance"]
        rows.sort { left, right in
            if order.first == "id" || order.first == "-id" {
                if left.bug.id != right.bug.id { return order.first == "id" ? left.bug.id < right.bug.id : left.bug.id > right.bug.id }
            } else {
                let l = Self.importanceRank[left.task.importance] ?? 9
                let r = Self.importanceRank[right.task.importance] ?? 9
                if l != r { return l < r }
                if left.bug.id != right.bug.id { return left.bug.id > right.bug.id }
            }
            return left.task.target < right.task.target
        }
        // The fixture serves anonymous requests: private bugs are left out before the count and
        // the cut, as Launchpad's search filters them in SQL (or after the cut: `privacyAfterTheCut`).
        let listed = afterEntriesLeft(faults.privacyAfterTheCut ? rows : rows.filter { !$0.bug.isPrivate }, context)
        return try context.page(
            listed.map { context.renderer.task($0.bug, $0.task) }, named: true, resourceType: nil,
            visible: { !listed[$0].bug.isPrivate })
    }

    static let proposalStatuses = LaunchpadEnums.mergeProposalStatuses

    func mergeProposals(_ context: FixtureContext, person: String, requested: Bool) throws(FixtureFailure) -> FixtureResponse {
        let statuses = Set(context.list("status") ?? (requested ? ["Needs review"] : ["Work in progress", "Needs review", "Approved"]))
        if let unknown = statuses.first(where: { !Self.proposalStatuses.contains($0) }) {
            throw .badRequest("status: Invalid value \"\(unknown)\".")
        }
        let createdSince = try context.time("created_since")
        let createdBefore = try context.time("created_before")
        let proposals = world.mergeProposals.values.filter { proposal in
            (requested ? proposal.bazaar && proposal.voteReferences.contains { $0.reviewer == person } : proposal.sourceOwner == person)
                && statuses.contains(proposal.status)
                && createdSince.map { proposal.created > $0 } ?? true
                && createdBefore.map { proposal.created < $0 } ?? true
        }
        guard requested else { return try proposalPage(context, proposals.sorted { $0.id < $1.id }) }
        // `getRequestedReviews`: one row per vote reference of the person (any: asked at
        // creation or later, a claimed team review, a vote nobody asked for; Launchpad keeps one
        // per person and proposal), ordered by the vote alone, descending (pending ones, NULL,
        // first): rows of one vote tie, in no stable order across pages.
        func vote(_ proposal: FixtureWorld.MergeProposal) -> Int {
            let reference = proposal.voteReferences.first { $0.reviewer == person }
            let vote = proposal.comments.first { $0.id == reference?.comment }?.vote
            return vote.map { Self.voteNumbers[$0] ?? 0 } ?? Int.max
        }
        return try proposalPage(context, proposals.sorted { (vote($0), $0.id) > (vote($1), $1.id) })
    }

    /// Launchpad's `CodeReviewVote` values, by the titles the fixture's comments use.
    static let voteNumbers = [
        "Disapprove": 1, "Abstain": 2, "Approve": 3, "Needs Resubmitting": 4, "Needs Fixing": 5, "Needs Information": 6,
    ]

    /// A page of a merge-proposal listing: in no stable order (`unstableOrder`), private
    /// proposals left out before the count and the cut, as Launchpad's `visibleByUser` does in
    /// SQL (or counted in `total_size` and dropped after the cut: `privacyAfterTheCut`).
    private func proposalPage(_ context: FixtureContext, _ proposals: [FixtureWorld.MergeProposal]) throws(FixtureFailure)
        -> FixtureResponse
    {
        let listed = planOrder(unstableOrder(faults.privacyAfterTheCut ? proposals : proposals.filter { !$0.isPrivate }), context)
        return try context.page(
            listed.map { render($0, context.renderer) }, named: true, resourceType: nil, visible: { !listed[$0].isPrivate })
    }

    /// A proposal as Launchpad shows it, linked to the proposals it superseded or was superseded by.
    func render(_ proposal: FixtureWorld.MergeProposal, _ renderer: FixtureRenderer) -> JSONValue {
        renderer.mergeProposal(
            proposal, successor: proposal.supersededBy.flatMap { world.mergeProposals[$0] },
            predecessor: predecessors[proposal.id].flatMap { world.mergeProposals[$0] })
    }

    /// `<project>?ws.op=getMergeProposals` or `<distro>/+source/<pkg>?ws.op=getMergeProposals`:
    /// every proposal (Bazaar and Git) into the target's branches and repositories, `status`
    /// only (no date parameters; others are ignored). A whole distribution has no such
    /// operation.
    func targetMergeProposals(_ context: FixtureContext, target: String) throws(FixtureFailure) -> FixtureResponse {
        let statuses = Set(context.list("status") ?? ["Work in progress", "Needs review", "Approved"])
        if let unknown = statuses.first(where: { !Self.proposalStatuses.contains($0) }) {
            throw .badRequest("status: Invalid value \"\(unknown)\".")
        }
        let proposals = world.mergeProposals.values.filter {
            $0.project == target && $0.personalTarget == nil && statuses.contains($0.status)
        }.sorted { $0.id > $1.id }
        return try proposalPage(context, proposals)
    }

    /// `~owner/+git/name?ws.op=getMergeProposals` (devel only, as Launchpad's repository
    /// operation): the proposals into that personal repository.
    func repositoryMergeProposals(_ context: FixtureContext, repository: String) throws(FixtureFailure) -> FixtureResponse {
        guard context.version == "devel" else { throw .noSuchOperation("getMergeProposals") }
        let statuses = Set(context.list("status") ?? ["Work in progress", "Needs review", "Approved"])
        if let unknown = statuses.first(where: { !Self.proposalStatuses.contains($0) }) {
            throw .badRequest("status: Invalid value \"\(unknown)\".")
        }
        let proposals = world.mergeProposals.values.filter { $0.personalTarget == repository && statuses.contains($0.status) }
            .sorted { $0.id > $1.id }
        return try proposalPage(context, proposals)
    }

    /// The projects and packages the fixture knows (from proposals, bug tasks and owners).
    var knownTargets: Set<String> {
        Set(world.mergeProposals.values.filter { $0.personalTarget == nil }.map(\.project)).union(
            world.bugs.values.flatMap { $0.tasks.map(\.target) }
        )
        .union(world.projectOwners.keys)
    }

    /// `~owner?ws.op=getOwnedProjects` (devel only): the active projects `owner` owns itself
    /// (Launchpad's default is not transitive, whatever its docstring says: a team member's
    /// listing leaves out the team's projects), ordered by display name (here the name), no
    /// parameters.
    func ownedProjects(_ context: FixtureContext, owner: String) throws(FixtureFailure) -> FixtureResponse {
        guard context.version == "devel" else { throw .noSuchOperation("getOwnedProjects") }
        guard !faults.unreadableTargets.contains("~" + owner) else { throw .notFound(context.request.path) }
        let names = world.projectOwners.filter { $0.value == owner && !faults.deactivatedProjects.contains($0.key) }.keys.sorted()
        return try context.page(names.map { context.renderer.project($0, owner: owner) }, named: true, resourceType: nil)
    }

    static let questionStatuses = LaunchpadEnums.questionStatuses

    func searchQuestions(_ context: FixtureContext, person: String) throws(FixtureFailure) -> FixtureResponse {
        let statuses = Set(context.list("status") ?? ["Open", "Needs information", "Answered", "Solved"])
        if let unknown = statuses.first(where: { !Self.questionStatuses.contains($0) }) {
            throw .badRequest("status: Invalid value \"\(unknown)\".")
        }
        let participation = context.value("participation")
        let roles = ["Owner", "Subscriber", "Assignee", "Commenter", "Answerer"]
        if let participation, !roles.contains(participation) {
            throw .badRequest("participation: Invalid value \"\(participation)\".")
        }
        let createdSince = try context.time("created_since")
        let createdBefore = try context.time("created_before")
        let questions = world.questions.values.filter { question in
            let commented = question.messages.contains { $0.owner == person }
            let matches: Bool
            switch participation {
            case "Owner"?: matches = question.owner == person
            case "Assignee"?: matches = question.assignee == person
            case "Answerer"?: matches = question.answerer == person
            case "Commenter"?: matches = commented
            case "Subscriber"?: matches = question.owner == person || commented
            default: matches = question.owner == person || question.assignee == person || question.answerer == person || commented
            }
            return matches && statuses.contains(question.status) && !faults.deactivatedProjects.contains(question.target)
                && createdSince.map { question.created > $0 } ?? true
                && createdBefore.map { question.created < $0 } ?? true
        }.sorted { $0.id > $1.id }
        return try context.page(afterEntriesLeft(questions, context).map(context.renderer.question), named: true, resourceType: nil)
    }
}
