import Foundation
public import Logging
import Synchronization
import Temporal
import TemporalProto
import TemporalWorker

extension FlowLauncher {
    /// A starter was interrupted (SIGINT, SIGTERM) while it waited: the workflows it started
    /// run on, on the server.
    public struct Interrupted: Error, CustomStringConvertible {
        /// The ids of the workflows started and not finished when the signal came.
        public var running: [String]
        /// A start the signal cut off that the server did not say anything of in time: it may run.
        public var unknown: [String] = []

        public init(running: [String], unknown: [String] = []) {
            self.running = running
            self.unknown = unknown
        }

        public var description: String {
            let maybe =
                unknown.isEmpty
                ? "" : "; \(unknown.joined(separator: ", ")) may be running too (its start was cut off and the server did not say in time)"
            guard !running.isEmpty else { return "interrupted: no workflow it started is known to run" + maybe }
            return
                "interrupted: \(running.count) workflow(s) it started keep running on the server: \(running.joined(separator: ", ")); follow them in the Web UI, or cancel one with `temporal workflow cancel -w <id>`"
                + maybe
        }
    }

    /// `run(_:workflowType:taskQueue:onStarted:onFinished:onStarting:)` until it returns or SIGINT/SIGTERM
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
        // `starting`: the start in flight, which the signal may cut off after the server took it.
        let progress = Mutex<(started: [String], finished: Set<String>, starting: String?)>(([], [], nil))
        do {
            return try await cancellingOnTermination(logger: logger) { [self] in
                await run(
                    launches, workflowType: workflowType, taskQueue: taskQueue,
                    onStarted: { launch, link in
                        progress.withLock {
                            $0.started.append(launch.workflowId)
                            $0.starting = nil
                        }
                        onStarted(launch, link)
                    },
                    onFinished: { outcome in
                        guard !Task.isCancelled else { return }
                        progress.withLock { _ = $0.finished.insert(outcome.launch.workflowId) }
                        onFinished(outcome)
                    },
                    onStarting: { launch in progress.withLock { $0.starting = launch?.workflowId } })
            }
        } catch is CancellationError {
            let (running, starting) = progress.withLock { p in (p.started.filter { !p.finished.contains($0) }, p.starting) }
            // A start the signal cut off may have reached the server: asked (the caller's task is
            // cancelled, so from a task of its own, for at most 5 s). It was left out, and the
            // starter said no workflow ran while one did (a re-run then started another).
            guard let starting else { throw Interrupted(running: running) }
            switch await Self.isRunning(client, workflowId: starting, within: .seconds(5)) {
            case true?: throw Interrupted(running: running + [starting])
            case false?: throw Interrupted(running: running)
            case nil: throw Interrupted(running: running, unknown: [starting])
            }
        }
    }

    /// Whether the workflow `workflowId` is running, as the server says within `limit`; nil
    /// when it could not say (no answer in time, an error other than "no such workflow").
    static func isRunning(_ client: TemporalClient, workflowId: String, within limit: Duration) async -> Bool? {
        await Task.detached {
            await withTaskGroup(of: Bool??.self) { group in
                group.addTask {
                    do {
                        return .some(try await client.workflowHandle(id: workflowId).describe().status == .running)
                    } catch let error as TemporalError where error.code == .notFound {
                        return .some(false)
                    } catch {
                        return .some(nil)
                    }
                }
                group.addTask {
                    try? await Task.sleep(for: limit)
                    return .some(nil)
                }
                let first = await group.next() ?? nil
                group.cancelAll()
                return first ?? nil
            }
        }.value
    }
}
