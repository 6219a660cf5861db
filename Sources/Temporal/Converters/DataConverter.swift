public import TemporalProto

#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// Payloads: the arguments of a call, one payload per argument.
public typealias Payloads = Temporal_Api_Common_V1_Payloads
/// A Temporal failure (message, stack, cause chain and a typed `failureInfo`).
public typealias Failure = Temporal_Api_Failure_V1_Failure

/// The client's and the worker's conversion settings: values ⇄ payloads (the payload
/// converter, then the codecs), errors ⇄ failures.
public struct DataConverter: Sendable {
    public var payloadConverter: any PayloadConverter
    public var failureConverter: FailureConverter
    /// Applied after the payload converter, in order (see `PayloadCodec`); e.g. an `EncryptionCodec`.
    public var codecs: [any PayloadCodec]

    public init(
        payloadConverter: any PayloadConverter = DefaultPayloadConverter(),
        failureConverter: FailureConverter = FailureConverter(),
        codecs: [any PayloadCodec] = []
    ) {
        self.payloadConverter = payloadConverter
        self.failureConverter = failureConverter
        self.codecs = codecs
    }

    /// The default: JSON for Codable values, the conventions of the other SDKs otherwise.
    public static let `default` = DataConverter()

    /// The converter of the workflow or activity code running now: the worker sets it around
    /// workflow and activity code (so `ApplicationError` details made there get the worker's
    /// codecs, e.g. encryption, by default); `.default` elsewhere.
    @TaskLocal public static var current: DataConverter = .default

    /// Encodes a list of arguments (each one payload).
    public func toPayloads(_ values: [any Encodable]) throws -> Payloads {
        var payloads = Payloads()
        payloads.payloads = try encode(values.map { try encodeOne($0) })
        return payloads
    }

    /// Encodes one value as a single-payload list (`NoValue` too: one `binary/null` payload; pass
    /// no payloads at all for "no arguments").
    public func toPayloads<T: Encodable>(_ value: T) throws -> Payloads {
        var payloads = Payloads()
        payloads.payloads = try encode([try payloadConverter.toPayload(value)])
        return payloads
    }

    private func encodeOne<T: Encodable>(_ value: T) throws -> Payload {
        try payloadConverter.toPayload(value)
    }

    /// Decodes the payload at `index` as `T`. A missing payload decodes as `binary/null`
    /// (so `Optional` and `NoValue` results of workflows that returned nothing work).
    public func fromPayloads<T: Decodable>(_ payloads: Payloads?, index: Int = 0, as type: T.Type) throws -> T {
        let list = payloads?.payloads ?? []
        let payload = index < list.count ? list[index] : DefaultPayloadConverter.nullPayload
        return try fromPayload(payload, as: T.self)
    }
}

extension DataConverter {
    /// `failureConverter.activityFailure(from:)`, with the codecs run over the details of an
    /// `ApplicationError` made without them: built where `DataConverter.current` is `.default`
    /// (in a callback on another queue, a detached task, a client outside the worker), they
    /// would go to the server's history in the clear on an encrypting client or worker.
    ///
    /// - Throws: what a codec throws.
    public func activityFailureSealingDetails(from error: any Error) throws -> Failure {
        var failure = failureConverter.activityFailure(from: error)
        if let app = error as? ApplicationError, app.detailsWithoutCodecs, !codecs.isEmpty,
            case .applicationFailureInfo(var info)? = failure.failureInfo
        {
            info.details.payloads = try encode(info.details.payloads)
            failure.applicationFailureInfo = info
        }
        return sealingCommonAttributes(failure)
    }
}
