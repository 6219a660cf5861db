import FlyingFox
import FlyingSocks

#if canImport(Glibc)
import Glibc
#endif

/// FlyingFox's socket pool, with `TCP_NODELAY` set on every socket it waits on (the listener
/// included, whose accepted sockets inherit it on Linux).
///
/// FlyingFox writes a response's header and body in two writes. On a kept-alive connection,
/// Nagle's algorithm then holds the body until the client acknowledges the header, which a
/// client delays by up to 40 ms: every reused connection would pay 40 ms per response, which
/// Launchpad's front ends do not. With `TCP_NODELAY` the body goes out at once.
struct NoDelaySocketPool<Base: AsyncSocketPool>: AsyncSocketPool {
    let base: Base

    func prepare() async throws { try await base.prepare() }

    func run() async throws { try await base.run() }

    func suspendSocket(_ socket: Socket, untilReadyFor events: Socket.Events) async throws {
        var one: Int32 = 1
        _ = setsockopt(socket.file.rawValue, Int32(IPPROTO_TCP), TCP_NODELAY, &one, socklen_t(MemoryLayout<Int32>.size))
        try await base.suspendSocket(socket, untilReadyFor: events)
    }
}
