import CCrypto

/// SHA-256, incremental, from the system's libcrypto (OpenSSL 3, present wherever libgrpc is),
/// used to fingerprint staged batches. A value type: a copy hashes on independently.
public struct SHA256: Sendable {
    private var context: Context

    /// A fresh hash state.
    public init() { context = Context() }

    /// Feeds bytes.
    public mutating func update<S: Sequence>(_ bytes: S) where S.Element == UInt8 {
        if !isKnownUniquelyReferenced(&context) { context = context.copy() }
        let done: Void? = bytes.withContiguousStorageIfAvailable { buffer in
            context.update(UnsafeRawBufferPointer(buffer))
        }
        if done == nil {
            let array = Array(bytes)
            array.withUnsafeBytes { context.update($0) }
        }
    }

    /// Feeds the UTF-8 bytes of a string.
    public mutating func update(_ text: String) {
        var text = text
        text.withUTF8 { update($0) }
    }

    /// The digest as 64 lowercase hex characters (the state is kept: more bytes may follow).
    public func hexDigest() -> String {
        let digest = context.copy().finish()
        let hex: [UInt8] = Array("0123456789abcdef".utf8)
        var out: [UInt8] = []
        out.reserveCapacity(64)
        for byte in digest {
            out.append(hex[Int(byte >> 4)])
            out.append(hex[Int(byte & 0x0f)])
        }
        return String(decoding: out, as: UTF8.self)
    }

    /// The hex digest of a string's UTF-8 bytes.
    public static func hex(_ text: String) -> String {
        var hasher = SHA256()
        hasher.update(text)
        return hasher.hexDigest()
    }

    /// An `EVP_MD_CTX`, freed with its owner.
    private final class Context: @unchecked Sendable {
        let ctx: OpaquePointer?

        init() {
            ctx = EVP_MD_CTX_new()
            // A digest that silently failed would hash every batch alike, and the staging
            // check would compare counts only: stop instead (out of memory, a broken provider).
            precondition(ctx != nil && EVP_DigestInit_ex(ctx, EVP_sha256(), nil) == 1, "OpenSSL could not start a SHA-256 digest")
        }

        private init(copying other: Context) {
            ctx = EVP_MD_CTX_new()
            precondition(ctx != nil && EVP_MD_CTX_copy_ex(ctx, other.ctx) == 1, "OpenSSL could not copy a SHA-256 digest")
        }

        deinit { EVP_MD_CTX_free(ctx) }

        func copy() -> Context { Context(copying: self) }

        func update(_ bytes: UnsafeRawBufferPointer) {
            guard let base = bytes.baseAddress, !bytes.isEmpty else { return }
            precondition(EVP_DigestUpdate(ctx, base, bytes.count) == 1, "OpenSSL could not update a SHA-256 digest")
        }

        func finish() -> [UInt8] {
            var digest = [UInt8](repeating: 0, count: Int(EVP_MAX_MD_SIZE))
            var length: UInt32 = 0
            precondition(EVP_DigestFinal_ex(ctx, &digest, &length) == 1 && length == 32, "OpenSSL could not finish a SHA-256 digest")
            return Array(digest.prefix(Int(length)))
        }
    }
}
