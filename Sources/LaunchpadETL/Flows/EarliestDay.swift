import TemporalWorker

extension LaunchpadQuery {
    /// The patch under which the flows refuse a window that starts before `earliestDay`.
    public static let earliestDayPatch = "launchpad-earliest-day"

    /// In workflow code: refuses a window whose first day `start` (named `name`) is before
    /// `earliestDay`, for runs started from `earliestDayPatch` on (asked only for such a window,
    /// so other runs record no marker, and runs started before replay as they ran).
    static func refuseTooEarly(_ start: String, name: String, context: WorkflowContext) throws(ETLError) {
        guard let day = CivilDate(iso: start), let refusal = tooEarly(day, name: name), context.patched(earliestDayPatch) else { return }
        throw ETLError(.invalidQuery, refusal, nonRetryable: true)
    }
}
