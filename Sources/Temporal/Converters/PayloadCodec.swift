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
    /// - Throws: `TemporalError` (`.payloadConversion`) when a codec returns another number of
    ///   payloads than it was given (as Go refuses it): one dropped would go out unencoded.
    public func encode(_ payloads: [Payload]) throws -> [Payload] {
        var out = payloads
        for codec in codecs { out = try Self.checked(codec.encode(out), from: codec, given: out.count, "encode") }
        return out
    }

    /// Undoes the codecs, in reverse order.
    /// - Throws: as `encode`, for a codec whose `decode` changes the number of payloads.
    public func decode(_ payloads: [Payload]) throws -> [Payload] {
        var out = payloads
        for codec in codecs.reversed() { out = try Self.checked(codec.decode(out), from: codec, given: out.count, "decode") }
        return out
    }

    private static func checked(_ out: [Payload], from codec: any PayloadCodec, given: Int, _ what: String) throws -> [Payload] {
        guard out.count == given else {
            throw TemporalError(
                kind: .payloadConversion,
                message:
                    "payload codec \(type(of: codec)) returned \(out.count) payloads from \(what) where it was given \(given); a codec must return one payload for each it is given"
            )
        }
        return out
    }

    /// One value as one payload: the payload converter, then the codecs.
    public func toPayload<T: Encodable>(_ value: T) throws -> Payload {
        let payload = try payloadConverter.toPayload(value)
        guard !codecs.isEmpty else { return payload }
        return try encode([payload])[0]  // one: `encode` checks the codecs' counts
    }

    /// One payload as a value: the codecs undone, then the payload converter.
    public func fromPayload<T: Decodable>(_ payload: Payload, as type: T.Type) throws -> T {
        guard !codecs.isEmpty else { return try payloadConverter.fromPayload(payload, as: T.self) }
        return try payloadConverter.fromPayload(try decode([payload])[0], as: T.self)
    }
}
