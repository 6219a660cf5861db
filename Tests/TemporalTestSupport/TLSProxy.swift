import Foundation
import Temporal

#if canImport(Glibc)
import Glibc
#endif

/// nginx terminating TLS in front of a dev server (which speaks plaintext only), with
/// certificates made by `openssl` for the test: a CA, a server certificate for
/// `temporal.test`, and a client certificate for mutual TLS.
///
/// Two listeners: `tlsAddress` (server authentication only) and `mtlsAddress` (client
/// certificate required).
///
/// With `.http` upstreams (a plain HTTP server such as the Launchpad fixture) instead:
/// `tlsAddress` offers HTTP/2 and HTTP/1.1 (ALPN), `http1OnlyAddress` HTTP/1.1 only; both
/// forward the Host header and `X-Forwarded-Proto: https`. The certificate also names
/// 127.0.0.1, so an `https://127.0.0.1:port/` URL verifies against `ca.pem`.
public final class TLSProxy: Sendable {
    /// What the proxy forwards to.
    public enum Upstream: Sendable {
        /// A gRPC server (the dev server).
        case grpc
        /// A plain HTTP/1.1 server.
        case http
    }

    public let directory: String
    public let tlsAddress: String
    public let mtlsAddress: String
    /// The name in the server certificate (connect with it as `serverNameOverride`).
    public let serverName = "temporal.test"
    private let process: Process

    /// With `.http` upstreams: the listener that speaks HTTP/1.1 only.
    public var http1OnlyAddress: String { mtlsAddress }
    public var caPEM: String { read("ca.pem") }
    public var clientCertPEM: String { read("client.pem") }
    /// The `:authority` (or `Host`) of every request nginx has answered, oldest first.
    public var requestedAuthorities: [String] { read("access.log").split(separator: "\n").map(String.init) }
    public var clientKeyPEM: String { read("client.key") }
    public var path: (ca: String, cert: String, key: String) {
        ("\(directory)/ca.pem", "\(directory)/client.pem", "\(directory)/client.key")
    }

    private init(directory: String, tlsPort: Int, mtlsPort: Int, process: Process) {
        self.directory = directory
        self.tlsAddress = "127.0.0.1:\(tlsPort)"
        self.mtlsAddress = "127.0.0.1:\(mtlsPort)"
        self.process = process
    }

    private func read(_ name: String) -> String {
        (try? String(contentsOfFile: "\(directory)/\(name)", encoding: .utf8)) ?? ""
    }

    /// Whether nginx and openssl are installed (scripts/test installs them).
    public static var isAvailable: Bool {
        FileManager.default.isExecutableFile(atPath: "/usr/sbin/nginx") && FileManager.default.isExecutableFile(atPath: "/usr/bin/openssl")
    }

    /// Makes the certificates and starts nginx proxying to `upstream` (`host:port`).
    public static func start(upstream: String, kind: Upstream = .grpc) async throws -> TLSProxy {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("tlsproxy-\(UUID().uuidString.prefix(8))").path
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        let script = """
            set -e
            cd '\(dir)'
            openssl req -x509 -newkey rsa:2048 -nodes -keyout ca.key -out ca.pem -days 2 -subj '/CN=test-ca' 2>/dev/null
            openssl req -newkey rsa:2048 -nodes -keyout server.key -out server.csr -subj '/CN=temporal.test' 2>/dev/null
            printf 'subjectAltName=DNS:temporal.test,IP:127.0.0.1\\n' > server.ext
            openssl x509 -req -in server.csr -CA ca.pem -CAkey ca.key -CAcreateserial -out server.pem -days 2 -extfile server.ext 2>/dev/null
            openssl req -newkey rsa:2048 -nodes -keyout client.key -out client.csr -subj '/CN=test-client' 2>/dev/null
            openssl x509 -req -in client.csr -CA ca.pem -CAkey ca.key -CAcreateserial -out client.pem -days 2 2>/dev/null
            """
        try runShell(script)
        let tlsPort = try DevServer.freePort()
        let mtlsPort = try DevServer.freePort()
        let servers =
            kind == .grpc
            ? grpcServers(tlsPort: tlsPort, mtlsPort: mtlsPort, upstream: upstream, dir: dir)
            : httpServers(tlsPort: tlsPort, http1Port: mtlsPort, upstream: upstream, dir: dir)
        let conf = """
            worker_processes 1;
            pid \(dir)/nginx.pid;
            error_log \(dir)/error.log warn;
            events { worker_connections 256; }
            http {
                log_format authority '$http_host';
                access_log \(dir)/access.log authority;
                client_body_temp_path \(dir)/body;
                proxy_temp_path \(dir)/proxy;
                fastcgi_temp_path \(dir)/fastcgi;
                uwsgi_temp_path \(dir)/uwsgi;
                scgi_temp_path \(dir)/scgi;
                grpc_read_timeout 120s;
                grpc_send_timeout 120s;
            \(servers)
            }
            """
        try conf.write(toFile: "\(dir)/nginx.conf", atomically: true, encoding: .utf8)
        let p = try Watchdog.launch("/usr/sbin/nginx -c '\(dir)/nginx.conf' -p '\(dir)' -g 'daemon off;'")
        let proxy = TLSProxy(directory: dir, tlsPort: tlsPort, mtlsPort: mtlsPort, process: p)
        // Wait for the listener.
        for _ in 0..<100 {
            if (try? runShell("exec 3<>/dev/tcp/127.0.0.1/\(tlsPort)")) != nil { return proxy }
            try await Task.sleep(for: .milliseconds(50))
        }
        let log = (try? String(contentsOfFile: "\(dir)/error.log", encoding: .utf8)) ?? ""
        proxy.stop()
        throw TemporalError(kind: .connection, message: "nginx did not start: \(log)")
    }

    private static func grpcServers(tlsPort: Int, mtlsPort: Int, upstream: String, dir: String) -> String {
        """
            server {
                listen 127.0.0.1:\(tlsPort) ssl http2;
                ssl_certificate \(dir)/server.pem;
                ssl_certificate_key \(dir)/server.key;
                location / { grpc_pass grpc://\(upstream); }
            }
            server {
                listen 127.0.0.1:\(mtlsPort) ssl http2;
                ssl_certificate \(dir)/server.pem;
                ssl_certificate_key \(dir)/server.key;
                ssl_client_certificate \(dir)/ca.pem;
                ssl_verify_client on;
                location / { grpc_pass grpc://\(upstream); }
            }
        """
    }

    private static func httpServers(tlsPort: Int, http1Port: Int, upstream: String, dir: String) -> String {
        let location = """
            location / { proxy_pass http://fixture; proxy_http_version 1.1; proxy_set_header Connection ""; \
            proxy_set_header Host $http_host; proxy_set_header X-Forwarded-Proto https; }
            """
        return """
                upstream fixture { server \(upstream); keepalive 16; }
                server {
                    listen 127.0.0.1:\(tlsPort) ssl http2;
                    ssl_certificate \(dir)/server.pem;
                    ssl_certificate_key \(dir)/server.key;
                    keepalive_requests 100000;
                    \(location)
                }
                server {
                    listen 127.0.0.1:\(http1Port) ssl;
                    ssl_certificate \(dir)/server.pem;
                    ssl_certificate_key \(dir)/server.key;
                    keepalive_requests 100000;
                    \(location)
                }
            """
    }

    /// Stops nginx and deletes the directory (its private keys included).
    public func stop() {
        process.stop(grace: .seconds(5))
        try? FileManager.default.removeItem(atPath: directory)
    }

    deinit { stop() }
}

func runShell(_ script: String) throws {
    let p = Process()
    p.executableURL = URL(fileURLWithPath: "/bin/bash")
    p.arguments = ["-c", script]
    p.standardOutput = FileHandle.nullDevice
    p.standardError = FileHandle.nullDevice
    try p.run()
    p.stop(grace: .seconds(60))
    guard p.terminationStatus == 0 else {
        throw TemporalError(kind: .invalidArgument, message: "shell step failed (\(p.terminationStatus)): \(script.prefix(80))")
    }
}
