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
            let name = number == SIGINT ? "SIGINT" : number == SIGTERM ? "SIGTERM" : "signal \(number)"
            options.logger.info("received \(name); shutting down (grace \(options.gracefulShutdownTimeout))")
            Task { await self.shutdown() }
        }
        defer { TerminationSignals.remove(token) }
        try await run()
    }
}
