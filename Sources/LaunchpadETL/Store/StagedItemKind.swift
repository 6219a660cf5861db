/// What a staged item is: the extraction's paging phases stage items of one kind, its detail
/// phases read them back by kind. The raw value is what the stores write in `staged_items.kind`
/// (so it must not change while batches are open).
public enum StagedItemKind: String, Sendable, CaseIterable {
    /// A bug id (from the member's reported or touched bug tasks).
    case bug
    /// A merge proposal, as listed.
    case mergeProposal = "merge_proposal"
    /// A question, as listed.
    case question
    /// A project or repository whose merge proposals are searched for the member's reviews.
    case reviewTarget = "review_target"
    /// A review target a bug listed by the member is filed against, keyed
    /// `"<target> <bug key>"` with the bug id as payload: what ranks the targets of bugs with the
    /// member's events in the window `active`, ahead of the teams, and the others `otherBugs`
    /// (`ReviewTargets.Rank`).
    case bugTarget = "bug_target"
    /// A bug with events stored for the window that neither bug search listed, keyed and
    /// staged as a `bug` too, so that its details are read (`LaunchpadExtractor`): its 404 is
    /// expected (made private or deleted), so it does not count toward a chunk of listed bugs
    /// that all answer 404.
    case unlistedBug = "unlisted_bug"
    /// An `unlistedBug` that answered 404 to a reader with credentials. Launchpad decides who
    /// may see a private bug with a bug search, which leaves out the tasks of deactivated
    /// projects, so a private bug all of whose tasks are on one answers 404 even to its
    /// subscribers: not read, so a load keeps its events (`StaleEvents.itemRead`).
    case unreadBug = "unread_bug"
}
