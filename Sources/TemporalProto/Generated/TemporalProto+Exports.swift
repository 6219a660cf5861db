// DO NOT EDIT. Written by scripts/generate-protos.
// TemporalProto's public API uses SwiftProtobuf types (Google_Protobuf_Duration,
// Google_Protobuf_Timestamp, SwiftProtobuf.Message), so importing TemporalProto brings them too.
@_exported import SwiftProtobuf
