// Hand-written (not generated): compiled into TemporalProto beside Generated/.

import SwiftProtobuf

#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// A message encoded by code specialised to its type (see `SpecializedBinaryEncoder`): the
/// requests a worker sends on every task. The bytes equal `serializedData()`'s.
public protocol SpecializedBinaryEncodable: SwiftProtobuf.Message {
    /// The protobuf binary encoding; same bytes and same failures as `serializedData()`.
    func specializedSerializedData() throws -> Data
}

// Written out per concrete type, so that the compiler specialises the tree under each.

extension Temporal_Api_Workflowservice_V1_PollWorkflowTaskQueueRequest: SpecializedBinaryEncodable {
    public func specializedSerializedData() throws -> Data { try SpecializedBinaryEncoder.encode(self) }
}

extension Temporal_Api_Workflowservice_V1_PollActivityTaskQueueRequest: SpecializedBinaryEncodable {
    public func specializedSerializedData() throws -> Data { try SpecializedBinaryEncoder.encode(self) }
}

extension Temporal_Api_Workflowservice_V1_RespondWorkflowTaskCompletedRequest: SpecializedBinaryEncodable {
    public func specializedSerializedData() throws -> Data { try SpecializedBinaryEncoder.encode(self) }
}

extension Temporal_Api_Workflowservice_V1_RespondActivityTaskCompletedRequest: SpecializedBinaryEncodable {
    public func specializedSerializedData() throws -> Data { try SpecializedBinaryEncoder.encode(self) }
}

extension Temporal_Api_Workflowservice_V1_RecordActivityTaskHeartbeatRequest: SpecializedBinaryEncodable {
    public func specializedSerializedData() throws -> Data { try SpecializedBinaryEncoder.encode(self) }
}

extension Temporal_Api_Workflowservice_V1_StartWorkflowExecutionRequest: SpecializedBinaryEncodable {
    public func specializedSerializedData() throws -> Data { try SpecializedBinaryEncoder.encode(self) }
}
