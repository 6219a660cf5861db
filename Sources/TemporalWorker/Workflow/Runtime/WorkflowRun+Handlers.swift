import Logging
import SwiftProtobuf
import Temporal
import TemporalProto

#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

extension WorkflowRun {
    // MARK: - Signals

    /// Registers `handler` for signal `name` and hands it the signals of that name that came
    /// before it, in order. They are taken from the buffer one at a time: a handler may
    /// register the handler of another signal, whose registration then takes that signal's
    /// buffered values (emptying the whole buffer first hid them from it, and they stayed
    /// buffered for ever).
    func setSignalHandler(_ name: String, _ handler: @escaping (Payloads?) -> Void) {
        // Read-only code would hand buffered signals over where replay does not.
        guard mayChange("context.setSignalHandler(\"\(name)\")") else { return }
        handlers.signals[name] = handler
        while let index = handlers.bufferedSignals.firstIndex(where: { $0.signalName == name }) {
            let signal = handlers.bufferedSignals.remove(at: index)
            // The handler registered last: one may replace its own.
            hand(signal, to: handlers.signals[name] ?? handler)
        }
    }

    func deliverSignal(_ name: String, _ input: Payloads?, headers: [String: Payload] = [:]) {
        if heldClose != nil {
            // The code returned; its close waits for a child's cancel request to be delivered
            // (`SDKFlag.closeAfterChildCancelsDelivered`), and the server takes signals until
            // then. The end-of-run warnings were given already.
            logger.warning(
                "a signal came after the workflow returned, while its close waited for a child's cancel request to be delivered: the result is fixed (a handler still runs, to no effect on it), and the signal ends with the run",
                metadata: ["signal": "\(name)"])
        }
        let signal = HandleSignalInput(signalName: name, arguments: input, headers: headers)
        if let handler = handlers.signals[name] {
            hand(signal, to: handler)
        } else {
            handlers.bufferedSignals.append(signal)
        }
    }

    private func hand(_ signal: HandleSignalInput, to handler: (Payloads?) -> Void) {
        inHandlerSpan("HandleSignal:\(signal.signalName)", headers: signal.headers) {
            runWorkflowCode { interceptors.runSignal(signal) { handler($0.arguments) } }
        }
    }

    /// Runs workflow code that the run calls directly rather than as a job of its executor
    /// (signal and query handlers, update validators, condition predicates) as the executor
    /// runs its jobs: timed by the deadlock monitor, so one that blocks fails the task with
    /// `PotentialDeadlockError` instead of holding it (and its slot) for ever, and with the
    /// run's converter as `DataConverter.current`, so the details of an `ApplicationError`
    /// made there get the worker's codecs.
    func runWorkflowCode<T>(_ body: () throws -> T) rethrows -> T {
        try executor.clock.timing { try DataConverter.$current.withValue(converter) { try body() } }
    }

    // MARK: - Queries

    func setQueryHandler(_ name: String, _ handler: @escaping (Payloads?) throws -> Payloads) {
        handlers.queries[name] = handler
    }

    /// Answers a query from the current state (never changes it).
    func query(_ name: String, args: Payloads?, headers: [String: Payload] = [:]) throws -> Payloads {
        let input = HandleQueryInput(queryType: name, arguments: args, headers: headers)
        return try confinement.drive {
            // Timed like a job of workflow code: a handler that blocks is a potential deadlock.
            try inHandlerSpan("HandleQuery:\(name)", headers: headers, query: true) {
                try runWorkflowCode {
                    try readOnly("the handler of query '\(name)'") {
                        try interceptors.runSync(input, through: { try $0.handleQuery($1, next: $2) }) { input in
                            try answer(input.queryType, args: input.arguments)
                        }
                    }
                }
            }
        }
    }

    private func answer(_ name: String, args: Payloads?) throws -> Payloads {
        if name == "__stack_trace" { return try converter.toPayloads(stackTrace()) }
        if name == Self.metadataQuery { return try metadata() }
        guard let handler = handlers.queries[name] else {
            let known = handlers.queries.keys.sorted().joined(separator: ", ")
            throw QueryError("unknown query type '\(name)' (known: \(known.isEmpty ? "none" : known))")
        }
        return try handler(args)
    }

    /// The query the Web UI and `temporal workflow metadata` send for a workflow's definition.
    static let metadataQuery = "__temporal_workflow_metadata"

    /// `temporal.api.sdk.v1.WorkflowMetadata` of this run: its type and the queries, signals and
    /// updates it handles now (the built-in queries included), as a `json/protobuf` payload as the other
    /// SDKs send it.
    func metadata() throws -> Payloads {
        var metadata = Temporal_Api_Sdk_V1_WorkflowMetadata()
        metadata.definition.type = info.workflowType
        func definitions(_ names: [String]) -> [Temporal_Api_Sdk_V1_WorkflowInteractionDefinition] {
            names.sorted().map { name in
                var definition = Temporal_Api_Sdk_V1_WorkflowInteractionDefinition()
                definition.name = name
                return definition
            }
        }
        metadata.definition.queryDefinitions = definitions(Array(handlers.queries.keys) + ["__stack_trace", Self.metadataQuery])
        metadata.definition.signalDefinitions = definitions(Array(handlers.signals.keys))
        metadata.definition.updateDefinitions = definitions(Array(handlers.updates.keys))
        var payload = Payload()
        payload.metadata["encoding"] = Data("json/protobuf".utf8)
        payload.metadata["messageType"] = Data("temporal.api.sdk.v1.WorkflowMetadata".utf8)
        payload.data = try metadata.jsonUTF8Data()
        var payloads = Payloads()
        payloads.payloads = [payload]
        return payloads
    }

    /// Where the workflow's code waits, one line per wait, for the `__stack_trace` query (the
    /// Web UI's "Call Stack" tab, `temporal workflow stack`). Swift has no stacks of suspended
    /// coroutines to show; what each waits on is what a person debugging needs.
    func stackTrace() -> String {
        var lines: [String] = []
        for (_, _, activity) in activities.awaited {
            lines.append("waiting for activity \(activity?.activityType ?? "?") (activity id \(activity?.activityID ?? "?"))")
        }
        for request in localActivities.awaited {
            lines.append("waiting for local activity \(request.type) (activity id \(request.activityID), attempt \(request.attempt))")
        }
        for (seq, _, timer) in timers.awaited {
            lines.append("waiting for timer \(timer?.timerID ?? "\(seq)") (sleep)")
        }
        for (seq, count) in childStarts.awaited {
            let child = children[seq]
            lines.append(
                "waiting for child workflow \(child?.workflowType ?? "?") (\(child?.workflowID ?? "?")) to start"
                    + (count > 1 ? " ×\(count)" : ""))
        }
        for (_, count, child) in children.awaited {
            lines.append(
                "waiting for child workflow \(child?.workflowType ?? "?") (\(child?.workflowID ?? "?")) to finish"
                    + (count > 1 ? " ×\(count)" : ""))
        }
        for (_, _, signal) in outgoingSignals.awaited {
            lines.append("waiting for a signal to workflow \(signal?.workflowID ?? "?") to be delivered")
        }
        for (_, _, cancel) in outgoingCancels.awaited {
            lines.append("waiting for a cancel request to workflow \(cancel?.workflowID ?? "?") to be delivered")
        }
        for (id, name) in handlers.runningUpdates.sorted(by: { $0.key < $1.key }) {
            lines.append("running update handler '\(name)' (update id \(id))")
        }
        if !conditions.waiting.isEmpty {
            lines.append(
                "waiting on \(conditions.waiting.count) condition\(conditions.waiting.count == 1 ? "" : "s") (context.condition: a signal, update or timer that makes it true)"
            )
        }
        let header = "workflow \(info.workflowType) (id \(info.workflowID), run \(info.runID)), as of event \(lastEventID)"
        if lines.isEmpty { return header + ": not waiting on anything (" + (isClosed ? "closed" : "runnable") + ")" }
        return ([header + ":"] + lines.map { "  " + $0 }).joined(separator: "\n")
    }

    // MARK: - Conditions

    func addCondition(_ predicate: @escaping () -> Bool, _ continuation: CheckedContinuation<Void, any Error>) -> Int {
        conditions.add(predicate, continuation)
    }

    func cancelCondition(_ id: Int) {
        guard let index = conditions.waiting.firstIndex(where: { $0.id == id }) else { return }
        conditions.waiting.remove(at: index).continuation.resume(throwing: CancellationError())
    }

    /// Next condition id, known before `addCondition` (for cancellation handlers).
    var nextConditionID: Int { conditions.lastID + 1 }
}
