import Foundation
import LaunchpadETL

/// Renders fixture items with the field names and shapes of Launchpad's devel API.
struct FixtureRenderer {
    /// `http://host/devel/`.
    let api: String
    /// `http://host/`.
    let web: String

    static func time(_ timestamp: UTCTimestamp?) -> JSONValue {
        guard let timestamp else { return .null }
        return .string(String(timestamp.description.dropLast()) + "+00:00")
    }

    func personLink(_ name: String?) -> JSONValue { name.map { .string(api + "~" + $0) } ?? .null }

    func etag(_ seed: String) -> JSONValue { .string("\"\(SHA256.hex(seed).prefix(40))-\(SHA256.hex(seed + "!").prefix(40))\"") }

    func person(_ person: FixtureWorld.Person) -> JSONValue {
        let link = api + "~" + person.name
        var fields: [String: JSONValue] = [
            "self_link": .string(link), "web_link": .string(web + "~" + person.name),
            "resource_type_link": .string(api + "#person"), "name": .string(person.name), "display_name": .string(person.displayName),
            "time_zone": .string(person.timeZone), "is_team": false, "is_valid": true, "private": false, "account_status": "Active",
            "account_status_history": "tag:launchpad.net:2008:redacted", "id": "tag:launchpad.net:2008:redacted", "karma": 1532,
            "visibility": "Public", "date_created": "2016-09-12T08:41:17.512093+00:00", "http_etag": etag(person.name),
            "preferred_email_address_link": "tag:launchpad.net:2008:redacted", "team_owner_link": nil, "archive_link": nil,
        ]
        for collection in ["ppas", "members", "participants", "memberships_details", "sub_teams", "super_teams", "all_specifications"] {
            fields["\(collection)_collection_link"] = .string(link + "/" + collection)
        }
        return .object(fields)
    }

    /// A project entry (the fields an owned-projects listing reader needs, and a few more).
    func project(_ name: String, owner: String) -> JSONValue {
        [
            "self_link": .string(api + name), "web_link": .string(web + name), "resource_type_link": .string(api + "#project"),
            "name": .string(name), "display_name": .string(name), "title": .string(name), "active": true,
            "owner_link": personLink(owner), "http_etag": etag("project" + name),
        ]
    }

    /// A team entry: a person entry with `is_team` and a team owner.
    func team(_ team: FixtureWorld.Team) -> JSONValue {
        guard case .object(var fields) = person(FixtureWorld.Person(name: team.name, displayName: team.displayName, timeZone: "UTC")) else {
            return .null
        }
        fields["is_team"] = true
        fields["team_owner_link"] = personLink(team.members.first)
        fields["members_details_collection_link"] = .string(api + "~" + team.name + "/members_details")
        return .object(fields)
    }

    func bug(_ bug: FixtureWorld.Bug) -> JSONValue {
        let link = api + "bugs/\(bug.id)"
        var fields: [String: JSONValue] = [
            "self_link": .string(link), "web_link": .string("\(web)bugs/\(bug.id)"), "resource_type_link": .string(api + "#bug"),
            "id": .int(bug.id), "title": .string(bug.title), "description": .string(bug.messages.first?.content ?? ""),
            "name": nil, "tags": .array(bug.tags.map(JSONValue.string)), "owner_link": personLink(bug.owner),
            "date_created": Self.time(bug.created), "date_last_updated": Self.time(bug.lastUpdated),
            "date_last_message": Self.time(bug.messages.last?.date), "date_made_private": nil, "who_made_private_link": nil,
            "information_type": "Public", "private": false, "security_related": false, "heat": .int(2 * bug.messages.count + 4),
            "message_count": .int(bug.messages.count), "number_of_duplicates": 0,
            "duplicate_of_link": bug.duplicateOf.map { .string(api + "bugs/\($0)") } ?? .null,
            "users_affected_count": 1, "users_affected_count_with_dupes": 1, "other_users_affected_count_with_dupes": 0,
            "users_unaffected_count": 0, "latest_patch_uploaded": nil, "lock_status": "Unlocked", "lock_reason": nil,
            "http_etag": etag("bug\(bug.id)"),
        ]
        for collection in [
            "messages", "activity", "attachments", "bug_tasks", "bug_watches", "cves", "duplicates", "subscriptions",
            "linked_merge_proposals",
        ] {
            fields["\(collection)_collection_link"] = .string(link + "/" + collection)
        }
        return .object(fields)
    }

    func task(_ bug: FixtureWorld.Bug, _ task: FixtureWorld.Task) -> JSONValue {
        let link = api + task.target + "/+bug/\(bug.id)"
        let closed = ["Fix Released", "Won't Fix", "Invalid", "Expired", "Opinion", "Does Not Exist"].contains(task.status)
        return .object([
            "self_link": .string(link), "web_link": .string(web + task.target + "/+bug/\(bug.id)"),
            "resource_type_link": .string(api + "#bug_task"), "bug_link": .string(api + "bugs/\(bug.id)"),
            "milestone_link": nil, "status": .string(task.status), "status_explanation": nil, "importance": .string(task.importance),
            "importance_explanation": nil,
            "assignee_link": task.assigneeRedacted ? "tag:launchpad.net:2008:redacted" : personLink(task.assignee),
            "bug_target_display_name": .string(task.targetName),
            "bug_target_name": .string(task.targetName), "bug_watch_link": nil,
            "date_assigned": task.assignee == nil ? nil : Self.time(bug.created),
            "date_created": Self.time(task.created ?? bug.created), "date_confirmed": nil, "date_incomplete": nil, "date_in_progress": nil,
            "date_closed": closed ? Self.time(bug.lastUpdated) : nil, "date_left_new": nil, "date_triaged": nil,
            "date_fix_committed": nil, "date_fix_released": nil, "date_left_closed": nil, "date_deferred": nil,
            "owner_link": personLink(bug.owner), "target_link": .string(api + task.target),
            "title": .string("Bug #\(bug.id) in \(task.targetName): \"\(bug.title)\""),
            "related_tasks_collection_link": .string(link + "/related_tasks"), "is_complete": .bool(closed),
            "http_etag": etag("task\(bug.id)\(task.target)"),
        ])
    }

    func message(_ bug: FixtureWorld.Bug, _ index: Int) -> JSONValue {
        let message = bug.messages[index]
        let path = (bug.tasks.first?.target ?? "bugs") + "/+bug/\(bug.id)/comments/\(index)"
        var fields: [String: JSONValue] = [
            "self_link": .string(api + path), "web_link": .string(web + path), "resource_type_link": .string(api + "#message"),
            "subject": .string(index == 0 ? bug.title : "Re: " + bug.title), "content": .string(message.content),
            "date_created": Self.time(message.date), "date_last_edited": nil, "date_deleted": nil,
            "owner_link": personLink(message.owner), "parent_link": nil,
            "bug_attachments_collection_link": .string(api + path + "/bug_attachments"), "http_etag": etag(path),
        ]
        // Only devel exports these (Launchpad's WADL): 1.0 and beta list a hidden comment
        // among the others with nothing that says so.
        if api.hasSuffix("/devel/") {
            fields["revisions_collection_link"] = .string(api + path + "/revisions")
            fields["visible"] = .bool(message.visible)
        }
        return .object(fields)
    }

    func activity(_ bug: FixtureWorld.Bug, _ row: FixtureWorld.Activity) -> JSONValue {
        .object([
            "self_link": .string(api + "bugs/\(bug.id)/activity"), "resource_type_link": .string(api + "#bug_activity"),
            "bug_link": .string(api + "bugs/\(bug.id)"), "datechanged": Self.time(row.date), "person_link": personLink(row.person),
            "whatchanged": .string(row.whatChanged), "oldvalue": .optional(row.oldValue), "newvalue": .optional(row.newValue),
            "message": .optional(row.message),
        ])
    }

    /// A personal repository's name (`~owner/+git/name` → `name`): Launchpad merges personal
    /// repositories only into one of the same name (`PersonalGitNamespace.areRepositoriesMergeable`),
    /// so a proposal's source repository has its target's name.
    static func name(of repository: String) -> String { String(repository.split(separator: "/").last ?? "") }

    /// A Git proposal's path under its source repository, a Bazaar one's under its source
    /// branch (`~owner/project/branch`).
    func mergeProposalPath(_ proposal: FixtureWorld.MergeProposal) -> String {
        sourcePath(proposal) + "/+merge/\(proposal.id)"
    }

    /// The path of a proposal's source repository (Git) or branch (Bazaar), which its own path
    /// is under.
    func sourcePath(_ proposal: FixtureWorld.MergeProposal) -> String {
        if let target = proposal.personalTarget { return "~\(proposal.sourceOwner)/+git/\(Self.name(of: target))" }
        return proposal.bazaar
            ? "~\(proposal.sourceOwner)/\(proposal.project)/\(proposal.branch)"
            : "~\(proposal.sourceOwner)/\(proposal.project)/+git/\(proposal.project)"
    }

    /// The entry of a proposal's source repository or branch (the fields the ETL may read).
    func source(of proposal: FixtureWorld.MergeProposal) -> JSONValue {
        let path = sourcePath(proposal)
        let git = !proposal.bazaar
        return .object([
            "self_link": .string(api + path), "web_link": .string(web + path),
            "resource_type_link": .string(api + (git ? "#git_repository" : "#branch")),
            "unique_name": .string(path), "owner_link": .string(api + "~\(proposal.sourceOwner)"),
        ])
    }

    /// - Parameters:
    ///   - successor: the proposal that superseded this one; `predecessor`, the one it superseded.
    func mergeProposal(
        _ proposal: FixtureWorld.MergeProposal, successor: FixtureWorld.MergeProposal? = nil,
        predecessor: FixtureWorld.MergeProposal? = nil
    ) -> JSONValue {
        let path = mergeProposalPath(proposal)
        let source = api + sourcePath(proposal)
        // A Bazaar proposal names branches, its Git fields null; a Git one the reverse.
        let git = !proposal.bazaar
        return .object([
            "self_link": .string(api + path), "web_link": .string(web.replacingFirst("://", with: "://code.") + path),
            "resource_type_link": .string(api + "#branch_merge_proposal"), "address": .string("mp+\(proposal.id)@code.launchpad.net"),
            "all_comments_collection_link": .string(api + path + "/all_comments"), "bugs_collection_link": .string(api + path + "/bugs"),
            "votes_collection_link": .string(api + path + "/votes"),
            "preview_diffs_collection_link": .string(api + path + "/preview_diffs"),
            "commit_message": .string("\(proposal.branch) (fixture)"), "description": .string("Proposal \(proposal.id)"),
            "date_created": Self.time(proposal.created), "date_review_requested": Self.time(proposal.reviewRequested),
            "date_reviewed": Self.time(proposal.reviewed), "reviewer_link": personLink(proposal.reviewer),
            "date_merged": Self.time(proposal.merged), "merge_reporter_link": personLink(proposal.mergeReporter),
            "merged_revision_id": proposal.merged == nil ? nil : .string(String(SHA256.hex("merged\(proposal.id)").prefix(40))),
            "merged_revno": nil,
            "reviewed_revid": proposal.reviewed == nil ? nil : .string(String(SHA256.hex("rev\(proposal.id)").prefix(40))),
            "prerequisite_branch_link": nil, "prerequisite_git_path": nil, "prerequisite_git_repository_link": nil,
            "preview_diff_link": nil, "private": false, "queue_status": .string(proposal.status),
            "registrant_link": personLink(proposal.registrant),
            "source_branch_link": git ? nil : .string(source),
            "source_git_path": git ? .string("refs/heads/" + proposal.branch) : nil,
            "source_git_repository_link": git ? .string(source) : nil,
            "superseded_by_link": successor.map { .string(api + mergeProposalPath($0)) } ?? nil,
            "supersedes_link": predecessor.map { .string(api + mergeProposalPath($0)) } ?? nil,
            "target_branch_link": git ? nil : .string(api + "~\(proposal.project)-developers/\(proposal.project)/trunk"),
            "target_git_path": git ? "refs/heads/main" : nil,
            "target_git_repository_link": git
                ? .string(api + (proposal.personalTarget ?? "~\(proposal.project)-developers/\(proposal.project)/+git/\(proposal.project)"))
                : nil,
            "http_etag": etag("mp\(proposal.id)"),
        ])
    }

    func comment(_ proposal: FixtureWorld.MergeProposal, _ comment: FixtureWorld.Comment) -> JSONValue {
        let path = mergeProposalPath(proposal) + "/comments/\(comment.id)"
        return .object([
            "self_link": .string(api + path), "web_link": .string(web + path), "resource_type_link": .string(api + "#code_review_comment"),
            "id": .int(comment.id), "title": .string("Re: [Merge] \(proposal.branch)"), "vote": .optional(comment.vote),
            "vote_tag": comment.vote == nil ? nil : "code", "author_link": personLink(comment.author),
            "owner_link": personLink(comment.author),
            "content": .string(comment.content), "message_body": .string(comment.content),
            "as_quoted_email": .string("> " + comment.content),
            "date_created": Self.time(comment.date), "date_last_edited": nil, "date_deleted": nil,
            "branch_merge_proposal_link": .string(api + mergeProposalPath(proposal)),
            "revisions_collection_link": .string(api + path + "/revisions"), "http_etag": etag(path),
        ])
    }

    func voteReference(_ proposal: FixtureWorld.MergeProposal, _ reference: FixtureWorld.VoteReference) -> JSONValue {
        let path = mergeProposalPath(proposal) + "/+review/\(reference.id)"
        return .object([
            "self_link": .string(api + path), "web_link": .string(web.replacingFirst("://", with: "://code.") + path),
            "resource_type_link": .string(api + "#code_review_vote_reference"),
            "branch_merge_proposal_link": .string(api + mergeProposalPath(proposal)),
            "date_created": Self.time(reference.date), "registrant_link": personLink(reference.registrant),
            "reviewer_link": personLink(reference.reviewer), "review_type": .optional(reference.reviewType),
            "comment_link": reference.comment.map { .string(api + mergeProposalPath(proposal) + "/comments/\($0)") } ?? nil,
            "is_pending": .bool(reference.comment == nil), "http_etag": etag(path),
        ])
    }

    func question(_ question: FixtureWorld.Question) -> JSONValue {
        let path = question.target + "/+question/\(question.id)"
        return .object([
            "self_link": .string(api + path), "web_link": .string(web + path), "resource_type_link": .string(api + "#question"),
            "id": .int(question.id), "title": .string(question.title), "description": .string("Question \(question.id)"),
            "status": .string(question.status), "owner_link": personLink(question.owner), "assignee_link": personLink(question.assignee),
            "answerer_link": personLink(question.answerer), "answer_link": nil, "target_link": .string(api + question.target),
            "language_link": .string(api + "+languages/en"), "date_created": Self.time(question.created), "date_due": nil,
            "date_last_query": Self.time(question.created), "date_last_response": Self.time(question.messages.last?.date),
            "date_solved": Self.time(question.messages.first { $0.newStatus == "Solved" }?.date),
            "messages_collection_link": .string(api + path + "/messages"), "http_etag": etag(path),
        ])
    }

    func questionMessage(_ question: FixtureWorld.Question, _ index: Int) -> JSONValue {
        let message = question.messages[index - 1]
        let path = question.target + "/+question/\(question.id)/messages/\(index)"
        return .object([
            "self_link": .string(api + path), "web_link": .string(web + path), "resource_type_link": .string(api + "#question_message"),
            "index": .int(index), "action": .string(message.action), "new_status": .string(message.newStatus),
            "subject": .string("Re: " + question.title), "content": .string(message.content), "date_created": Self.time(message.date),
            "date_last_edited": nil, "date_deleted": nil, "owner_link": personLink(message.owner), "parent_link": nil,
            "question_link": .string(api + question.target + "/+question/\(question.id)"),
            "bug_attachments_collection_link": .string(api + path + "/bug_attachments"), "visible": true, "http_etag": etag(path),
        ])
    }
}

extension String {
    func replacingFirst(_ target: String, with replacement: String) -> String {
        guard let range = range(of: target) else { return self }
        return replacingCharacters(in: range, with: replacement)
    }
}
