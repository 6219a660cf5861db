import Foundation
import Temporal
import TemporalProto
import Testing

@testable import TemporalWorker

/// The workflow random mappings are ours and must never change: an open run that drew numbers
/// replays only if the same seed gives the same numbers forever. Golden values pin them.
@Suite struct DeterministicRandomTests {
    @Test func theMappingsGiveTheirGoldenValues() {
        var generator = DeterministicRandom(seed: "run-1")
        #expect((0..<4).map { _ in generator.next() } == Self.goldenRaw)
        var ints = DeterministicRandom(seed: "run-1")
        #expect((0..<8).map { _ in ints.int(in: 0..<10) } == Self.goldenInts)
        var dice = DeterministicRandom(seed: "run-1")
        #expect((0..<6).map { _ in dice.int(in: 1...6) } == Self.goldenDice)
        var wide = DeterministicRandom(seed: "run-1")
        #expect(wide.int(in: Int.min...Int.max) == Int(truncatingIfNeeded: Self.goldenRaw[0]))
        var doubles = DeterministicRandom(seed: "run-1")
        #expect((0..<3).map { _ in doubles.unitDouble() } == Self.goldenDoubles)
    }

    /// Today the mapping agrees with the standard library's, so runs started before it was
    /// pinned replay unchanged; if a toolchain ever changes its own, the golden values still hold.
    @Test func theMappingAgreesWithTodaysStandardLibrary() {
        for bound in [1, 2, 3, 6, 10, 1000, 1 << 40, Int.max] {
            var ours = DeterministicRandom(seed: "agree-\(bound)")
            var theirs = DeterministicRandom(seed: "agree-\(bound)")
            for _ in 0..<50 { #expect(ours.int(in: 0..<bound) == Int.random(in: 0..<bound, using: &theirs)) }
        }
    }

    /// Waits a timer, then draws.
    final class DrawAfterTimer: Workflow {
        init() {}
        func run(context: WorkflowContext, input: NoValue) async throws -> String {
            try await context.sleep(for: .seconds(1))
            return "\(context.uuid()) \(context.random(in: 0..<1_000_000))"
        }
    }

    /// A reset (WorkflowTaskFailed, cause RESET_WORKFLOW, with the new run's id) continues the
    /// history as a new run: from there on it must draw other values than the original did.
    @Test func aResetReseedsRandomness() throws {
        func drawn(resetTo newRunID: String?) throws -> String {
            var history = HistoryBuilder()
            history.started(DrawAfterTimer.name)
            history.workflowTask()
            let timer = history.timerStarted("1")
            history.timerFired("1", started: timer)
            if let newRunID {
                history.workflowTaskStarted()
                history.workflowTaskFailed(resetTo: newRunID)
            }
            let started = history.workflowTaskStarted()
            let commands = try makeRun(DrawAfterTimer.self).process(events: history.events, liveStartedEventID: started)
            return try DataConverter.default.fromPayloads(commands[0].completeWorkflowExecutionCommandAttributes.result, as: String.self)
        }
        let original = try drawn(resetTo: nil)
        let reset = try drawn(resetTo: "run-after-reset")
        #expect(original != reset)
        #expect(try drawn(resetTo: "run-after-reset") == reset, "still deterministic after the reset")
    }

    /// A reset to the first workflow task: the run's start is applied at its first activation,
    /// after the reset's event, and must not seed it back with the original run's id.
    @Test func aResetToTheFirstTaskReseedsRandomness() throws {
        func drawn(resetTo newRunID: String?) throws -> String {
            var history = HistoryBuilder()
            history.started(DrawFirst.name)
            if let newRunID {
                history.workflowTaskStarted()
                history.workflowTaskFailed(resetTo: newRunID)
            }
            let started = history.workflowTaskStarted()
            let commands = try makeRun(DrawFirst.self).process(events: history.events, liveStartedEventID: started)
            return try DataConverter.default.fromPayloads(commands[0].completeWorkflowExecutionCommandAttributes.result, as: String.self)
        }
        let original = try drawn(resetTo: nil)
        let reset = try drawn(resetTo: "run-after-reset")
        #expect(original != reset)
        #expect(try drawn(resetTo: "run-after-reset") == reset, "still deterministic after the reset")
    }

    /// A run reset to its first task by a build before the reseed (its first completed task
    /// records no flag 11) replays with the seed it ran with: the base run's.
    @Test func aRunResetBeforeTheReseedReplaysWithTheSeedItRanWith() throws {
        func drawn(resetTo newRunID: String?, flags: [UInt32]) throws -> String {
            var history = HistoryBuilder()
            history.started(DrawThenSleep.name)
            if let newRunID {
                history.workflowTaskStarted()
                history.workflowTaskFailed(resetTo: newRunID)
            }
            history.workflowTaskStarted()
            history.workflowTaskCompleted(flags: flags)
            let timer = history.timerStarted("1")
            history.timerFired("1", started: timer)
            let started = history.workflowTaskStarted()
            let commands = try makeRun(DrawThenSleep.self).process(events: history.events, liveStartedEventID: started)
            return try DataConverter.default.fromPayloads(commands[0].completeWorkflowExecutionCommandAttributes.result, as: String.self)
        }
        let original = try drawn(resetTo: nil, flags: [])
        #expect(try drawn(resetTo: "run-after-reset", flags: []) == original, "an old build's reset run: the base's seed")
        #expect(try drawn(resetTo: "run-after-reset", flags: [11]) != original)
    }

    final class DrawThenSleep: Workflow {
        init() {}
        func run(context: WorkflowContext, input: NoValue) async throws -> String {
            let drawn = "\(context.uuid())"
            try await context.sleep(for: .seconds(1))
            return drawn
        }
    }

    final class DrawFirst: Workflow {
        init() {}
        func run(context: WorkflowContext, input: NoValue) async throws -> String { "\(context.uuid())" }
    }

    @Test func drawsStayInTheirRangesAndSpreadOverThem() {
        var generator = DeterministicRandom(seed: 42)
        var seen = Set<Int>()
        for _ in 0..<2_000 {
            let value = generator.int(in: -3..<4)
            #expect((-3..<4).contains(value))
            seen.insert(value)
            let unit = generator.unitDouble()
            #expect(unit >= 0 && unit < 1)
        }
        #expect(seen == Set(-3..<4))
    }

    // Computed independently (SplitMix64 seeded by FNV-1a of "run-1"; Lemire's mapping).
    static let goldenRaw: [UInt64] = [0xe15b_85b9_3a8a_60bb, 0x187f_b6c0_f404_80bb, 0x9cc3_2fdc_f920_a7aa, 0x2c58_4fbf_7f8e_656b]
    static let goldenInts = [8, 0, 6, 1, 0, 2, 7, 7]
    static let goldenDice = [6, 1, 4, 2, 1, 2]
    static let goldenDoubles: [Double] = [0.880302770349354, 0.0956987591817029, 0.6123533167348136]
}
