import Foundation

/// Turns Launchpad entries into `Event`s for one member and window. Pure functions: every
/// id is derived from Launchpad ids, so the same entries always give the same events.
///
/// Ids: `b-<bug>-c` (created), `b-<bug>-m<comment index>`, `b-<bug>-a<activity index>`;
/// `mp-<id>-c`, `-rq<unix seconds>`, `-r<unix seconds>`, `-m<unix seconds>` (see `ProposalEventId`), `-c<comment id>`,
/// `-v<comment id>`, `-rr<vote reference id>`; `q-<id>-c`,
/// `-a<index>`, `-s<index>`, `-m<index>`. Parents: `b-<bug>`, `mp-<id>`, `q-<id>`.
public enum EventBuilders {
    /// Raised whenever a change makes the same Launchpad entries give other events (more, fewer
    /// or other ids). Each start of a batch records it in its checkpoint: a batch staged partly
    /// by builders of another version reads as `LaunchpadAccess.mixed`, so its load removes no
    /// stored event the batch lacks. Version 2: every bug activity row the member made is an
    /// event (version 1 built status, importance and assignee changes only). Version 3: no
    /// events from subscription rows (`removed subscriber …`, `subscriber …`) or from deleted
    /// comments (`date_deleted`). Version 4: a deactivated account's events under the name it had
    /// (`EmployeeId`), and, in a team's run, team-mates' acts on the proposals read. Version 5:
    /// no question events that copy a bug the question was converted from. Version 6: review
    /// requests from a proposal's vote references, which Launchpad does not overwrite (the
    /// registrant's as `-rq<unix seconds>`, anyone else's as `-rr<reference id>`). Version 7: a
    /// comment on a solved question is `question:commented` (`-m<index>`), not `question:solved`
    /// (Launchpad gives a comment the question's status as its `new_status`).
    public static let version = 7

    /// Events from one bug: `bug:created`, `bug:commented` (index > 0), and
    /// `bug:status_changed` / `bug:importance_changed` / `bug:assigned` / `bug:milestoned` /
    /// `bug:updated` from activity (`activityType`).
    public static func bugEvents(bug: JSONValue, messages: [JSONValue], activity: [JSONValue], member: String, window: ExtractionWindow)
        throws(ETLError) -> [Event]
    {
        let employee = EmployeeId.of(account: member)
        guard let bugId = bug["id"]?.intValue else {
            throw ETLError(.malformedResponse, "bug entry without an id: \(bug.serialized().prefix(160))", nonRetryable: false)
        }
        let parent = "b-\(bugId)"
        var events: [Event] = []
        let created = isMember(bug["owner_link"], member) ? try required(bug["date_created"], "date_created of bug \(bugId)") : nil
        if let created, window.contains(created) {
            events.append(
                try Event(
                    id: parent + "-c", parentId: parent, employeeId: employee, type: "bug:created",
                    timeUTC: created.description,
                    relationProperties: [
                        "bug_id": .int(bugId), "title": bug["title"] ?? .null, "link": bug["web_link"] ?? .null,
                        "tags": bug["tags"] ?? .array([]),
                        "information_type": bug["information_type"] ?? .null, "private": bug["private"] ?? .null,
                        "security_related": bug["security_related"] ?? .null, "heat": bug["heat"] ?? .null,
                    ]
                ))
        }
        for (position, message) in messages.enumerated() {
            let index = trailingInt(message["self_link"], after: "/comments/") ?? position
            // Comments hidden by an admin (spam, leaked data), or deleted, are not the member's activity.
            guard message["visible"]?.boolValue != false, !isDeleted(message) else { continue }
            guard index > 0, isMember(message["owner_link"], member) else { continue }
            let date = try required(message["date_created"], "date_created of comment \(index) on bug \(bugId)")
            guard window.contains(date) else { continue }
            events.append(
                try Event(
                    id: "\(parent)-m\(index)", parentId: parent, employeeId: employee, type: "bug:commented",
                    timeUTC: date.description,
                    relationProperties: [
                        "bug_id": .int(bugId), "comment_index": .int(index), "link": message["web_link"] ?? .null,
                        "subject": message["subject"] ?? .null, "content_length": .int(message["content"]?.stringValue?.count ?? 0),
                    ]
                ))
        }
        for (index, row) in activity.enumerated() {
            guard isMember(row["person_link"], member) else { continue }
            let date = try required(row["datechanged"], "datechanged of activity \(index) on bug \(bugId)")
            guard window.contains(date), let what = row["whatchanged"]?.stringValue, let type = activityType(what) else { continue }
            // A task's change names its target ("<target>: status"); a change of the bug does not.
            let separator = what.range(of: ": ", options: .backwards)
            events.append(
                try Event(
                    id: "\(parent)-a\(index)", parentId: parent, employeeId: employee, type: type,
                    timeUTC: date.description,
                    relationProperties: [
                        "bug_id": .int(bugId),
                        "target": separator.map { .string(String(what[what.startIndex..<$0.lowerBound])) } ?? .null,
                        "what_changed": .string(what),
                        "old_value": row["oldvalue"] ?? .null, "new_value": row["newvalue"] ?? .null, "message": row["message"] ?? .null,
                    ]
                ))
        }
        return events
    }

    /// The event type of a bug activity row by its `whatchanged`: a task's status, importance,
    /// assignee or milestone (`<target>: status`…), or `bug:updated` for any other change the
    /// member made (tags, summary, description, duplicate marker, a task added, an attachment,
    /// a linked branch or CVE, the information type…). Nil for `bug` rows (the bug's creation,
    /// `bug:created` from the bug itself, and subscriptions added) and for the rows Launchpad
    /// writes when someone is unsubscribed (`removed subscriber <name>`) or a subscription is
    /// edited (`subscriber <name>`): subscriptions are not activity.
    static func activityType(_ whatChanged: String) -> String? {
        guard whatChanged != "bug", !whatChanged.hasPrefix("removed subscriber "), !whatChanged.hasPrefix("subscriber ") else {
            return nil
        }
        guard let separator = whatChanged.range(of: ": ", options: .backwards) else { return "bug:updated" }
        switch whatChanged[separator.upperBound...] {
        case "status": return "bug:status_changed"
        case "importance": return "bug:importance_changed"
        case "assignee": return "bug:assigned"
        case "milestone": return "bug:milestoned"
        default: return "bug:updated"
        }
    }

    /// Whether a comment or message was deleted (`date_deleted`): Launchpad keeps it, `visible`
    /// and empty, in the devel API.
    static func isDeleted(_ message: JSONValue) -> Bool {
        if case .string? = message["date_deleted"] { return true }
        return false
    }

    /// Events from one merge proposal and its comments: `member`'s, and in a team's run
    /// (`FlowInput.creditTeam`) the reviews, merges, comments and votes of `coMembers` (the
    /// team's other people), each under its own actor. Creation and the proposal's own request
    /// date stay the registrant's own run's to find (the requests kept in vote references are
    /// anyone's, under the same ids).
    ///
    /// `votes` are the proposal's vote references (`<mp>/votes`): one per reviewer asked, kept
    /// with who asked and when (`registrant_link`, `date_created`) whatever later happens to
    /// the proposal. Each request made after the proposal was created is a
    /// `merge_proposal:review_requested` of whoever asked, naming the reviewer: the registrant's
    /// under the id of a request by its time (`-rq<unix seconds>`, the id the proposal's own
    /// request date gives: the form that asks for a review sets both in one transaction, so one
    /// act has one id, before Launchpad overwrites that date and after), anyone else's as
    /// `-rr<reference id>` (and then the proposal's request date at that instant is theirs, not
    /// the registrant's `-rq`). Not the references Launchpad makes when the proposal is
    /// created (its default or named reviewers, asked by the registrant at that instant: the
    /// creation and its `-rq` event are that act), nor those a vote makes for a voter nobody
    /// asked (registrant and reviewer the voter: the votes are their comments' events).
    public static func mergeProposalEvents(
        proposal: JSONValue, comments: [JSONValue], votes: [JSONValue] = [], member: String, coMembers: Set<String> = [],
        window: ExtractionWindow
    ) throws(ETLError) -> [Event] {
        let memberEmployee = EmployeeId.of(account: member)
        /// The employee whose event an act by `actor` is, if it is `member`'s or a co-member's.
        func employee(_ actor: JSONValue?, coMembersToo: Bool) -> String? {
            if isMember(actor, member) { return memberEmployee }
            guard coMembersToo, let name = LaunchpadURL.username(inLink: actor?.stringValue), coMembers.contains(name) else { return nil }
            return EmployeeId.of(account: name)
        }
        guard let id = mergeProposalId(proposal) else {
            throw ETLError(
                .malformedResponse, "merge proposal entry without a +merge/<id> self_link: \(proposal.serialized().prefix(160))",
                nonRetryable: false)
        }
        let parent = "mp-\(id)"
        let base: [String: JSONValue] = [
            "merge_proposal_id": .int(id), "link": proposal["web_link"] ?? .null, "status": proposal["queue_status"] ?? .null,
            "source_git_repository_link": proposal["source_git_repository_link"] ?? .null,
            "source_git_path": proposal["source_git_path"] ?? .null,
            "target_git_repository_link": proposal["target_git_repository_link"] ?? .null,
            "target_git_path": proposal["target_git_path"] ?? .null,
            "source_branch_link": proposal["source_branch_link"] ?? .null, "target_branch_link": proposal["target_branch_link"] ?? .null,
        ]
        var events: [Event] = []
        /// `timed`: the id is named by the event's time too (`ProposalEventId`), for what
        /// Launchpad overwrites when it happens again.
        func add(
            _ suffix: String, _ type: String, timed: Bool = true, actor: JSONValue?, coMembersToo: Bool = true, date field: String,
            extra: [String: JSONValue] = [:]
        ) throws(ETLError) {
            // Review and merge dates are null until it happens; a date that is there must read.
            guard let employee = employee(actor, coMembersToo: coMembersToo),
                let date = try optional(proposal[field], "\(field) of merge proposal \(id)"), window.contains(date)
            else { return }
            events.append(
                try Event(
                    id: timed ? ProposalEventId.make(parent: parent, suffix: suffix, time: date) : parent + "-" + suffix,
                    parentId: parent, employeeId: employee,
                    type: type, timeUTC: date.description,
                    relationProperties: base.merging(extra) { _, new in new }))
        }
        try add(
            "c", "merge_proposal:created", timed: false, actor: proposal["registrant_link"], coMembersToo: false, date: "date_created",
            extra: ["description": proposal["description"] ?? .null])
        // Named by their times: Launchpad overwrites request date, reviewer and merger when
        // each happens again.
        let created = try optional(proposal["date_created"], "date_created of merge proposal \(id)")
        let requested = try optional(proposal["date_review_requested"], "date_review_requested of merge proposal \(id)")
        let proposalRegistrant = LaunchpadURL.username(inLink: proposal["registrant_link"]?.stringValue)
        let requests = try reviewRequests(votes, proposal: id, created: created, registrant: proposalRegistrant)
        // The proposal's request date, unless someone else asked for a review at that instant
        // (the form sets both): then that request is the act, theirs.
        if !requests.contains(where: { $0.date == requested && $0.registrant != proposalRegistrant }) {
            try add(
                "rq", "merge_proposal:review_requested", actor: proposal["registrant_link"], coMembersToo: false,
                date: "date_review_requested")
        }
        try add(
            "r", "merge_proposal:reviewed", actor: proposal["reviewer_link"], date: "date_reviewed",
            extra: ["reviewed_revid": proposal["reviewed_revid"] ?? .null])
        // Launchpad's scan of a Git repository marks a proposal merged with no reporter (its
        // time is the scan's): the registrant is credited then, and the event says so.
        let reporter = nonNull(proposal["merge_reporter_link"])
        try add(
            "m", "merge_proposal:merged", actor: reporter ?? proposal["registrant_link"], date: "date_merged",
            extra: [
                "merged_revision_id": proposal["merged_revision_id"] ?? .null, "merged_revno": proposal["merged_revno"] ?? .null,
                "merger_inferred": .bool(reporter == nil),
            ])
        for request in requests {
            guard let employee = employee(request.vote["registrant_link"], coMembersToo: true), window.contains(request.date) else {
                continue
            }
            let byRegistrant = request.registrant == proposalRegistrant
            let eventId =
                byRegistrant
                ? ProposalEventId.make(parent: parent, suffix: "rq", time: request.date) : "\(parent)-rr\(request.referenceId)"
            guard !events.contains(where: { $0.id == eventId }) else { continue }  // one form naming several reviewers
            events.append(
                try Event(
                    id: eventId, parentId: parent, employeeId: employee, type: "merge_proposal:review_requested",
                    timeUTC: request.date.description,
                    relationProperties: base.merging([
                        "vote_reference_id": .int(request.referenceId), "reviewer_link": request.vote["reviewer_link"] ?? .null,
                        "review_type": request.vote["review_type"] ?? .null,
                    ]) { _, new in new }
                ))
        }
        for comment in comments {
            guard let employee = employee(comment["author_link"], coMembersToo: true), !isDeleted(comment) else { continue }
            let date = try required(comment["date_created"], "date_created of a comment on merge proposal \(id)")
            guard window.contains(date) else { continue }
            guard let commentId = comment["id"]?.intValue ?? trailingInt(comment["self_link"], after: "/comments/") else {
                throw ETLError(
                    .malformedResponse,
                    "a comment on merge proposal \(id) has neither an id nor a /comments/<id> self_link: \(comment.serialized().prefix(160))",
                    nonRetryable: false)
            }
            let vote = nonNull(comment["vote"])
            events.append(
                try Event(
                    id: "\(parent)-\(vote == nil ? "c" : "v")\(commentId)", parentId: parent, employeeId: employee,
                    type: vote == nil ? "merge_proposal:commented" : "merge_proposal:voted", timeUTC: date.description,
                    relationProperties: base.merging([
                        "comment_id": .int(commentId), "comment_link": comment["web_link"] ?? .null, "title": comment["title"] ?? .null,
                        "vote": vote ?? .null, "vote_tag": comment["vote_tag"] ?? .null,
                    ]) { _, new in new }
                ))
        }
        return events
    }

    /// A review request a vote reference keeps (`mergeProposalEvents`).
    struct ReviewRequest {
        var vote: JSONValue
        var registrant: String?
        var date: UTCTimestamp
        var referenceId: Int
    }

    /// The vote references of proposal `id` that are review requests made after its creation:
    /// not those made with it (at `created`, by its `registrant`), nor those whose registrant is
    /// their reviewer — made by a vote nobody asked for (and reused by the voter's later votes).
    /// Their dates do not tell them apart: a vote by email is dated by its mail, its reference
    /// when it is processed. So a team review its requester claimed or voted on (Launchpad then
    /// rewrites the reviewer to them) is not counted either.
    static func reviewRequests(
        _ votes: [JSONValue], proposal id: Int, created: UTCTimestamp?, registrant proposalRegistrant: String?
    ) throws(ETLError) -> [ReviewRequest] {
        guard !votes.isEmpty else { return [] }
        var requests: [ReviewRequest] = []
        for vote in votes {
            let registrant = LaunchpadURL.username(inLink: vote["registrant_link"]?.stringValue)
            let date = try required(vote["date_created"], "date_created of a vote reference on merge proposal \(id)")
            if date == created, registrant == proposalRegistrant { continue }
            if let registrant, registrant == LaunchpadURL.username(inLink: vote["reviewer_link"]?.stringValue) { continue }
            guard let referenceId = trailingInt(vote["self_link"], after: "/+review/") else {
                throw ETLError(
                    .malformedResponse,
                    "a vote reference on merge proposal \(id) has no +review/<id> self_link: \(vote.serialized().prefix(160))",
                    nonRetryable: false)
            }
            requests.append(ReviewRequest(vote: vote, registrant: registrant, date: date, referenceId: referenceId))
        }
        return requests
    }

    /// Events from one question and its messages.
    public static func questionEvents(question: JSONValue, messages: [JSONValue], member: String, window: ExtractionWindow) throws(ETLError)
        -> [Event]
    {
        let employee = EmployeeId.of(account: member)
        guard let id = question["id"]?.intValue ?? trailingInt(question["self_link"], after: "/+question/") else {
            throw ETLError(.malformedResponse, "question entry without an id: \(question.serialized().prefix(160))", nonRetryable: false)
        }
        let parent = "q-\(id)"
        let base: [String: JSONValue] = [
            "question_id": .int(id), "title": question["title"] ?? .null, "status": question["status"] ?? .null,
            "target_link": question["target_link"] ?? .null, "link": question["web_link"] ?? .null,
        ]
        var events: [Event] = []
        let created =
            isMember(question["owner_link"], member) ? try required(question["date_created"], "date_created of question \(id)") : nil
        if let created, window.contains(created) {
            events.append(
                try Event(
                    id: parent + "-c", parentId: parent, employeeId: employee, type: "question:created",
                    timeUTC: created.description,
                    relationProperties: base))
        }
        for (position, message) in messages.enumerated() {
            let index = message["index"]?.intValue ?? trailingInt(message["self_link"], after: "/messages/") ?? position + 1
            guard message["visible"]?.boolValue != false, !isDeleted(message) else { continue }  // hidden by an admin, or deleted
            guard isMember(message["owner_link"], member) else { continue }
            let date = try required(message["date_created"], "date_created of message \(index) on question \(id)")
            guard window.contains(date) else { continue }
            let action = message["action"]?.stringValue ?? ""
            let newStatus = message["new_status"]?.stringValue ?? ""
            // Solved by its act: the owner's confirmation (or own answer), or a status set to
            // Solved. Not by `new_status` alone: a comment carries the question's status as it
            // stands (`addComment`), so each comment on a solved question reads "Solved".
            let solves = action == "Confirm" || (action == "Change status" && newStatus == "Solved")
            let (suffix, type): (String, String) =
                solves
                ? ("s", "question:solved")
                : action == "Answer" ? ("a", "question:answered") : ("m", "question:commented")
            events.append(
                try Event(
                    id: "\(parent)-\(suffix)\(index)", parentId: parent, employeeId: employee, type: type,
                    timeUTC: date.description,
                    relationProperties: base.merging([
                        "message_index": .int(index), "action": .string(action), "new_status": .string(newStatus),
                        "message_link": message["web_link"] ?? .null,
                    ]) { _, new in new }
                ))
        }
        return events
    }

    /// `value` unless it is missing or JSON `null`.
    static func nonNull(_ value: JSONValue?) -> JSONValue? {
        switch value {
        case nil, .null?: return nil
        case let present?: return present
        }
    }

    static func isMember(_ link: JSONValue?, _ member: String) -> Bool {
        LaunchpadURL.username(inLink: link?.stringValue) == member
    }

    /// The timestamp in `value`, which Launchpad always sends for `field` (e.g. a comment's
    /// `date_created`): missing or unreadable is a malformed response, not an event to drop.
    static func required(_ value: JSONValue?, _ field: String) throws(ETLError) -> UTCTimestamp {
        guard let stamp = try optional(value, field) else {
            throw ETLError(.malformedResponse, "Launchpad sent no \(field) (got \(value?.serialized() ?? "nothing"))", nonRetryable: false)
        }
        return stamp
    }

    /// The timestamp in `value`, nil when it is missing or null (a date that has not happened);
    /// present but unreadable is a malformed response.
    static func optional(_ value: JSONValue?, _ field: String) throws(ETLError) -> UTCTimestamp? {
        guard let value = nonNull(value) else { return nil }
        guard let stamp = value.stringValue.flatMap(UTCTimestamp.init(parsing:)) else {
            throw ETLError(
                .malformedResponse, "\(field) is \(value.serialized().prefix(80)), not a Launchpad timestamp", nonRetryable: false)
        }
        return stamp
    }

    static func time(_ value: JSONValue?) -> UTCTimestamp? {
        value?.stringValue.flatMap(UTCTimestamp.init(parsing:))
    }

    static func trailingInt(_ link: JSONValue?, after marker: String) -> Int? {
        guard let text = link?.stringValue, let range = text.range(of: marker, options: .backwards) else { return nil }
        return Int(text[range.upperBound...].prefix(while: { $0.isNumber }))
    }

    static func mergeProposalId(_ proposal: JSONValue) -> Int? {
        trailingInt(proposal["self_link"], after: "/+merge/")
    }
}
