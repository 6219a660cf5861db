import Foundation
import Temporal
import TemporalProto
import Testing

/// The AES-256-GCM payload codec and key files, without a server.
@Suite struct EncryptionCodecTests {
    static func key(_ id: String, _ fill: UInt8) throws -> EncryptionCodec.Key {
        try EncryptionCodec.Key(id: id, bytes: (0..<32).map { UInt8(truncatingIfNeeded: Int($0) &* 7 &+ Int(fill)) })
    }

    @Test func valuesRoundTripThroughTheConverterAndNeverAppearInTheClear() throws {
        let converter = DataConverter(codecs: [EncryptionCodec(current: try Self.key("k1", 1))])
        let payloads = try converter.toPayloads(["secret member name", "second argument"] as [any Encodable])
        #expect(payloads.payloads.count == 2)
        for payload in payloads.payloads {
            #expect(payload.metadata["encoding"] == Data("binary/encrypted".utf8))
            #expect(payload.metadata["encryption-key-id"] == Data("k1".utf8))
            #expect(!String(decoding: payload.data, as: UTF8.self).contains("secret"))
        }
        #expect(try converter.fromPayloads(payloads, index: 0, as: String.self) == "secret member name")
        #expect(try converter.fromPayloads(payloads, index: 1, as: String.self) == "second argument")
        // A fresh nonce each time: the same value never encrypts to the same bytes.
        #expect(try converter.toPayloads("x").payloads[0].data != converter.toPayloads("x").payloads[0].data)
        // Plain payloads (another client without the codec) still decode.
        #expect(try converter.fromPayloads(DataConverter.default.toPayloads("plain"), as: String.self) == "plain")
    }

    /// A codec that returns fewer payloads than it was given is refused, as Go refuses it: the
    /// one-value path fell back to the unencoded payload and sent it in the clear.
    @Test func aCodecThatDropsPayloadsIsRefused() throws {
        struct Dropping: PayloadCodec {
            func encode(_ payloads: [Payload]) throws -> [Payload] { [] }
            func decode(_ payloads: [Payload]) throws -> [Payload] { payloads + payloads }
        }
        let converter = DataConverter(codecs: [Dropping()])
        let error = #expect(throws: TemporalError.self) { _ = try converter.toPayload("secret") }
        #expect(error?.kind == .payloadConversion && error?.message.contains("returned 0 payloads from encode") == true)
        #expect(throws: TemporalError.self) { _ = try converter.fromPayload(DataConverter.default.toPayload("x"), as: String.self) }
        #expect(throws: TemporalError.self) { _ = try converter.toPayloads(["a", "b"] as [any Encodable]) }
        // A payload that says it is encrypted but names no key says so.
        var sealed = try DataConverter(codecs: [EncryptionCodec(current: try Self.key("k1", 1))]).toPayload("x")
        sealed.metadata["encryption-key-id"] = nil
        let unnamed = #expect(throws: EncryptionError.self) { _ = try EncryptionCodec(current: try Self.key("k1", 1)).decode([sealed]) }
        #expect(unnamed?.description.contains("names no key") == true, "\(String(describing: unnamed))")
    }

    @Test func rotatedKeysStillDecryptAndUnknownKeysSayWhichKeyIsMissing() throws {
        let old = EncryptionCodec(current: try Self.key("2026-11", 1))
        let rotated = EncryptionCodec(current: try Self.key("2026-12", 2), previous: [try Self.key("2026-11", 1)])
        let sealedWithOld = try old.encode([try DataConverter.default.toPayload("kept")])
        #expect(try DataConverter.default.fromPayload(try rotated.decode(sealedWithOld)[0], as: String.self) == "kept")
        #expect(try rotated.encode(sealedWithOld)[0].metadata["encryption-key-id"] == Data("2026-12".utf8))
        let newOnly = EncryptionCodec(current: try Self.key("2026-12", 2))
        let error = #expect(throws: EncryptionError.self) { try newOnly.decode(sealedWithOld) }
        #expect(error?.description.contains("'2026-11'") == true, "\(String(describing: error))")
    }

    @Test func changedBytesAndWrongKeysFailAuthentication() throws {
        let codec = EncryptionCodec(current: try Self.key("k", 1))
        var sealed = try codec.encode([try DataConverter.default.toPayload("x")])[0]
        var bytes = [UInt8](sealed.data)
        bytes[bytes.count / 2] ^= 0x01
        sealed.data = Data(bytes)
        #expect(throws: EncryptionError.self) { try codec.decode([sealed]) }
        let impostor = EncryptionCodec(current: try Self.key("k", 9))
        let genuine = try codec.encode([try DataConverter.default.toPayload("x")])
        #expect(throws: EncryptionError.self) { try impostor.decode(genuine) }
    }

    @Test func keyFilesNameTheirKeysAndRejectBadOnes() throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("keys-\(UUID())")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let current = Data((0..<32).map { UInt8($0) }).base64EncodedString()
        let previous = Data((0..<32).map { UInt8(255 - $0) }).base64EncodedString()
        let file = directory.appendingPathComponent("keys").path
        try "# current first\n2026-12 \(current)\n\n\(previous)\n".write(toFile: file, atomically: true, encoding: .utf8)
        let codec = try EncryptionCodec.load(keyFile: file)
        #expect(codec.current.id == "2026-12")
        #expect(codec.keys.count == 2)
        #expect(codec.keys.keys.contains { $0.hasPrefix("key-") && $0.count == 12 })
        #expect(try EncryptionCodec.fromEnvironment(["TEMPORAL_PAYLOAD_KEY_FILE": file])?.current.id == "2026-12")
        // A path set from a file (a mounted secret) loses its line break.
        #expect(try EncryptionCodec.fromEnvironment(["TEMPORAL_PAYLOAD_KEY_FILE": file + "\n"])?.current.id == "2026-12")
        #expect(try EncryptionCodec.fromEnvironment(["TEMPORAL_PAYLOAD_KEY_FILE": file + "\r\n"])?.current.id == "2026-12")
        #expect(try EncryptionCodec.fromEnvironment([:]) == nil)

        try Data((0..<16).map { UInt8($0) }).base64EncodedString().write(toFile: file, atomically: true, encoding: .utf8)
        let short = #expect(throws: EncryptionError.self) { try EncryptionCodec.load(keyFile: file) }
        #expect(short?.description.contains("32") == true)
        try "not base64 at all!".write(toFile: file, atomically: true, encoding: .utf8)
        #expect(throws: EncryptionError.self) { try EncryptionCodec.load(keyFile: file) }
        // Raw key bytes: said to be not text, with the command that writes a key file.
        try Data([0xff, 0xfe, 0x00, 0x80] + (0..<28).map { UInt8($0) }).write(to: URL(fileURLWithPath: file))
        let raw = #expect(throws: EncryptionError.self) { try EncryptionCodec.load(keyFile: file) }
        #expect(raw?.description.contains("openssl rand -base64 32") == true, "\(String(describing: raw))")
        // The error names the file's line (it named the key's position: comments and blank
        // lines put it off).
        try "# keys\n\n2026-12 \(current)\n# the old one\nbroken key!\n".write(toFile: file, atomically: true, encoding: .utf8)
        let broken = #expect(throws: EncryptionError.self) { try EncryptionCodec.load(keyFile: file) }
        #expect(broken?.description.contains("line 5:") == true, "\(String(describing: broken))")
        let missing = #expect(throws: EncryptionError.self) {
            try EncryptionCodec.load(keyFile: directory.appendingPathComponent("nope").path)
        }
        #expect(missing?.description.contains("cannot read") == true)
        // Two keys under one id: refused, naming both lines (one was dropped, and what it
        // sealed failed as if tampered with); the same key twice is harmless.
        try "prod \(current)\n# rotated out\nprod \(previous)\n".write(toFile: file, atomically: true, encoding: .utf8)
        let clash = #expect(throws: EncryptionError.self) { try EncryptionCodec.load(keyFile: file) }
        #expect(
            clash?.description.contains("lines 1 and 3") == true && clash?.description.contains("'prod'") == true,
            "\(String(describing: clash))")
        try "prod \(current)\nprod \(current)\n".write(toFile: file, atomically: true, encoding: .utf8)
        #expect(try EncryptionCodec.load(keyFile: file).keys.count == 1)
        // A tab between the id and the key is a separator, as a space is.
        try "prod\t\(current)\n".write(toFile: file, atomically: true, encoding: .utf8)
        #expect(try EncryptionCodec.load(keyFile: file).current.id == "prod")
        // The key first and a label after it: refused without showing the key (it was quoted in
        // the error when the label was valid base64, and became the id, which every payload
        // carries in clear, when the label was a key too).
        // (A key first without its padding is no key, and a label after it no key either.)
        let unpadded = String(current.prefix { $0 != "=" })
        for line in ["\(current) 2026", "\(current) \(previous)", "prod \(current) # main", "\(unpadded) 2026"] {
            try "\(line)\n".write(toFile: file, atomically: true, encoding: .utf8)
            let swapped = #expect(throws: EncryptionError.self) { try EncryptionCodec.load(keyFile: file) }
            #expect(
                swapped?.description.contains("line 1") == true && swapped?.description.contains(unpadded) == false,
                "\(String(describing: swapped))")
        }
    }
}
