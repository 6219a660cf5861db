/// Enum values as Launchpad writes them (display titles), for "every status" searches: the
/// server's defaults silently leave out resolved bugs, merged/rejected/superseded merge
/// proposals and expired/invalid questions.
public enum LaunchpadEnums {
    /// Every searchable bug task status (`Unknown` is not searchable).
    public static let bugTaskStatuses = [
        "New", "Incomplete", "Opinion", "Invalid", "Won't Fix", "Expired", "Confirmed", "Triaged", "In Progress", "Deferred",
        "Fix Committed", "Fix Released", "Does Not Exist",
    ]
    /// `searchTasks`' default: unresolved statuses only.
    public static let unresolvedBugTaskStatuses = ["New", "Incomplete", "Confirmed", "Triaged", "In Progress", "Deferred", "Fix Committed"]
    /// Every merge proposal queue status.
    public static let mergeProposalStatuses = [
        "Work in progress", "Needs review", "Approved", "Rejected", "Merged", "Code failed to merge", "Queued", "Superseded",
    ]
    /// Every question status.
    public static let questionStatuses = ["Open", "Needs information", "Answered", "Solved", "Expired", "Invalid"]
}
