import Logging
import SwiftProtobuf
import Temporal
import TemporalProto

#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// A protocol message of the update protocol (requests in, acceptances/rejections/responses out).
typealias ProtocolMessage = Temporal_Api_Protocol_V1_Message

/// An update handler as the run holds it: its validator (nil: accept all) and its body.
struct UpdateHandler {
    let validate: ((Payloads?) throws -> Void)?
    let run: (Payloads?) async throws -> Payloads
}

/// An update request to hand to its handler in an activation: from a poll's protocol message
/// (live), or rebuilt from an UpdateAccepted / UpdateAdmitted event (replay).
struct UpdateDelivery {
    let messageID: String
    let sequencingEventID: Int64
    let request: Temporal_Api_Update_V1_Request
    var updateID: String { request.meta.updateID }
    var name: String { request.input.name }

    init(messageID: String, sequencingEventID: Int64, request: Temporal_Api_Update_V1_Request) {
        self.messageID = messageID
        self.sequencingEventID = sequencingEventID
        self.request = request
    }

    /// The request a protocol message carries; nil for other message bodies.
    init?(_ message: ProtocolMessage) {
        guard message.body.isA(Temporal_Api_Update_V1_Request.self),
            let request = try? Temporal_Api_Update_V1_Request(unpackingAny: message.body)
        else { return nil }
        var sequencing: Int64 = 0
        if case .eventID(let id)? = message.sequencingID { sequencing = id }
        self.init(messageID: message.id, sequencingEventID: sequencing, request: request)
    }
}

/// Makes a non-Sendable handler travel into the handler's task; it only ever runs on the run's
/// executor (see `WorkflowRun`'s confinement).
private struct UpdateBody: @unchecked Sendable {
    let run: (Payloads?) async throws -> Payloads
}

extension WorkflowRun {
    // MARK: - Registration

    func setUpdateHandler(_ name: String, _ handler: UpdateHandler) {
        // From a validator or a query handler it would deliver held updates (accepting them:
        // a command) from read-only code, which does not run on replay.
        guard mayChange("context.setUpdateHandler(\"\(name)\")") else { return }
        handlers.updates[name] = handler
        // Requests of this activation that waited for it, in the order they came.
        let held = handlers.heldUpdates
        handlers.heldUpdates = held.filter { $0.delivery.name != name }
        for (delivery, replaying) in held where delivery.name == name {
            if isClosed {
                reject(delivery, tooLate(delivery))  // registered by code running after the run closed
            } else {
                deliver(delivery, to: handler, replaying: replaying)
            }
        }
    }

    /// Rejects the requests still held when the activation ends (see `deliverUpdates`).
    func rejectHeldUpdates() {
        let held = handlers.heldUpdates
        handlers.heldUpdates = []
        for (delivery, _) in held { reject(delivery, isClosed ? tooLate(delivery) : unknownUpdate(delivery)) }
    }

    /// Updates whose handler is still running (for `allHandlersFinished` and the stack trace).
    var runningUpdateNames: [String] { handlers.runningUpdates.keys.sorted().compactMap { handlers.runningUpdates[$0] } }

    // MARK: - Delivery

    /// The update requests to hand over in the activation that starts at history index `index`
    /// (just after its WorkflowTaskStarted). Live: the task's messages and the UpdateAdmitted
    /// events of the batch. Replay: the updates history says this task accepted (the
    /// UpdateAccepted events after its WorkflowTaskCompleted) — a rejected update left no trace,
    /// and a validator does not run again.
    func updateDeliveries(live: Bool, messages: [ProtocolMessage], events: [HistoryEvent], from index: Int) -> [UpdateDelivery] {
        let admitted = pendingEvents.compactMap { event -> UpdateDelivery? in
            guard case .workflowExecutionUpdateAdmittedEventAttributes(let a)? = event.attributes else { return nil }
            return UpdateDelivery(messageID: a.request.meta.updateID + "/request", sequencingEventID: event.eventID, request: a.request)
        }
        var deliveries: [UpdateDelivery]
        if live {
            for message in messages where message.body.isA(Temporal_Api_Update_V1_Request.self) && UpdateDelivery(message) == nil {
                rejectUndecodable(message)
            }
            deliveries = messages.compactMap(UpdateDelivery.init) + admitted
        } else {
            deliveries = []
            var i = index
            while i < events.count, events[i].eventType != .workflowTaskStarted {
                if case .workflowExecutionUpdateAcceptedEventAttributes(let a)? = events[i].attributes {
                    // An admitted update's request is the one in its Admitted event.
                    let request = admitted.first { $0.updateID == a.protocolInstanceID }?.request ?? a.acceptedRequest
                    deliveries.append(
                        UpdateDelivery(
                            messageID: a.acceptedRequestMessageID,
                            sequencingEventID: a.acceptedRequestSequencingEventID, request: request))
                }
                i += 1
            }
        }
        var seen = Set<String>()
        return deliveries.filter { seen.insert($0.updateID).inserted }
    }

    /// Hands each request to its handler: rejects it (no handler, undecodable, validator threw,
    /// run already closed) or accepts it and starts the handler as a workflow coroutine.
    /// - Parameter holdUnknown: a request whose handler is not registered yet waits until code
    ///   of this activation registers it (`setUpdateHandler`), or is rejected when the
    ///   activation ends (`rejectHeldUpdates`), as Go buffers them; false rejects it at once.
    func deliverUpdates(_ deliveries: [UpdateDelivery], replaying: Bool, holdUnknown: Bool = false) {
        for delivery in deliveries {
            if isClosed {
                reject(delivery, tooLate(delivery))
                continue
            }
            guard let handler = handlers.updates[delivery.name] else {
                if holdUnknown {
                    handlers.heldUpdates.append((delivery, replaying))
                } else {
                    reject(delivery, unknownUpdate(delivery))
                }
                continue
            }
            deliver(delivery, to: handler, replaying: replaying)
        }
    }

    private func tooLate(_ delivery: UpdateDelivery) -> any Error {
        WorkflowUsageError("workflow \(info.workflowType) already finished; update '\(delivery.name)' arrived too late")
    }

    private func unknownUpdate(_ delivery: UpdateDelivery) -> any Error {
        let known = handlers.updates.keys.sorted().joined(separator: ", ")
        return ApplicationError(
            "workflow \(info.workflowType) has no handler for update '\(delivery.name)' (known updates: \(known.isEmpty ? "none" : known)); register one with context.setUpdateHandler",
            type: "UpdateNotFound", nonRetryable: true)
    }

    /// Validates (live only) and accepts `delivery`, then starts its handler as a coroutine.
    private func deliver(_ delivery: UpdateDelivery, to handler: UpdateHandler, replaying: Bool) {
        let input = HandleUpdateInput(
            updateName: delivery.name, updateID: delivery.updateID,
            arguments: delivery.request.input.hasArgs ? delivery.request.input.args : nil,
            headers: delivery.request.input.header.fields)
        if !replaying {
            do {
                try inHandlerSpan("ValidateUpdate:\(delivery.name)", headers: input.headers, updateID: delivery.updateID) {
                    try runWorkflowCode {
                        try readOnly("the validator of update '\(delivery.name)'") {
                            try self.interceptors.runSync(input, through: { try $0.validateUpdate($1, next: $2) }) { input in
                                try handler.validate?(input.arguments)
                            }
                        }
                    }
                }
            } catch {
                reject(delivery, error)
                return
            }
        }
        accept(delivery)
        // The handler's span: its start, as the handler runs as a task of its own (the span
        // marks where the client's update reached the workflow).
        if !replaying { inHandlerSpan("HandleUpdate:\(delivery.name)", headers: input.headers, updateID: delivery.updateID) {} }
        handlers.runningUpdates[delivery.updateID] = delivery.name
        let body = UpdateBody(run: handler.run)
        let updateID = delivery.updateID
        let meta = delivery.request.meta
        let converter = self.converter
        let interceptors = self.interceptors
        // Not shielded even when delivered from code inside `nonCancellable` (a handler
        // registered there): a handler runs under the workflow, whose cancel cancels it and
        // the children it starts.
        handlers.updateTasks[updateID] = CancellationShield.$isActive.withValue(false) {
            Task(executorPreference: executor) { [weak self] in
                let outcome: Temporal_Api_Update_V1_Outcome
                do {
                    let result = try await DataConverter.$current.withValue(converter) {
                        try await interceptors.run(input, through: { try await $0.executeUpdate($1, next: $2) }) {
                            try await body.run($0.arguments)
                        }
                    }
                    var o = Temporal_Api_Update_V1_Outcome()
                    o.success = result
                    outcome = o
                } catch {
                    guard let self else { return }
                    var o = Temporal_Api_Update_V1_Outcome()
                    o.failure = self.converter.failure(from: error)
                    outcome = o
                }
                self?.completeUpdate(meta, outcome)
            }
        }
        // Accepted after the workflow's cancel request: cancelled as one running then is.
        if cancelRequested, sdkFlags.tryUse(.cancelUpdatesWithWorkflow) { handlers.updateTasks[updateID]?.cancel() }
    }

    /// An update request whose body does not decode: answered with a rejection saying so (a
    /// request left unanswered would be failed by the server without the reason).
    private func rejectUndecodable(_ message: ProtocolMessage) {
        var rejection = Temporal_Api_Update_V1_Rejection()
        rejection.rejectedRequestMessageID = message.id
        if case .eventID(let id)? = message.sequencingID { rejection.rejectedRequestSequencingEventID = id }
        rejection.failure = converter.failure(
            from: ApplicationError(
                "update request \(message.protocolInstanceID) could not be decoded by this worker", type: "BadUpdateRequest",
                nonRetryable: true))
        if let reply = Self.message(id: message.id + "/reject", instance: message.protocolInstanceID, body: rejection) {
            rejections.append(reply)
        }
    }

    private func reject(_ delivery: UpdateDelivery, _ error: any Error) {
        var rejection = Temporal_Api_Update_V1_Rejection()
        rejection.rejectedRequestMessageID = delivery.messageID
        rejection.rejectedRequestSequencingEventID = delivery.sequencingEventID
        rejection.rejectedRequest = delivery.request
        rejection.failure = converter.failure(from: error)
        if !isReplaying { logger.debug("rejected update '\(delivery.name)' (id \(delivery.updateID)): \(error)") }
        if let message = Self.message(id: delivery.messageID + "/reject", instance: delivery.updateID, body: rejection) {
            rejections.append(message)
        }
    }

    private func accept(_ delivery: UpdateDelivery) {
        var acceptance = Temporal_Api_Update_V1_Acceptance()
        acceptance.acceptedRequestMessageID = delivery.messageID
        acceptance.acceptedRequestSequencingEventID = delivery.sequencingEventID
        acceptance.acceptedRequest = delivery.request
        let message = Self.message(id: delivery.messageID + "/accept", instance: delivery.updateID, body: acceptance)
        commands.append(
            PendingCommand(
                key: .updateAccepted(delivery.updateID),
                command: Self.protocolCommand(message?.id ?? ""), message: message))
    }

    func completeUpdate(_ meta: Temporal_Api_Update_V1_Meta, _ outcome: Temporal_Api_Update_V1_Outcome) {
        handlers.updateTasks[meta.updateID] = nil
        handlers.runningUpdates[meta.updateID] = nil
        guard !tornDown else { return }
        var response = Temporal_Api_Update_V1_Response()
        response.meta = meta
        response.outcome = outcome
        let message = Self.message(id: meta.updateID + "/complete", instance: meta.updateID, body: response)
        let pending = PendingCommand(
            key: .updateCompleted(meta.updateID),
            command: Self.protocolCommand(message?.id ?? ""), message: message)
        // A handler that finishes in the activation that closes the run answers before the
        // close command (nothing may follow it); the same on replay, so the order is stable.
        if let last = commands.last, last.key == .close, !last.sent {
            commands.insert(pending, at: commands.count - 1)
        } else {
            commands.append(pending)
        }
    }

    private static func message<Body: SwiftProtobuf.Message>(id: String, instance: String, body: Body) -> ProtocolMessage? {
        guard let any = try? Google_Protobuf_Any(message: body) else { return nil }
        var message = ProtocolMessage()
        message.id = id
        message.protocolInstanceID = instance
        message.body = any
        return message
    }

    private static func protocolCommand(_ messageID: String) -> Command {
        var c = Command()
        c.commandType = .protocolMessage
        var a = Temporal_Api_Command_V1_ProtocolMessageCommandAttributes()
        a.messageID = messageID
        c.protocolMessageCommandAttributes = a
        return c
    }

    /// Whether history event `event` is the record of the update command `key`.
    static func updateEvent(_ event: HistoryEvent, matches key: CommandKey) -> Bool {
        switch (key, event.attributes) {
        case (.updateAccepted(let id), .workflowExecutionUpdateAcceptedEventAttributes(let a)?):
            return a.protocolInstanceID == id
        case (.updateCompleted(let id), .workflowExecutionUpdateCompletedEventAttributes(let a)?):
            return a.meta.updateID == id
        default:
            return true
        }
    }

    /// The protocol messages to send with this task's completion: rejections, then the
    /// messages of the commands being sent (in command order).
    func takeOutgoingMessages(for sent: [PendingCommand]) -> [ProtocolMessage] {
        defer { rejections = [] }
        return (isReplaying ? [] : rejections) + sent.compactMap(\.message)
    }

    // MARK: - Speculative tasks

    /// The server dropped the speculative workflow task we just answered (an update it carried
    /// was rejected): its WorkflowTaskScheduled/Started events are gone from history, and the
    /// next task resends history from just after `started` (the last real WorkflowTaskStarted),
    /// reusing the dropped ids. Rewinds past the two dropped events, as Go does; `process`
    /// skips the events it has already applied.
    /// - Returns: false when the run cannot be rewound (evict it instead).
    func rewindSpeculativeTask(toStartedEventID started: Int64) -> Bool {
        guard started > 0, lastStartedEventID == lastEventID, lastEventID - 2 >= started, commands.isEmpty else { return false }
        lastEventID -= 2
        lastStartedEventID = started
        rewoundToStartedEventID = started
        return true
    }

    /// The id the next task's history must start at for this cached run to continue it.
    var nextTaskFirstEventID: Int64 { (rewoundToStartedEventID ?? lastEventID) + 1 }
}
