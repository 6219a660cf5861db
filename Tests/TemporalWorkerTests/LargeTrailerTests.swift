import Foundation
import Temporal
import TemporalTestSupport
import Testing

@testable import TemporalWorker

/// Failures whose text is long: the server sends a failed call's message twice in its trailers
/// (`grpc-message`, and inside `grpc-status-details-bin`, base64), which must fit the header list
/// size the client advertises.
@Suite struct LargeTrailerTests {
    /// A query handler failing with a 12 KB message (the server cuts it to 4 KB): its trailers
    /// (about 9.5 KB) passed gRPC core's default 8 KiB limit, so the server reset the stream and
    /// the client saw INTERNAL ("Received RST_STREAM") instead of the handler's failure.
    @Test func aQueryFailureWithALongMessageArrivesWhole() async throws {
        try await withWorker(workflows: [RefusesAtLength.self]) { w in
            let handle = try await w.start(RefusesAtLength.self)
            let error = await #expect(throws: TemporalError.self) { try await handle.query("why", as: String.self) }
            #expect(error?.kind == .queryFailed, "\(String(describing: error).prefix(300))")
            // (The server cuts a query failure's message to about 4,000 characters.)
            #expect(error?.message.contains(String(repeating: "because ", count: 400)) == true, "\(String(describing: error).prefix(300))")
            try await handle.terminate(reason: "test over")
        }
    }
}

/// Waits for ever; its query "why" fails with a 12 KB message.
final class RefusesAtLength: Workflow {
    init() {}
    func run(context: WorkflowContext, input: NoValue) async throws -> String {
        context.setQueryHandler("why") { () throws -> String in
            throw ApplicationError(String(repeating: "because ", count: 1_500), type: "Refused")
        }
        try await context.condition { false }
        return ""
    }
}
