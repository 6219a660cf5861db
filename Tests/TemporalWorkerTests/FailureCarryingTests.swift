import Foundation
import Temporal
import TemporalProto
import Testing

@testable import TemporalWorker

/// An activity's or child workflow's error that workflow code lets escape an update handler (or
/// anything else converted with the `FailureConverter`) answers with the failure it stands for,
/// cause chain and all, as Go answers. Before, it became an application failure of type
/// "ActivityError" holding the Swift description, without a cause: a caller could not tell the
/// activity's own error type, details or retry state.
@Suite struct FailureCarryingTests {
    @Test func anActivityOrChildErrorConvertsToItsOwnFailure() {
        var root = Failure()
        root.message = "card declined"
        var app = Temporal_Api_Failure_V1_ApplicationFailureInfo()
        app.type = "CardDeclined"
        app.nonRetryable = true
        root.applicationFailureInfo = app
        var activity = Failure()
        activity.message = "activity error"
        var info = Temporal_Api_Failure_V1_ActivityFailureInfo()
        info.activityType.name = "charge"
        info.retryState = .nonRetryableFailure
        activity.activityFailureInfo = info
        activity.cause = root
        let converter = FailureConverter()
        #expect(converter.failure(from: ActivityError(failure: activity)) == activity)

        var child = Failure()
        child.message = "child workflow failed"
        var childInfo = Temporal_Api_Failure_V1_ChildWorkflowExecutionFailureInfo()
        childInfo.workflowType.name = "Billing"
        child.childWorkflowExecutionFailureInfo = childInfo
        child.cause = root
        #expect(converter.failure(from: ChildWorkflowError(failure: child)) == child)

        let start = ChildWorkflowStartError(workflowID: "b-1", workflowType: "Billing", cause: .workflowAlreadyExists)
        #expect(converter.failure(from: start) == start.failure)
        #expect(converter.failure(from: start).applicationFailureInfo.type == "ChildWorkflowStartError")
    }

    /// An activity's failure whose attributes another SDK's converter encoded (Go's, Core's
    /// "encode common attributes": message "Encoded failure", the rest in encoded_attributes)
    /// reads decoded in workflow code, and goes on as it came when rethrown (as Go keeps the
    /// original). Before, workflow code saw "Encoded failure".
    /// An application failure as another SDK's converter that encodes common attributes sends
    /// it: "Encoded failure", with `message` and `stack_trace` in `encoded_attributes`.
    static func encodedFailure(_ message: String, type: String, stackTrace: String = "") throws -> Failure {
        var failure = Failure()
        failure.message = "Encoded failure"
        failure.encodedAttributes = try DataConverter.default.toPayload(["message": message, "stack_trace": stackTrace])
        var info = Temporal_Api_Failure_V1_ApplicationFailureInfo()
        info.type = type
        failure.applicationFailureInfo = info
        return failure
    }

    @Test func encodedAttributesAreReadDecodedAndSentOnEncoded() throws {
        let root = try Self.encodedFailure("card declined", type: "CardDeclined", stackTrace: "charge.go:12")
        var activity = Failure()
        activity.message = "activity error"
        activity.activityFailureInfo = Temporal_Api_Failure_V1_ActivityFailureInfo()
        activity.cause = root
        let error = ActivityError(failure: activity, converter: .default)
        #expect(error.applicationError?.message == "card declined")
        #expect(error.description.contains("card declined"), "\(error)")
        #expect(FailureConverter().failure(from: error) == activity, "sent on as it came, still encoded")
        let child = ChildWorkflowError(failure: activity, converter: .default)
        #expect(child.applicationError?.message == "card declined")
        // Its application error rethrown unchanged goes on still encoded (the message never in
        // clear text); with a new message, the new message goes, without the old attributes.
        let rethrown = try #require(error.applicationError)
        #expect(FailureConverter().failure(from: rethrown) == root)
        var edited = rethrown
        edited.message = "payment refused"
        let sent = FailureConverter().failure(from: edited)
        #expect(sent.message == "payment refused" && !sent.hasEncodedAttributes)
        // Its cause rethrown (`throw error.cause!`) goes on still encoded too; it went in clear.
        for cause in [error.cause, child.cause] {
            let cause = try #require(cause)
            #expect((cause as? ApplicationError)?.message == "card declined")
            #expect(FailureConverter().failure(from: cause) == root, "\(FailureConverter().failure(from: cause))")
        }
    }

    /// A workflow that fails with a failure another SDK's converter encoded (here: thrown as
    /// it is by Swift code): the client reads it decoded, and what an activity that awaited it
    /// sends on when it rethrows the client's error, or its application error, holds the
    /// message only encoded, as it came. Before, the decoded copy went on, a message another
    /// SDK encrypted in clear in the activity's history (and the Web UI).
    final class FailsEncoded: Workflow {
        init() {}
        func run(context: WorkflowContext, input: NoValue) async throws -> String {
            var error = ApplicationError("Encoded failure", type: "Refused")
            error.failure = try FailureCarryingTests.encodedFailure("SECRET-4711", type: "Refused")
            throw error
        }
    }

    @Test func aClientsDecodedFailureGoesOnEncodedWhenRethrown() async throws {
        try await withWorker(workflows: [FailsEncoded.self]) { w in
            let handle = try await w.start(FailsEncoded.self, NoValue())
            let error = try #require(await #expect(throws: TemporalError.self) { _ = try await handle.result(as: String.self) })
            #expect(error.failure?.message == "SECRET-4711" && error.applicationError?.message == "SECRET-4711")
            for sent in [
                FailureConverter().activityFailure(from: error), FailureConverter().failure(from: error),
                FailureConverter().activityFailure(from: try #require(error.applicationError)),
            ] {
                // Only in the encoded attributes (this test's converter does not encrypt).
                var level: Failure? = sent
                var clear: [String] = []
                while let current = level {
                    clear += [current.message, current.stackTrace]
                    level = current.hasCause ? current.cause : nil
                }
                #expect(!clear.contains { $0.contains("SECRET-4711") } && clear.contains("Encoded failure"), "\(sent)")
            }
            // A failure code changed (redacted) goes on as changed.
            var redacted = error
            redacted.failure?.message = "redacted"
            #expect(FailureConverter().failure(from: redacted).message == "redacted")
        }
    }
}
