import Foundation
import Logging
import Synchronization
import Temporal
import TemporalProto
import TemporalTestSupport
import Testing

@testable import TemporalWorker

/// `signalChannel(name)` called on each pass of a loop (Go's idiom: `GetSignalChannel` in the
/// loop) returns the same channel, so signals that arrive while a pass works wait in it. Before,
/// each call made a new, empty channel: the signals that came during the first activity were
/// lost, and the workflow waited for ever.
@Suite struct SignalChannelTests {
    @Test func signalsThatArriveWhileAPassWorksAreNotLost() async throws {
        let slowDouble = ActivityDefinition("slowDouble") { (value: Int, _: ActivityContext) -> Int in
            try await Task.sleep(for: .milliseconds(800))
            return value * 2
        }
        try await withWorker(workflows: [SignalLoop.self], activities: [slowDouble]) { w in
            let handle = try await w.start(SignalLoop.self)
            for job in [1, 2, 3] {
                try await handle.signal("job", job)
                try await Task.sleep(for: .milliseconds(100))
            }
            let total = try await within(30) { try await handle.result(as: Int.self) }
            #expect(total == 12)
            // The history replays (the flag recorded in it), and the channel's flag is recorded.
            let events = try await handle.fetchHistory()
            #expect(try WorkflowReplayer(workflows: [SignalLoop.self]).replay(events: events).closed)
            let flags = events.flatMap { $0.workflowTaskCompletedEventAttributes.sdkMetadata.langUsedFlags }
            #expect(flags.contains(SDKFlag.oneSignalChannelPerName.rawValue), "\(flags)")
        }
    }

    /// A run that finishes with signals no handler took says so at warning, as Go does (they
    /// end with the run, with nothing saying so before).
    @Test func signalsNoHandlerTookAreNamedWhenTheRunFinishes() async throws {
        let box = LogBox()
        try await withWorker(
            workflows: [Chatty.self], configure: { $0.logger = Logger(label: "stray") { _ in CapturingLogHandler(box: box) } }
        ) { w in
            let handle = try await w.start(Chatty.self)
            try await handle.signal("stray")
            try await handle.signal("go")
            _ = try await handle.result(as: String.self)
            let warned = box.lines.withLock { $0 }.filter { $0.contains("signals no handler took") }
            #expect(warned.count == 1, "\(box.lines.withLock { $0 })")
        }
    }
}

/// Takes three jobs from signal "job", one pass each, asking for the channel on every pass,
/// and returns the sum of their doubles.
final class SignalLoop: Workflow {
    init() {}
    func run(context: WorkflowContext, input: NoValue) async throws -> Int {
        var total = 0
        for _ in 0..<3 {
            let job = try await context.signalChannel("job", as: Int.self).receive()
            total += try await context.executeActivity(
                "slowDouble", input: job, options: ActivityOptions(startToCloseTimeout: .seconds(10)), as: Int.self)
        }
        return total
    }
}
