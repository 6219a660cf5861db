public import LaunchpadETL

/// The people and items an offline Launchpad serves (see `FixtureDataset.standard`).
public struct FixtureWorld: Sendable {
    /// A person.
    public struct Person: Sendable {
        public var name: String
        public var displayName: String
        public var timeZone: String
        /// A suspended account: Launchpad answers 410 Gone ("User is suspended"); a deactivated one
        /// is served as usual, and a placeholder is 404.
        public var suspended: Bool = false
    }

    /// A bug task: one target a bug affects.
    public struct Task: Sendable {
        /// Path of the target under the API base, e.g. `ubuntu/+source/netplan.io`.
        public var target: String
        /// Display name, e.g. `netplan.io (Ubuntu)`.
        public var targetName: String
        public var status: String
        public var importance: String
        public var assignee: String?
        /// When the task was created (nil: with the bug). A bug re-targeted later (its first
        /// task deleted) has only tasks newer than the bug; `searchTasks`' `created_since` and
        /// `created_before` compare this date, not the bug's.
        public var created: UTCTimestamp? = nil
        /// A private team as assignee: rendered as Launchpad's redaction marker.
        public var assigneeRedacted: Bool = false
    }

    /// A bug message (index 0 is the description).
    public struct Message: Sendable {
        public var owner: String
        public var date: UTCTimestamp
        public var content: String
        /// False for a comment hidden by an admin (spam, leaked data): it stays in the list
        /// with `visible: false`.
        public var visible: Bool = true
    }

    /// A bug activity row.
    public struct Activity: Sendable {
        public var person: String
        public var date: UTCTimestamp
        public var whatChanged: String
        public var oldValue: String?
        public var newValue: String?
        public var message: String? = nil

        /// Whether the change moves the bug's `date_last_updated`. Launchpad's handler
        /// (`update_bug_date_last_updated`, lib/lp/bugs/configure.zcml) runs for edits of the
        /// bug and its tasks, attachments added or edited, messages, links and bug watches
        /// made; not for links removed, attachments removed, tasks deleted, subscriptions
        /// (lib/lp/bugs/doc/bug.rst: subscribing does not update it), nor for what goes only
        /// through `Bug.addChange` (lib/lp/bugs/model/bug.py): a series nomination, the lock
        /// status or reason, a bug watch removed. A bug whose only recent change is one of
        /// these is not found by `modified_since`.
        public var touchesBug: Bool {
            !(whatChanged.hasSuffix(" unlinked") || whatChanged == "attachment removed" || whatChanged == "bug task deleted"
                || ["nominated for series", "lock status", "lock reason", "bug watch removed"].contains(whatChanged)
                || whatChanged.hasPrefix("removed subscriber ") || whatChanged.hasPrefix("subscriber ")
                || (whatChanged == "bug" && message?.hasPrefix("added subscriber") == true))
        }
    }

    /// A bug.
    public struct Bug: Sendable {
        public var id: Int
        public var title: String
        public var owner: String
        public var created: UTCTimestamp
        public var tasks: [Task]
        public var messages: [Message]
        public var activity: [Activity]
        public var tags: [String] = []
        public var duplicateOf: Int? = nil
        /// A private bug: anonymous requests never see it, and listings drop it after the
        /// batch is cut (pages come back short).
        public var isPrivate: Bool = false
        /// Made private after the listings were read: listed as before, but its own URLs (the
        /// bug, its messages, its activity) answer 404, as Launchpad's do once the caller may no
        /// longer view it (lib/lp/bugs/browser/malone.py's traversal returns nothing).
        public var privateSinceListing: Bool = false
        /// Its messages answer 404 while the bug itself reads: not Launchpad (a bug's
        /// collections are served wherever it is), but a proxy before it or a rewritten path.
        public var messagesUnserved: Bool = false

        /// Launchpad's `date_last_updated`: the latest message, or activity row of a change
        /// Launchpad counts as touching the bug (`touchesBug`).
        public var lastUpdated: UTCTimestamp {
            (messages.map(\.date) + activity.filter(\.touchesBug).map(\.date) + [created]).max() ?? created
        }
    }

    /// A code review comment (with an optional vote).
    public struct Comment: Sendable {
        public var id: Int
        public var author: String
        public var date: UTCTimestamp
        public var vote: String?
        public var content: String
    }

    /// A review asked of someone after a proposal was created (Launchpad's `nominateReviewer`,
    /// "Request another review").
    public struct ReviewRequest: Sendable {
        public var reviewer: String
        public var registrant: String
        public var date: UTCTimestamp
        public var reviewType: String? = nil
    }

    /// A code review vote reference (`<mp>/votes`), as Launchpad keeps them.
    public struct VoteReference: Sendable {
        public var id: Int
        public var reviewer: String
        public var registrant: String
        public var date: UTCTimestamp
        public var reviewType: String?
        /// The comment holding the reviewer's latest vote; nil while the review is pending.
        public var comment: Int?
    }

    /// A Git merge proposal.
    public struct MergeProposal: Sendable {
        public var id: Int
        /// Owner of the source repository (whose `getMergeProposals` lists it).
        public var sourceOwner: String
        public var project: String
        public var branch: String
        public var registrant: String
        public var status: String
        public var created: UTCTimestamp
        public var reviewRequested: UTCTimestamp?
        public var reviewed: UTCTimestamp?
        public var reviewer: String?
        public var merged: UTCTimestamp?
        public var mergeReporter: String?
        /// People asked to review (whose `getRequestedReviews` lists it, if `bazaar`, as it
        /// lists it for every other vote reference of theirs).
        public var requestedReviewers: [String] = []
        /// Reviews asked for later, by anyone (vote references of their own).
        public var laterReviewRequests: [ReviewRequest] = []
        /// A Bazaar proposal. Launchpad's `getRequestedReviews` lists only these: it queries
        /// branch collections, so Git proposals (all others) never appear there.
        public var bazaar: Bool = false
        public var comments: [Comment] = []
        /// A private proposal (a private project's, say): listings count it in `total_size`
        /// and drop it after the batch is cut, and anonymous requests never see it.
        public var isPrivate: Bool = false
        /// Its comments answer 404 while the proposal itself reads: not Launchpad, but a proxy
        /// before it or a rewritten path.
        public var commentsUnserved: Bool = false
        /// Its vote references answer 404 while the proposal itself reads (as `commentsUnserved`).
        public var votesUnserved: Bool = false
        /// The proposal that superseded this one (`superseded_by_link`; its `supersedes_link`
        /// points back). Launchpad records no date for superseding: the successor's
        /// `date_created` is when this one closed.
        public var supersededBy: Int? = nil
        /// A Git proposal between personal repositories (no project): the target repository
        /// (`~owner/+git/name`), whose `getMergeProposals` (devel only) lists it; the source is
        /// `~<sourceOwner>/+git/<name>` (Launchpad merges personal repositories of one name only),
        /// `branch` its ref. Nil for a project's or package's proposal.
        public var personalTarget: String? = nil

        /// Its vote references, as Launchpad makes them: at creation one per reviewer asked
        /// (the target's reviewing team when none is named), asked by the registrant at that
        /// instant; one per later request; and one for each voter nobody asked, made by the
        /// vote (registrant and reviewer the voter). A vote fills in its voter's reference.
        public var voteReferences: [VoteReference] {
            var references: [VoteReference] = []
            func add(_ reviewer: String, by registrant: String, at date: UTCTimestamp, type: String? = nil) {
                references.append(
                    VoteReference(
                        id: id * 100 + references.count + 1, reviewer: reviewer, registrant: registrant, date: date, reviewType: type))
            }
            for reviewer in requestedReviewers.isEmpty ? ["\(project)-developers"] : requestedReviewers {
                add(reviewer, by: registrant, at: created)
            }
            for request in laterReviewRequests { add(request.reviewer, by: request.registrant, at: request.date, type: request.reviewType) }
            for comment in comments.sorted(by: { $0.date < $1.date }) where comment.vote != nil {
                if let index = references.firstIndex(where: { $0.reviewer == comment.author }) {
                    references[index].comment = comment.id
                } else {
                    add(comment.author, by: comment.author, at: comment.date, type: "code")
                    references[references.count - 1].comment = comment.id
                }
            }
            return references
        }
    }

    /// A question message (`index` starts at 1).
    public struct QuestionMessage: Sendable {
        public var owner: String
        public var date: UTCTimestamp
        public var action: String
        public var newStatus: String
        public var content: String
    }

    /// An Answers question.
    public struct Question: Sendable {
        public var id: Int
        public var target: String
        public var owner: String
        public var title: String
        public var status: String
        public var created: UTCTimestamp
        public var assignee: String? = nil
        public var answerer: String? = nil
        public var messages: [QuestionMessage] = []
        /// Its messages answer 404 while the question itself reads (a proxy before Launchpad).
        public var messagesUnserved: Bool = false
    }

    /// A team: a Launchpad person with members (`GET ~team/members`).
    public struct Team: Sendable {
        public var name: String
        public var displayName: String
        /// Names of its direct members (people in `people`).
        public var members: [String]
        /// Its former members, by name: memberships that expired or were deactivated
        /// (`GET ~team/expired_members`, `~team/deactivated_members`, `~team/+member/NAME`).
        public var formerMembers: [String: FormerMembership] = [:]
        /// A private team: counted in the members listings of the teams it belongs to (their
        /// `total_size`), its entry dropped after the batch is cut, as Launchpad drops what a
        /// client may not see.
        public var isPrivate: Bool = false
        /// Renamed, merged or deleted after the listings that name it were read: still in
        /// them, while every page of its own (`~name/…`) answers 404 (the moment between a
        /// listing and the next request, held still).
        public var vanished: Bool = false
        /// A private team the fixture's reader may see by name only (launchpad.LimitedView: it
        /// is in a team that holds this one, say): shown in the listings that hold it and its
        /// entry read, but its member listings (`members`, `expired_members`,
        /// `deactivated_members`, `+member/NAME`) answer 401 naming the permission missing
        /// (`launchpad.View`), as Launchpad's web service does: members are
        /// `IPersonViewRestricted` (registry/configure.zcml; its test
        /// `test_authorised_user_cannot_see_restricted_team_details`).
        public var seenByNameOnly: Bool = false

        /// Whether listings that hold it show it to the fixture's reader (not only count it).
        public var listedToReader: Bool { !isPrivate || seenByNameOnly }
    }

    /// A membership that ended, as Launchpad's TeamMembership records it.
    public struct FormerMembership: Sendable {
        /// `Expired` or `Deactivated`; or `Proposed` (a person who applied, again when `joined`
        /// is set) or `Invited` (a team invited, again when `joined` is set), as Launchpad keeps
        /// one membership row per person and team and moves it from status to status.
        public var status: String
        /// When it was first made active (kept through later statuses); nil for one never active.
        public var joined: UTCTimestamp?
        /// When it expires; a new application or invitation overwrites it with the team's
        /// default (Launchpad records no date for a deactivation).
        public var expires: UTCTimestamp?
    }

    public var people: [String: Person]
    public var bugs: [Int: Bug]
    public var mergeProposals: [Int: MergeProposal]
    public var questions: [Int: Question]
    public var teams: [String: Team] = [:]
    /// Project owners (a person or a team) by project name, as `~owner?ws.op=getOwnedProjects`
    /// lists them (direct ownership only).
    public var projectOwners: [String: String] = [:]
    /// OAuth access tokens Launchpad has issued, by token (see `FixtureOAuth`).
    public var accessTokens: [String: AccessToken] = [:]

    /// An access token: issued to one consumer (application), with its secret, for a person.
    public struct AccessToken: Sendable {
        public var consumerKey: String
        public var secret: String
        public var owner: String

        public init(consumerKey: String, secret: String, owner: String) {
            self.consumerKey = consumerKey
            self.secret = secret
            self.owner = owner
        }
    }
}
