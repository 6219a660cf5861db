import Foundation
import Synchronization
import TemporalProto
import Testing

@testable import Temporal

/// A transport whose calls wait out their delay (the first call the first delay, and so on;
/// or their deadline, when shorter) and then fail UNAVAILABLE; it records each call's deadline.
private final class SlowUnavailable: ServiceTransport {
    let target = "slow-unavailable"
    let delays: [Duration]
    let deadlines = Mutex<[Duration?]>([])
    init(delays: [Duration]) { self.delays = delays }
    func unary(method: String, request: Data, metadata: [(String, String)], timeout: Duration?) async throws -> Data {
        let delay = deadlines.withLock {
            $0.append(timeout)
            return delays[min($0.count, delays.count) - 1]
        }
        try await Task.sleep(for: min(delay, timeout ?? delay))
        if let timeout, timeout < delay { throw GRPCStatusError(code: .deadlineExceeded, message: "deadline exceeded") }
        throw GRPCStatusError(code: .unavailable, message: "connection refused")
    }
    func close() {}
}

@Suite struct RetryBudgetTests {
    /// A call given a budget (`within:`) ends within it, the deadline of its last attempt cut
    /// to what is left: each attempt had the whole per-call deadline, so an attempt begun near
    /// the budget's end ran a whole deadline past it (a heartbeat given 2 s took 3.3 s here).
    @Test func aBudgetBoundsEveryAttemptsDeadline() async throws {
        // The first attempt fails after 0.3 s; the second, begun at about 0.5 s, would run 5 s.
        // (The first took 1.2 s before: on a loaded machine the budget was gone by then, and no
        // second attempt came to check.)
        let transport = SlowUnavailable(delays: [.milliseconds(300), .seconds(5)])
        let service = WorkflowService(transport: transport, headers: [])
        let clock = ContinuousClock()
        let start = clock.now
        await #expect(throws: TemporalError.self) {
            _ = try await service.recordActivityTaskHeartbeat(.init(), within: .seconds(2))
        }
        // The old code took 0.5 s + 5 s; 4.5 s leaves a loaded machine room (a CI run took 3.3 s
        // at e2f20f1, over the 3.2 s bound before). The deadlines below tell old from new
        // whatever the machine's load.
        let elapsed = clock.now - start
        #expect(elapsed < .milliseconds(4_500), "\(elapsed)")
        let deadlines = transport.deadlines.withLock { $0 }
        #expect(deadlines.count >= 2, "\(deadlines)")
        #expect(deadlines.dropFirst().allSatisfy { ($0 ?? .seconds(10)) < .seconds(2) }, "\(deadlines)")
    }
}
