import SwiftProtobuf
import Temporal

/// A request the server (or a proxy in front of it) refused for its size.
enum SizeRefusal {
    /// gRPC's default limit on a received message, which the Temporal server keeps.
    static let grpcDefaultLimit = 4 << 20

    /// The size of `request` encoded (0 if it does not encode), for `refusal` and the messages.
    static func size(of request: some SwiftProtobuf.Message) -> Int { (try? request.serializedData())?.count ?? 0 }

    /// The refusal's own words when `error`, the failure of a request of `bytes` bytes, refused
    /// it for its size: RESOURCE_EXHAUSTED without the server's throttling details, and either
    /// gRPC's wording of a size limit (the server's "grpc: received message larger than max",
    /// the client's "Sent message larger than max", HTTP2Transport's "larger than the limit") or
    /// a request over gRPC's default 4 MiB (a proxy's own words; `bytes` is read only then). Nil for any other failure,
    /// RESOURCE_EXHAUSTED of another kind (HTTP/2's ENHANCE_YOUR_CALM, throttling) included.
    static func refusal(_ error: any Error, requestBytes bytes: @autoclosure () -> Int) -> String? {
        guard let error = error as? TemporalError, error.code == .resourceExhausted, error.details == nil else { return nil }
        let message = error.message.lowercased()
        // HTTP2Transport's refusal of headers too large to send is about the metadata, not the message.
        guard !message.contains("metadata") else { return nil }
        guard
            message.contains("larger than max") || message.contains("larger than the limit") || message.contains("too large")
                || bytes() > grpcDefaultLimit
        else { return nil }
        return error.message
    }
}
