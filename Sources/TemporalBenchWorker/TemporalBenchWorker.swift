import ArgumentParser
import Dispatch
import TemporalBenchWorkload

/// The benchmark's Swift worker as its own small executable: only `Temporal`,
/// `TemporalWorker` and the BenchFlow workload, like a user's worker binary (no LaunchpadETL,
/// libcurl, SQLite or full Foundation), so the throughput driver measures the worker's own memory.
///
/// `main` is synchronous: it runs the worker in a task and waits on a semaphore instead of
/// handing the main thread to `dispatch_main` (what an `async` main does). Nothing here needs
/// the main queue, and valgrind (3.19–3.24) crashes on `dispatch_main`'s signal thread, which
/// would keep the worker out of `scripts/bench-callgrind`.
@main
enum TemporalBenchWorker {
    struct Command: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "TemporalBenchWorker", abstract: "Run the BenchFlow worker until SIGTERM.")
        @OptionGroup var arguments: BenchWorkerArguments
    }

    /// The worker's outcome, written by its task before the main thread reads it.
    final class Outcome: @unchecked Sendable {
        var error: (any Error)?
        let arguments: BenchWorkerArguments
        init(_ arguments: BenchWorkerArguments) { self.arguments = arguments }
    }

    static func main() {
        let command: Command
        do {
            command = try Command.parse()
        } catch {
            Command.exit(withError: error)
        }
        let outcome = Outcome(command.arguments)
        let done = DispatchSemaphore(value: 0)
        // Detached: `main` is on the main actor, whose thread waits below.
        Task.detached {
            do { try await outcome.arguments.runWorker() } catch { outcome.error = error }
            done.signal()
        }
        done.wait()
        if let error = outcome.error { Command.exit(withError: error) }
    }
}
