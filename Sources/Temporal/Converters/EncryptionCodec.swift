import CCrypto
import SwiftProtobuf
public import TemporalProto

#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// Encrypts every payload with AES-256-GCM (OpenSSL's libcrypto), with the conventions of the
/// other SDKs' encryption samples: the whole `Payload` message is serialized and encrypted,
/// the result is `nonce (12 bytes) ‖ ciphertext ‖ tag (16 bytes)`, and the metadata says
/// `encoding: binary/encrypted` and `encryption-key-id: <id>`.
///
/// Key rotation: payloads are encrypted with the current key and decrypted with whichever
/// known key their `encryption-key-id` names, so add the new key, make it current, and keep
/// the old one as long as payloads encrypted with it may be read.
public struct EncryptionCodec: PayloadCodec {
    /// The `encoding` of encrypted payloads.
    public static let encoding = "binary/encrypted"
    /// The metadata key naming the key a payload was encrypted with.
    public static let keyIDMetadata = "encryption-key-id"

    /// An AES-256 key and its id.
    public struct Key: Sendable, Equatable {
        public let id: String
        public let bytes: [UInt8]

        /// - Throws: `EncryptionError` unless `bytes` has 32 bytes.
        public init(id: String, bytes: [UInt8]) throws(EncryptionError) {
            guard bytes.count == 32 else {
                throw EncryptionError("key '\(id)' has \(bytes.count) bytes; AES-256 needs 32 (e.g. `openssl rand -base64 32`)")
            }
            self.id = id
            self.bytes = bytes
        }

        /// A key given in base64, with its id (default: `key-` and the first 8 hex digits of its SHA-256).
        public init(base64: String, id: String? = nil) throws(EncryptionError) {
            guard let data = Data(base64Encoded: base64.trimmedOfSpaces) else {
                throw EncryptionError("a key is not valid base64 (give 32 random bytes in base64, e.g. from `openssl rand -base64 32`)")
            }
            let bytes = [UInt8](data)
            try self.init(id: id ?? "key-" + Self.sha256Hex(bytes).prefix(8), bytes: bytes)
        }

        static func sha256Hex(_ bytes: [UInt8]) -> String {
            var digest = [UInt8](repeating: 0, count: Int(SHA256_DIGEST_LENGTH))
            _ = bytes.withUnsafeBufferPointer { SHA256($0.baseAddress, $0.count, &digest) }
            return digest.map { String($0, radix: 16).leftPadded(2) }.joined()
        }
    }

    /// The key new payloads are encrypted with.
    public let current: Key
    /// Every key payloads may be decrypted with (the current one included), by id.
    public let keys: [String: Key]

    /// - Parameters:
    ///   - current: encrypts.
    ///   - previous: decrypt only (rotated-out keys).
    public init(current: Key, previous: [Key] = []) {
        self.current = current
        var keys: [String: Key] = [:]
        for key in previous { keys[key.id] = key }
        keys[current.id] = current
        self.keys = keys
    }

    public func encode(_ payloads: [Payload]) throws -> [Payload] {
        try payloads.map { payload in
            var encrypted = Payload()
            encrypted.metadata["encoding"] = Data(Self.encoding.utf8)
            encrypted.metadata[Self.keyIDMetadata] = Data(current.id.utf8)
            encrypted.data = Data(try Self.seal([UInt8](try payload.serializedData()), key: current.bytes))
            return encrypted
        }
    }

    public func decode(_ payloads: [Payload]) throws -> [Payload] {
        try payloads.map { payload in
            guard payload.metadata["encoding"] == Data(Self.encoding.utf8) else { return payload }
            guard let idData = payload.metadata[Self.keyIDMetadata] else {
                throw EncryptionError(
                    "payload is \(Self.encoding) but names no key (no \(Self.keyIDMetadata) metadata): it was not sealed by this codec's conventions"
                )
            }
            let id = String(decoding: idData, as: UTF8.self)
            guard let key = keys[id] else {
                throw EncryptionError(
                    "payload encrypted with key '\(id)', which this process does not have (known: \(keys.keys.sorted().joined(separator: ", "))); add it to TEMPORAL_PAYLOAD_KEY_FILE and restart this process (the file is read at start)",
                    callerDescription:
                        "payload encrypted with key '\(id)', which this codec server does not have (its operator can add it to the key file and restart it)"
                )
            }
            let plain = try Self.open([UInt8](payload.data), key: key.bytes)
            do {
                return try Payload(serializedBytes: plain)
            } catch {
                throw EncryptionError("payload decrypted with key '\(id)' is not a Temporal payload: \(error)")
            }
        }
    }

    // MARK: AES-256-GCM

    static let nonceSize = 12
    static let tagSize = 16

    /// `nonce ‖ ciphertext ‖ tag` with a fresh random nonce.
    static func seal(_ plaintext: [UInt8], key: [UInt8]) throws(EncryptionError) -> [UInt8] {
        var nonce = [UInt8](repeating: 0, count: nonceSize)
        guard RAND_bytes(&nonce, Int32(nonceSize)) == 1 else { throw EncryptionError("no random bytes for a nonce") }
        guard let ctx = EVP_CIPHER_CTX_new() else { throw EncryptionError("cannot create a cipher context") }
        defer { EVP_CIPHER_CTX_free(ctx) }
        var out = [UInt8](repeating: 0, count: plaintext.count + 16)
        var length: Int32 = 0
        var total = 0
        guard EVP_EncryptInit_ex(ctx, EVP_aes_256_gcm(), nil, key, nonce) == 1,
            EVP_EncryptUpdate(ctx, &out, &length, plaintext, Int32(plaintext.count)) == 1
        else {
            throw EncryptionError("AES-GCM encryption failed")
        }
        total = Int(length)
        let finalOK = out.withUnsafeMutableBufferPointer { buffer in
            EVP_EncryptFinal_ex(ctx, buffer.baseAddress! + total, &length) == 1
        }
        guard finalOK else { throw EncryptionError("AES-GCM encryption failed") }
        total += Int(length)
        var tag = [UInt8](repeating: 0, count: tagSize)
        guard EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_GET_TAG, Int32(tagSize), &tag) == 1 else {
            throw EncryptionError("AES-GCM produced no tag")
        }
        return nonce + out[0..<total] + tag
    }

    /// Opens `nonce ‖ ciphertext ‖ tag`.
    static func open(_ sealed: [UInt8], key: [UInt8]) throws(EncryptionError) -> [UInt8] {
        guard sealed.count >= nonceSize + tagSize else { throw EncryptionError("encrypted payload too short (\(sealed.count) bytes)") }
        let nonce = Array(sealed[0..<nonceSize])
        let body = Array(sealed[nonceSize..<(sealed.count - tagSize)])
        var tag = Array(sealed[(sealed.count - tagSize)...])
        guard let ctx = EVP_CIPHER_CTX_new() else { throw EncryptionError("cannot create a cipher context") }
        defer { EVP_CIPHER_CTX_free(ctx) }
        var out = [UInt8](repeating: 0, count: body.count + 16)
        var length: Int32 = 0
        guard EVP_DecryptInit_ex(ctx, EVP_aes_256_gcm(), nil, key, nonce) == 1,
            EVP_DecryptUpdate(ctx, &out, &length, body, Int32(body.count)) == 1,
            EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_SET_TAG, Int32(tagSize), &tag) == 1
        else {
            throw EncryptionError("AES-GCM decryption failed")
        }
        let total = Int(length)
        let finalOK = out.withUnsafeMutableBufferPointer { buffer in
            EVP_DecryptFinal_ex(ctx, buffer.baseAddress! + total, &length) == 1
        }
        guard finalOK else { throw EncryptionError("encrypted payload failed authentication (wrong key, or the bytes were changed)") }
        return Array(out[0..<(total + Int(length))])
    }
}

/// Why a payload could not be encrypted or decrypted, or a key not loaded.
public struct EncryptionError: Error, CustomStringConvertible, Sendable {
    public let description: String
    /// What a remote caller (a codec server's) may be told: `description` without what only
    /// the operator should see (the ids of the keys held).
    public let callerDescription: String
    public init(_ description: String, callerDescription: String? = nil) {
        self.description = description
        self.callerDescription = callerDescription ?? description
    }
}

extension EncryptionCodec {
    /// The codec from a key file (`TEMPORAL_PAYLOAD_KEY_FILE`): one key per line, in base64
    /// (32 bytes), optionally preceded by its id and a space or tab (`2026-12 q83v…=`); a line
    /// starting with `#` is a comment. The first key encrypts; all decrypt. Ids default to `key-<8 hex of SHA-256>`.
    public static func load(keyFile path: String) throws(EncryptionError) -> EncryptionCodec {
        let data: Data
        do {
            data = try Data(contentsOf: URL(fileURLWithPath: path))
        } catch {
            throw EncryptionError("cannot read the payload key file \(path): \(error)")
        }
        // Raw key bytes (`head -c 32 /dev/urandom > file`) were refused as "not in the correct
        // format", which did not say what the format is.
        guard let text = String(data: data, encoding: .utf8) else {
            throw EncryptionError(
                "the payload key file \(path) is not text (raw bytes?): write each key in base64, one per line, e.g. `openssl rand -base64 32 > \(path)`"
            )
        }
        var keys: [Key] = []
        var lineOf: [String: Int] = [:]
        for (index, raw) in text.split(omittingEmptySubsequences: false, whereSeparator: \.isNewline).enumerated() {
            let line = String(raw).trimmedOfSpaces
            if line.isEmpty || line.hasPrefix("#") { continue }
            let parts = line.split(whereSeparator: { $0 == " " || $0 == "\t" })
            // The errors here never quote the line: it holds a key.
            guard parts.count <= 2 else {
                throw EncryptionError(
                    "payload key file \(path), line \(index + 1): more than two fields; write one key per line, in base64, optionally after its id and a space (`2026-12 <key>`), and comments on lines of their own (`# …`)"
                )
            }
            // A key first and a label after it (`<key> prod`) would make the key the id, which
            // every payload carries in clear (or its error message would show the key).
            if parts.count == 2, (try? Key(base64: String(parts[0]))) != nil {
                throw EncryptionError(
                    "payload key file \(path), line \(index + 1): the first field is a key; write the id first and the key after it (`2026-12 <key>`), or the key alone"
                )
            }
            let key: Key
            do {
                key = parts.count == 2 ? try Key(base64: String(parts[1]), id: String(parts[0])) : try Key(base64: line)
            } catch {
                // Not the key's own error: it names the id, which may be a key put first.
                throw EncryptionError(
                    "payload key file \(path), line \(index + 1): \(parts.count == 2 ? "the field after the id" : "the line") is not an AES-256 key in base64 (32 random bytes, e.g. from `openssl rand -base64 32`); write `id key` or the key alone"
                )
            }
            // Two keys under one id: one would be dropped, and every payload sealed with it
            // would fail as if tampered with.
            if let first = lineOf[key.id] {
                if keys.contains(key) { continue }  // the same key twice: harmless
                throw EncryptionError(
                    "payload key file \(path): lines \(first) and \(index + 1) give different keys the same id '\(key.id)'; a payload names the key it was sealed with by id, so give each key its own"
                )
            }
            lineOf[key.id] = index + 1
            keys.append(key)
        }
        guard let first = keys.first else { throw EncryptionError("payload key file \(path) has no key (one base64 AES-256 key per line)") }
        return EncryptionCodec(current: first, previous: Array(keys.dropFirst()))
    }

    /// The codec `TEMPORAL_PAYLOAD_KEY_FILE` names, or nil when it is unset or blank.
    public static func fromEnvironment(_ env: [String: String]) throws(EncryptionError) -> EncryptionCodec? {
        // Blank is unset, and a path read from a file or `$(…)` loses its line break.
        guard let path = env["TEMPORAL_PAYLOAD_KEY_FILE"]?.trimmedOfSpaces, !path.isEmpty else { return nil }
        return try load(keyFile: path)
    }
}

extension String {
    fileprivate func leftPadded(_ width: Int) -> String { count >= width ? self : String(repeating: "0", count: width - count) + self }
}
