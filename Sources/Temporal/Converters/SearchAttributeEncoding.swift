/// Search attribute values as the server indexes them: JSON through the default converter,
/// whatever converter the client or workflow uses for its other payloads.
public enum SearchAttributeEncoding {
    /// Encodes each value with `DataConverter.default`.
    public static func encode(_ values: [String: any Encodable & Sendable]) throws -> [String: Payload] {
        var out: [String: Payload] = [:]
        for (key, value) in values { out[key] = try one(value) }
        return out
    }

    private static func one<T: Encodable>(_ value: T) throws -> Payload {
        try DataConverter.default.payloadConverter.toPayload(value)
    }
}
