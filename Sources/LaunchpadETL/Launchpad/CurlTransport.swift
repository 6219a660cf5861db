import CCurl
import Dispatch
import Synchronization

/// One HTTP response as libcurl delivered it.
struct HTTPResult: Sendable {
    /// The final status code (after redirects).
    var status: Int
    /// Response headers of the final response, keys lowercased.
    var headers: [String: String]
    /// The (decompressed) body.
    var body: [UInt8]
    /// New connections libcurl opened for this request (0 when it reused one; each new HTTPS
    /// connection is a TLS handshake).
    var newConnections: Int = 0
}

/// A request that never produced an HTTP response.
struct TransportFailure: Error, Sendable {
    /// The libcurl error code.
    var code: Int
    /// libcurl's description plus its error buffer.
    var message: String
    /// `true` for CURLE_OPERATION_TIMEDOUT.
    var timedOut: Bool
    /// Whether a retry may succeed (connection, DNS, timeout, partial transfer).
    var retryable: Bool
}

/// Blocking libcurl GETs, each run on its own dispatch queue (an overcommitting thread), so
/// Swift's cooperative pool never blocks; concurrency is bounded by the caller.
///
/// Easy handles are kept in a pool and reused (`curl_easy_reset` keeps a handle's connection
/// cache, DNS cache and TLS session cache): consecutive requests to Launchpad reuse their
/// keep-alive connection instead of paying a TCP and a TLS handshake each, so a transport opens
/// at most one connection per concurrent request.
struct CurlTransport: Sendable {
    var userAgent: String
    var connectTimeoutMilliseconds: Int
    var requestTimeoutMilliseconds: Int
    var reuseConnections = true
    var caFile: String?
    var maxBodyBytes: Int = 64 << 20
    let pool = CurlHandlePool()

    private static let globalInit: Bool = curl_global_init(Int(CURL_GLOBAL_DEFAULT)) == CURLE_OK

    /// Performs a GET of `url` with extra request `headers` (e.g. `Authorization: …`).
    func get(_ url: String, headers: [String]) async -> Result<HTTPResult, TransportFailure> {
        let transport = self
        return await withCheckedContinuation { continuation in
            DispatchQueue(label: "LaunchpadETL.curl").async {
                continuation.resume(returning: transport.performBlocking(url, headers: headers))
            }
        }
    }

    private final class Accumulator {
        var body: [UInt8] = []
        var headers: [String: String] = [:]
        var limit: Int
        var exceeded = false
        init(limit: Int) { self.limit = limit }
    }

    func performBlocking(_ url: String, headers: [String]) -> Result<HTTPResult, TransportFailure> {
        guard Self.globalInit, let lease = pool.checkOut() else {
            return .failure(TransportFailure(code: -1, message: "libcurl could not be initialised", timedOut: false, retryable: false))
        }
        let handle = lease.pointer
        defer { if reuseConnections { pool.checkIn(lease) } else { curl_easy_cleanup(handle) } }
        var list: UnsafeMutablePointer<curl_slist>?
        for header in ["Accept: application/json"] + headers { list = curl_slist_append(list, header) }
        defer { curl_slist_free_all(list) }

        let accumulator = Accumulator(limit: maxBodyBytes)
        let context = Unmanaged.passUnretained(accumulator).toOpaque()
        var errorBuffer = [CChar](repeating: 0, count: Int(CURL_ERROR_SIZE) + 1)

        let writeBody: ccurl_write_callback = { pointer, size, count, userdata in
            guard let pointer, let userdata else { return 0 }
            let box = Unmanaged<Accumulator>.fromOpaque(userdata).takeUnretainedValue()
            let length = size * count
            if box.body.count + length > box.limit {
                box.exceeded = true
                return 0
            }
            pointer.withMemoryRebound(to: UInt8.self, capacity: length) {
                box.body.append(contentsOf: UnsafeBufferPointer(start: $0, count: length))
            }
            return length
        }
        let writeHeader: ccurl_write_callback = { pointer, size, count, userdata in
            guard let pointer, let userdata else { return 0 }
            let box = Unmanaged<Accumulator>.fromOpaque(userdata).takeUnretainedValue()
            let length = size * count
            let line = pointer.withMemoryRebound(to: UInt8.self, capacity: length) {
                String(decoding: UnsafeBufferPointer(start: $0, count: length), as: UTF8.self)
            }
            if line.hasPrefix("HTTP/") {
                box.headers = [:]  // a new response (after a redirect or 100-continue)
            } else if let colon = line.firstIndex(of: ":") {
                let name = String(line[line.startIndex..<colon]).lowercased()
                let value = String(line[line.index(after: colon)...]).replacingCRLF.trimmingSpaces
                box.headers[name] = value
            }
            return length
        }

        var ok = true
        ok = ok && ccurl_setopt_string(handle, CURLOPT_URL, url) == CURLE_OK
        ok = ok && ccurl_setopt_long(handle, CURLOPT_HTTPGET, 1) == CURLE_OK
        ok = ok && ccurl_setopt_long(handle, CURLOPT_NOSIGNAL, 1) == CURLE_OK
        ok = ok && ccurl_setopt_long(handle, CURLOPT_FOLLOWLOCATION, 1) == CURLE_OK
        ok = ok && ccurl_setopt_long(handle, CURLOPT_MAXREDIRS, 5) == CURLE_OK
        ok = ok && ccurl_setopt_string(handle, CURLOPT_PROTOCOLS_STR, "http,https") == CURLE_OK
        ok = ok && ccurl_setopt_string(handle, CURLOPT_REDIR_PROTOCOLS_STR, "http,https") == CURLE_OK
        ok = ok && ccurl_setopt_string(handle, CURLOPT_USERAGENT, userAgent) == CURLE_OK
        ok = ok && ccurl_setopt_string(handle, CURLOPT_ACCEPT_ENCODING, "") == CURLE_OK
        ok = ok && ccurl_setopt_long(handle, CURLOPT_CONNECTTIMEOUT_MS, connectTimeoutMilliseconds) == CURLE_OK
        ok = ok && ccurl_setopt_long(handle, CURLOPT_TIMEOUT_MS, requestTimeoutMilliseconds) == CURLE_OK
        ok = ok && ccurl_setopt_slist(handle, CURLOPT_HTTPHEADER, list) == CURLE_OK
        if let caFile { ok = ok && ccurl_setopt_string(handle, CURLOPT_CAINFO, caFile) == CURLE_OK }
        ok = ok && ccurl_setopt_write_function(handle, CURLOPT_WRITEFUNCTION, writeBody) == CURLE_OK
        ok = ok && ccurl_setopt_pointer(handle, CURLOPT_WRITEDATA, context) == CURLE_OK
        ok = ok && ccurl_setopt_write_function(handle, CURLOPT_HEADERFUNCTION, writeHeader) == CURLE_OK
        ok = ok && ccurl_setopt_pointer(handle, CURLOPT_HEADERDATA, context) == CURLE_OK
        guard ok else {
            return .failure(
                TransportFailure(code: -1, message: "libcurl rejected an option (is libcurl ≥ 7.85?)", timedOut: false, retryable: false))
        }
        let code = errorBuffer.withUnsafeMutableBufferPointer { buffer -> CURLcode in
            _ = ccurl_setopt_pointer(handle, CURLOPT_ERRORBUFFER, buffer.baseAddress)
            let code = curl_easy_perform(handle)
            _ = ccurl_setopt_pointer(handle, CURLOPT_ERRORBUFFER, nil)
            return code
        }
        guard code == CURLE_OK else {
            let detail = String(decoding: errorBuffer.prefix(while: { $0 != 0 }).map { UInt8(bitPattern: $0) }, as: UTF8.self)
            let summary = String(cString: curl_easy_strerror(code))
            if accumulator.exceeded {
                return .failure(
                    TransportFailure(
                        code: Int(code.rawValue), message: "response body larger than \(maxBodyBytes) bytes", timedOut: false,
                        retryable: false))
            }
            let retryable: Set<CURLcode> = [
                CURLE_COULDNT_RESOLVE_HOST, CURLE_COULDNT_CONNECT, CURLE_OPERATION_TIMEDOUT, CURLE_PARTIAL_FILE,
                CURLE_GOT_NOTHING, CURLE_SEND_ERROR, CURLE_RECV_ERROR, CURLE_SSL_CONNECT_ERROR, CURLE_HTTP2, CURLE_HTTP2_STREAM,
                CURLE_BAD_CONTENT_ENCODING,
            ]
            return .failure(
                TransportFailure(
                    code: Int(code.rawValue), message: detail.isEmpty ? summary : "\(summary): \(detail)",
                    timedOut: code == CURLE_OPERATION_TIMEDOUT, retryable: retryable.contains(code)
                ))
        }
        var status = 0
        _ = ccurl_getinfo_long(handle, CURLINFO_RESPONSE_CODE, &status)
        var connects = 0
        _ = ccurl_getinfo_long(handle, CURLINFO_NUM_CONNECTS, &connects)
        return .success(HTTPResult(status: status, headers: accumulator.headers, body: accumulator.body, newConnections: connects))
    }
}

/// Idle libcurl easy handles of one transport, reused for their connection caches.
final class CurlHandlePool: Sendable {
    /// A libcurl easy handle. Sendable because a handle is only ever used by the one thread
    /// that checked it out; the pool hands each out to one user at a time.
    struct Handle: @unchecked Sendable {
        let pointer: UnsafeMutableRawPointer
    }

    private let idle = Mutex<[Handle]>([])

    /// An idle handle (reset to default options, connections kept), or a new one.
    func checkOut() -> Handle? {
        if let handle = idle.withLock({ $0.popLast() }) {
            curl_easy_reset(handle.pointer)
            return handle
        }
        return curl_easy_init().map(Handle.init)
    }

    /// Returns a handle after its transfer.
    func checkIn(_ handle: Handle) {
        idle.withLock { $0.append(handle) }
    }

    deinit {
        for handle in idle.withLock({ $0 }) { curl_easy_cleanup(handle.pointer) }
    }
}

extension String {
    var replacingCRLF: String { String(filter { !$0.isNewline }) }
}
