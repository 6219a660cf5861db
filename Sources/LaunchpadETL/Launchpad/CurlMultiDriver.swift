import CCurl
import Foundation
import Synchronization

/// One libcurl multi handle driving every transfer of a transport from one thread.
///
/// The multi handle owns the connection cache, so all requests of a transport share its
/// connections: over HTTP/1.1 at most `maxHostConnections` per host, each kept alive; over
/// HTTP/2 (negotiated by ALPN where the server offers it) concurrent requests are streams of
/// one connection — `CURLOPT_PIPEWAIT` makes a request wait for a connection being set up to
/// say whether it multiplexes instead of opening another. One thread waits on every socket
/// (`curl_multi_poll`), where a blocking `curl_easy_perform` needed a thread per request.
///
/// The thread starts with the first transfer and ends when the driver is released.
final class CurlMultiDriver: Sendable {
    private let core: Core

    /// Creates a driver whose connections to one host number at most `maxHostConnections`.
    init(maxHostConnections: Int) {
        core = Core(maxHostConnections: maxHostConnections)
    }

    deinit { core.stop() }

    /// Runs `transfer` (an easy handle with its options set) to its end and returns libcurl's
    /// result. Cancelling the calling task aborts the transfer (`CURLE_ABORTED_BY_CALLBACK`).
    func perform(_ transfer: CurlTransfer) async -> CURLcode {
        await withTaskCancellationHandler {
            await withCheckedContinuation { continuation in
                transfer.continuation = continuation
                core.submit(transfer)
            }
        } onCancel: {
            transfer.cancelled.store(true, ordering: .releasing)
            core.wakeUp()
        }
    }

    /// The state shared by the callers and the driving thread.
    private final class Core: @unchecked Sendable {
        private struct Shared {
            var pending: [CurlTransfer] = []
            var started = false
            var stopping = false
            /// The multi handle was cleaned up: nothing may touch it any more. Set, and the
            /// handle cleaned up, under the lock that every wake-up takes, so that a wake-up
            /// from another thread never writes to a freed handle.
            var cleanedUp = false
        }

        /// Driven by the driving thread once it runs; other threads only wake it
        /// (`curl_multi_wakeup`, under the lock) or clean it up when no thread started.
        private let multi: UnsafeMutableRawPointer?
        private let shared = Mutex(Shared())

        init(maxHostConnections: Int) {
            multi = curl_multi_init()
            if let multi {
                _ = ccurl_multi_setopt_long(multi, CURLMOPT_PIPELINING, Int(CURLPIPE_MULTIPLEX))
                _ = ccurl_multi_setopt_long(multi, CURLMOPT_MAX_HOST_CONNECTIONS, max(1, maxHostConnections))
            }
        }

        func submit(_ transfer: CurlTransfer) {
            guard let multi else {
                transfer.finish(CURLE_FAILED_INIT)
                return
            }
            let start = shared.withLock { state -> Bool? in
                guard !state.cleanedUp else { return nil }
                state.pending.append(transfer)
                defer { state.started = true }
                if state.started { curl_multi_wakeup(multi) }
                return !state.started
            }
            switch start {
            case nil: transfer.finish(CURLE_FAILED_INIT)  // submitted after the driver stopped
            case true?:
                let thread = Thread { [self] in run() }
                thread.name = "LaunchpadETL.curl"
                thread.start()
            case false?: break
            }
        }

        /// Wakes the driving thread (a transfer was cancelled), unless the handle is gone.
        func wakeUp() {
            guard let multi else { return }
            shared.withLock { state in
                if !state.cleanedUp { curl_multi_wakeup(multi) }
            }
        }

        func stop() {
            guard let multi else { return }
            shared.withLock { state in
                state.stopping = true
                if state.started {
                    curl_multi_wakeup(multi)  // under the lock: the thread cannot clean up meanwhile
                } else if !state.cleanedUp {
                    state.cleanedUp = true
                    curl_multi_cleanup(multi)
                }
            }
        }

        /// The driving loop: add new transfers, drop cancelled ones, let libcurl work, hand back
        /// finished ones, wait for a socket, a timeout or a wake-up.
        private func run() {
            guard let multi else { return }
            var active: [UnsafeMutableRawPointer: CurlTransfer] = [:]
            while true {
                let (arrived, stopping) = shared.withLock { state in
                    defer { state.pending.removeAll() }
                    return (state.pending, state.stopping)
                }
                for transfer in arrived {
                    if transfer.cancelled.load(ordering: .acquiring) {
                        transfer.finish(CURLE_ABORTED_BY_CALLBACK)
                    } else if curl_multi_add_handle(multi, transfer.easy) == CURLM_OK {
                        active[transfer.easy] = transfer
                    } else {
                        transfer.finish(CURLE_FAILED_INIT)
                    }
                }
                for (easy, transfer) in active where transfer.cancelled.load(ordering: .acquiring) {
                    curl_multi_remove_handle(multi, easy)
                    active[easy] = nil
                    transfer.finish(CURLE_ABORTED_BY_CALLBACK)
                }
                if stopping && active.isEmpty { break }

                var running: Int32 = 0
                let performed = curl_multi_perform(multi, &running)
                var left: Int32 = 0
                while let message = curl_multi_info_read(multi, &left) {
                    guard message.pointee.msg == CURLMSG_DONE, let easy = message.pointee.easy_handle else { continue }
                    let result = ccurl_msg_result(message)
                    curl_multi_remove_handle(multi, easy)
                    active.removeValue(forKey: easy)?.finish(result)
                }
                if performed != CURLM_OK {
                    // libcurl's own failure (out of memory, an internal error): the transfers it
                    // did not report done may never be, and their callers would wait for ever.
                    // Each is ended now, as a retryable receive error (a retry starts afresh).
                    FileHandle.standardError.write(
                        Data(
                            "libcurl: curl_multi_perform failed (\(String(cString: curl_multi_strerror(performed)))); ending \(active.count) transfer(s) in flight, to be retried\n"
                                .utf8))
                    for (easy, transfer) in active {
                        curl_multi_remove_handle(multi, easy)
                        transfer.finish(CURLE_RECV_ERROR)
                    }
                    active.removeAll()
                }
                if curl_multi_poll(multi, nil, 0, 1000, nil) != CURLM_OK {
                    usleep(10_000)  // do not spin if polling itself fails; transfers still time out
                }
            }
            let late = shared.withLock { state in
                state.cleanedUp = true
                curl_multi_cleanup(multi)
                defer { state.pending.removeAll() }
                return state.pending
            }
            for transfer in late { transfer.finish(CURLE_FAILED_INIT) }  // none expected: stop comes last
        }
    }
}

/// One request in flight on a `CurlMultiDriver`: its easy handle and what the callbacks
/// collect. The caller sets the options, the driving thread runs it, the caller reads the
/// results after `perform` returns (the handle is out of the multi handle by then).
final class CurlTransfer: @unchecked Sendable {
    let easy: UnsafeMutableRawPointer
    /// Set by a cancelled caller; the driving thread aborts the transfer.
    let cancelled = Atomic<Bool>(false)
    /// Resumed once, by the driving thread (or by `submit` when there is no multi handle).
    var continuation: CheckedContinuation<CURLcode, Never>?

    var body: [UInt8] = []
    var headers: [String: String] = [:]
    let limit: Int
    var exceeded = false
    /// libcurl's error buffer (`CURLOPT_ERRORBUFFER`), valid while the transfer lives.
    let errorBuffer: UnsafeMutablePointer<CChar>
    /// The request headers, freed with the transfer.
    var headerList: UnsafeMutablePointer<curl_slist>?

    init(easy: UnsafeMutableRawPointer, limit: Int) {
        self.easy = easy
        self.limit = limit
        errorBuffer = .allocate(capacity: Int(CURL_ERROR_SIZE) + 1)
        errorBuffer.initialize(repeating: 0, count: Int(CURL_ERROR_SIZE) + 1)
    }

    deinit {
        errorBuffer.deallocate()
        curl_slist_free_all(headerList)
    }

    func finish(_ code: CURLcode) {
        let continuation = self.continuation
        self.continuation = nil
        continuation?.resume(returning: code)
    }

    /// The error buffer's text ("" when libcurl left none).
    var errorDetail: String { String(cString: errorBuffer) }
}
