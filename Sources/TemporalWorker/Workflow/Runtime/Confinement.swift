import Synchronization

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Checks, in debug builds, the confinement that `WorkflowRun`'s `@unchecked Sendable` promises:
/// workflow code touches the run only while its driver runs it (a workflow task, a query, a
/// local activity's result, an eviction), on the driver's thread. Code that escaped the run's
/// executor — `Task.detached`, a hop to an actor, a callback on another thread — and then uses
/// `WorkflowContext` is stopped with a message saying so, instead of racing the driver.
final class Confinement: Sendable {
    private let owner = Atomic<UInt>(0)

    /// Runs `body` as the run's driver on this thread (reentrant).
    func drive<T>(_ body: () throws -> T) rethrows -> T {
        #if DEBUG
        let previous = owner.exchange(Self.currentThread, ordering: .acquiringAndReleasing)
        defer { owner.store(previous, ordering: .releasing) }
        #endif
        return try body()
    }

    /// Why code on this thread may not touch the run now, or nil when it may.
    func violation(_ what: String) -> String? {
        let current = owner.load(ordering: .acquiring)
        if current == Self.currentThread { return nil }
        return current == 0
            ? "\(what) was used while the workflow is not running (by code that outlived its workflow task, e.g. a Task.detached or a callback): workflow code must run on the workflow's own tasks"
            : "\(what) was used from another thread than the workflow's (by code that left the workflow's executor: Task.detached, an actor, a callback): workflow code must run on the workflow's own tasks"
    }

    /// Stops a debug build on a violation (release builds do not check).
    func check(_ what: @autoclosure () -> String) {
        #if DEBUG
        if owner.load(ordering: .acquiring) != Self.currentThread, let message = violation(what()) {
            preconditionFailure(message)
        }
        #endif
    }

    static var currentThread: UInt {
        #if canImport(Darwin)
        UInt(bitPattern: pthread_self())
        #else
        UInt(pthread_self())
        #endif
    }
}
