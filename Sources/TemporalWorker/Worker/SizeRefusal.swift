import SwiftProtobuf
import Temporal

/// A request the server (or a proxy in front of it) refused for its size: the refusal's own
/// words, and the request's size.
struct SizeRefusal: Sendable {
    let words: String
    let bytes: Int

    /// gRPC's default limit on a received message, which the Temporal server keeps.
    static let grpcDefaultLimit = 4 << 20

    /// `error`, the failure of `request`, when it refused the request for its size:
    /// RESOURCE_EXHAUSTED without the server's throttling details (and not HTTP2Transport's
    /// refusal of metadata too large to send), and either gRPC's wording of a size limit (the
    /// server's "grpc: received message larger than max", the client's "Sent message larger
    /// than max", HTTP2Transport's "larger than the limit") or a request over gRPC's default
    /// 4 MiB (a proxy's own words). Nil for any other failure, RESOURCE_EXHAUSTED of another
    /// kind (HTTP/2's ENHANCE_YOUR_CALM, throttling) included. The request is encoded (to
    /// measure it) only for a RESOURCE_EXHAUSTED.
    init?(_ error: any Error, of request: some SwiftProtobuf.Message) {
        guard let error = error as? TemporalError, error.code == .resourceExhausted, error.details == nil else { return nil }
        let message = error.message.lowercased()
        guard !message.contains("metadata") else { return nil }
        let bytes = (try? request.serializedData())?.count ?? 0
        guard
            message.contains("larger than max") || message.contains("larger than the limit") || message.contains("too large")
                || bytes > Self.grpcDefaultLimit
        else { return nil }
        (words, self.bytes) = (error.message, bytes)
    }
}
