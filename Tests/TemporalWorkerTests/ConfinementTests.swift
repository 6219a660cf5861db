import Foundation
import Testing

@testable import TemporalWorker

/// The debug-build check behind `WorkflowRun`'s `@unchecked Sendable`: the run is touched only
/// by its driver's thread while it drives.
@Suite struct ConfinementTests {
    @Test func onlyTheDrivingThreadMayTouchTheRun() async throws {
        let confinement = Confinement()
        #expect(confinement.violation("context")?.contains("not running") == true, "nobody drives the run")
        confinement.drive {
            #expect(confinement.violation("context") == nil, "the driver's own thread")
            let other = Thread.detachNewThreadAndWait { confinement.violation("context") }
            #expect(other?.contains("another thread") == true, "\(other ?? "nil")")
        }
    }
}

extension Thread {
    /// Runs `body` on a new thread and waits for its result.
    static func detachNewThreadAndWait<T: Sendable>(_ body: @escaping @Sendable () -> T) -> T {
        let done = DispatchSemaphore(value: 0)
        let box = ResultBox<T>()
        Thread.detachNewThread {
            box.value = body()
            done.signal()
        }
        done.wait()
        return box.value!
    }
}

private final class ResultBox<T>: @unchecked Sendable { var value: T? }
