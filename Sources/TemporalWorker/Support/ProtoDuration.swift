import SwiftProtobuf

/// Converts a protobuf duration (unambiguous: both swift-protobuf and Temporal extend `Duration`).
func swiftDuration(_ d: Google_Protobuf_Duration) -> Duration {
    .seconds(d.seconds) + .nanoseconds(Int64(d.nanos))
}
