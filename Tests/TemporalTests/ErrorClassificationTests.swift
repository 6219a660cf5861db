import Foundation
import SwiftProtobuf
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

    @Test func anUnreachableTLSServerGetsTheCertificateAdviceWhateverTheMessage() {
        let status = GRPCStatusError(code: .unavailable, message: "failed to connect to all addresses")
        let overTLS = TemporalError(status: status, rpc: "GetSystemInfo", target: "h:7233", attempts: 1, overTLS: true)
        #expect(overTLS.kind == .connection)
        #expect(overTLS.message.contains("TLS") && overTLS.message.contains("TEMPORAL_TLS_CA"), "\(overTLS.message)")
        let plain = TemporalError(status: status, rpc: "GetSystemInfo", target: "h:7233", attempts: 1)
        #expect(plain.kind == .connection)
        #expect(!plain.message.contains("TLS"), "\(plain.message)")
    }
}
