import Foundation
public import Logging
import Synchronization
import TemporalWorker

extension FlowLauncher {
    /// A starter was interrupted (SIGINT, SIGTERM) while it waited: the workflows it started
    /// run on, on the server.
    public struct Interrupted: Error, CustomStringConvertible {
        /// The ids of the workflows started and not finished when the signal came.
        public var running: [String]

        public var description: String {
            guard !running.isEmpty else { return "interrupted: no workflow it started is still running" }
            return
                "interrupted: \(running.count) workflow(s) it started keep running on the server: \(running.joined(separator: ", ")); follow them in the Web UI, or cancel one with `temporal workflow cancel -w <id>`"
        }
    }

    /// `run(_:workflowType:taskQueue:onStarted:onFinished:)` until it returns or SIGINT/SIGTERM
    /// comes: a starter killed by Ctrl-C said nothing of the workflows it left running (and, as
    /// PID 1 in a container, ignored the signal). Outcomes of calls the signal cut short are not
    /// passed to `onFinished`.
    /// `logger` hears of the signal (default: nobody; `Interrupted` says it all).
    /// - Throws: `Interrupted` naming the workflows that keep running.
    public func runUntilInterrupted(
        _ launches: [Launch], workflowType: String, taskQueue: String,
        logger: Logger = Logger(label: "FlowLauncher") { _ in SwiftLogNoOpLogHandler() },
        onStarted: @escaping @Sendable (Launch, String) -> Void = { _, _ in },
        onFinished: @escaping @Sendable (Outcome) -> Void = { _ in }
    ) async throws -> [Outcome] {
        let progress = Mutex<(started: [String], finished: Set<String>)>(([], []))
        do {
            return try await cancellingOnTermination(logger: logger) { [self] in
                await run(
                    launches, workflowType: workflowType, taskQueue: taskQueue,
                    onStarted: { launch, link in
                        progress.withLock { $0.started.append(launch.workflowId) }
                        onStarted(launch, link)
                    },
                    onFinished: { outcome in
                        guard !Task.isCancelled else { return }
                        progress.withLock { _ = $0.finished.insert(outcome.launch.workflowId) }
                        onFinished(outcome)
                    })
            }
        } catch is CancellationError {
            throw Interrupted(running: progress.withLock { p in p.started.filter { !p.finished.contains($0) } })
        }
    }
}
