public import TemporalProto

#if canImport(FoundationEssentials)
public import FoundationEssentials
#else
public import Foundation
#endif

/// An activity attempt finished by someone other than the worker that started it (async
/// completion): the activity hands its task token (or its ids) to another system and tells its
/// worker not to answer (`ActivityContext.completeAsynchronously()`); that system later calls
/// `complete`, `fail` or `reportCancellation` here, and `heartbeat` meanwhile if the activity
/// has a heartbeat timeout.
///
/// Every call is one RPC. A token addresses exactly one attempt; ids address the activity's
/// current attempt. NOT_FOUND means the attempt is no longer current (it timed out, was
/// retried, or the workflow closed).
public struct AsyncActivityHandle: Sendable {
    /// How the attempt is addressed.
    public enum Reference: Sendable, Equatable {
        /// `ActivityInfo.taskToken` of the attempt.
        case taskToken(Data)
        /// The activity id in workflow `workflowID` (run `runID`; nil: the current run).
        case id(workflowID: String, runID: String?, activityID: String)
    }

    public let client: TemporalClient
    public let reference: Reference

    public init(client: TemporalClient, reference: Reference) {
        self.client = client
        self.reference = reference
    }

    /// What a heartbeat learned from the server.
    public struct HeartbeatResponse: Sendable, Equatable {
        /// The workflow asked to cancel the activity: stop and `reportCancellation`.
        public var cancelRequested: Bool
        /// Someone paused the activity (`temporal activity pause`).
        public var paused: Bool
        /// Someone reset the activity (`temporal activity reset`): the server runs it again
        /// from attempt 1, so stop this attempt's work (fail it: the server takes the failure
        /// and starts over). Before, a reset could not be seen here, and the outside system
        /// went on with an attempt the server had reset.
        public var reset: Bool = false

        /// A response.
        public init(cancelRequested: Bool, paused: Bool, reset: Bool = false) {
            self.cancelRequested = cancelRequested
            self.paused = paused
            self.reset = reset
        }
    }

    /// Runs one answer (complete, fail, cancelled). NOT_FOUND after the call was sent again (an
    /// earlier attempt's answer lost: a reset connection, a proxy's 502) may mean that attempt
    /// closed the activity: the error says so, rather than only that the activity is unknown.
    static func answering<Response>(_ call: () async throws -> Response) async throws -> Response {
        do {
            return try await call()
        } catch var error as TemporalError where error.isNotFoundOnRetry {
            error.message +=
                " (NOT_FOUND when the answer was sent again, after an earlier attempt's answer was lost: that attempt may have closed the activity already; check the workflow's history before acting on this)"
            throw error
        }
    }

    /// Completes the activity with `result` (nil: no result).
    public func complete(_ result: (any Encodable)? = nil) async throws {
        try await complete(payloads: try result.map { try client.dataConverter.toPayloads([$0]) })
    }

    /// Completes the activity with raw payloads.
    public func complete(payloads: Payloads?) async throws {
        switch reference {
        case .taskToken(let token):
            var r = Temporal_Api_Workflowservice_V1_RespondActivityTaskCompletedRequest()
            r.namespace = client.namespace
            r.taskToken = token
            r.identity = client.identity
            if let payloads { r.result = payloads }
            _ = try await Self.answering { try await client.workflowService.respondActivityTaskCompleted(r) }
        case .id(let workflowID, let runID, let activityID):
            var r = Temporal_Api_Workflowservice_V1_RespondActivityTaskCompletedByIdRequest()
            r.namespace = client.namespace
            r.workflowID = workflowID
            r.runID = runID ?? ""
            r.activityID = activityID
            r.identity = client.identity
            if let payloads { r.result = payloads }
            let _: Temporal_Api_Workflowservice_V1_RespondActivityTaskCompletedByIdResponse = try await Self.answering {
                try await client.workflowService.call("RespondActivityTaskCompletedById", r)
            }
        }
    }

    /// Fails the attempt with `error` (an `ApplicationError` keeps its type, details and
    /// non-retryable flag; any other failure goes as an application failure with it as cause,
    /// see `FailureConverter.activityFailure(from:)`); the activity's retry policy decides
    /// whether it runs again.
    public func fail(_ error: any Error, lastHeartbeatDetails: (any Encodable)? = nil) async throws {
        // Details made outside workflow and activity code (with `.default`, no codecs) get
        // this client's codecs here: an encrypting client must not send them in the clear.
        let failure = try client.dataConverter.activityFailureSealingDetails(from: error)
        let details = try lastHeartbeatDetails.map { try client.dataConverter.toPayloads([$0]) }
        switch reference {
        case .taskToken(let token):
            var r = Temporal_Api_Workflowservice_V1_RespondActivityTaskFailedRequest()
            r.namespace = client.namespace
            r.taskToken = token
            r.identity = client.identity
            r.failure = failure
            if let details { r.lastHeartbeatDetails = details }
            _ = try await Self.answering { try await client.workflowService.respondActivityTaskFailed(r) }
        case .id(let workflowID, let runID, let activityID):
            var r = Temporal_Api_Workflowservice_V1_RespondActivityTaskFailedByIdRequest()
            r.namespace = client.namespace
            r.workflowID = workflowID
            r.runID = runID ?? ""
            r.activityID = activityID
            r.identity = client.identity
            r.failure = failure
            if let details { r.lastHeartbeatDetails = details }
            let _: Temporal_Api_Workflowservice_V1_RespondActivityTaskFailedByIdResponse = try await Self.answering {
                try await client.workflowService.call("RespondActivityTaskFailedById", r)
            }
        }
    }

    /// Reports that the activity stopped because its cancellation was requested.
    public func reportCancellation(details: (any Encodable)? = nil) async throws {
        let payloads = try details.map { try client.dataConverter.toPayloads([$0]) }
        switch reference {
        case .taskToken(let token):
            var r = Temporal_Api_Workflowservice_V1_RespondActivityTaskCanceledRequest()
            r.namespace = client.namespace
            r.taskToken = token
            r.identity = client.identity
            if let payloads { r.details = payloads }
            _ = try await Self.answering { try await client.workflowService.respondActivityTaskCanceled(r) }
        case .id(let workflowID, let runID, let activityID):
            var r = Temporal_Api_Workflowservice_V1_RespondActivityTaskCanceledByIdRequest()
            r.namespace = client.namespace
            r.workflowID = workflowID
            r.runID = runID ?? ""
            r.activityID = activityID
            r.identity = client.identity
            if let payloads { r.details = payloads }
            let _: Temporal_Api_Workflowservice_V1_RespondActivityTaskCanceledByIdResponse = try await Self.answering {
                try await client.workflowService.call("RespondActivityTaskCanceledById", r)
            }
        }
    }

    /// Records a heartbeat (with progress `details`, readable by the next attempt) and tells
    /// whether the workflow asked to cancel the activity.
    @discardableResult
    public func heartbeat(_ details: (any Encodable)? = nil) async throws -> HeartbeatResponse {
        let payloads = try details.map { try client.dataConverter.toPayloads([$0]) }
        switch reference {
        case .taskToken(let token):
            var r = Temporal_Api_Workflowservice_V1_RecordActivityTaskHeartbeatRequest()
            r.namespace = client.namespace
            r.taskToken = token
            r.identity = client.identity
            if let payloads { r.details = payloads }
            let response = try await client.workflowService.recordActivityTaskHeartbeat(r)
            return HeartbeatResponse(
                cancelRequested: response.cancelRequested, paused: response.activityPaused, reset: response.activityReset)
        case .id(let workflowID, let runID, let activityID):
            var r = Temporal_Api_Workflowservice_V1_RecordActivityTaskHeartbeatByIdRequest()
            r.namespace = client.namespace
            r.workflowID = workflowID
            r.runID = runID ?? ""
            r.activityID = activityID
            r.identity = client.identity
            if let payloads { r.details = payloads }
            let response: Temporal_Api_Workflowservice_V1_RecordActivityTaskHeartbeatByIdResponse =
                try await client.workflowService.call("RecordActivityTaskHeartbeatById", r)
            return HeartbeatResponse(
                cancelRequested: response.cancelRequested, paused: response.activityPaused, reset: response.activityReset)
        }
    }
}

extension TemporalClient {
    /// A handle to finish an activity attempt that completes asynchronously, by its task token.
    public func asyncActivityHandle(taskToken: Data) -> AsyncActivityHandle {
        AsyncActivityHandle(client: self, reference: .taskToken(taskToken))
    }

    /// A handle to finish an activity that completes asynchronously, by workflow and activity id.
    public func asyncActivityHandle(workflowID: String, runID: String? = nil, activityID: String) -> AsyncActivityHandle {
        AsyncActivityHandle(client: self, reference: .id(workflowID: workflowID, runID: runID, activityID: activityID))
    }
}
