public import Logging
public import ServiceLifecycle
import Synchronization

#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
#if canImport(Glibc)
import Glibc
#endif

extension Worker {
    /// Runs the worker until SIGINT or SIGTERM, then shuts it down gracefully (for executables);
    /// a second signal stops what still runs at once (activities are reported as failed,
    /// `WorkerShutdown`, and retry elsewhere), as a second Ctrl-C does in the other SDKs.
    ///
    /// The default dispositions of both signals are replaced for the process while this runs.
    public func runUntilTerminated() async throws {
        let received = Mutex(0)
        let token = TerminationSignals.add { [self] number in
            let name = TerminationSignals.name(number)
            if received.withLock({ count in
                count += 1
                return count
            }) == 1 {
                options.logger.info(
                    "received \(name); shutting down (grace \(options.gracefulShutdownTimeout); another signal stops what still runs now)")
                requestShutdown()
            } else {
                options.logger.warning("received \(name) again; stopping what still runs now")
                requestShutdown(gracePeriod: .zero)
            }
        }
        defer { TerminationSignals.remove(token) }
        try await run()
    }
}

extension ServiceGroup {
    /// Runs the group until SIGINT or SIGTERM, then shuts it down gracefully (each `Worker`
    /// drains within its grace period); a second signal cancels the group, which stops each
    /// `Worker` at once (no grace period). Build the group without `gracefulShutdownSignals`: the
    /// signals arrive through a thread of our own (see `TerminationSignals`; libdispatch's
    /// signal sources, which ServiceLifecycle uses, lost SIGTERM in a process with gRPC's threads).
    public func runUntilTerminated(logger: Logger) async throws {
        let signalled = OneShotEvent()
        let signalledAgain = OneShotEvent()
        let received = Mutex(0)
        let token = TerminationSignals.add { number in
            let name = TerminationSignals.name(number)
            let count = received.withLock { count in
                count += 1
                return count
            }
            if count == 1 {
                logger.info("received \(name); shutting down gracefully (another signal stops what still runs now)")
                signalled.fire()
            } else {
                logger.warning("received \(name) again; stopping what still runs now")
                signalledAgain.fire()
            }
        }
        defer { TerminationSignals.remove(token) }
        // The group, and beside it a child that turns the first signal into its graceful
        // shutdown and one that turns a second signal into the group's cancellation (both end,
        // cancelled, when the group returns on its own).
        try await withThrowingTaskGroup(of: Bool.self) { children in
            children.addTask {
                try await self.run()
                return true
            }
            children.addTask {
                await signalled.wait()
                if signalled.happened { await self.triggerGracefulShutdown() }
                return false
            }
            children.addTask {
                await signalledAgain.wait()
                return signalledAgain.happened
            }
            while let groupEnded = try await children.next() {
                if groupEnded { children.cancelAll() }
            }
        }
    }
}

/// Runs `body` — an executable's start-up before its workers run: connecting to a server that
/// may not be up yet, opening a store — and cancels it at SIGINT or SIGTERM, which then throws
/// `CancellationError`. Until the workers run, nothing else listens for those signals, and a
/// process that is PID 1 in a container (no default action there) would ignore them.
///
/// `while` says what the process was doing, in the line logged at the signal.
public func cancellingOnTermination<T: Sendable>(
    logger: Logger, while doing: String = "starting", _ body: @escaping @Sendable () async throws -> T
) async throws -> T {
    let signalled = OneShotEvent()
    let token = TerminationSignals.add { number in
        logger.info("received \(TerminationSignals.name(number)) while \(doing); stopping")
        signalled.fire()
    }
    defer { TerminationSignals.remove(token) }
    return try await withThrowingTaskGroup(of: T?.self) { children in
        children.addTask { try await body() }
        children.addTask {
            await signalled.wait()
            if signalled.happened { throw CancellationError() }
            return nil
        }
        defer { children.cancelAll() }
        while let result = try await children.next() {
            if let result { return result }
        }
        throw CancellationError()
    }
}

/// An already started server (a metrics endpoint, a codec server) as a `Service`: it keeps
/// running until the group's graceful shutdown, then `stop` runs. Register such services before
/// the workers: a group stops its services in reverse order, so the workers drain first.
public struct StartedService: Service {
    private let stop: @Sendable () async -> Void

    public init(stop: @escaping @Sendable () async -> Void) { self.stop = stop }

    public func run() async throws {
        try? await gracefulShutdown()
        await stop()
    }
}
