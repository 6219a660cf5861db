/// Transforms payloads after the payload converter made them and before they go on the wire
/// (and back): encryption, compression. Every payload the client and the worker send and
/// receive through the `DataConverter` passes through the codecs — workflow and activity
/// inputs and results, signal, query and update arguments and answers, heartbeat details,
/// failure details, memo — never search attributes (the server indexes those).
///
/// A codec must leave payloads it did not encode untouched on `decode` (look at the
/// `encoding` metadata), so that plain payloads from other clients still decode.
/// The same codecs (with the same keys) must be configured in every client and worker that
/// reads the payloads — and in a codec server for the Web UI and the CLI.
public protocol PayloadCodec: Sendable {
    func encode(_ payloads: [Payload]) throws -> [Payload]
    func decode(_ payloads: [Payload]) throws -> [Payload]
}

extension DataConverter {
    /// Runs the codecs over `payloads`, in order.
    public func encode(_ payloads: [Payload]) throws -> [Payload] {
        var out = payloads
        for codec in codecs { out = try codec.encode(out) }
        return out
    }

    /// Undoes the codecs, in reverse order.
    public func decode(_ payloads: [Payload]) throws -> [Payload] {
        var out = payloads
        for codec in codecs.reversed() { out = try codec.decode(out) }
        return out
    }

    /// One value as one payload: the payload converter, then the codecs.
    public func toPayload<T: Encodable>(_ value: T) throws -> Payload {
        let payload = try payloadConverter.toPayload(value)
        guard !codecs.isEmpty else { return payload }
        return try encode([payload]).first ?? payload
    }

    /// One payload as a value: the codecs undone, then the payload converter.
    public func fromPayload<T: Decodable>(_ payload: Payload, as type: T.Type) throws -> T {
        guard !codecs.isEmpty else { return try payloadConverter.fromPayload(payload, as: T.self) }
        return try payloadConverter.fromPayload(try decode([payload]).first ?? payload, as: T.self)
    }
}
