import ArgumentParser
import Foundation

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// `LaunchpadWorker health`: asks a running worker's metrics port for `/readyz` (or `/healthz`
/// with `--live`) and exits 0 on 200, 1 otherwise, printing its answer: a container
/// healthcheck for images that have no HTTP client (the project's image has none).
struct HealthCheck: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "health",
        abstract:
            "Asks a running worker on this machine whether it is ready (GET /readyz on its metrics port) or alive (--live: /healthz); exits 0 if so, 1 if not."
    )

    @Option(help: "The worker's metrics port (env METRICS_PORT).")
    var port: Int?

    @Option(
        help:
            "The address the worker's metrics endpoint listens on, its --metrics-host (env METRICS_HOST; default: 127.0.0.1 for 0.0.0.0)."
    )
    var host: String?

    @Flag(help: "Ask for liveness (/healthz: the workers have not stopped) instead of readiness (/readyz: they poll).")
    var live = false

    @Option(help: "Seconds to wait for each read of the answer (at least 1).")
    var timeout: Int = 5

    func run() throws {
        guard timeout >= 1 else { throw ValidationError("--timeout must be at least 1 second (got \(timeout))") }
        guard let port = try Serve.metricsPort(self.port).map(Int.init) else {
            throw ValidationError(
                "no metrics port: pass --port or set METRICS_PORT to the port the worker serves /metrics on (its --metrics-port)")
        }
        guard port > 0 else {
            throw ValidationError(
                "metrics port 0 makes the worker pick a free port, which a health check cannot know: give the worker a fixed --metrics-port / METRICS_PORT, and the same here"
            )
        }
        let path = live ? "/healthz" : "/readyz"
        // The worker's METRICS_HOST, unless it listens on every interface (then loopback).
        let listening = try Serve.metricsHost(host)
        let host = listening == "0.0.0.0" ? "127.0.0.1" : listening
        do {
            let (status, body) = try Self.get(path, host: host, port: port, timeout: timeout)
            print(body.trimmingCharacters(in: .whitespacesAndNewlines))
            if status != 200 {
                print("GET \(path) on port \(port) answered \(status)")
                throw ExitCode.failure
            }
        } catch let error as HealthCheckError {
            print("\(error)")
            throw ExitCode.failure
        }
    }

    /// One HTTP/1.1 GET to `host`:`port` (`Connection: close`): the status code and body.
    static func get(_ path: String, host: String = "127.0.0.1", port: Int, timeout: Int) throws(HealthCheckError) -> (Int, String) {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { throw HealthCheckError("cannot open a socket: \(String(cString: strerror(errno)))") }
        defer { close(fd) }
        var limit = timeval(tv_sec: timeout, tv_usec: 0)
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &limit, socklen_t(MemoryLayout<timeval>.size))
        setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &limit, socklen_t(MemoryLayout<timeval>.size))
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = in_port_t(UInt16(port).bigEndian)
        address.sin_addr.s_addr = inet_addr(host)
        let connected = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        guard connected == 0 else {
            throw HealthCheckError(
                "nothing answers on \(host):\(port) (\(String(cString: strerror(errno)))): is the worker running with --metrics-port \(port) (METRICS_PORT)?"
            )
        }
        let request = Array("GET \(path) HTTP/1.1\r\nHost: \(host):\(port)\r\nConnection: close\r\n\r\n".utf8)
        // MSG_NOSIGNAL: a peer that closed makes send fail (EPIPE) instead of killing the check.
        guard send(fd, request, request.count, Int32(MSG_NOSIGNAL)) == request.count else {
            throw HealthCheckError("cannot send the request to \(host):\(port): \(String(cString: strerror(errno)))")
        }
        var response: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 4096)
        while true {
            let n = recv(fd, &buffer, buffer.count, 0)
            if n > 0 {
                response += buffer[0..<n]
            } else if n == 0 {
                break
            } else {
                throw HealthCheckError("no answer from \(host):\(port) within \(timeout) s: \(String(cString: strerror(errno)))")
            }
        }
        let text = String(decoding: response, as: UTF8.self)
        let parts = text.components(separatedBy: "\r\n\r\n")
        let statusLine = parts[0].split(separator: "\r\n").first ?? ""
        let fields = statusLine.split(separator: " ")
        guard fields.count >= 2, fields[0].hasPrefix("HTTP/"), let status = Int(fields[1]) else {
            throw HealthCheckError("\(host):\(port) did not answer HTTP: \(statusLine.prefix(80))")
        }
        return (status, parts.dropFirst().joined(separator: "\r\n\r\n"))
    }
}

/// Why `LaunchpadWorker health` could not ask.
struct HealthCheckError: Error, CustomStringConvertible {
    var description: String
    init(_ description: String) { self.description = description }
}
