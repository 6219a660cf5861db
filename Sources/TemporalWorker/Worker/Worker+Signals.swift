public import Logging
public import ServiceLifecycle

#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
#if canImport(Glibc)
import Glibc
#endif

extension Worker {
    /// Runs the worker until SIGINT or SIGTERM, then shuts it down gracefully (for executables).
    ///
    /// The default dispositions of both signals are replaced for the process while this runs.
    public func runUntilTerminated() async throws {
        let token = TerminationSignals.add { [self] number in
            let name = TerminationSignals.name(number)
            options.logger.info("received \(name); shutting down (grace \(options.gracefulShutdownTimeout))")
            requestShutdown()
        }
        defer { TerminationSignals.remove(token) }
        try await run()
    }
}

extension ServiceGroup {
    /// Runs the group until SIGINT or SIGTERM, then shuts it down gracefully (each `Worker`
    /// drains within its grace period). Build the group without `gracefulShutdownSignals`: the
    /// signals arrive through a thread of our own (see `TerminationSignals`; libdispatch's
    /// signal sources, which ServiceLifecycle uses, lost SIGTERM in a process with gRPC's threads).
    public func runUntilTerminated(logger: Logger) async throws {
        let signalled = OneShotEvent()
        let token = TerminationSignals.add { number in
            let name = TerminationSignals.name(number)
            logger.info("received \(name); shutting down gracefully")
            signalled.fire()
        }
        defer { TerminationSignals.remove(token) }
        // The group, and beside it a child that turns the first signal into its graceful
        // shutdown (and ends, cancelled, when the group returns on its own).
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
            while let groupEnded = try await children.next() {
                if groupEnded { children.cancelAll() }
            }
        }
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
