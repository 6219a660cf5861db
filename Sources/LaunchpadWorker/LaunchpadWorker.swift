import ArgumentParser
import ETLCommandLine
import Foundation
import LaunchpadETL
import Logging
import ServiceLifecycle
import Temporal
import TemporalCodecServer
import TemporalOTLP
import TemporalPrometheus
import TemporalWorker

/// `swift run LaunchpadWorker`: serves `LaunchpadFlow` (on `launchpad-task-queue`) and
/// `MockFlow` (on `launchpad-mock-task-queue`) with their activities until SIGINT/SIGTERM
/// (`serve`, the default), or replays saved histories against this build (`replay`).
@main
struct LaunchpadWorker: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "The Launchpad ETL worker: serves the flows (default), or replays saved histories against this build.",
        subcommands: [Serve.self, Replay.self, CodecServe.self, HealthCheck.self], defaultSubcommand: Serve.self
    )
}

/// `LaunchpadWorker replay FILE_OR_DIR…`: replays histories saved with `temporal workflow show
/// --output json` against this build's flows, reports each, and exits non-zero if any fails —
/// the check to run before deploying changed workflow code while runs are open.
struct Replay: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Replays saved workflow histories (temporal workflow show --output json) against this build's flows."
    )

    @Argument(help: "History files, or directories of *.json history files.")
    var paths: [String]

    func run() throws {
        var converter = DataConverter.default
        if let codec = try EncryptionCodec.fromEnvironment(ProcessInfo.processInfo.environment) { converter.codecs = [codec] }
        let outcomes = WorkflowReplayer(definitions: LaunchpadWorkerConfiguration.allWorkflowDefinitions, dataConverter: converter)
            .replay(paths: paths)
        guard outcomes.contains(where: { !$0.holdsNoHistory }) else {
            throw ValidationError("no history files found in \(paths.joined(separator: ", "))")
        }
        for outcome in outcomes {
            print(outcome.failure.map { "FAIL \(outcome.path): \($0)" } ?? "ok   \(outcome.path) (\(outcome.eventCount) events)")
        }
        let empty = outcomes.filter(\.holdsNoHistory).count
        let histories = outcomes.count - empty
        let failed = outcomes.filter { $0.failure != nil }.count - empty
        print(
            (failed == 0 ? "all \(histories) histories replay" : "\(failed) of \(histories) histories do not replay with this build")
                + (empty == 0 ? "" : "; \(empty) of the directories given held none (nothing of them was checked)"))
        if failed + empty > 0 { throw ExitCode(1) }
    }
}

/// `LaunchpadWorker codec-server`: only the codec server (for a UI or CLI on another host).
struct CodecServe: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "codec-server",
        abstract:
            "Serves Temporal's codec-server protocol (POST /encode, /decode) with the keys of TEMPORAL_PAYLOAD_KEY_FILE, for the Web UI and the CLI."
    )

    @Option(help: "Port (env CODEC_SERVER_PORT, default 8081).")
    var port: UInt16?

    @Option(help: "Address to listen on (default 127.0.0.1: anyone who reaches it can decrypt payloads).")
    var host = "127.0.0.1"

    @Option(
        name: .customLong("origin"),
        help:
            "Browser origin (the Web UI's address) allowed to call it (repeatable; env CODEC_SERVER_ORIGINS, comma-separated; default the dev server's UI, http://localhost:8233 and http://127.0.0.1:8233, and the docker compose stack's, port 8080)."
    )
    var origins: [String] = []

    @Option(
        help:
            "A file holding a token: every encode and decode must then carry 'Authorization: Bearer <token>' (the CLI's --codec-auth) (env CODEC_SERVER_AUTH_TOKEN_FILE; default: none asked for, so bind it to a private address)."
    )
    var authTokenFile: String?

    @Option(
        name: .customLong("namespace"),
        help: "Namespace it serves, by the X-Namespace header (repeatable; env CODEC_SERVER_NAMESPACES, comma-separated; default: any)."
    )
    var namespaces: [String] = []

    func run() async throws {
        let env = ProcessInfo.processInfo.environment
        let chosen = try CodecServerOptions.port(port, env: env) ?? 8081
        let server = try CodecServerOptions.server(
            env: env, host: host, port: chosen, origins: origins, authTokenFile: authTokenFile, namespaces: namespaces)
        let bound = try await ListenError.naming(host, chosen, option: "--port / CODEC_SERVER_PORT") { try await server.start() }
        let address = host.contains(":") && !host.hasPrefix("[") ? "[\(host)]:\(bound)" : "\(host):\(bound)"  // an IPv6 URL needs brackets
        let asksForAuthorization = server.asksForAuthorization
        // Until SIGTERM or SIGINT (listened for before the address is printed), then a clean
        // stop, exit 0: the process died of the signal (status 143), and as PID 1 in a container
        // (no default action there) ignored it until it was killed.
        do {
            _ = try await cancellingOnTermination(logger: Logger(label: "codec-server"), while: "serving") { () async throws -> Bool in
                print(
                    "codec server at http://\(address) (POST /encode, /decode); for the UI: temporal server start-dev --ui-codec-endpoint http://\(address); \(CodecServerOptions.describe(server))"
                )
                print(
                    asksForAuthorization
                        ? "it asks for the token of --auth-token-file / CODEC_SERVER_AUTH_TOKEN_FILE (the CLI: --codec-auth 'Bearer <token>')"
                        : "it asks for no token: anyone who reaches \(address) can decrypt payloads (--auth-token-file to ask for one)")
                // Written now: standard output is block-buffered when it is not a terminal (a
                // pipe, Docker, systemd), so the address (the only word of the port `--port 0`
                // chose) never appeared.
                fflush(nil)  // every stream: standard output among them
                while true { try await Task.sleep(for: .seconds(3600)) }
            }
        } catch is CancellationError {}
        await server.stop()
    }
}

/// Building a codec server from the environment, shared by `serve --codec-server-port` and `codec-server`.
enum CodecServerOptions {
    /// The option, else `CODEC_SERVER_PORT` (empty: none); a value that is not a port is an error.
    static func port(_ option: UInt16?, env: [String: String]) throws -> UInt16? {
        if let option { return option }
        guard let raw = EnvironmentValue.named("CODEC_SERVER_PORT", in: env) else { return nil }
        guard let port = UInt16(raw.trimmingCharacters(in: .whitespaces)) else {
            throw ValidationError("CODEC_SERVER_PORT '\(raw)' is not a port number (0-65535)")
        }
        return port
    }

    /// The browser origins served when none are given: the dev server's Web UI (`temporal
    /// server start-dev`, port 8233) and the docker compose stack's (`temporal-ui`, port 8080).
    static let defaultOrigins = ["http://localhost:8233", "http://127.0.0.1:8233", "http://localhost:8080", "http://127.0.0.1:8080"]

    static func server(
        env: [String: String], host: String, port: UInt16, origins: [String], authTokenFile: String? = nil, namespaces: [String] = [],
        logger: Logger = Logger(label: "codec-server")
    ) throws -> CodecServer {
        guard let codec = try EncryptionCodec.fromEnvironment(env) else {
            throw ValidationError(
                "a codec server needs the payload keys: set TEMPORAL_PAYLOAD_KEY_FILE to a file with a base64 AES-256 key (e.g. `openssl rand -base64 32 > keys`)"
            )
        }
        // An option replaces its variable, as everywhere (merged, an exported list widened the
        // origins a decrypting server answers beyond what its command line shows).
        let given = origins.isEmpty ? list(env["CODEC_SERVER_ORIGINS"]) : origins
        let allowed = given.isEmpty ? defaultOrigins : given
        let served = namespaces.isEmpty ? list(env["CODEC_SERVER_NAMESPACES"]) : namespaces
        let bearer = try token(file: authTokenFile ?? EnvironmentValue.named("CODEC_SERVER_AUTH_TOKEN_FILE", in: env))
        // It decrypts every payload for whoever asks: beyond this machine, only with a token.
        if bearer == nil, !isLoopback(host) {
            throw ValidationError(
                "a codec server on \(host) would decrypt payloads for anyone who reaches it: give it a token (--auth-token-file / CODEC_SERVER_AUTH_TOKEN_FILE, a file holding e.g. the output of `openssl rand -hex 32`), or listen on 127.0.0.1"
            )
        }
        if !isLoopback(host) {
            // It speaks plain HTTP: the token and the decrypted payloads cross the network as
            // they are, unless a proxy terminates TLS in front of it.
            logger.warning(
                "the codec server on \(host) speaks plain HTTP: its token and the payloads it decrypts cross the network in the clear; reach it only through a proxy that terminates TLS (nginx, a load balancer), or listen on 127.0.0.1"
            )
        }
        return try CodecServer(
            codecs: [codec], host: host, port: port, allowedOrigins: allowed, namespaces: served.isEmpty ? nil : Set(served),
            authorization: bearer.map { "Bearer \($0)" },
            onRefusal: { status, reason in logger.warning("codec server refused a request (\(status)): \(reason)") })
    }

    /// Whom `server` answers, for its start line: the origins and namespaces (what the options
    /// and variables made of them) and whether it asks for a token.
    static func describe(_ server: CodecServer) -> String {
        let namespaces = server.namespaces.map { $0.sorted().joined(separator: ", ") } ?? "any"
        return
            "browser origins \(server.allowedOrigins.joined(separator: ", ")); namespaces \(namespaces); \(server.asksForAuthorization ? "a bearer token asked for" : "no token asked for")"
    }

    /// Whether `host` (as `--host` takes it) is this machine only.
    static func isLoopback(_ host: String) -> Bool {
        let name = host.hasPrefix("[") && host.hasSuffix("]") ? String(host.dropFirst().dropLast()) : host
        return name == "localhost" || name == "::1" || name.hasPrefix("127.")
    }

    /// A comma-separated list (empty or absent: none).
    static func list(_ value: String?) -> [String] {
        (value ?? "").split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty }
    }

    /// The token in `file` (surrounding whitespace dropped), nil without a file.
    static func token(file: String?) throws -> String? {
        guard let file else { return nil }
        guard let text = try? String(contentsOfFile: file, encoding: .utf8) else {
            throw ValidationError("cannot read the codec server's token file \(file) (--auth-token-file / CODEC_SERVER_AUTH_TOKEN_FILE)")
        }
        let token = text.trimmingCharacters(in: .whitespacesAndNewlines)
        guard !token.isEmpty, !token.contains(where: \.isWhitespace) else {
            throw ValidationError(
                "the codec server's token file \(file) must hold one token without spaces (e.g. `openssl rand -hex 32 > \(file)`)")
        }
        return token
    }
}

/// `LaunchpadWorker [serve]`: the worker.
struct Serve: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Runs the Launchpad ETL worker: LaunchpadFlow and MockFlow with their extract/transform/load activities."
    )

    @OptionGroup var server: TemporalServerOptions

    @Option(
        name: .customLong("db-path"),
        help: "SQLite file for events (env ETL_DB_PATH, default launchpad_events.db; beats an exported ETL_DB_URL).")
    var databasePath: String?

    @Option(
        name: .customLong("db-url"),
        help:
            "Event store URL, e.g. postgres://user:password@host:5432/etl to share one store between workers (env ETL_DB_URL, which overrides ETL_DB_PATH)."
    )
    var databaseURL: String?

    @Option(name: .customLong("task-queue"), help: "Queue of LaunchpadFlow (env LAUNCHPAD_TASK_QUEUE, default launchpad-task-queue).")
    var taskQueue: String?

    @Option(
        name: .customLong("mock-task-queue"), help: "Queue of MockFlow (env LAUNCHPAD_MOCK_TASK_QUEUE, default launchpad-mock-task-queue).")
    var mockTaskQueue: String?

    @Flag(name: .customLong("no-mock"), help: "Do not serve MockFlow.")
    var noMock = false

    @Flag(name: .customLong("no-launchpad"), help: "Do not serve LaunchpadFlow.")
    var noLaunchpad = false

    @Option(
        name: .customLong("max-concurrent-activities"),
        help:
            "Activity attempts run at once, per worker: each flow queue has two (the flow's and its store's), so a queue runs up to twice this (env MAX_CONCURRENT_ACTIVITIES; default 20)."
    )
    var maxConcurrentActivities: Int?

    @Option(
        name: .customLong("max-activities-per-second"),
        help: "Activities each worker starts per second at most (env MAX_ACTIVITIES_PER_SECOND; default: no limit).")
    var maxActivitiesPerSecond: Double?

    @Option(
        name: .customLong("max-queue-activities-per-second"),
        help:
            "Activities the server dispatches per second from each queue to all its workers together; give every worker the same value (env MAX_TASK_QUEUE_ACTIVITIES_PER_SECOND; default: no limit)."
    )
    var maxQueueActivitiesPerSecond: Double?

    @Option(
        name: .customLong("shutdown-grace-seconds"),
        help:
            "Seconds running activities get to finish on SIGINT/SIGTERM; keep it below the stop timeout of what runs the worker (docker's --stop-timeout, Kubernetes' terminationGracePeriodSeconds) (env SHUTDOWN_GRACE_SECONDS; default 10)."
    )
    var shutdownGraceSeconds: Int?

    @Option(
        name: .customLong("metrics-port"),
        help:
            "Serve Prometheus metrics at http://HOST:PORT/metrics (HOST: --metrics-host), and health at /healthz (alive) and /readyz (polling) (env METRICS_PORT; default: no endpoint)."
    )
    var metricsPort: Int?

    @Option(
        name: .customLong("metrics-host"),
        help:
            "The IPv4 address the metrics endpoint listens on, e.g. 127.0.0.1 to keep it on this machine (env METRICS_HOST; default 0.0.0.0: every interface)."
    )
    var metricsHost: String?

    @Option(
        name: .customLong("codec-server-port"),
        help:
            "Also serve the codec server (POST /encode, /decode) for the Web UI at http://127.0.0.1:PORT, with the keys of TEMPORAL_PAYLOAD_KEY_FILE, to the UI origins in CODEC_SERVER_ORIGINS (default the dev server's UI) (env CODEC_SERVER_PORT; default: none)."
    )
    var codecServerPort: UInt16?

    @Option(
        name: .customLong("deployment-name"),
        help:
            "The Worker Deployment this worker belongs to, recorded with every task it runs (env TEMPORAL_DEPLOYMENT_NAME; needs --build-id)."
    )
    var deploymentName: String?

    @Option(name: .customLong("build-id"), help: "This build of the worker, e.g. a git commit (env TEMPORAL_WORKER_BUILD_ID).")
    var buildID: String?

    @Option(
        name: .customLong("versioning"),
        help:
            "Take part in Worker Versioning as this build of the deployment, with runs 'pinned' to the version they started on or moved on with 'auto-upgrade' (env TEMPORAL_WORKER_VERSIONING; default: not versioned, names only)."
    )
    var versioning: String?

    @Option(name: .customLong("log-level"), help: "trace, debug, info, notice, warning, error or critical (env LOG_LEVEL).")
    var logLevel: String?

    func validate() throws {
        if noMock && noLaunchpad { throw ValidationError("--no-mock and --no-launchpad together leave nothing to serve") }
        _ = try resolvedCount(maxConcurrentActivities, env: "MAX_CONCURRENT_ACTIVITIES", default: 20, minimum: 1)
        if databasePath != nil, databaseURL != nil { throw ValidationError("give --db-path or --db-url, not both") }
        // Options that would be ignored: refused, rather than a worker that serves less than
        // its command line reads (or opens a temporary SQLite database for an empty path).
        if let path = databasePath, path.trimmingCharacters(in: .whitespaces).isEmpty {
            throw ValidationError("--db-path is empty: give the SQLite file the events go to (e.g. --db-path launchpad_events.db)")
        }
        if let url = databaseURL, url.trimmingCharacters(in: .whitespaces).isEmpty {
            throw ValidationError("--db-url is empty: give the store's URL (postgres://… or sqlite:///path)")
        }
        if noLaunchpad, taskQueue != nil {
            throw ValidationError("--task-queue names the Launchpad flows' queue, which --no-launchpad leaves unserved: drop one of them")
        }
        if noMock, mockTaskQueue != nil {
            throw ValidationError("--mock-task-queue names the mock flows' queue, which --no-mock leaves unserved: drop one of them")
        }
        // As the configuration resolves them (flags, else LAUNCHPAD_TASK_QUEUE /
        // LAUNCHPAD_MOCK_TASK_QUEUE, else the defaults).
        let queues = LaunchpadWorkerConfiguration(launchpadQueue: taskQueue, mockQueue: mockTaskQueue)
        if !noLaunchpad, !noMock, let launchpad = queues.launchpadQueue, launchpad == queues.mockQueue {
            throw ValidationError(
                "the Launchpad and mock flows would share task queue '\(launchpad)' (--task-queue / LAUNCHPAD_TASK_QUEUE, --mock-task-queue / LAUNCHPAD_MOCK_TASK_QUEUE): give each family its own queue"
            )
        }
        if metricsHost != nil, metricsPort == nil, EnvironmentValue.named("METRICS_PORT") == nil {
            throw ValidationError("--metrics-host without a metrics port: give --metrics-port (or METRICS_PORT) too, or drop it")
        }
        _ = try resolvedMetricsPort()
        _ = try resolvedRate(maxActivitiesPerSecond, env: "MAX_ACTIVITIES_PER_SECOND")
        _ = try resolvedRate(maxQueueActivitiesPerSecond, env: "MAX_TASK_QUEUE_ACTIVITIES_PER_SECOND")
        _ = try resolvedLogLevel()
        _ = try resolvedDeployment()
        _ = try CodecServerOptions.port(codecServerPort, env: ProcessInfo.processInfo.environment)
        _ = try resolvedCount(shutdownGraceSeconds, env: "SHUTDOWN_GRACE_SECONDS", default: 10, minimum: 0)
    }

    /// `option`, else the whole number in `env` (empty = unset), else `default`; below
    /// `minimum` (or not a number) is an error naming both.
    func resolvedCount(_ option: Int?, env: String, default value: Int, minimum: Int) throws -> Int {
        let raw = option.map { "\($0)" } ?? EnvironmentValue.named(env)
        guard let raw else { return value }
        guard let count = Int(raw.trimmingCharacters(in: .whitespaces)), count >= minimum else {
            throw ValidationError("'\(raw)' (\(env) or its option) must be a whole number, \(minimum) or more")
        }
        return count
    }

    /// `--deployment-name`, `--build-id` and `--versioning`, else their environment variables.
    func resolvedDeployment() throws -> WorkerDeploymentOptions? {
        let name = deploymentName ?? EnvironmentValue.named("TEMPORAL_DEPLOYMENT_NAME")
        let build = buildID ?? EnvironmentValue.named("TEMPORAL_WORKER_BUILD_ID")
        let mode = versioning ?? EnvironmentValue.named("TEMPORAL_WORKER_VERSIONING")
        guard name != nil || build != nil || mode != nil else { return nil }
        guard let name, let build else {
            throw ValidationError(
                "a Worker Deployment needs both a name and a build id: give --deployment-name (TEMPORAL_DEPLOYMENT_NAME) and --build-id (TEMPORAL_WORKER_BUILD_ID), or neither"
            )
        }
        var behavior: VersioningBehavior?
        switch mode?.lowercased() {
        case nil: behavior = nil
        case "pinned": behavior = .pinned
        case "auto-upgrade", "autoupgrade", "auto_upgrade": behavior = .autoUpgrade
        case let other?:
            throw ValidationError("--versioning (TEMPORAL_WORKER_VERSIONING) is '\(other)': give 'pinned' or 'auto-upgrade'")
        }
        let options = WorkerDeploymentOptions(
            deploymentName: name, buildID: build, useVersioning: behavior != nil, defaultVersioningBehavior: behavior)
        do {
            try options.validate(workflows: [])
        } catch {
            throw ValidationError("\(error)")
        }
        return options
    }

    /// `--log-level`, else `LOG_LEVEL` (any case), else info.
    func resolvedLogLevel() throws -> Logger.Level {
        let raw = logLevel ?? EnvironmentValue.named("LOG_LEVEL") ?? "info"
        guard let level = Logger.Level(rawValue: raw.trimmingCharacters(in: .whitespaces).lowercased()) else {
            let known = Logger.Level.allCases.map(\.rawValue).joined(separator: ", ")
            throw ValidationError("log level '\(raw)' (--log-level or LOG_LEVEL) is not one of \(known)")
        }
        return level
    }

    /// A rate option, else its environment variable (empty = no limit); must be positive.
    func resolvedRate(_ option: Double?, env: String) throws -> Double? {
        let raw = option.map { "\($0)" } ?? EnvironmentValue.named(env)
        guard let raw else { return nil }
        guard let rate = Double(raw), rate > 0, rate.isFinite else {
            throw ValidationError("activity rate '\(raw)' (\(env) or its option) must be a positive number of activities per second")
        }
        return rate
    }

    /// `--metrics-port`, else `METRICS_PORT` (empty = off).
    func resolvedMetricsPort() throws -> UInt16? { try Self.metricsPort(metricsPort) }

    /// `--metrics-host`, else `METRICS_HOST`, else every interface.
    func resolvedMetricsHost() throws -> String { try Self.metricsHost(metricsHost) }

    /// `option`, else `METRICS_HOST` (empty = unset), else `0.0.0.0`; a value that is not an
    /// IPv4 address is an error (the endpoint listens on IPv4).
    static func metricsHost(_ option: String?, environment: [String: String] = ProcessInfo.processInfo.environment) throws -> String {
        let raw = (option ?? EnvironmentValue.named("METRICS_HOST", in: environment) ?? "0.0.0.0")
            .trimmingCharacters(in: .whitespaces)
        var address = in_addr()
        guard inet_pton(AF_INET, raw, &address) == 1 else {
            throw ValidationError(
                "metrics host '\(raw)' is not an IPv4 address: use 0.0.0.0 (every interface), 127.0.0.1 (this machine only) or one of this machine's addresses"
            )
        }
        return raw
    }

    /// `option`, else `METRICS_PORT` (empty = none); a value that is not a port is an error.
    static func metricsPort(_ option: Int?) throws -> UInt16? {
        let env = EnvironmentValue.named("METRICS_PORT")
        guard let raw = option.map(String.init) ?? env else { return nil }
        guard let port = UInt16(raw) else {
            throw ValidationError("metrics port '\(raw)' is not a port number (0-65535)")
        }
        return port
    }

    func run() async throws {
        let level = try resolvedLogLevel()
        LoggingSystem.bootstrap { label in
            var handler = StreamLogHandler.standardError(label: label)
            handler.logLevel = level
            return handler
        }
        var configuration = LaunchpadWorkerConfiguration(
            host: server.host, namespace: server.namespace, databasePath: databasePath, storeURL: databaseURL, launchpadQueue: taskQueue,
            mockQueue: mockTaskQueue,
            maxConcurrentActivities: try resolvedCount(maxConcurrentActivities, env: "MAX_CONCURRENT_ACTIVITIES", default: 20, minimum: 1),
            gracefulShutdownTimeout: .seconds(
                try resolvedCount(shutdownGraceSeconds, env: "SHUTDOWN_GRACE_SECONDS", default: 10, minimum: 0)))
        configuration.maxActivitiesPerSecond = try resolvedRate(maxActivitiesPerSecond, env: "MAX_ACTIVITIES_PER_SECOND")
        configuration.maxTaskQueueActivitiesPerSecond = try resolvedRate(
            maxQueueActivitiesPerSecond, env: "MAX_TASK_QUEUE_ACTIVITIES_PER_SECOND")
        configuration.deployment = try resolvedDeployment()
        if noMock { configuration.mockQueue = nil }
        if noLaunchpad { configuration.launchpadQueue = nil }
        let logger = Logger(label: "LaunchpadWorker")
        if let warning = EventStoreLocation.passwordOnCommandLine(databaseURL, option: "--db-url") { logger.warning("\(warning)") }
        // Before connecting: clients and workers take `MetricsSystem.factory` when they are made.
        var endpoint: MetricsEndpoint?
        if let port = try resolvedMetricsPort() {
            let registry = PrometheusBootstrap.bootstrapGlobal()
            let metrics = try MetricsEndpoint(registry: registry, host: try resolvedMetricsHost(), port: port)
            // Before it starts: a probe in between found no /healthz (404).
            let target = configuration.host
            metrics.setHealthCheck { HealthReport(live: true, ready: false, text: "connecting to the Temporal server at \(target)") }
            let bound = try await ListenError.naming(metrics.host, port, option: "--metrics-port / METRICS_PORT") {
                try await metrics.start()
            }
            logger.info("Prometheus metrics at http://\(metrics.host):\(bound)/metrics")
            endpoint = metrics
        }
        // OTEL_EXPORTER_OTLP_ENDPOINT: spans of workflows, activities, Launchpad requests and store writes.
        let tracer = OTLPTracer.bootstrapFromEnvironment(serviceName: "launchpad-worker")
        if let tracer { logger.info("exporting traces to \(tracer.tracesURLForMessages)") }
        var codecServer: CodecServer?
        let env = ProcessInfo.processInfo.environment
        if let port = try CodecServerOptions.port(codecServerPort, env: env) {
            let server = try CodecServerOptions.server(env: env, host: "127.0.0.1", port: port, origins: [], logger: logger)
            let bound = try await ListenError.naming("127.0.0.1", port, option: "--codec-server-port / CODEC_SERVER_PORT") {
                try await server.start()
            }
            logger.info(
                "codec server at http://127.0.0.1:\(bound) (for the Web UI: --ui-codec-endpoint http://127.0.0.1:\(bound)); \(CodecServerOptions.describe(server))"
            )
            codecServer = server
        }
        if let path = ETLEnvironment.value("TEMPORAL_PAYLOAD_KEY_FILE", in: env) {
            logger.info("payloads and error messages are encrypted (AES-256-GCM) with the keys of \(path)")
        }
        let runner: LaunchpadWorkerRunner
        do {
            // Waits for the Temporal server and the store as long as it takes; a signal stops it.
            let (logger, configuration) = (logger, configuration)
            runner = try await cancellingOnTermination(logger: logger) {
                try await LaunchpadWorkerRunner.connect(configuration, logger: logger)
            }
        } catch {
            await codecServer?.stop()
            await tracer?.shutdown()  // the spans of the wait: the tracer exports only once serving
            guard error is CancellationError else { throw error }
            logger.info("stopped before serving")
            return
        }
        let workers = runner.workers
        endpoint?.setHealthCheck {
            let health = workers.map { ($0.taskQueue, $0.health) }
            return HealthReport(
                live: health.allSatisfy { $0.1.isLive }, ready: health.allSatisfy { $0.1.isReady },
                text: health.map { "worker on '\($0.0)': \($0.1)" }.joined(separator: "\n"))
        }
        let queues = configuration.registrations.map { "\($0.flow.name) on \($0.taskQueue)" }.joined(separator: ", ")
        logger.info(
            "serving \(queues) at \(configuration.host) (namespace \(configuration.namespace)); events in \(configuration.storeDescription)"
        )
        var services: [any Service] = []
        if let tracer { services.append(tracer) }
        if let endpoint { services.append(StartedService { await endpoint.stop() }) }
        if let codecServer { services.append(StartedService { await codecServer.stop() }) }
        try await runner.runUntilTerminated(with: services)
        logger.info("stopped")
    }
}

/// A listener that could not start, named with the option that set its port: with both
/// `--metrics-port` and `--codec-server-port`, FlyingFox's bare "bind(98): Address already in
/// use" did not say which.
struct ListenError: Error, CustomStringConvertible {
    var description: String

    /// Runs `start`; its failure says which address and option it was.
    static func naming(_ host: String, _ port: UInt16, option: String, _ start: () async throws -> UInt16) async throws -> UInt16 {
        do {
            return try await start()
        } catch {
            throw ListenError(
                description:
                    "cannot listen on \(host):\(port) (\(option)): \(error); if the port is in use, choose another (0 picks a free one)")
        }
    }
}
