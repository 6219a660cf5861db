import LaunchpadETL
import Synchronization

/// An offline Launchpad: answers API requests from a `FixtureWorld` with the real JSON
/// shapes, paging, errors and (optionally) injected latency and faults.
///
/// Transport-neutral: the `LaunchpadFixtureServer` executable feeds it HTTP requests.
public final class FixtureRouter: Sendable {
    /// The data served.
    public let world: FixtureWorld
    /// The faults and latency applied.
    public let faults: FixtureFaults
    private let counter = Mutex(0)
    private let listingRotation = Mutex(0)
    private let listingRequests = Mutex<[String: Int]>([:])
    /// Teams whose members listing was read to its last page (`peopleLeaving`).
    private let teamsListedWhole = Mutex<Set<String>>([])
    /// The proposal each proposal superseded (its `supersedes_link`), by the successor's id.
    let predecessors: [Int: Int]

    /// Creates a router.
    public init(world: FixtureWorld = FixtureDataset.standard, faults: FixtureFaults = FixtureFaults()) {
        var world = world
        for id in faults.privateBugs { world.bugs[id]?.isPrivate = true }
        for name in faults.deactivatedNamesakes {
            let old = name + "-deactivatedaccount"
            world.people[old] = FixtureWorld.Person(name: old, displayName: "Deactivated", timeZone: "UTC")
        }
        self.world = world
        self.faults = faults
        predecessors = Dictionary(
            world.mergeProposals.values.compactMap { proposal in proposal.supersededBy.map { ($0, proposal.id) } },
            uniquingKeysWith: min)
    }

    /// API requests handled so far.
    public var requestCount: Int { counter.withLock { $0 } }

    /// Answers one request, faults and latency included.
    public func handle(_ request: FixtureRequest) -> FixtureResponse {
        let number = counter.withLock { count -> Int in
            count += 1
            return count
        }
        var response: FixtureResponse
        switch faults.fault(forRequest: number) {
        case .unavailable?:
            response = .html(
                Self.errorPage("Launchpad is temporarily unavailable", "Please try again in a few minutes."), status: 503,
                headers: [("Retry-After", String(faults.retryAfterSeconds))])
        case .badGateway?:
            response = .html(Self.errorPage("502 Bad Gateway", "The proxy server received an invalid response."), status: 502)
        case .oops?:
            response = .html(
                Self.errorPage("Oops!", "Sorry, something just went wrong in Launchpad. (Error ID: OOPS-FIXTURE\(number))"),
                status: 500, headers: [("X-Lazr-OopsId", "OOPS-FIXTURE\(number)")])
        case .truncate?:
            response = answer(request)
            response.body = Array(response.body.prefix(max(1, response.body.count / 2)))
        case .stall?:
            response = answer(request)
            response.delayMilliseconds += faults.stallMilliseconds
        case nil:
            if let limit = faults.timeoutAbovePageSize, Self.isHeavy(request, above: limit) {
                response = .html(
                    Self.errorPage("Timeout error", "Sorry, something just went wrong in Launchpad. (Error ID: OOPS-FIXTURE\(number))"),
                    status: 503, headers: [("Retry-After", "900"), ("X-Lazr-OopsId", "OOPS-FIXTURE\(number)")])
            } else {
                response = answer(request)
            }
        }
        response.delayMilliseconds += faults.latencyMilliseconds
        return response
    }

    /// The request's answer: Launchpad's 401 when its OAuth does not check out, else its route.
    func answer(_ request: FixtureRequest) -> FixtureResponse {
        FixtureOAuth.refusal(request, tokens: world.accessTokens) ?? route(request)
    }

    /// A named operation asking for more than `limit` entries per page (`ws.size`, default 75).
    static func isHeavy(_ request: FixtureRequest, above limit: Int) -> Bool {
        let items = request.queryItems
        guard items.contains(where: { $0.name == "ws.op" }) else { return false }
        let size = items.last { $0.name == "ws.size" }.flatMap { Int($0.value) } ?? 75
        return size > limit
    }

    /// `entries` as a listing with no stable order returns them: rotated by a step that
    /// changes at every request when `shiftListings` is on, unchanged otherwise.
    func unstableOrder<T>(_ entries: [T]) -> [T] {
        guard faults.shiftListings, entries.count > 1 else { return entries }
        let step =
            listingRotation.withLock { value -> Int in
                value += 1
                return 2 * value
            } % entries.count
        return Array(entries[step...] + entries[..<step])
    }

    /// `entries` in the order this page's plan gives them when `planDependentListings` is on
    /// (by id up to 300 rows of offset + page size, scrambled above), unchanged otherwise.
    func planOrder<T>(_ entries: [T], _ context: FixtureContext) -> [T] {
        guard faults.planDependentListings else { return entries }
        let offset = context.value("memo").flatMap { Int($0) } ?? context.value("ws.start").flatMap { Int($0) } ?? 0
        let size = context.value("ws.size").flatMap { Int($0) } ?? 75
        guard offset + size > 300 else { return entries }
        return entries.indices.sorted { ($0 &* 2_654_435_761) % 4_294_967_296 < ($1 &* 2_654_435_761) % 4_294_967_296 }
            .map { entries[$0] }
    }

    /// `entries` of an ordered listing as this request sees them: without the first one from
    /// the listing's second request on when `entriesLeave` is on (it left the listing after a
    /// client read the first page), without one more at every request when
    /// `entriesKeepLeaving` is on, unchanged otherwise.
    func afterEntriesLeft<T>(_ entries: [T], _ context: FixtureContext) -> [T] {
        guard faults.entriesLeave || faults.entriesKeepLeaving, !entries.isEmpty else { return entries }
        let paging: Set<String> = ["ws.start", "ws.size", "memo", "direction", "ws.show"]
        let listing =
            context.request.path + "?"
            + context.request.queryItems.filter { !paging.contains($0.name) }.map { "\($0.name)=\($0.value)" }.sorted().joined(
                separator: "&")
        let earlier = listingRequests.withLock { counts -> Int in
            defer { counts[listing, default: 0] += 1 }
            return counts[listing, default: 0]
        }
        return Array(entries.dropFirst(faults.entriesKeepLeaving ? earlier : min(earlier, 1)))
    }

    static func errorPage(_ title: String, _ text: String) -> String {
        "<!DOCTYPE html><html><head><title>\(title)</title></head><body><h1>\(title)</h1><p>\(text)</p></body></html>"
    }

    /// Answers one request without faults or latency.
    public func route(_ request: FixtureRequest) -> FixtureResponse {
        guard request.method == "GET" else { return .text("Method not allowed: \(request.method)", status: 405) }
        var segments = request.path.split(separator: "/", omittingEmptySubsequences: true).map(String.init)
        guard let version = segments.first, LaunchpadQuery.versions.contains(version) else {
            return .text("Not found: \(request.path). The API lives under /devel/, /1.0/ or /beta/.", status: 404)
        }
        segments.removeFirst()
        let context = FixtureContext(
            request: request, version: version,
            renderer: FixtureRenderer(api: "\(request.scheme)://\(request.host)/\(version)/", web: "\(request.scheme)://\(request.host)/"))
        let items = request.queryItems
        if items.contains(where: { $0.name == "ws.size" && (Int($0.value) ?? 0) > 300 }) {
            return .text("Invalid batch size: maximum is 300.", status: 400)
        }
        let operation = items.last { $0.name == "ws.op" }?.value
        do {
            return try dispatch(segments, operation: operation, context)
        } catch {
            return error.response
        }
    }

    /// Whether the source repository or branch at `path` was renamed (`movedProposals` names a
    /// proposal from it): every proposal from it moved with it.
    private func movedSource(_ path: String, _ renderer: FixtureRenderer) -> Bool {
        !faults.movedProposals.isEmpty
            && faults.movedProposals.contains { id in world.mergeProposals[id].map { renderer.sourcePath($0) == path } ?? false }
    }

    private func dispatch(_ segments: [String], operation: String?, _ context: FixtureContext) throws(FixtureFailure) -> FixtureResponse {
        let renderer = context.renderer
        if segments.isEmpty {
            return .json(
                .object([
                    "resource_type_link": .string(renderer.api + "#service-root"),
                    "people_collection_link": .string(renderer.api + "people"), "bugs_collection_link": .string(renderer.api + "bugs"),
                    "questions_collection_link": .string(renderer.api + "questions"), "me_link": .string(renderer.api + "people/+me"),
                ]))
        }
        if let mergeIndex = segments.firstIndex(of: "+merge") {
            // Served only under its source repository or branch, as Launchpad traverses to it
            // (`getMergeProposalByID` of the repository or branch in the path): once that is
            // renamed or moved (`movedProposals`), the old URLs answer 404.
            guard mergeIndex + 1 < segments.count, let id = Int(segments[mergeIndex + 1]), let proposal = world.mergeProposals[id],
                !proposal.isPrivate, !movedSource(renderer.sourcePath(proposal), renderer),
                segments[...(mergeIndex + 1)].joined(separator: "/") == renderer.mergeProposalPath(proposal)
            else {
                throw .notFound(context.request.path)
            }
            let rest = segments[(mergeIndex + 2)...]
            if rest.isEmpty { return .json(render(proposal, renderer)) }
            if rest == ["all_comments"], !proposal.commentsUnserved {
                // Launchpad queries a proposal's comments with no ORDER BY
                // (BranchMergeProposal.all_comments): pages of one reading can overlap and skip.
                return try context.page(
                    unstableOrder(proposal.comments.sorted { $0.id < $1.id }).map { renderer.comment(proposal, $0) }, named: false,
                    resourceType: "code_review_comment-page-resource")
            }
            if rest == ["votes"], !proposal.votesUnserved {
                // A cached list of a query with no ORDER BY (BranchMergeProposal.votes).
                return try context.page(
                    unstableOrder(proposal.voteReferences).map { renderer.voteReference(proposal, $0) }, named: false,
                    resourceType: "code_review_vote_reference-page-resource")
            }
            throw .notFound(context.request.path)
        }
        if let questionIndex = segments.firstIndex(of: "+question") {
            guard questionIndex + 1 < segments.count, let id = Int(segments[questionIndex + 1]), let question = world.questions[id],
                !faults.deactivatedProjects.contains(question.target)
            else {
                throw .notFound(context.request.path)
            }
            let rest = segments[(questionIndex + 2)...]
            if rest.isEmpty { return .json(renderer.question(question)) }
            if rest == ["messages"], !question.messagesUnserved {
                return try context.page(
                    question.messages.indices.map { renderer.questionMessage(question, $0 + 1) }, named: false,
                    resourceType: "question_message-page-resource")
            }
            throw .notFound(context.request.path)
        }
        if segments[0] == "bugs" {
            if segments.count == 1 {
                guard operation == "searchTasks" else { throw .noSuchOperation(operation) }
                return try searchTasks(context, person: nil)
            }
            guard let id = Int(segments[1]), let bug = world.bugs[id], !bug.isPrivate, !bug.privateSinceListing else {
                throw .notFound(context.request.path)
            }
            switch segments.count == 3 ? segments[2] : (segments.count == 2 ? "" : "?") {
            case "": return .json(renderer.bug(bug))
            case "messages" where !bug.messagesUnserved:
                return try context.page(
                    bug.messages.indices.map { renderer.message(bug, $0) }, named: false, resourceType: "message-page-resource")
            case "activity":
                return try context.page(
                    bug.activity.map { renderer.activity(bug, $0) }, named: false, resourceType: "bug_activity-page-resource")
            default: throw .notFound(context.request.path)
            }
        }
        if !segments[0].hasPrefix("~"), segments[0] != "bugs" {
            let target = segments.joined(separator: "/")
            guard knownTargets.contains(target) || knownTargets.contains(where: { $0.hasPrefix(target + "/") }),
                !faults.unreadableTargets.contains(target), !faults.deactivatedProjects.contains(segments[0])
            else {
                throw .notFound(context.request.path)
            }
            let isPillar = segments.count == 1 || (segments.count == 3 && segments[1] == "+source")
            let isDistribution = segments.count == 1 && knownTargets.contains(where: { $0.hasPrefix(target + "/+source/") })
            if operation == nil, segments.count == 1, !isDistribution {
                // A project's entry (a deactivated one answered 404 above, as to anyone but an admin).
                return .json(renderer.project(target, owner: world.projectOwners[target] ?? "grace-owner"))
            }
            guard operation == "getMergeProposals", isPillar, !isDistribution else { throw .noSuchOperation(operation) }
            return try targetMergeProposals(context, target: target)
        }
        if segments[0].hasPrefix("~"), world.teams[String(segments[0].dropFirst())]?.vanished == true {
            return .unknownPerson(String(segments[0].dropFirst()))  // renamed or deleted: every page of it is gone
        }
        if segments[0].hasPrefix("~"), let team = world.teams[String(segments[0].dropFirst())], team.seenByNameOnly,
            segments.count > 1 || operation != nil
        {
            // Its entry reads (below); what it holds, and its operations (IPersonViewRestricted:
            // getMergeProposals, getOwnedProjects, …), need launchpad.View.
            return .text("(<Person at 0x7f3a2c1e4d90>, '\(operation ?? "api_activemembers")', 'launchpad.View')", status: 401)
        }
        if segments[0].hasPrefix("~"), let team = world.teams[String(segments[0].dropFirst())], team.isPrivate,
            !team.seenByNameOnly
        {
            // A private team is not found by anyone who may not see it (Launchpad's traversal
            // checks launchpad.LimitedView): its entry, members and operations alike. The
            // fixture's readers see no private data.
            return .unknownPerson(String(segments[0].dropFirst()))
        }
        if segments[0].hasPrefix("~"), operation == nil, segments.count >= 3 {
            // A proposal's source repository (Git) or branch (Bazaar): its entry, at its
            // current path only; the source of a proposal moved since its listing
            // (`movedProposals`) was renamed, so its old path answers 404.
            let path = segments.joined(separator: "/")
            let sources = world.mergeProposals.values.filter { renderer.sourcePath($0) == path }
            if let source = sources.first {
                guard !movedSource(path, renderer) else { throw .notFound(context.request.path) }
                return .json(renderer.source(of: source))
            }
        }
        if segments[0].hasPrefix("~"), segments.count == 3, segments[1] == "+git", operation == "getMergeProposals",
            world.mergeProposals.values.contains(where: { $0.personalTarget == segments.joined(separator: "/") })
        {
            return try repositoryMergeProposals(context, repository: segments.joined(separator: "/"))
        }
        if segments[0].hasPrefix("~"), segments.count == 2, segments[1] == "members", operation == nil {
            return try members(context, of: String(segments[0].dropFirst()))
        }
        if segments[0].hasPrefix("~"), segments.count == 2,
            let status = [
                "expired_members": "Expired", "deactivated_members": "Deactivated", "proposed_members": "Proposed",
                "invited_members": "Invited",
            ][segments[1]],
            operation == nil
        {
            return try formerMembers(
                context, of: String(segments[0].dropFirst()), status: status)
        }
        if segments[0].hasPrefix("~"), segments.count == 3, segments[1] == "+member", operation == nil {
            return membership(context, team: String(segments[0].dropFirst()), member: String(segments[2]))
        }
        if segments[0].hasPrefix("~"), segments.count == 2, segments[1] == "super_teams", operation == nil {
            return try superTeams(context, of: String(segments[0].dropFirst()))
        }
        if segments[0].hasPrefix("~"), segments.count == 1, let team = world.teams[String(segments[0].dropFirst())] {
            // A team is a person: its getMergeProposals lists proposals from its repositories.
            switch operation {
            case nil: return .json(renderer.team(team))
            case "getMergeProposals"?: return try mergeProposals(context, person: team.name, requested: false)
            case "getOwnedProjects"?: return try ownedProjects(context, owner: team.name)
            default: throw .noSuchOperation(operation)
            }
        }
        if segments[0].hasPrefix("~"), segments.count == 1 {
            let name = String(segments[0].dropFirst())
            guard let person = world.people[name] else {
                return .unknownPerson(name)
            }
            if person.suspended { return .text("User is suspended", status: 410) }
            switch operation {
            case nil: return .json(renderer.person(person))
            case "searchTasks"?: return try searchTasks(context, person: name)
            case "getMergeProposals"?: return try mergeProposals(context, person: name, requested: false)
            case "getRequestedReviews"?: return try mergeProposals(context, person: name, requested: true)
            case "getOwnedProjects"?: return try ownedProjects(context, owner: name)
            case "searchQuestions"?:
                guard context.version == "devel" else { throw .noSuchOperation(operation) }
                return try searchQuestions(context, person: name)
            default: throw .noSuchOperation(operation)
            }
        }
        throw .notFound(context.request.path)
    }
}

extension FixtureRouter {
    /// `GET ~name/super_teams`: the teams `name` participates in, directly or through other
    /// teams (Launchpad joins `TeamParticipation`, which holds both), as team entries, paged
    /// (sorted by name); an unknown name is a 404.
    fileprivate func superTeams(_ context: FixtureContext, of name: String) throws(FixtureFailure) -> FixtureResponse {
        guard world.people[name] != nil || world.teams[name] != nil else {
            return .unknownPerson(name)
        }
        var found: Set<String> = []
        var frontier: Set<String> = [name]
        while !frontier.isEmpty {
            let parents = Set(world.teams.values.filter { !$0.members.filter(frontier.contains).isEmpty }.map(\.name))
            frontier = parents.subtracting(found).subtracting([name])
            found.formUnion(frontier)
        }
        let teams = found.compactMap { world.teams[$0] }.sorted { $0.name < $1.name }
        // A private team is counted, and dropped from its page after the cut, as members listings do.
        return try context.page(
            teams.map(context.renderer.team), named: false, resourceType: "person-page-resource",
            visible: { teams[$0].listedToReader })
    }

    /// `GET ~team/expired_members`, `deactivated_members`, `proposed_members` or
    /// `invited_members`: the people (or teams) whose membership has that status, as person
    /// entries, paged (by name); a person's is empty.
    fileprivate func formerMembers(_ context: FixtureContext, of name: String, status: String) throws(FixtureFailure) -> FixtureResponse {
        guard world.people[name] != nil || world.teams[name] != nil else {
            return .unknownPerson(name)
        }
        let names = (world.teams[name]?.formerMembers ?? [:]).filter { $0.value.status == status }.keys.sorted()
        // A team that left is listed too, as a team (`is_team: true`); a private one is counted, not shown.
        let listed = names.filter { world.teams[$0] != nil || world.people[$0] != nil }
        return try context.page(
            listed.compactMap { world.teams[$0].map(context.renderer.team) ?? world.people[$0].map(context.renderer.person) },
            named: false, resourceType: "person-page-resource",
            visible: { world.teams[listed[$0]]?.listedToReader != false })
    }

    /// `GET ~team/+member/NAME`: the team_membership entry (Launchpad exports its member, team,
    /// status, date_joined, date_expires, last_changed_by and last_change_comment); 404 when
    /// NAME never was a member. Current members are `Approved`, joined 2015-01-01.
    fileprivate func membership(_ context: FixtureContext, team name: String, member: String) -> FixtureResponse {
        let api = context.renderer.api
        guard let team = world.teams[name] else {
            return .unknownPerson(name)
        }
        let former = team.formerMembers[member]
        guard former != nil || team.members.contains(member) else {
            return .text("Object: <lp.registry.model.person.Person object>, name: '+member/\(member)'", status: 404)
        }
        return .json(
            .object([
                "self_link": .string(api + "~\(name)/+member/\(member)"), "resource_type_link": .string(api + "#team_membership"),
                "team_link": .string(api + "~" + name), "member_link": .string(api + "~" + member),
                "status": .string(former?.status ?? "Approved"),
                "date_joined": FixtureRenderer.time(former.map(\.joined) ?? FixtureDataset.t("2015-01-01T00:00:00+00:00")),
                "date_expires": FixtureRenderer.time(former?.expires), "last_changed_by_link": .string(api + "~" + name),
                "last_change_comment": nil, "http_etag": .string("\"membership-\(name)-\(member)\""),
            ]))
    }

    /// `GET ~name/members`: a team's members as person entries, paged; a person's is empty (as
    /// on Launchpad); an unknown name is a 404.
    fileprivate func members(_ context: FixtureContext, of name: String) throws(FixtureFailure) -> FixtureResponse {
        let members: [String]
        if let team = world.teams[name] {
            members = team.members.sorted()
        } else if world.people[name] != nil {
            members = []
        } else {
            return .unknownPerson(name)
        }
        // Members can be teams (rendered with `is_team: true`); private ones are counted, not shown.
        var listed = afterEntriesLeft(members.filter { world.teams[$0] != nil || world.people[$0] != nil }, context)
        if !faults.peopleLeaving.isEmpty {
            // Gone once some listing of a team was read whole; the first listing still has them.
            let gone = teamsListedWhole.withLock { !$0.isEmpty }
            if gone { listed.removeAll { faults.peopleLeaving.contains($0) } }
            let start = context.value("ws.start").flatMap { Int($0) } ?? 0
            let size = context.value("ws.size").flatMap { Int($0) } ?? 75
            if start + size >= listed.count { _ = teamsListedWhole.withLock { $0.insert(name) } }
        }
        return try context.page(
            listed.compactMap { name in world.teams[name].map(context.renderer.team) ?? world.people[name].map(context.renderer.person) },
            named: false, resourceType: "person-page-resource", visible: { world.teams[listed[$0]]?.listedToReader != false })
    }
}

extension FixtureResponse {
    /// Launchpad's 404 for `~name` when no person or team has that name.
    static func unknownPerson(_ name: String) -> FixtureResponse {
        .text("Object: <lp.registry.model.personset.PersonSet object>, name: '~\(name)'", status: 404)
    }
}

/// A request-level failure rendered as Launchpad renders it.
enum FixtureFailure: Error {
    case notFound(String)
    case badRequest(String)
    case noSuchOperation(String?)

    var response: FixtureResponse {
        switch self {
        case .notFound(let path): return .text("Object: <fixture>, name: '\(path)'", status: 404)
        case .badRequest(let text): return .text(text, status: 400)
        case .noSuchOperation(let name): return .text("No such operation: \(name ?? "(none)")", status: 400)
        }
    }
}
