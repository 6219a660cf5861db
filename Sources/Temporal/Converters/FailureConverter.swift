public import SwiftProtobuf
public import TemporalProto

#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// Converts Swift errors to Temporal failures and back, as every SDK does: an error becomes an
/// `ApplicationFailureInfo` whose `type` is the error's type name (or `ApplicationError.type`).
public struct FailureConverter: Sendable {
    /// Name written into `Failure.source`.
    public var source: String
    /// Whether a failure's message and stack trace go in its `encoded_attributes` (through the
    /// payload converter and the codecs, so encrypted with an `EncryptionCodec`), its message
    /// reading "Encoded failure", at every level of its cause chain — Go's and Python's
    /// `EncodeCommonAttributes`. Off by default, as there: error messages are often what an
    /// operator reads first in the Web UI, which shows them decoded only through a codec
    /// server. On where the messages may hold what the payloads' encryption protects (names,
    /// addresses, ids). Applied by `DataConverter.failure(from:)` and wherever the worker and
    /// the client send a failure. This SDK and Python's read such failures back with the key;
    /// Go's needs its failure converter given the codec's data converter.
    public var encodeCommonAttributes: Bool

    public init(source: String = "SwiftSDK", encodeCommonAttributes: Bool = false) {
        self.source = source
        self.encodeCommonAttributes = encodeCommonAttributes
    }

    /// The failure for a thrown error.
    public func failure(from error: any Error) -> Failure {
        var f = Failure()
        f.source = source
        switch error {
        case let app as ApplicationError:
            // A decoded failure goes back as it came (its cause chain, stack trace and source
            // kept), with what code changed since: a caller that sets `nonRetryable` on an error
            // it caught must stop the retries. A decoded failure of another kind goes back as is.
            var base = f
            var info = Temporal_Api_Failure_V1_ApplicationFailureInfo()
            if let original = app.failure {
                guard case .applicationFailureInfo(let decoded)? = original.failureInfo else { return original }
                (base, info) = (original, decoded)
            }
            if base.hasEncodedAttributes, app.message == app.decodedMessage || app.message == base.message {
                // Unchanged: the message stays encoded (`decodedMessage`), as Go sends the original.
            } else {
                base.message = app.message
                // A receiver would read the encoded message over the new one.
                if base.hasEncodedAttributes { base.clearEncodedAttributes() }
            }
            info.type = app.type
            info.nonRetryable = app.nonRetryable
            info.category = app.category.proto
            if info.hasDetails || !app.details.isEmpty { info.details.payloads = app.details }
            if let delay = app.nextRetryDelay {
                info.nextRetryDelay = Google_Protobuf_Duration(duration: delay)
            } else {
                info.clearNextRetryDelay()
            }
            base.applicationFailureInfo = info
            return base
        case let temporal as TemporalError:
            if let original = temporal.unchangedReceivedFailure ?? temporal.failure { return original }
            f.message = temporal.message
            var info = Temporal_Api_Failure_V1_ApplicationFailureInfo()
            info.type = "TemporalError.\(temporal.kind.rawValue)"
            f.applicationFailureInfo = info
        case is CancellationError:
            f.message = "cancelled"
            f.canceledFailureInfo = Temporal_Api_Failure_V1_CanceledFailureInfo()
        case let carrying as any FailureCarryingError:
            return carrying.failure
        default:
            f.message = String(describing: error)
            var info = Temporal_Api_Failure_V1_ApplicationFailureInfo()
            // The type's own name, generic arguments included (`GenericError<String>`); split on
            // dots, a qualified name gave `String>`.
            info.type = String(describing: type(of: error))
            f.applicationFailureInfo = info
        }
        return f
    }

    /// The failure an activity attempt reports for `error`, as the server accepts it in
    /// RespondActivityTaskFailed: with `ApplicationFailureInfo` on top. The server refuses any
    /// other failure ("Failure must have ApplicationFailureInfo"), and the attempt would then
    /// hang until its timeout. Such a failure comes from a `CancellationError` thrown while
    /// nothing cancelled the attempt (a timeout helper of its own, a cancelled child task) or
    /// from a rethrown `TemporalError` about something else (a child workflow's timeout, say):
    /// it is wrapped in a retryable application failure (`UnexpectedCancellation`,
    /// `UnexpectedFailure`) with the original as its cause, as sdk-go wraps an unexpected
    /// cancel error.
    ///
    /// A `TemporalError` carrying another execution's failure (a workflow's result the activity
    /// awaited through the client) is wrapped too, even an application failure: its type and
    /// `nonRetryable` are that execution's, not this activity's (as sdk-go wraps a
    /// `WorkflowExecutionError`). Rethrown as it was, a non-retryable one ended the activity's
    /// retries.
    public func activityFailure(from error: any Error) -> Failure {
        let failure = failure(from: error)
        // Another execution's failure: a client call's, or one an error carries (an activity's
        // or child workflow's, `FailureCarryingError`), whose type and retryability are not this
        // activity's.
        let another = (error as? TemporalError)?.failure != nil || error is any FailureCarryingError
        if !another, case .applicationFailureInfo? = failure.failureInfo { return failure }
        var wrapped = Failure()
        wrapped.source = source
        var info = Temporal_Api_Failure_V1_ApplicationFailureInfo()
        if error is CancellationError {
            wrapped.message =
                "the activity threw CancellationError although nothing cancelled it (no cancel request, no worker stop, deadline not reached): check the body's own timeouts and child tasks; the attempt failed and is retried"
            info.type = "UnexpectedCancellation"
        } else {
            wrapped.message =
                another
                ? "the activity threw the failure of another execution (a client call's): \(failure.message)"
                : failure.message.isEmpty ? "activity failed" : failure.message
            info.type = "UnexpectedFailure"
        }
        wrapped.applicationFailureInfo = info
        wrapped.cause = failure
        return wrapped
    }

    /// The error for a failure received from the server: an `ApplicationError` for application
    /// failures (keeping the original failure with its cause chain), a `TemporalError` otherwise.
    public func error(from failure: Failure) -> any Error {
        switch failure.failureInfo {
        case .applicationFailureInfo(let info)?:
            var e = ApplicationError(
                failure.message, type: info.type, nonRetryable: info.nonRetryable,
                details: info.details.payloads)
            if info.hasNextRetryDelay { e.nextRetryDelay = Duration(info.nextRetryDelay) }
            e.category = ApplicationError.Category(info.category)
            e.failure = failure
            return e
        case .canceledFailureInfo?:
            return TemporalError(
                kind: .workflowCanceled, message: failure.message.isEmpty ? "cancelled" : failure.message, failure: failure)
        case .timeoutFailureInfo?:
            return TemporalError(kind: .workflowTimedOut, message: failure.message, failure: failure)
        case .terminatedFailureInfo?:
            return TemporalError(kind: .workflowTerminated, message: failure.message, failure: failure)
        default:
            return TemporalError(kind: .workflowFailed, message: failure.message, failure: failure)
        }
    }
}

extension FailureConverter {
    /// The error for `readable` (`received` with its encoded attributes decoded, for reading)
    /// that goes on as `received` when it is rethrown: attributes another SDK encoded (say,
    /// encrypted) stay encoded, as Go keeps the original.
    package func error(readable: Failure, received: Failure) -> any Error {
        let error = error(from: readable)
        guard received.holdsEncodedAttributes else { return error }
        if let application = error as? ApplicationError { return application.keepingEncoded(received) }
        if var temporal = error as? TemporalError {
            temporal.receivedFailure = received
            return temporal
        }
        return error
    }
}

extension ApplicationError {
    /// This error (read from a decoded failure) holding `original`, the failure as received,
    /// when another SDK encoded its attributes (at its level or in its causes): rethrown
    /// unchanged, it goes on as it came.
    package func keepingEncoded(_ original: Failure?) -> ApplicationError {
        guard let original, original.holdsEncodedAttributes else { return self }
        var error = self
        error.failure = original
        if original.hasEncodedAttributes { error.decodedMessage = message }
        return error
    }
}

extension Google_Protobuf_Duration {
    /// A protobuf Duration from a Swift Duration.
    public init(duration: Duration) {
        let (seconds, attoseconds) = duration.components
        self.init(seconds: seconds, nanos: Int32(attoseconds / 1_000_000_000))
    }
}

extension Failure {
    /// Whether this failure or one of its causes holds `encoded_attributes`.
    package var holdsEncodedAttributes: Bool {
        var f: Failure? = self
        while let current = f {
            if current.hasEncodedAttributes { return true }
            f = current.hasCause ? current.cause : nil
        }
        return false
    }

    /// The first failure with `ApplicationFailureInfo` in this failure's cause chain (this one
    /// included), as it is.
    package var firstApplicationFailure: Failure? {
        var f: Failure? = self
        while let current = f {
            if case .applicationFailureInfo? = current.failureInfo { return current }
            f = current.hasCause ? current.cause : nil
        }
        return nil
    }

    /// The first `ApplicationError` in this failure's cause chain (this failure included): what
    /// a workflow, an activity or a child workflow raised under the activity/child wrappers.
    public var firstApplicationError: ApplicationError? {
        var f: Failure? = self
        while let current = f {
            if case .applicationFailureInfo? = current.failureInfo {
                return FailureConverter().error(from: current) as? ApplicationError
            }
            f = current.hasCause ? current.cause : nil
        }
        return nil
    }
}

extension DataConverter {
    /// For reading only (a client's result, an update's failure): a failure sent on, e.g. by a
    /// workflow that fails with its activity's error, goes as received, its attributes still
    /// encoded, as Go keeps the original.
    ///
    /// `failure` with the attributes another SDK moved into `encoded_attributes` put back —
    /// its message and stack trace, when that SDK's converter encodes common attributes (the
    /// failure then reads "Encoded failure") — through the whole cause chain; decoded with
    /// this converter and its codecs. Unchanged where there are none or they do not decode.
    public func decodingEncodedAttributes(_ failure: Failure) -> Failure {
        // Most failures hold none: returned as they are, not copied level by level (every
        // failed activity's error decodes its failure for reading).
        var level: Failure? = failure
        while let current = level, !current.hasEncodedAttributes { level = current.hasCause ? current.cause : nil }
        guard level != nil else { return failure }
        var decoded = failure
        if decoded.hasEncodedAttributes, let attributes = try? fromPayload(decoded.encodedAttributes, as: EncodedFailureAttributes.self) {
            if let message = attributes.message { decoded.message = message }
            if let stackTrace = attributes.stackTrace { decoded.stackTrace = stackTrace }
            decoded.clearEncodedAttributes()
        }
        if decoded.hasCause { decoded.cause = decodingEncodedAttributes(decoded.cause) }
        return decoded
    }
}

extension DataConverter {
    /// The failure for `error` (`failureConverter.failure(from:)`), its message and stack
    /// trace encoded when `failureConverter.encodeCommonAttributes` is on.
    public func failure(from error: any Error) -> Failure {
        sealingCommonAttributes(failureConverter.failure(from: error))
    }

    /// `failure` with the message and stack trace of each level of its cause chain moved into
    /// `encoded_attributes` (with the codecs), when `failureConverter.encodeCommonAttributes`
    /// is on; unchanged otherwise. A level whose attributes are encoded already (another
    /// SDK's, sent on) stays as it is. Never sends them in the clear: should a codec refuse,
    /// the level says so instead of its message.
    public func sealingCommonAttributes(_ failure: Failure) -> Failure {
        guard failureConverter.encodeCommonAttributes else { return failure }
        var sealed = failure
        if !sealed.hasEncodedAttributes {
            let attributes = EncodedFailureAttributes(message: sealed.message, stackTrace: sealed.stackTrace)
            do {
                sealed.encodedAttributes = try toPayload(attributes)
                sealed.message = Self.encodedFailureMessage
            } catch {
                sealed.message =
                    "\(Self.encodedFailureMessage) (its message and stack trace are left out: the payload codecs refused them: \(type(of: error)))"
            }
            sealed.stackTrace = ""
        }
        if sealed.hasCause { sealed.cause = sealingCommonAttributes(sealed.cause) }
        return sealed
    }

    /// The message of a failure whose attributes are encoded (as Go and Python write it).
    public static let encodedFailureMessage = "Encoded failure"
}

/// What `encoded_attributes` holds (the Go and Core SDKs' JSON object).
private struct EncodedFailureAttributes: Codable {
    var message: String?
    var stackTrace: String?

    enum CodingKeys: String, CodingKey {
        case message
        case stackTrace = "stack_trace"
    }
}
