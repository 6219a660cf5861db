import Dispatch
import Testing

@testable import TemporalWorker

/// `DeadlineAlarms`: one dispatch timer for every deadline a worker waits on.
@Suite struct DeadlineAlarmsTests {
    @Test func alarmsFireInDeadlineOrderWhateverTheOrderTheyWereScheduledIn() async throws {
        let alarms = DeadlineAlarms()
        let fired = Recorded<Int>()
        let now = DispatchTime.now()
        // Later first, then earlier ones: each earlier one must move the timer. A second ahead
        // and 100 ms apart: a loaded machine may pause this thread between two schedules, and
        // an alarm already fired would be out of order for a reason the test is not about.
        for (n, ms) in [(3, 1_300), (2, 1_200), (1, 1_100), (4, 1_400)] {
            _ = alarms.schedule(at: now + .milliseconds(ms)) { fired.append(n) }
        }
        _ = try await eventually(5) { fired.values.count == 4 }
        #expect(fired.values == [1, 2, 3, 4])
        #expect(alarms.pending == 0)
        #expect(DispatchTime.now() >= now + .milliseconds(1_400))
    }

    @Test func aCancelledAlarmNeverFiresAndTheNextOneStillDoes() async throws {
        let alarms = DeadlineAlarms()
        let fired = Recorded<Int>()
        let now = DispatchTime.now()
        // The first a second ahead, so that a pause of this thread cannot let it fire before
        // it is cancelled.
        let first = alarms.schedule(at: now + .milliseconds(1_000)) { fired.append(1) }
        _ = alarms.schedule(at: now + .milliseconds(1_100)) { fired.append(2) }
        alarms.cancel(first)  // the timer is still set for the first: it must re-arm for the second
        _ = try await eventually(5) { fired.values.count == 1 }
        try? await Task.sleep(for: .milliseconds(100))
        #expect(fired.values == [2])
        #expect(alarms.pending == 0)
    }

    @Test func anAlarmAfterTheTimerWentIdleIsArmedAgain() async throws {
        let alarms = DeadlineAlarms()
        let fired = Recorded<Int>()
        _ = alarms.schedule(at: .now() + .milliseconds(20)) { fired.append(1) }
        _ = try await eventually(5) { fired.values.count == 1 }
        _ = alarms.schedule(at: .now() + .milliseconds(20)) { fired.append(2) }
        _ = try await eventually(5) { fired.values.count == 2 }
        #expect(fired.values == [1, 2])
        // Already due: fires at once.
        _ = alarms.schedule(at: .now() - .milliseconds(20)) { fired.append(3) }
        _ = try await eventually(5) { fired.values.count == 3 }
        #expect(fired.values == [1, 2, 3])
    }

    @Test func manyCancelledAlarmsAreDroppedNotKept() async throws {
        let alarms = DeadlineAlarms()
        let fired = Recorded<Int>()
        let far = DispatchTime.now() + .seconds(3600)
        for n in 0..<10_000 {
            let ticket = alarms.schedule(at: far + .milliseconds(n)) { fired.append(n) }
            if n % 100 != 0 { alarms.cancel(ticket) }
        }
        #expect(alarms.pending == 100)
        #expect(alarms.heapSize <= 4 * 100 + 64 + 1)  // compacted as it went
        // A near alarm among the far ones still fires alone.
        _ = alarms.schedule(at: .now() + .milliseconds(20)) { fired.append(-1) }
        _ = try await eventually(5) { !fired.values.isEmpty }
        try? await Task.sleep(for: .milliseconds(50))
        #expect(fired.values == [-1])
    }

    @Test func concurrentSchedulingAndCancellingFiresExactlyTheKeptAlarms() async throws {
        let alarms = DeadlineAlarms()
        let fired = Recorded<Int>()
        await withTaskGroup(of: Void.self) { group in
            for t in 0..<8 {
                group.addTask {
                    for n in 0..<500 {
                        // Kept alarms come due within 60 ms, cancelled ones (odd) not before 5 s.
                        let ms = n % 2 == 0 ? (n * 7 + t) % 60 : 5_000 + n
                        let ticket = alarms.schedule(at: .now() + .milliseconds(ms)) { fired.append(n) }
                        if n % 2 == 1 { alarms.cancel(ticket) }
                    }
                }
            }
        }
        // The alarms leave `pending` under the lock but run after it: wait for the runs.
        _ = try await eventually(5) { fired.values.count >= 8 * 250 }
        try? await Task.sleep(for: .milliseconds(100))
        #expect(fired.values.count == 8 * 250)
        #expect(fired.values.allSatisfy { $0 % 2 == 0 })
        #expect(alarms.pending == 0)
    }
}
