import Foundation
import Prometheus
import SwiftProtobuf
import Temporal
import TemporalProto
import Testing

@testable import TemporalPrometheus

/// A RESOURCE_EXHAUSTED attempt is counted by the limit the server named, as Go's SDK counts
/// it (`temporal_request_resource_exhausted{cause=…}`): a dashboard told throttling from other
/// failures only by `status_code` before, and never which limit was hit.
@Suite struct ResourceExhaustedMetricsTests {
    /// Answers every call with RESOURCE_EXHAUSTED, naming `cause` in its details (none: no details).
    struct Throttling: ServiceTransport {
        let cause: Temporal_Api_Enums_V1_ResourceExhaustedCause?
        var target: String { "throttling" }
        func unary(method: String, request: Data, metadata: [(String, String)], timeout: Duration?) async throws -> Data {
            var trailers: [(key: String, value: Data)] = []
            if let cause {
                var detail = Temporal_Api_Errordetails_V1_ResourceExhaustedFailure()
                detail.cause = cause
                detail.scope = .namespace
                var status = Google_Rpc_Status()
                status.code = Int32(GRPCStatusCode.resourceExhausted.rawValue)
                status.message = "namespace rate limit exceeded"
                status.details = [try Google_Protobuf_Any(message: detail)]
                trailers = [("grpc-status-details-bin", try status.serializedData())]
            }
            throw GRPCStatusError(code: .resourceExhausted, message: "namespace rate limit exceeded", trailers: trailers, method: method)
        }
        func close() {}
    }

    @Test func throttledCallsAreCountedByTheirCause() async throws {
        let registry = PrometheusCollectorRegistry()
        let metrics = RPCMetrics(factory: PrometheusBootstrap.factory(for: registry), namespace: "default")
        for cause: Temporal_Api_Enums_V1_ResourceExhaustedCause? in [.rpsLimit, .rpsLimit, .busyWorkflow, nil] {
            let service = WorkflowService(transport: Throttling(cause: cause), headers: [], retryPolicy: .none, metrics: metrics)
            await #expect(throws: TemporalError.self) { _ = try await service.getSystemInfo() }
        }
        let reply = MetricsEndpoint.respond(method: "GET", path: "/metrics", registry: registry)
        let samples = parseSamples(String(decoding: reply.body, as: UTF8.self))
        let name = "temporal_request_resource_exhausted_total"
        let dims = { (cause: String) in ["operation": "GetSystemInfo", "namespace": "default", "cause": cause] }
        #expect(samples.value(name, dims("RESOURCE_EXHAUSTED_CAUSE_RPS_LIMIT")) == 2)
        #expect(samples.value(name, dims("RESOURCE_EXHAUSTED_CAUSE_BUSY_WORKFLOW")) == 1)
        #expect(samples.value(name, dims("RESOURCE_EXHAUSTED_CAUSE_UNSPECIFIED")) == 1)
        // Still failures by code as well.
        #expect(samples.value("temporal_request_failure_total", ["status_code": "RESOURCE_EXHAUSTED"]) == 4)
        #expect(RPCMetrics.causeName(42) == "42")
    }
}
