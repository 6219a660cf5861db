#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
import Temporal
import TemporalProto

extension WorkflowRun {
    // MARK: - Signals

    func setSignalHandler(_ name: String, _ handler: @escaping (Payloads?) -> Void) {
        signalHandlers[name] = handler
        var remaining: [(name: String, input: Payloads?)] = []
        let buffered = bufferedSignals
        bufferedSignals = []
        for signal in buffered {
            if signal.name == name { handler(signal.input) } else { remaining.append(signal) }
        }
        bufferedSignals.insert(contentsOf: remaining, at: 0)
    }

    func deliverSignal(_ name: String, _ input: Payloads?) {
        if let handler = signalHandlers[name] {
            handler(input)
        } else {
            bufferedSignals.append((name, input))
        }
    }

    // MARK: - Queries

    func setQueryHandler(_ name: String, _ handler: @escaping (Payloads?) throws -> Payloads) {
        queryHandlers[name] = handler
    }

    /// Answers a query from the current state (never changes it).
    func query(_ name: String, args: Payloads?) throws -> Payloads {
        if name == "__stack_trace" { return try converter.toPayloads("") }
        guard let handler = queryHandlers[name] else {
            let known = queryHandlers.keys.sorted().joined(separator: ", ")
            throw QueryError("unknown query type '\(name)' (known: \(known.isEmpty ? "none" : known))")
        }
        return try handler(args)
    }

    // MARK: - Conditions

    func addCondition(_ predicate: @escaping () -> Bool, _ continuation: CheckedContinuation<Void, any Error>) -> Int {
        conditionSeq += 1
        conditions.append((conditionSeq, predicate, continuation))
        return conditionSeq
    }

    func cancelCondition(_ id: Int) {
        guard let index = conditions.firstIndex(where: { $0.id == id }) else { return }
        conditions.remove(at: index).continuation.resume(throwing: CancellationError())
    }

    /// Next condition id, known before `addCondition` (for cancellation handlers).
    var nextConditionID: Int { conditionSeq + 1 }
}
