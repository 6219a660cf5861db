import Dispatch
import Foundation
#if canImport(Glibc)
import Glibc
#endif

extension Worker {
    /// Runs the worker until SIGINT or SIGTERM, then shuts it down gracefully (for executables).
    ///
    /// The default dispositions of both signals are replaced for the process while this runs.
    public func runUntilTerminated() async throws {
        signal(SIGINT, SIG_IGN)
        signal(SIGTERM, SIG_IGN)
        let queue = DispatchQueue(label: "temporal.worker.signals")
        let sources = [SIGINT, SIGTERM].map { number -> any DispatchSourceSignal in
            let source = DispatchSource.makeSignalSource(signal: number, queue: queue)
            source.setEventHandler { [self] in
                options.logger.info("received signal \(number); shutting down")
                Task { await self.shutdown() }
            }
            source.resume()
            return source
        }
        defer { sources.forEach { $0.cancel() } }
        try await run()
    }
}
