/// Paces a long poll that is asked again after DEADLINE_EXCEEDED (waiting for a workflow's
/// result, or an update's outcome). A server ends such a poll after its own long-poll interval,
/// so asking again at once is right; a frontend or proxy that ends each call at once with that
/// code (a misconfigured timeout) made the loop send thousands of calls a second. A poll that
/// ended within `minimum` of being sent waits out the rest of it first.
struct LongPollPacing {
    private let clock = ContinuousClock()
    private var sent: ContinuousClock.Instant
    private let minimum: Duration

    init(minimum: Duration = .seconds(1)) {
        self.minimum = minimum
        sent = clock.now
    }

    /// Notes that a poll is being sent now.
    mutating func sending() { sent = clock.now }

    /// After a poll ended DEADLINE_EXCEEDED: waits until `minimum` has passed since it was sent.
    func beforeAskingAgain() async throws {
        let elapsed = clock.now - sent
        if elapsed < minimum { try await Task.sleep(for: minimum - elapsed) }
    }
}
