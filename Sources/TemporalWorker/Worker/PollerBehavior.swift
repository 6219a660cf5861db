/// How many long polls of one task kind a worker keeps open at once.
public enum PollerBehavior: Sendable, Equatable {
    /// Always this many polls (at least one).
    case fixed(Int)
    /// Between `minimum` and `maximum` polls, starting with `initial`, moved by what the polls
    /// return, as the other SDKs' autoscaling pollers do: the server's poller-scaling hint
    /// (`PollerScalingDecision`, on servers that send it) adds or removes polls (additions only
    /// while the rate of tasks received is rising); an empty poll removes one once the server
    /// has sent a hint or the namespace says it scales pollers (`poller_autoscaling`), and so
    /// does a failed poll (RESOURCE_EXHAUSTED halves the count): before either the count stays
    /// where it is, since nothing else would bring it back up. A poll holds a task slot while it
    /// waits, so fewer polls on a quiet queue leave more slots to eager activities and eager
    /// workflow starts.
    ///
    /// For workflow tasks with the sticky cache on, the sticky queue's polls scale the same way,
    /// on their own (as Go and Core scale them), starting at `minimum` (the queue is empty until
    /// this worker has run a task) and growing on the server's hints for it; `maximum` applies to
    /// each queue. Neither queue's polls may grow to hold every workflow task slot: the normal
    /// queue's leave `minimum` slots to sticky polls where the slots allow (at least one), the
    /// sticky queue's leave one to a normal poll. Otherwise a poll waiting for a slot behind the
    /// other queue's idle polls would wait up to a long poll's minute, while the sticky queue's
    /// tasks timed out to the normal queue and replayed from their first event. While the server
    /// says the sticky queue has a backlog (`backlog_count_hint` of its last answer: more than one
    /// task, and more than its polls out), a freed slot goes to a sticky poll before a normal
    /// one, as in Core, unless no normal poll is out.
    case autoscaling(minimum: Int = 1, maximum: Int = 100, initial: Int = 5)

    /// Polls of the sticky queue at least: the fixed count, or the minimum.
    var stickyCount: Int {
        switch self {
        case .fixed(let n): max(1, n)
        case .autoscaling(let minimum, _, _): max(1, minimum)
        }
    }

    /// A scaler for `.autoscaling` (nil for `.fixed`), which calls `grew` when it wants more polls;
    /// with `slots`, its polls leave `reserving` of them to another queue's polls (never
    /// fewer than one poll, nor than `minimum`). `startAtMinimum`: start with `minimum` polls
    /// rather than `initial` (a sticky queue).
    func scaler(
        slots: Int? = nil, reserving: Int = 0, startAtMinimum: Bool = false, grew: @escaping @Sendable () -> Void
    ) -> PollerScaler? {
        guard case .autoscaling(let minimum, let maximum, let initial) = self else { return nil }
        let cap = slots.map { min(maximum, max(1, $0 - reserving)) } ?? maximum
        return PollerScaler(minimum: minimum, maximum: cap, initial: startAtMinimum ? minimum : initial, grew: grew)
    }

    /// The number of polls to start with.
    var initialCount: Int {
        switch self {
        case .fixed(let n): max(1, n)
        case .autoscaling(let minimum, let maximum, let initial): min(max(initial, max(1, minimum)), max(1, maximum, minimum))
        }
    }
}
