import Foundation
import Synchronization

#if canImport(Glibc)
import Glibc
#endif

/// A plaintext HTTP/2 server of a few frames, written by hand, that answers each gRPC call the
/// way a script says: with an empty OK response, with RST_STREAM REFUSED_STREAM (what a server
/// over its stream limit does), or with a GOAWAY whose last stream id is 0 (what a server going
/// away does to calls it has not started), after which it answers nothing more there — or by
/// holding the call and then dropping the whole connection (a server that crashes or restarts).
/// It can announce a limit of concurrent streams. It lets tests see how a transport treats calls
/// the server never processed.
public final class ScriptedHTTP2Server: Sendable {
    /// What the server does with one call.
    public enum Action: Sendable {
        case answer, refuse, goAway
        /// Response headers and grpc-status 0, with no message: a broken server or proxy.
        case answerWithoutMessage
        /// Response headers (:status 200), then RST_STREAM REFUSED_STREAM: a server that began
        /// to answer, so the call may have been processed.
        case beginThenRefuse
        /// Nothing for `after`, then the connection closes under every call on it, without a
        /// GOAWAY.
        case dropConnection(after: Duration)
        /// Nothing for `goAwayAfter`, then a graceful GOAWAY that keeps this call (its last
        /// stream id is the call's), then the answer after `answerAfter` more: a server draining
        /// its connection while a long poll finishes.
        case drain(goAwayAfter: Duration, answerAfter: Duration)
        /// Response headers and a message, then trailers without grpc-status: a proxy or a
        /// server that is not a gRPC one.
        case answerWithoutStatus
        /// Response headers and a message whose DATA frame ends the stream: no trailers at all
        /// (a proxy dropping them, an ingress answering with a page).
        case answerWithoutTrailers
        /// Trailers only (`:status 200`, `grpc-status` `status`) as soon as the request's
        /// HEADERS arrive, then nothing: no RST_STREAM, no window for the rest of the request
        /// (a server or proxy refusing a request too large, RFC 9113 §8.1 makes the reset a SHOULD).
        case trailersOnlyAtOnce(status: Int)
        /// Response headers carrying `grpc-status 0`, a message, then RST_STREAM INTERNAL: a
        /// status that does not end the stream.
        case statusInHeadersThenReset
        /// Nothing for `after`, then GOAWAY ENHANCE_YOUR_CALM "too_many_pings" keeping this call,
        /// and the connection closes: grpc-go's answer to a client that pings too often.
        case tooManyPings(after: Duration)
        /// Trailers only with `grpc-status` `status` and `grpc-message` `message` (under 127
        /// bytes, sent as it is: grpc-go leaves spaces unescaped).
        case trailersOnlyWithMessage(status: Int, message: String)
        /// RST_STREAM INTERNAL_ERROR before any header: how grpc-go ends a call whose trailers
        /// exceed the client's header list limit (a long failure message).
        case resetBeforeHeaders
    }

    public let port: Int
    private let fd: Int32
    private let decide: @Sendable (_ connection: Int, _ call: Int) -> Action
    private let maxConcurrentStreams: UInt32?
    private let counts = Mutex((connections: 0, calls: 0))
    private let settingsSeen = Mutex<[UInt16: UInt32]>([:])

    /// - Parameters:
    ///   - maxConcurrentStreams: announced in the server's SETTINGS (none: no limit).
    ///   - decide: the action for the `call`-th call (from 0, over all connections) that
    ///     arrives on the `connection`-th connection (from 0).
    public init(
        maxConcurrentStreams: UInt32? = nil, decide: @escaping @Sendable (_ connection: Int, _ call: Int) -> Action
    ) throws {
        let (fd, addr) = try listenOnLoopback(backlog: 16)
        self.fd = fd
        self.maxConcurrentStreams = maxConcurrentStreams
        self.decide = decide
        port = Int(UInt16(bigEndian: addr.sin_port))
        serveConnections(on: fd) { [self] client, index in
            counts.withLock { $0.connections += 1 }
            serve(client, connection: index)
        }
    }

    public var address: String { "127.0.0.1:\(port)" }
    /// Connections accepted so far.
    public var connections: Int { counts.withLock { $0.connections } }
    /// Calls (request HEADERS) received so far, over all connections.
    public var calls: Int { counts.withLock { $0.calls } }

    /// The settings the clients announced (the last value of each id).
    public var clientSettings: [UInt16: UInt32] { settingsSeen.withLock { $0 } }

    /// Stops accepting (connections already open end when their clients close them).
    public func stop() { shutdown(fd, Int32(SHUT_RDWR)) }

    deinit {
        shutdown(fd, Int32(SHUT_RDWR))
        close(fd)
    }

    private func serve(_ client: Int32, connection: Int) {
        guard readExactly(client, 24) != nil else { return }  // the client's preface
        var settings: [UInt8] = []
        if let limit = maxConcurrentStreams {  // SETTINGS_MAX_CONCURRENT_STREAMS (0x3)
            settings = [0, 3, UInt8(limit >> 24 & 0xff), UInt8(limit >> 16 & 0xff), UInt8(limit >> 8 & 0xff), UInt8(limit & 0xff)]
        }
        send(client, frame(type: 4, flags: 0, stream: 0, payload: settings))  // our SETTINGS
        var goneAway = false
        while let header = readExactly(client, 9) {
            let length = Int(header[0]) << 16 | Int(header[1]) << 8 | Int(header[2])
            let type = header[3]
            let flags = header[4]
            let stream = (UInt32(header[5]) << 24 | UInt32(header[6]) << 16 | UInt32(header[7]) << 8 | UInt32(header[8])) & 0x7fff_ffff
            guard let payload = readExactly(client, length) else { return }
            switch type {
            case 4 where flags & 1 == 0:  // SETTINGS: note, acknowledge
                settingsSeen.withLock { seen in
                    for at in stride(from: 0, to: payload.count - 5, by: 6) {
                        let id = UInt16(payload[at]) << 8 | UInt16(payload[at + 1])
                        seen[id] = payload[at + 2..<at + 6].reduce(0) { $0 << 8 | UInt32($1) }
                    }
                }
                send(client, frame(type: 4, flags: 1, stream: 0, payload: []))
            case 6 where flags & 1 == 0:  // PING: answer
                send(client, frame(type: 6, flags: 1, stream: 0, payload: payload))
            case 1 where goneAway:
                break  // a call sent before the client saw the GOAWAY: refused by it
            case 1:  // HEADERS of a new call
                let call = counts.withLock { c in
                    defer { c.calls += 1 }
                    return c.calls
                }
                switch decide(connection, call) {
                case .answer:
                    answer(client, stream)
                case .answerWithoutMessage:
                    answer(client, stream, message: false)
                case .answerWithoutStatus:
                    send(client, frame(type: 1, flags: 0x4, stream: stream, payload: [0x88]))
                    send(client, frame(type: 0, flags: 0, stream: stream, payload: [0, 0, 0, 0, 0]))
                    let trailer: [UInt8] = [0x00, 7] + Array("x-other".utf8) + [1] + Array("1".utf8)
                    send(client, frame(type: 1, flags: 0x5, stream: stream, payload: trailer))
                case .answerWithoutTrailers:
                    send(client, frame(type: 1, flags: 0x4, stream: stream, payload: [0x88]))
                    send(client, frame(type: 0, flags: 0x1, stream: stream, payload: [0, 0, 0, 0, 0]))
                case .trailersOnlyAtOnce(let status):
                    let block: [UInt8] =
                        [0x88, 0x00, 11] + Array("grpc-status".utf8) + [UInt8(String(status).utf8.count)] + Array(String(status).utf8)
                    send(client, frame(type: 1, flags: 0x5, stream: stream, payload: block))
                case .trailersOnlyWithMessage(let status, let message):
                    let code = Array(String(status).utf8)
                    let block: [UInt8] =
                        [0x88, 0x00, 11] + Array("grpc-status".utf8) + [UInt8(code.count)] + code + [0x00, 12] + Array("grpc-message".utf8)
                        + [UInt8(message.utf8.count)] + Array(message.utf8)
                    send(client, frame(type: 1, flags: 0x5, stream: stream, payload: block))
                case .resetBeforeHeaders:
                    send(client, frame(type: 3, flags: 0, stream: stream, payload: [0, 0, 0, 2]))  // INTERNAL_ERROR
                case .statusInHeadersThenReset:
                    let block: [UInt8] = [0x88, 0x00, 11] + Array("grpc-status".utf8) + [1] + Array("0".utf8)
                    send(client, frame(type: 1, flags: 0x4, stream: stream, payload: block))
                    send(client, frame(type: 0, flags: 0, stream: stream, payload: [0, 0, 0, 0, 0]))
                    send(client, frame(type: 3, flags: 0, stream: stream, payload: [0, 0, 0, 2]))  // INTERNAL_ERROR
                case .refuse:
                    send(client, frame(type: 3, flags: 0, stream: stream, payload: [0, 0, 0, 7]))  // REFUSED_STREAM
                case .beginThenRefuse:
                    send(client, frame(type: 1, flags: 0x4, stream: stream, payload: [0x88]))
                    send(client, frame(type: 3, flags: 0, stream: stream, payload: [0, 0, 0, 7]))
                case .goAway:
                    // Then nothing more on this connection: the client closes it once it has
                    // moved its calls (closing here first could reset the GOAWAY away).
                    send(client, frame(type: 7, flags: 0, stream: 0, payload: [0, 0, 0, 0, 0, 0, 0, 0]))
                    goneAway = true
                case .dropConnection(let delay):
                    sleep(delay)
                    return  // the caller closes the socket
                case .tooManyPings(let delay):
                    sleep(delay)
                    send(client, goAway(keeping: stream, error: 11, reason: "too_many_pings"))
                    sleep(.milliseconds(100))
                    return  // the caller closes the socket
                case .drain(let goAwayAfter, let answerAfter):
                    sleep(goAwayAfter)
                    send(client, goAway(keeping: stream))
                    goneAway = true
                    sleep(answerAfter)
                    answer(client, stream)
                }
            default:
                break  // DATA, WINDOW_UPDATE, acknowledgements, RST_STREAM: nothing to do
            }
        }
    }

    /// A GOAWAY frame whose last stream is `stream` (kept), with an HTTP/2 error code and a reason.
    private func goAway(keeping stream: UInt32, error: UInt8 = 0, reason: String = "") -> [UInt8] {
        let last = [UInt8(stream >> 24 & 0x7f), UInt8(stream >> 16 & 0xff), UInt8(stream >> 8 & 0xff), UInt8(stream & 0xff)]
        return frame(type: 7, flags: 0, stream: 0, payload: last + [0, 0, 0, error] + Array(reason.utf8))
    }

    /// :status 200 (static table entry 8), an empty message (unless `message` is false),
    /// grpc-status 0.
    private func answer(_ client: Int32, _ stream: UInt32, message: Bool = true) {
        send(client, frame(type: 1, flags: 0x4, stream: stream, payload: [0x88]))
        if message { send(client, frame(type: 0, flags: 0, stream: stream, payload: [0, 0, 0, 0, 0])) }
        let trailer: [UInt8] = [0x00, 11] + Array("grpc-status".utf8) + [1] + Array("0".utf8)
        send(client, frame(type: 1, flags: 0x5, stream: stream, payload: trailer))
    }

    private func sleep(_ delay: Duration) {
        Thread.sleep(forTimeInterval: delay / .seconds(1))
    }

    private func frame(type: UInt8, flags: UInt8, stream: UInt32, payload: [UInt8]) -> [UInt8] {
        let n = payload.count
        return [
            UInt8(n >> 16 & 0xff), UInt8(n >> 8 & 0xff), UInt8(n & 0xff), type, flags,
            UInt8(stream >> 24 & 0x7f), UInt8(stream >> 16 & 0xff), UInt8(stream >> 8 & 0xff), UInt8(stream & 0xff),
        ] + payload
    }

    private func send(_ client: Int32, _ bytes: [UInt8]) {
        var sent = 0
        while sent < bytes.count {
            let n = bytes.withUnsafeBytes { Glibc.send(client, $0.baseAddress! + sent, bytes.count - sent, Int32(MSG_NOSIGNAL)) }
            if n <= 0 { return }
            sent += n
        }
    }

    private func readExactly(_ client: Int32, _ count: Int) -> [UInt8]? {
        var out = [UInt8](repeating: 0, count: count)
        var got = 0
        while got < count {
            let n = out.withUnsafeMutableBytes { recv(client, $0.baseAddress! + got, count - got, 0) }
            if n <= 0 { return nil }
            got += n
        }
        return out
    }
}
