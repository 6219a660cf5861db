import TemporalProto

#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// The fields that StartWorkflowExecution and SignalWithStartWorkflowExecution requests share
/// (under different field numbers on the wire), so that one function fills both.
protocol WorkflowStartRequest {
    var namespace: String { get set }
    var workflowID: String { get set }
    var workflowType: Temporal_Api_Common_V1_WorkflowType { get set }
    var taskQueue: Temporal_Api_Taskqueue_V1_TaskQueue { get set }
    var input: Temporal_Api_Common_V1_Payloads { get set }
    var header: Temporal_Api_Common_V1_Header { get set }
    var identity: String { get set }
    var requestID: String { get set }
    var workflowExecutionTimeout: Google_Protobuf_Duration { get set }
    var workflowRunTimeout: Google_Protobuf_Duration { get set }
    var workflowTaskTimeout: Google_Protobuf_Duration { get set }
    var workflowIDReusePolicy: Temporal_Api_Enums_V1_WorkflowIdReusePolicy { get set }
    var workflowIDConflictPolicy: Temporal_Api_Enums_V1_WorkflowIdConflictPolicy { get set }
    var retryPolicy: Temporal_Api_Common_V1_RetryPolicy { get set }
    var cronSchedule: String { get set }
    var memo: Temporal_Api_Common_V1_Memo { get set }
    var searchAttributes: Temporal_Api_Common_V1_SearchAttributes { get set }
    var workflowStartDelay: Google_Protobuf_Duration { get set }
    var userMetadata: Temporal_Api_Sdk_V1_UserMetadata { get set }
    var versioningOverride: Temporal_Api_Workflow_V1_VersioningOverride { get set }
}

extension Temporal_Api_Workflowservice_V1_StartWorkflowExecutionRequest: WorkflowStartRequest {}
extension Temporal_Api_Workflowservice_V1_SignalWithStartWorkflowExecutionRequest: WorkflowStartRequest {}

extension TemporalClient {
    /// Fills the shared start fields from an (intercepted) start input.
    func fillStart<R: WorkflowStartRequest>(_ r: inout R, _ input: StartWorkflowInput) throws {
        let options = input.options
        r.namespace = namespace
        r.workflowID = input.workflowID
        r.workflowType.name = input.workflowType
        r.taskQueue.name = input.taskQueue
        r.taskQueue.kind = .normal
        if let args = input.arguments { r.input = args }
        if !input.headers.isEmpty { r.header.fields = input.headers }
        r.identity = identity
        r.requestID = options.requestID ?? UUID().uuidString
        if let t = options.executionTimeout { r.workflowExecutionTimeout = .init(duration: t) }
        if let t = options.runTimeout { r.workflowRunTimeout = .init(duration: t) }
        if let t = options.taskTimeout { r.workflowTaskTimeout = .init(duration: t) }
        if let p = options.idReusePolicy { r.workflowIDReusePolicy = p }
        if let p = options.idConflictPolicy { r.workflowIDConflictPolicy = p }
        if let p = options.retryPolicy { r.retryPolicy = p.proto }
        if let c = options.cronSchedule { r.cronSchedule = c }
        if !options.memo.isEmpty { r.memo.fields = try encodeMap(options.memo) }
        // Search attributes are indexed by the server: always the default JSON converter, never
        // the user's (an encrypting converter would make them unreadable to visibility).
        if !options.searchAttributes.isEmpty {
            r.searchAttributes.indexedFields = try SearchAttributeEncoding.encode(options.searchAttributes)
        }
        if let d = options.startDelay { r.workflowStartDelay = .init(duration: d) }
        if let s = options.staticSummary { r.userMetadata.summary = try dataConverter.toPayload(s) }
        if let o = options.versioningOverride { r.versioningOverride = o.proto }
    }

    private func encodeMap(_ values: [String: any Encodable & Sendable]) throws -> [String: Payload] {
        var out: [String: Payload] = [:]
        for (k, v) in values { out[k] = try encodeOne(v) }
        return out
    }

    private func encodeOne<T: Encodable>(_ value: T) throws -> Payload {
        try dataConverter.toPayload(value)
    }
}
