public import TemporalProto

#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// An error raised deliberately by workflow or activity code, carried across languages as
/// Temporal's `ApplicationFailureInfo`.
///
/// `type` is the stable name other SDKs and retry policies match on (`non_retryable_error_types`).
/// Throwing one with `nonRetryable: true` stops the activity's retries at once; thrown from a
/// workflow's `run`, it fails the workflow (other errors fail only the workflow task).
public struct ApplicationError: Error, Sendable, CustomStringConvertible {
    public var message: String
    public var type: String
    public var nonRetryable: Bool
    /// Extra values attached to the failure. Payloads set or added here go as they are: a
    /// client with codecs encodes only details this error's initialiser made without them, so
    /// encode added ones with the converter that should seal them.
    public var details: [Payload] {
        didSet { detailsWithoutCodecs = false }  // payloads set as they are go as they are
    }
    /// Overrides the retry policy's next delay for this failure.
    public var nextRetryDelay: Duration?
    /// What kind of failure this is for those who watch: `.benign` for one expected in normal
    /// operation (a poll that found nothing yet, a business rule saying no), which the worker
    /// leaves out of its failure metrics and logs at debug level, as Go and Core do.
    public var category: Category = .unspecified
    /// The failure this one was decoded from, with its cause chain (nil for locally raised errors).
    public var failure: Failure?
    /// The message `failure`'s encoded attributes held, as decoded for reading (set where a
    /// failure another SDK encoded is read: `ActivityError`, `ChildWorkflowError`). Rethrown with
    /// that message, the failure goes on as it came, still encoded: the message never travels in
    /// clear text. Changed, the new message goes, and the encoded attributes do not.
    package var decodedMessage: String?
    /// The converter that received it (a client's, with its codecs), which `detail(_:as:)`
    /// decodes with unless given another.
    public var converter: DataConverter?
    /// Whether `details` were made by a converter without codecs (`DataConverter.current`
    /// outside workflow and activity code is `.default`): a client with codecs runs them over
    /// the details before sending the failure, as over every other payload it sends.
    var detailsWithoutCodecs = false

    public init(
        _ message: String, type: String = "ApplicationError", nonRetryable: Bool = false,
        details: [Payload] = [], nextRetryDelay: Duration? = nil, category: Category = .unspecified
    ) {
        self.message = message
        self.type = type
        self.nonRetryable = nonRetryable
        self.details = details
        self.nextRetryDelay = nextRetryDelay
        self.category = category
        self.failure = nil
    }

    /// Builds an ApplicationError with encoded details.
    public init<each D: Encodable>(
        _ message: String, type: String = "ApplicationError", nonRetryable: Bool = false,
        details: repeat each D, category: Category = .unspecified, converter: DataConverter = .current
    ) throws {
        var payloads: [Payload] = []
        for d in repeat each details { payloads.append(try converter.toPayload(d)) }
        self.init(message, type: type, nonRetryable: nonRetryable, details: payloads, category: category)
        detailsWithoutCodecs = converter.codecs.isEmpty && !payloads.isEmpty
    }

    /// Decodes detail `index` as `T`, with `converter`, else the converter that received the
    /// failure (a client's, codecs included), else `DataConverter.current` (in workflow and
    /// activity code, the worker's).
    public func detail<T: Decodable>(_ index: Int = 0, as type: T.Type, converter: DataConverter? = nil) throws -> T {
        var p = Payloads()
        p.payloads = details
        return try (converter ?? self.converter ?? .current).fromPayloads(p, index: index, as: T.self)
    }

    public var description: String { "\(type): \(message)\(nonRetryable ? " (non-retryable)" : "")" }
}

extension ApplicationError {
    /// An application failure's category (`ApplicationFailureInfo.category`). A struct rather
    /// than an enum: a category a newer SDK sends is kept as it came (and passed on), and one
    /// added later does not break a `switch` over these.
    public struct Category: Sendable, Hashable, CustomStringConvertible {
        /// The wire value (`ApplicationErrorCategory`).
        public let rawValue: Int

        public init(rawValue: Int) { self.rawValue = rawValue }

        /// An ordinary failure (the default).
        public static let unspecified = Category(rawValue: 0)
        /// Expected in normal operation: not counted as a failure in metrics, logged at debug.
        public static let benign = Category(rawValue: 1)

        init(_ proto: Temporal_Api_Enums_V1_ApplicationErrorCategory) { self.init(rawValue: proto.rawValue) }

        var proto: Temporal_Api_Enums_V1_ApplicationErrorCategory { .init(rawValue: rawValue) ?? .unspecified }

        public var description: String {
            switch rawValue {
            case 0: "unspecified"
            case 1: "benign"
            default: "category \(rawValue)"
            }
        }
    }
}

extension ApplicationError {
    /// Whether `error` is an application error its code called benign (left out of failure
    /// metrics, logged at debug).
    package static func isBenign(_ error: any Error) -> Bool { (error as? ApplicationError)?.category == .benign }
}

extension Failure {
    /// Whether this is an application failure its code marked benign (left out of failure
    /// metrics, logged at debug).
    package var isBenign: Bool {
        if case .applicationFailureInfo(let info)? = failureInfo { return info.category == .benign }
        return false
    }
}
