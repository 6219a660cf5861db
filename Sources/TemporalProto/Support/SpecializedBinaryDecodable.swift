// Hand-written (not generated): compiled into TemporalProto beside Generated/.

import SwiftProtobuf

#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// A message decoded by code specialised to its type (see `SpecializedBinaryDecoder`): the
/// responses a worker or client decodes on every task. The result equals
/// `Self(serializedBytes:)`, unknown fields included, and it throws where that throws.
public protocol SpecializedBinaryDecodable: SwiftProtobuf.Message {
    /// Decodes protobuf binary `bytes`; same value and same failures as `init(serializedBytes:)`.
    init(specializedBytes bytes: Data) throws
}

// Each conformance is written out for its concrete type: that is what makes the compiler
// specialise the whole tree of messages under it to the decoder.

extension Temporal_Api_Workflowservice_V1_PollWorkflowTaskQueueResponse: SpecializedBinaryDecodable {
    public init(specializedBytes bytes: Data) throws {
        self = try SpecializedBinaryDecoder.decodeRoot(Self.self, from: bytes)
    }
}

extension Temporal_Api_Workflowservice_V1_PollActivityTaskQueueResponse: SpecializedBinaryDecodable {
    public init(specializedBytes bytes: Data) throws {
        self = try SpecializedBinaryDecoder.decodeRoot(Self.self, from: bytes)
    }
}

extension Temporal_Api_Workflowservice_V1_RespondWorkflowTaskCompletedResponse: SpecializedBinaryDecodable {
    public init(specializedBytes bytes: Data) throws {
        self = try SpecializedBinaryDecoder.decodeRoot(Self.self, from: bytes)
    }
}

extension Temporal_Api_Workflowservice_V1_RespondActivityTaskCompletedResponse: SpecializedBinaryDecodable {
    public init(specializedBytes bytes: Data) throws {
        self = try SpecializedBinaryDecoder.decodeRoot(Self.self, from: bytes)
    }
}

extension Temporal_Api_Workflowservice_V1_RecordActivityTaskHeartbeatResponse: SpecializedBinaryDecodable {
    public init(specializedBytes bytes: Data) throws {
        self = try SpecializedBinaryDecoder.decodeRoot(Self.self, from: bytes)
    }
}

extension Temporal_Api_Workflowservice_V1_GetWorkflowExecutionHistoryResponse: SpecializedBinaryDecodable {
    public init(specializedBytes bytes: Data) throws {
        self = try SpecializedBinaryDecoder.decodeRoot(Self.self, from: bytes)
    }
}

extension Temporal_Api_Workflowservice_V1_StartWorkflowExecutionResponse: SpecializedBinaryDecodable {
    public init(specializedBytes bytes: Data) throws {
        self = try SpecializedBinaryDecoder.decodeRoot(Self.self, from: bytes)
    }
}
