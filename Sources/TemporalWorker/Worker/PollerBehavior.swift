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
    /// waits, so fewer polls on a quiet queue leave more slots to eager activities. The sticky
    /// queue keeps `minimum` polls (Go and Core scale it too).
    case autoscaling(minimum: Int = 1, maximum: Int = 100, initial: Int = 5)

    /// Polls of the sticky queue, which does not autoscale: the fixed count, or the minimum.
    var stickyCount: Int {
        switch self {
        case .fixed(let n): max(1, n)
        case .autoscaling(let minimum, _, _): max(1, minimum)
        }
    }

    /// A scaler for `.autoscaling` (nil for `.fixed`), which calls `grew` when it wants more polls.
    func scaler(grew: @escaping @Sendable () -> Void) -> PollerScaler? {
        guard case .autoscaling(let minimum, let maximum, let initial) = self else { return nil }
        return PollerScaler(minimum: minimum, maximum: maximum, initial: initial, grew: grew)
    }

    /// The number of polls to start with.
    var initialCount: Int {
        switch self {
        case .fixed(let n): max(1, n)
        case .autoscaling(let minimum, let maximum, let initial): min(max(initial, max(1, minimum)), max(1, maximum, minimum))
        }
    }
}
