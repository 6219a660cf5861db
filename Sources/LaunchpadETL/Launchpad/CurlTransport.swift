import CCurl
import Synchronization

/// One HTTP response as libcurl delivered it.
struct HTTPResult: Sendable {
    /// The status code (redirects are not followed by the transport).
    var status: Int
    /// Response headers, keys lowercased.
    var headers: [String: String]
    /// The (decompressed) body.
    var body: [UInt8]
    /// New connections libcurl opened for this request (0 when it reused one; each new HTTPS
    /// connection is a TLS handshake).
    var newConnections: Int = 0
    /// Whether the response came over HTTP/2 (a stream of a shared connection).
    var overHTTP2 = false
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
    /// Timed out after the request was sent (connected, TLS done) and before the answer's first
    /// byte: the server was slow to answer, not unreachable.
    var unanswered = false
    /// Timed out while the answer's body was arriving (its first byte came in time): a page too
    /// large for the link or the server to send within the request timeout.
    var bodyTimedOut = false
    /// Timed out on a connection an earlier request had made (it may have died silently):
    /// retry on a new one (`CurlTransport.get(_:headers:freshConnection:)`).
    var onKeptConnection = false
    /// No retry, by this client or by the activity, can change it: the response's body is over
    /// the size limit, or the request itself is refused (a URL or protocol libcurl does not
    /// take, a CA or client certificate file that does not load, an option this libcurl lacks).
    /// Not a certificate that does not verify: a worker clock off by more than the certificate's
    /// validity says that too, and clocks get fixed.
    var permanent = false
    /// The response's body was over the size limit (`permanent` too: the same URL is as large
    /// on every retry; a page of a collection may be asked for in smaller pages).
    var tooLarge = false
}

/// libcurl GETs driven by one multi handle (`CurlMultiDriver`): no thread per request, and
/// the connections are shared by every request of the transport.
///
/// Over HTTP/1.1 each concurrent request holds one kept-alive connection (at most
/// `maxHostConnections`); where the server offers HTTP/2 the requests are streams of one
/// connection, so a transport makes one TCP and one TLS handshake whatever its concurrency.
/// Easy handles are pooled (`curl_easy_reset` keeps their TLS session cache; connections and
/// DNS answers are the multi handle's).
/// Concurrency is bounded by the caller.
struct CurlTransport: Sendable {
    var userAgent: String
    var connectTimeoutMilliseconds: Int
    var requestTimeoutMilliseconds: Int
    var reuseConnections = true
    var caFile: String?
    var maxBodyBytes: Int = 64 << 20
    let pool = CurlHandlePool()
    /// The multi handle new transfers go to (its connection cache with it). A kept connection
    /// can die silently (a NAT mapping or a balancer's idle entry dropped); a request timed out
    /// on one puts a new multi handle in its place, so that no request made after goes to a
    /// connection made before: libcurl keeps an HTTP/2 connection after one of its streams timed
    /// out, and looks at a connection's age only while it is idle, so a dead connection still
    /// carrying streams (others sent before the timeout, waiting for theirs) took every new
    /// request too, each to time out in turn. The old one ends with its last transfer.
    private let drivers: SharedValue<CurlMultiDriver>
    var driver: CurlMultiDriver { drivers.value }
    private let maxHostConnections: Int

    private static let globalInit: Bool = curl_global_init(Int(CURL_GLOBAL_DEFAULT)) == CURLE_OK

    init(
        userAgent: String, connectTimeoutMilliseconds: Int, requestTimeoutMilliseconds: Int, reuseConnections: Bool = true,
        caFile: String? = nil, maxHostConnections: Int = 4
    ) {
        self.userAgent = userAgent
        self.connectTimeoutMilliseconds = connectTimeoutMilliseconds
        self.requestTimeoutMilliseconds = requestTimeoutMilliseconds
        self.reuseConnections = reuseConnections
        self.caFile = caFile
        _ = Self.globalInit  // before the multi handle
        self.maxHostConnections = maxHostConnections
        drivers = SharedValue(CurlMultiDriver(maxHostConnections: maxHostConnections))
    }

    /// Performs a GET of `url` with extra request `headers` (e.g. `Authorization: …`), on a new
    /// connection when `freshConnection` (a retry after a timeout on a kept one).
    func get(_ url: String, headers: [String], freshConnection: Bool = false) async -> Result<HTTPResult, TransportFailure> {
        guard Self.globalInit, let lease = pool.checkOut() else {
            return .failure(TransportFailure(code: -1, message: "libcurl could not be initialised", timedOut: false, retryable: false))
        }
        defer { pool.checkIn(lease) }
        // libcurl sends header values as given: a CR or LF would end the header and start
        // another (or another request on the connection). Inputs are checked before they get
        // here (`LaunchpadQuery`); this refuses whatever slipped past.
        if let unsafe = ([userAgent] + headers).first(where: { $0.contains(where: { $0.isNewline || $0 == "\0" }) }) {
            return .failure(
                TransportFailure(
                    code: -1, message: "a request header holds a line break, refused: \(unsafe.prefix(60).debugDescription)",
                    timedOut: false,
                    retryable: false, permanent: true))
        }
        let transfer = CurlTransfer(easy: lease.pointer, limit: maxBodyBytes)
        for header in ["Accept: application/json"] + headers {
            // NULL when out of memory: the list so far stays with the transfer (freed with it),
            // and the request is not sent without its headers (without Authorization it would
            // read as anonymous, leaving private data out).
            guard let list = curl_slist_append(transfer.headerList, header) else {
                return .failure(
                    TransportFailure(
                        code: -1, message: "libcurl could not build the request headers (out of memory)", timedOut: false, retryable: true))
            }
            transfer.headerList = list
        }
        guard configure(transfer, url: url, freshConnection: freshConnection) else {
            return .failure(
                TransportFailure(
                    code: -1, message: "libcurl rejected an option (is libcurl ≥ 7.85?)", timedOut: false, retryable: false, permanent: true
                ))
        }
        let used = driver
        let code = await used.perform(transfer)
        return result(of: transfer, code: code, driver: used)
    }

    private func configure(_ transfer: CurlTransfer, url: String, freshConnection: Bool) -> Bool {
        let handle = transfer.easy
        let context = Unmanaged.passUnretained(transfer).toOpaque()
        let writeBody: ccurl_write_callback = { pointer, size, count, userdata in
            guard let pointer, let userdata else { return 0 }
            let box = Unmanaged<CurlTransfer>.fromOpaque(userdata).takeUnretainedValue()
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
            let box = Unmanaged<CurlTransfer>.fromOpaque(userdata).takeUnretainedValue()
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
        // Redirects are the client's to follow (within the URL's origin only: see
        // `LaunchpadClient.fetch`), not libcurl's, which would follow them anywhere.
        ok = ok && ccurl_setopt_long(handle, CURLOPT_FOLLOWLOCATION, 0) == CURLE_OK
        ok = ok && ccurl_setopt_string(handle, CURLOPT_PROTOCOLS_STR, "http,https") == CURLE_OK
        ok = ok && ccurl_setopt_string(handle, CURLOPT_USERAGENT, userAgent) == CURLE_OK
        ok = ok && ccurl_setopt_string(handle, CURLOPT_ACCEPT_ENCODING, "") == CURLE_OK
        ok = ok && ccurl_setopt_long(handle, CURLOPT_CONNECTTIMEOUT_MS, connectTimeoutMilliseconds) == CURLE_OK
        ok = ok && ccurl_setopt_long(handle, CURLOPT_TIMEOUT_MS, requestTimeoutMilliseconds) == CURLE_OK
        ok = ok && ccurl_setopt_slist(handle, CURLOPT_HTTPHEADER, transfer.headerList) == CURLE_OK
        // HTTP/2 over TLS where the server offers it (ALPN), HTTP/1.1 otherwise (libcurl's
        // default since 7.62; set explicitly, not checked: a libcurl without HTTP/2 refuses it
        // and then speaks HTTP/1.1, which must not fail the request).
        _ = ccurl_setopt_long(handle, CURLOPT_HTTP_VERSION, Int(CURL_HTTP_VERSION_2TLS))
        if reuseConnections {
            // Wait for a connection being set up to tell whether it multiplexes (ALPN), rather
            // than opening another one beside it. Also over plain http: without it, libcurl
            // 7.88 opened a new connection for each of the fixture's 960 requests (measured by
            // HTTPTransportTests), with it four.
            ok = ok && ccurl_setopt_long(handle, CURLOPT_PIPEWAIT, 1) == CURLE_OK
        } else {
            ok = ok && ccurl_setopt_long(handle, CURLOPT_FRESH_CONNECT, 1) == CURLE_OK
            ok = ok && ccurl_setopt_long(handle, CURLOPT_FORBID_REUSE, 1) == CURLE_OK
            ok = ok && ccurl_setopt_long(handle, CURLOPT_SSL_SESSIONID_CACHE, 0) == CURLE_OK  // a full handshake each time
        }
        // A retry after a timeout on a kept connection opens a new one (see `drivers`).
        if freshConnection { ok = ok && ccurl_setopt_long(handle, CURLOPT_FRESH_CONNECT, 1) == CURLE_OK }
        if let caFile {
            // Instead of the system's: Debian's libcurl also reads its built-in CA directory
            // beside a CA file, which trusted every public CA where only the file's was meant.
            ok = ok && ccurl_setopt_string(handle, CURLOPT_CAINFO, caFile) == CURLE_OK
            _ = ccurl_setopt_pointer(handle, CURLOPT_CAPATH, nil)  // (TLS backends without CA paths refuse it)
        }
        ok = ok && ccurl_setopt_write_function(handle, CURLOPT_WRITEFUNCTION, writeBody) == CURLE_OK
        ok = ok && ccurl_setopt_pointer(handle, CURLOPT_WRITEDATA, context) == CURLE_OK
        ok = ok && ccurl_setopt_write_function(handle, CURLOPT_HEADERFUNCTION, writeHeader) == CURLE_OK
        ok = ok && ccurl_setopt_pointer(handle, CURLOPT_HEADERDATA, context) == CURLE_OK
        ok = ok && ccurl_setopt_pointer(handle, CURLOPT_ERRORBUFFER, transfer.errorBuffer) == CURLE_OK
        return ok
    }

    /// libcurl errors no retry can change (see `TransportFailure.permanent`).
    private static let permanentErrors: Set<CURLcode> = [
        CURLE_UNSUPPORTED_PROTOCOL, CURLE_URL_MALFORMAT, CURLE_NOT_BUILT_IN, CURLE_BAD_FUNCTION_ARGUMENT, CURLE_UNKNOWN_OPTION,
        CURLE_SSL_CERTPROBLEM, CURLE_SSL_CACERT_BADFILE, CURLE_SSL_ENGINE_NOTFOUND, CURLE_SSL_CRL_BADFILE,
    ]
    /// libcurl errors a retry of the request may get past (see `TransportFailure.retryable`).
    private static let retryableErrors: Set<CURLcode> = [
        CURLE_COULDNT_RESOLVE_HOST, CURLE_COULDNT_CONNECT, CURLE_OPERATION_TIMEDOUT, CURLE_PARTIAL_FILE,
        CURLE_GOT_NOTHING, CURLE_SEND_ERROR, CURLE_RECV_ERROR, CURLE_SSL_CONNECT_ERROR, CURLE_HTTP2, CURLE_HTTP2_STREAM,
        CURLE_BAD_CONTENT_ENCODING,
    ]

    private func result(of transfer: CurlTransfer, code: CURLcode, driver used: CurlMultiDriver) -> Result<HTTPResult, TransportFailure> {
        let handle = transfer.easy
        _ = ccurl_setopt_pointer(handle, CURLOPT_ERRORBUFFER, nil)
        // New connections this transfer made (0: it went on a kept one).
        var connects = 0
        _ = ccurl_getinfo_long(handle, CURLINFO_NUM_CONNECTS, &connects)
        guard code == CURLE_OK else {
            let detail = transfer.errorDetail
            let summary = code == CURLE_ABORTED_BY_CALLBACK ? "cancelled" : String(cString: curl_easy_strerror(code))
            if transfer.exceeded {
                return .failure(
                    TransportFailure(
                        code: Int(code.rawValue), message: "response body larger than \(maxBodyBytes) bytes", timedOut: false,
                        retryable: false, permanent: true, tooLarge: true))
            }
            var sentAfter = 0.0
            _ = ccurl_getinfo_double(handle, CURLINFO_PRETRANSFER_TIME, &sentAfter)
            // An answer that began and then came slowly is not an unanswered request: its first
            // byte came in time (`bodyTimedOut`).
            var firstByteAfter = 0.0
            _ = ccurl_getinfo_double(handle, CURLINFO_STARTTRANSFER_TIME, &firstByteAfter)
            let onKeptConnection = code == CURLE_OPERATION_TIMEDOUT && sentAfter > 0 && connects == 0
            if onKeptConnection {
                // Only the driver of the dead connection: each of its streams timing out in turn
                // replaced the one that had replaced it, and its fresh connection.
                let maxHostConnections = maxHostConnections
                drivers.update { current in
                    if current === used { current = CurlMultiDriver(maxHostConnections: maxHostConnections) }
                }
            }
            return .failure(
                TransportFailure(
                    code: Int(code.rawValue), message: detail.isEmpty ? summary : "\(summary): \(detail)",
                    timedOut: code == CURLE_OPERATION_TIMEDOUT, retryable: Self.retryableErrors.contains(code),
                    unanswered: code == CURLE_OPERATION_TIMEDOUT && sentAfter > 0 && firstByteAfter == 0,
                    bodyTimedOut: code == CURLE_OPERATION_TIMEDOUT && firstByteAfter > 0,
                    onKeptConnection: onKeptConnection, permanent: Self.permanentErrors.contains(code)))
        }
        var status = 0
        _ = ccurl_getinfo_long(handle, CURLINFO_RESPONSE_CODE, &status)
        var version = 0
        _ = ccurl_getinfo_long(handle, CURLINFO_HTTP_VERSION, &version)
        return .success(
            HTTPResult(
                status: status, headers: transfer.headers, body: transfer.body, newConnections: connects,
                overHTTP2: version == Int(CURL_HTTP_VERSION_2_0)))
    }
}

/// A value the copies of a struct share (a reference to one lock-guarded value).
final class SharedValue<Value: Sendable>: Sendable {
    private let storage: Mutex<Value>
    init(_ value: Value) { storage = Mutex(value) }
    var value: Value {
        get { storage.withLock { $0 } }
        set { storage.withLock { $0 = newValue } }
    }
    /// Changes the value under the lock.
    func update(_ change: (inout Value) -> Void) { storage.withLock { change(&$0) } }
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
