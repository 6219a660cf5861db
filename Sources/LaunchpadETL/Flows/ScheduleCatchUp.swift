import Logging
import TemporalWorker

/// What a scheduled run reads besides its own period: the days since the last completed run of
/// its schedule read through, which a paused schedule (Temporal skips the periods it was paused
/// for), a run that failed for good (it is not repeated) or an outage longer than the catch-up
/// window would otherwise leave unread while every run finishes green.
///
/// Each scheduled run's result records how far its schedule has read (`FlowResult.readThroughKey`:
/// the latest of its own window's end and the previous run's mark), and Temporal hands a
/// schedule's runs the result of its last completed one (`WorkflowContext.lastCompletionResult`).
/// A run whose window starts after the day after that mark (less its lookback) starts there
/// instead, at most `maximumDays` before its own start; the days before that are named as not
/// read (the result is partial: backfill them). A backfill of older periods moves no mark back,
/// so the regular runs after it read nothing again. A result of another member or team (the
/// schedule's action was changed), or of a release before this one (no mark), starts nothing.
struct ScheduleCatchUp {
    /// The window to read.
    var window: (start: String, end: String)
    /// What the run's result records under `readThroughKey` (unless it must be read again).
    var readThrough: String
    /// The last completed run's mark, when it had one of this subject.
    var previousMark: String?
    /// Whether that run, too, read a listing short (`FlowResult.rereadKey`) and held its mark.
    var previousReread = false
    /// The sentence for `FlowResult.caughtUpKey`, when the window was moved.
    var note: String?
    /// The sentence for `FlowResult.skippedKey`, when days since the mark were left unread.
    var unread: String?
    /// Whether the patch is in force (the result then records `readThrough`).
    var enabled: Bool

    /// The patch id under which scheduled runs catch up (runs started before it replay with the
    /// window they had).
    static let patch = "scheduled-read-through"

    /// The patch id under which the last result's subject matches a member or team whatever its
    /// case (a schedule's input may say `Alice-Example`; results hold `alice-example`) and a
    /// Launchpad however its service root is written (`production` or its URL). Before it, such
    /// a schedule never caught up, and every run was green.
    static let subjectPatch = "scheduled-subject-normalized"

    /// The patch id under which a last completed result that does not decode makes the run
    /// partial, saying so (before it, no catch-up was planned and nothing said).
    static let unreadablePatch = "scheduled-last-result-unreadable"

    /// The most days a run reads before its own window's start to catch up: a schedule paused
    /// for months must not make one run read them all (and outgrow its activities' timeouts).
    static let maximumDays = 31

    /// Whether `summary` is of `subject` with names compared without case and Launchpads by
    /// what they read (their service roots resolved; application name and API version aside).
    static func sameSubject(_ summary: [String: String], _ subject: [String: String]) -> Bool {
        subject.allSatisfy { key, value in
            guard let recorded = summary[key] else { return false }
            return key == "launchpad" ? launchpadKey(recorded) == launchpadKey(value) : recorded.lowercased() == value.lowercased()
        }
    }

    /// The store key of the service root in a summary's `application@root:version`; nil when
    /// it does not resolve.
    static func launchpadKey(_ text: String) -> String? {
        guard let at = text.firstIndex(of: "@"), let colon = text.lastIndex(of: ":"), at < colon else { return nil }
        return (try? ServiceRoot(String(text[text.index(after: at)..<colon]))).map(StoreLaunchpad.key)
    }

    /// Plans the catch-up of a run over `window` whose result will hold `subject` in its
    /// summary (`member` or `team`, and `launchpad`), reading `lookbackDays` before what it has
    /// not read. A last result without a mark (an earlier release's) counts as read through its
    /// window's end (`data_date_end`): the cap bounds what that makes a run read again.
    static func plan(
        _ context: WorkflowContext, window: (start: String, end: String), lookbackDays: Int, subject: [String: String]
    ) -> ScheduleCatchUp {
        var plan = ScheduleCatchUp(window: window, readThrough: window.end, previousMark: nil, note: nil, unread: nil, enabled: false)
        guard context.patched(patch) else { return plan }
        plan.enabled = true
        let last: FlowResult?
        do {
            last = try context.lastCompletionResult(as: FlowResult.self)
        } catch {
            // Undecodable (a key the payload codec no longer has, another tool's result): the
            // days since the last completed run are unknown. It planned nothing, silently, and
            // every run was green whatever the runs before it had left unread.
            if context.patched(unreadablePatch) {
                plan.unread =
                    "schedule: the last completed run's result could not be read (\(error)), so the days since it were not caught up: if runs of this schedule failed or were skipped before this one, backfill their periods"
                context.logger.warning(
                    "a scheduled run cannot read its schedule's last completed result: no catch-up", metadata: ["error": "\(error)"])
            }
            return plan
        }
        guard let start = CivilDate(iso: window.start), let end = CivilDate(iso: window.end), let last,
            subject.allSatisfy({ last.summary[$0.key] == $0.value })
                || (Self.sameSubject(last.summary, subject) && context.patched(subjectPatch)),
            let mark = (last.summary[FlowResult.readThroughKey] ?? last.summary["data_date_end"]).flatMap({ CivilDate(iso: $0) })
        else { return plan }
        plan.previousMark = mark.description
        // Held only when its mark stayed before its window's end: a run that moved it on (short
        // again after a hold, or a backfill of older days) keeps its note, and was taken for a
        // hold, so every later run moved on too, its new days read once.
        plan.previousReread =
            last.summary[FlowResult.rereadKey] != nil
            && last.summary[FlowResult.readThroughKey].map { held in last.summary["data_date_end"].map { held < $0 } ?? false } ?? false
        if end < mark { plan.readThrough = mark.description }
        let gapStart = mark.adding(days: 1 - lookbackDays)
        guard gapStart < start, mark < end else { return plan }
        let earliest = start.adding(days: -maximumDays)
        let from = earliest < gapStart ? gapStart : earliest
        plan.window.start = from.description
        plan.note =
            "the runs of this schedule since the last completed one (which read through \(mark)) failed, were skipped while it was paused, or did not run, so this run also read \(from)…\(start.adding(days: -1))"
        // Days no run read: from the day after the mark (the lookback days before it were read).
        if mark.adding(days: 1) < earliest {
            plan.unread =
                "schedule: \(mark.adding(days: 1))…\(earliest.adding(days: -1)) not read since the schedule's last completed run (a run catches up at most \(maximumDays) days; backfill them with --from \(gapStart) --to \(earliest.adding(days: -1)))"
        }
        context.logger.warning(
            "a scheduled run reads what the runs since the last completed one did not",
            metadata: ["read_through": "\(mark)", "from": "\(from)", "window_start": "\(start)", "unread": "\(plan.unread ?? "")"])
        return plan
    }

    /// `result` with what this plan adds to it: the mark, the catch-up sentence, and the days
    /// left unread (which make it partial). A result that must be read again
    /// (`FlowResult.rereadKey`: a listing read short, which a later read may find whole) keeps
    /// the last completed run's mark (or the day before its window, the first time), so the
    /// schedule's next run reads its days again: moved on, its days were never read again, and
    /// every later run was green. Once: a run after a held one that reads short again moves the
    /// mark on (a shortfall that lasts is entries Launchpad counts but does not show, which no
    /// read finds; held for good, every run read a month again and named days unread).
    func annotate(_ result: FlowResult) -> FlowResult {
        guard enabled else { return result }
        var result = result
        var mark = readThrough
        if let note = result.summary[FlowResult.rereadKey] {
            if !previousReread, let held = previousMark ?? CivilDate(iso: window.start).map({ $0.adding(days: -1).description }),
                held < mark
            {
                mark = held
                result.summary[FlowResult.rereadKey] = note + " (the schedule's next run does: its mark stays at \(held))"
            } else if previousReread {
                result.summary[FlowResult.rereadKey] =
                    note + " (short again after a read again: the shortfall lasts, so the schedule's mark moves on)"
            }
        }
        result.summary[FlowResult.readThroughKey] = mark
        if let note { result.summary[FlowResult.caughtUpKey] = note }
        if let unread {
            result.summary[FlowResult.skippedKey] = ([unread] + [result.summary[FlowResult.skippedKey]].compactMap { $0 }).joined(
                separator: "; ")
        }
        return result
    }
}
