import Foundation
import SwiftProtobuf
import Synchronization
import TemporalProto
import Testing

@testable import Temporal

/// gRPC failures are classified by code, details and the channel's configuration, never by
/// the wording of a status message.
@Suite struct ErrorClassificationTests {
    /// A `grpc-status-details-bin` trailer holding one `temporal.api.errordetails.v1` message.
    private func detailsTrailer(_ message: some SwiftProtobuf.Message) throws -> [(key: String, value: Data)] {
        var status = Google_Rpc_Status()
        status.code = 8
        status.details = [try Google_Protobuf_Any(message: message, typePrefix: "type.googleapis.com")]
        return [("grpc-status-details-bin", try status.serializedData())]
    }

    @Test func theServersThrottlingIsRetriedAndALocalSizeLimitIsNot() throws {
        var throttled = Temporal_Api_Errordetails_V1_ResourceExhaustedFailure()
        throttled.cause = .rpsLimit
        let server = GRPCStatusError(
            code: .resourceExhausted, message: "namespace rate limit exceeded",
            trailers: try detailsTrailer(throttled))
        #expect(RPCRetryPolicy.isTransient(server))
        // What gRPC itself reports for an oversized message (no details), whatever its wording.
        for message in ["Received message larger than max (5000000 vs. 4194304)", "grpc: message too big", ""] {
            #expect(!RPCRetryPolicy.isTransient(GRPCStatusError(code: .resourceExhausted, message: message)), "\(message)")
        }
        #expect(RPCRetryPolicy.isTransient(GRPCStatusError(code: .unavailable, message: "")))
        #expect(!RPCRetryPolicy.isTransient(GRPCStatusError(code: .invalidArgument, message: "unavailable")))
    }

    /// A call the server throttled waits at least a second before it is sent again (it was
    /// retried after 100 ms, 200 ms, …: about 15 attempts in the minute, adding load to a
    /// namespace over its limit).
    @Test func aThrottledCallWaitsLongerBeforeItIsSentAgain() async throws {
        var throttled = Temporal_Api_Errordetails_V1_ResourceExhaustedFailure()
        throttled.cause = .rpsLimit
        let transport = Throttles(times: 2, trailers: try detailsTrailer(throttled))
        let service = WorkflowService(transport: transport, headers: [])
        _ = try await service.getSystemInfo()
        let times = transport.attempts.withLock { $0 }
        #expect(times.count == 3)
        for (number, pair) in zip(times, times.dropFirst()).enumerated() {
            // 1 s then 2 s, each less at most 20 % of jitter.
            #expect(pair.1 - pair.0 >= .milliseconds(800 * (number + 1)), "\(times)")
        }
        #expect(RPCRetryPolicy().backoff(attempt: 1) < .milliseconds(200), "others keep the short backoff")
        // Throttled attempts are counted apart: the first after three other failures waits about 1 s, not 8.
        #expect(RPCRetryPolicy().backoff(attempt: 4, throttledAttempt: 1) <= .milliseconds(1200))
    }

    /// Answers a call with a throttled RESOURCE_EXHAUSTED `times` times, then with an empty message.
    final class Throttles: ServiceTransport {
        let times: Int
        let trailers: [(key: String, value: Data)]
        let attempts = Mutex<[ContinuousClock.Instant]>([])
        init(times: Int, trailers: [(key: String, value: Data)]) {
            self.times = times
            self.trailers = trailers
        }
        var target: String { "throttling (test)" }
        func unary(method: String, request: Data, metadata: [(String, String)], timeout: Duration?) async throws -> Data {
            let count = attempts.withLock {
                $0.append(.now)
                return $0.count
            }
            if count <= times {
                throw GRPCStatusError(code: .resourceExhausted, message: "namespace rate limit exceeded", trailers: trailers)
            }
            return Data()
        }
        func close() {}
    }

    /// A detail this release does not know, first in the status, does not hide a known one after
    /// it: the server's throttling was read as `.other` and not retried as throttling.
    @Test func aKnownDetailAfterAnUnknownOneIsRead() throws {
        var throttled = Temporal_Api_Errordetails_V1_ResourceExhaustedFailure()
        throttled.cause = .rpsLimit
        var future = Google_Protobuf_Any()
        future.typeURL = "type.googleapis.com/temporal.api.errordetails.v1.SomeFutureFailure"
        let details = [future, try Google_Protobuf_Any(message: throttled, typePrefix: "type.googleapis.com")]
        guard case .resourceExhausted? = TemporalError.decodeDetails(details) else {
            Issue.record("read as \(String(describing: TemporalError.decodeDetails(details)))")
            return
        }
        guard case .other? = TemporalError.decodeDetails([future]) else {
            Issue.record("an unknown detail alone is .other")
            return
        }
    }

    /// UNKNOWN is what gRPC makes of an HTTP 500 (and other statuses it does not map) from a
    /// proxy or load balancer in front of the server: retried, as Go and Core do.
    @Test func unknownIsRetried() {
        #expect(RPCRetryPolicy.isTransient(GRPCStatusError(code: .unknown, message: "Received http2 header with status: 500")))
    }

    /// A grpc-status outside gRPC's codes (a proxy's own) is read as UNKNOWN, as gRPC's clients
    /// read it: retried, and one metric label (it was `CODE_99`, not retried).
    @Test func aCodeOutsideGRPCsIsUnknown() {
        #expect(GRPCStatusCode(received: 99) == .unknown && GRPCStatusCode(received: -1) == .unknown)
        #expect(GRPCStatusCode(received: 16) == .unauthenticated && GRPCStatusCode(received: 0) == .ok)
        #expect(RPCRetryPolicy.isTransient(GRPCStatusError(code: GRPCStatusCode(received: 99), message: "proxy")))
    }

    /// An update-with-start refused by the server's limits (an in-flight update limit, a rate
    /// limit) carries its `ResourceExhaustedFailure` inside the `MultiOperationExecutionFailure`
    /// of the failing operation: retried like a plain throttled call.
    @Test func aThrottledOperationOfAnUpdateWithStartIsRetried() throws {
        var throttled = Temporal_Api_Errordetails_V1_ResourceExhaustedFailure()
        throttled.cause = .concurrentLimit
        var update = MultiOperationErrorTests.operation(.resourceExhausted, "limit on the number of concurrent in-flight updates")
        update.details = [try Google_Protobuf_Any(message: throttled, typePrefix: "type.googleapis.com")]
        let start = MultiOperationErrorTests.operation(.aborted, "aborted", abortedForTheOther: true)
        let bytes = try MultiOperationErrorTests.statusBytes([start, update])
        let status = GRPCStatusError(code: .resourceExhausted, message: "update-with-start", trailers: [("grpc-status-details-bin", bytes)])
        #expect(RPCRetryPolicy.isTransient(status))
        // Without the throttling details the failing operation's RESOURCE_EXHAUSTED stays final.
        let plain = try MultiOperationErrorTests.statusBytes([start, MultiOperationErrorTests.operation(.resourceExhausted, "too large")])
        #expect(
            !RPCRetryPolicy.isTransient(
                GRPCStatusError(code: .resourceExhausted, message: "", trailers: [("grpc-status-details-bin", plain)])))
    }

    @Test func anUnreachableTLSServerGetsTheCertificateAdviceWhateverTheMessage() {
        let status = GRPCStatusError(code: .unavailable, message: "failed to connect to all addresses")
        let overTLS = TemporalError(status: status, rpc: "GetSystemInfo", target: "h:7233", attempts: 1, overTLS: true)
        #expect(overTLS.kind == .connection)
        #expect(overTLS.message.contains("TLS") && overTLS.message.contains("TEMPORAL_TLS_CA"), "\(overTLS.message)")
        let plain = TemporalError(status: status, rpc: "GetSystemInfo", target: "h:7233", attempts: 1)
        #expect(plain.kind == .connection)
        #expect(!plain.message.contains("TLS"), "\(plain.message)")
    }

    /// An UNAVAILABLE the server answered over TLS with its details (a namespace not ready, an
    /// overloaded server: the handshake worked) shows the server's words without the
    /// certificate advice, which sent Temporal Cloud users to check certificates that worked.
    @Test func anUnavailableAnswerWithTheServersDetailsOverTLSGetsNoCertificateAdvice() throws {
        var unavailable = Temporal_Api_Errordetails_V1_NamespaceUnavailableFailure()
        unavailable.namespace = "prod"
        let status = GRPCStatusError(
            code: .unavailable, message: "namespace prod is unavailable", trailers: try detailsTrailer(unavailable))
        let error = TemporalError(
            status: status, rpc: "StartWorkflowExecution", target: "prod.tmprl.cloud:7233", attempts: 3, overTLS: true)
        #expect(error.kind == .connection)
        #expect(error.message.contains("namespace prod is unavailable") && !error.message.contains("TEMPORAL_TLS_CA"), "\(error.message)")
    }
}

/// Which operation of an ExecuteMultiOperation error is reported (no server needed).
@Suite struct MultiOperationErrorTests {
    typealias Operation = Temporal_Api_Errordetails_V1_MultiOperationExecutionFailure.OperationStatus

    static func statusBytes(_ operations: [Operation]) throws -> Data {
        var multi = Temporal_Api_Errordetails_V1_MultiOperationExecutionFailure()
        multi.statuses = operations
        var status = Google_Rpc_Status()
        status.code = Int32(GRPCStatusCode.aborted.rawValue)
        status.details = [try Google_Protobuf_Any(message: multi, typePrefix: "type.googleapis.com")]
        return try status.serializedData()
    }

    static func operation(_ code: GRPCStatusCode, _ message: String, abortedForTheOther: Bool = false) -> Operation {
        var operation = Operation()
        operation.code = Int32(code.rawValue)
        operation.message = message
        if abortedForTheOther {
            // The server marks the operation that did not fail itself with this detail.
            var any = Google_Protobuf_Any()
            any.typeURL = "type.googleapis.com/temporal.api.failure.v1.MultiOperationExecutionAborted"
            operation.details = [any]
        }
        return operation
    }

    /// An update whose workflow closed under it is ABORTED too: the one reported is the one
    /// without the aborted-for-the-other detail, as Go picks it.
    @Test func theOperationThatFailedItselfIsReported() throws {
        let bytes = try Self.statusBytes([
            Self.operation(.aborted, "Operation was aborted.", abortedForTheOther: true),
            Self.operation(.aborted, "workflow execution already completed"),
        ])
        #expect(TemporalError.failedOperation(bytes)?.message == "workflow execution already completed")
        let startFailed = try Self.statusBytes([
            Self.operation(.alreadyExists, "workflow already started"),
            Self.operation(.aborted, "Operation was aborted.", abortedForTheOther: true),
        ])
        #expect(TemporalError.failedOperation(startFailed)?.code == Int32(GRPCStatusCode.alreadyExists.rawValue))
    }
}
