public import CoreMetrics
import Logging
import Synchronization
public import TemporalProto
import Tracing

#if canImport(FoundationEssentials)
public import FoundationEssentials
#else
public import Foundation
#endif

/// A connection to a Temporal frontend for one namespace: starts, signals, queries and
/// observes workflows. Cheap to share: one client serves any number of tasks and workers.
public final class TemporalClient: Sendable {
    /// This library's version, sent as `client-version`.
    public static let version = "0.1.0"
    /// Sent as `client-name`. The server version-checks only the names of official SDKs.
    public static let clientName = "temporal-etl-swift"

    /// The namespace every call addresses.
    public let namespace: String
    /// Identity recorded in history for starts, signals, cancels and by workers (`pid@host`).
    public let identity: String
    /// Typed RPCs, for everything this client does not wrap.
    public let workflowService: WorkflowService
    /// Values ⇄ payloads, errors ⇄ failures.
    public let dataConverter: DataConverter
    /// `GetSystemInfo` as received at connect time (nil if the server did not implement it).
    public let systemInfo: Temporal_Api_Workflowservice_V1_GetSystemInfoResponse?
    /// The target as given.
    public let target: String
    /// Workers of this process that run eagerly started workflows, by task queue.
    let eagerAcceptors = EagerAcceptors()
    /// Where this client's RPC metrics go (workers built on the client use it by default).
    public var metricsFactory: any MetricsFactory { workflowService.metrics.factory }
    /// What wraps this client's starts, signals, queries and updates (first outermost).
    public let interceptors: [any ClientInterceptor]

    /// Connects and checks the server with `GetSystemInfo`.
    ///
    /// - Parameters:
    ///   - target: `host:port` of the frontend (default `localhost:7233`).
    ///   - namespace: default `default`.
    ///   - identity: default `pid@hostname`.
    ///   - tls: nil = plaintext, unless an API key is given.
    ///   - apiKey: sent as `authorization: Bearer <key>` (Temporal Cloud). It turns TLS on (the
    ///     system's CAs) when neither `tls` nor `channelConfiguration` gives it, as the other SDKs
    ///     do: a key must not go out in the clear.
    ///   - apiKeyWithoutTLS: send the key over plaintext all the same (a local proxy that
    ///     terminates TLS; `TEMPORAL_TLS=false` for `connectFromEnvironment`).
    ///   - retryPolicy: how transient RPC failures are retried.
    ///   - metricsFactory: where RPC metrics (and, by default, the metrics of workers built on
    ///     this client) go; default `MetricsSystem.factory` as bootstrapped at connect time.
    ///   - interceptors: wrap starts, signals, queries and updates (see `ClientInterceptor`).
    /// - Throws: `TemporalError` of kind `.connection` with a message saying what to check when
    ///   the server cannot be reached.
    public static func connect(
        target: String = "localhost:7233", namespace: String = "default",
        identity: String? = nil, tls: TLSConfiguration? = nil, apiKey: String? = nil, apiKeyWithoutTLS: Bool = false,
        dataConverter: DataConverter = .default,
        retryPolicy: RPCRetryPolicy = RPCRetryPolicy(),
        channelConfiguration: ChannelConfiguration? = nil,
        metricsFactory: (any MetricsFactory)? = nil,
        interceptors: [any ClientInterceptor] = []
    ) async throws -> TemporalClient {
        let (config, tlsFromKey) = Self.channelConfiguration(
            channelConfiguration, tls: tls, apiKey: apiKey, apiKeyWithoutTLS: apiKeyWithoutTLS)
        let channel: any ServiceTransport =
            switch config.transport {
            case .grpcCore: try GRPCChannel(target: target, configuration: config)
            case .http2: try HTTP2Transport(target: target, configuration: config)
            }
        do {
            return try await connect(
                transport: channel, namespace: namespace, identity: identity, apiKey: apiKey,
                dataConverter: dataConverter, retryPolicy: retryPolicy, metricsFactory: metricsFactory,
                interceptors: interceptors)
        } catch var error as TemporalError where error.kind == .connection && tlsFromKey {
            error.message +=
                " TLS is on because an API key was given; for a server without TLS (a local proxy that terminates it) pass apiKeyWithoutTLS: true."
            throw error
        }
    }

    /// The channel `connect(target:…)` opens: `configuration` with `tls`, and TLS on (the
    /// system's CAs) for an API key when nothing else set it, unless `apiKeyWithoutTLS`; and
    /// whether the key is what turned TLS on.
    static func channelConfiguration(
        _ configuration: ChannelConfiguration?, tls: TLSConfiguration?, apiKey: String?, apiKeyWithoutTLS: Bool
    ) -> (ChannelConfiguration, tlsFromKey: Bool) {
        var config = configuration ?? ChannelConfiguration()
        if let tls { config.tls = tls }
        let hasKey = apiKey?.contains(where: { !$0.isWhitespace }) == true
        guard config.tls == nil, hasKey, !apiKeyWithoutTLS else { return (config, false) }
        config.tls = TLSConfiguration()
        return (config, true)
    }

    /// Connects over `transport` (e.g. `TemporalTesting`'s in-memory service) and checks it
    /// with `GetSystemInfo`; otherwise as `connect(target:…)`.
    public static func connect(
        transport: any ServiceTransport, namespace: String = "default",
        identity: String? = nil, apiKey: String? = nil,
        dataConverter: DataConverter = .default,
        retryPolicy: RPCRetryPolicy = RPCRetryPolicy(),
        metricsFactory: (any MetricsFactory)? = nil,
        interceptors: [any ClientInterceptor] = []
    ) async throws -> TemporalClient {
        // Sent as a header on every call: a character a header cannot carry failed each call
        // with an INTERNAL "grpc_call_error 10" on the gRPC core, and went out as is over HTTP/2.
        guard !namespace.isEmpty, namespace.unicodeScalars.allSatisfy({ (0x21...0x7E).contains($0.value) }) else {
            throw TemporalError(
                code: .invalidArgument,
                message:
                    "the namespace \(namespace.debugDescription) is empty or has a space, a control character or a non-ASCII one (TEMPORAL_NAMESPACE?): give the namespace's name as `temporal operator namespace list` shows it"
            )
        }
        var headers = [
            ("client-name", clientName),
            ("client-version", version),
            ("temporal-namespace", namespace),
            // A close event that starts another run (a retry, a cron run) comes as it is, with its
            // result or failure and `new_execution_run_id`; without it the server rewrites it into
            // a continue-as-new event, and `result(followRuns: false)` lost the run's outcome.
            ("supported-features", "follows-next-run-id"),
        ]
        // Trimmed (a key read from a secret file ends with a newline); any other control
        // character cannot be a header value, and is refused with what to do.
        var key = Substring(apiKey ?? "")
        while key.first?.isWhitespace == true { key.removeFirst() }
        while key.last?.isWhitespace == true { key.removeLast() }
        if !key.isEmpty {
            // gRPC metadata values are printable ASCII.
            guard key.unicodeScalars.allSatisfy({ (0x20...0x7E).contains($0.value) }) else {
                throw TemporalError(
                    code: .invalidArgument,
                    message:
                        "the API key (TEMPORAL_API_KEY) has a character a header cannot carry (a line break in the middle, a pasted typographic quote?): give the key alone, on one line, as Temporal Cloud shows it"
                )
            }
            headers.append(("authorization", "Bearer \(key)"))
        }
        let metrics = RPCMetrics(factory: metricsFactory ?? MetricsSystem.factory, namespace: namespace)
        let service = WorkflowService(transport: transport, headers: headers, retryPolicy: retryPolicy, metrics: metrics)
        // The first call also checks that the server is there: a server that does not answer
        // fails the connect in about 10 s (as Go's 5 s), not after the RPCs' 60 s of retries.
        var probePolicy = retryPolicy
        probePolicy.maximumElapsed = min(retryPolicy.maximumElapsed, Self.connectRetryBudget)
        let probe = WorkflowService(transport: transport, headers: headers, retryPolicy: probePolicy, metrics: metrics)
        var info: Temporal_Api_Workflowservice_V1_GetSystemInfoResponse?
        do {
            info = try await probe.getSystemInfo()
        } catch let error as TemporalError where error.code == .unimplemented {
            info = nil
        }
        return TemporalClient(
            target: transport.target, namespace: namespace, identity: identity ?? Self.defaultIdentity(),
            service: service, dataConverter: dataConverter, systemInfo: info, interceptors: interceptors)
    }

    /// The first run of the chain a start answered with, which binds a handle's cancel and
    /// terminate to that chain: the response's `first_execution_run_id` (servers since mid
    /// 2026), else the run id when the start began a new chain; nil (unbound) when an older
    /// server attached to a run without naming its chain (USE_EXISTING, signal-with-start of a
    /// running workflow).
    static func firstExecutionRunID(named first: String, runID: String, started: Bool) -> String? {
        if !first.isEmpty { return first }
        return started ? runID : nil
    }

    /// How long `connect` retries its first call while the server does not answer.
    public static let connectRetryBudget: Duration = .seconds(10)

    /// Connects with settings from the environment, as the executables do: `TEMPORAL_HOST`
    /// (default `localhost:7233`), `TEMPORAL_NAMESPACE` (default `default`), `TEMPORAL_API_KEY`,
    /// and for TLS `TEMPORAL_TLS_CA`, `TEMPORAL_TLS_CERT`, `TEMPORAL_TLS_KEY` (file paths),
    /// `TEMPORAL_TLS_SERVER_NAME` and `TEMPORAL_TLS` (`true`/`false`; see
    /// `tlsEnabled(fromEnvironment:)`: an API key alone turns TLS on, with the system roots);
    /// Temporal's standard names (`TEMPORAL_ADDRESS`, `TEMPORAL_TLS_CLIENT_CERT_PATH`, …: see
    /// `standardNames`) are read where ours are unset, and the PEMs themselves in
    /// `TEMPORAL_TLS_SERVER_CA_CERT_DATA`, `_CLIENT_CERT_DATA` and `_CLIENT_KEY_DATA`; the
    /// standard variables it does not act on are refused (`TEMPORAL_PROFILE` and
    /// `TEMPORAL_CONFIG_FILE` when nothing else names the server, a true
    /// `TEMPORAL_TLS_DISABLE_HOST_VERIFICATION`, `TEMPORAL_CLIENT_AUTHORITY`,
    /// `TEMPORAL_GRPC_META_*`); `TEMPORAL_PAYLOAD_KEY_FILE` (AES-256 keys,
    /// see `EncryptionCodec.load(keyFile:)`) encrypts every payload, and error messages
    /// (`FailureConverter.encodeCommonAttributes`); `TEMPORAL_TRANSPORT`
    /// (`grpc`, the default, or `http2`) picks the transport (`ChannelConfiguration.TransportKind`).
    public static func connectFromEnvironment(
        _ env: [String: String] = ProcessInfo.processInfo.environment,
        host: String? = nil, namespace: String? = nil,
        metricsFactory: (any MetricsFactory)? = nil,
        interceptors: [any ClientInterceptor] = []
    ) async throws -> TemporalClient {
        try refuseUnreadSettings(env, host: host)
        for (name, file) in Self.pemDataNames where isSet(env, name) {
            if let path = settingName(env, file) {
                throw TemporalError(code: .invalidArgument, message: "\(name) and \(path) both give the same PEM: set one of them")
            }
        }
        let target = host ?? setting(env, "TEMPORAL_HOST") ?? "localhost:7233"
        let ns = namespace ?? setting(env, "TEMPORAL_NAMESPACE") ?? "default"
        let tlsSource = try tlsSource(env)
        var tls: TLSConfiguration?
        if tlsSource.enabled {
            tls = try TLSConfiguration.fromFiles(
                caFile: setting(env, "TEMPORAL_TLS_CA"), certFile: setting(env, "TEMPORAL_TLS_CERT"),
                keyFile: setting(env, "TEMPORAL_TLS_KEY"), serverNameOverride: setting(env, "TEMPORAL_TLS_SERVER_NAME"))
            // The PEM itself, as Temporal's environment configuration takes it (a secret
            // mounted as a variable): it was ignored, and the connection went without it.
            for (name, file) in Self.pemDataNames {
                guard let data = env[name], !isBlank(data) else { continue }
                switch file {
                case "TEMPORAL_TLS_CA": tls?.serverRootCACertificate = data
                case "TEMPORAL_TLS_CERT": tls?.clientCertificate = data
                default: tls?.clientPrivateKey = data
                }
            }
            if let tls, (tls.clientCertificate == nil) != (tls.clientPrivateKey == nil) {
                throw TemporalError(
                    code: .invalidArgument,
                    message:
                        "mutual TLS needs both a client certificate and its key: TEMPORAL_TLS_CERT/TEMPORAL_TLS_CLIENT_CERT_PATH (or _DATA) and TEMPORAL_TLS_KEY/TEMPORAL_TLS_CLIENT_KEY_PATH (or _DATA), or neither"
                )
            }
        }
        var converter = DataConverter.default
        if let codec = try EncryptionCodec.fromEnvironment(env) {
            converter.codecs = [codec]
            // Error messages hold what the payloads do (names, ids): encrypted too.
            converter.failureConverter.encodeCommonAttributes = true
        }
        var channel = ChannelConfiguration()
        if let name = env["TEMPORAL_TRANSPORT"]?.trimmedOfSpaces, !name.isEmpty {
            guard let kind = ChannelConfiguration.TransportKind(rawValue: name) else {
                let known = ChannelConfiguration.TransportKind.allCases.map(\.rawValue).joined(separator: ", ")
                throw TemporalError(
                    code: .invalidArgument,
                    message: "TEMPORAL_TRANSPORT='\(name)' is not a transport: use one of \(known), or unset it for grpc")
            }
            channel.transport = kind
        }
        do {
            return try await connect(
                target: target, namespace: ns, tls: tls, apiKey: env["TEMPORAL_API_KEY"], apiKeyWithoutTLS: !tlsSource.enabled,
                dataConverter: converter, channelConfiguration: channel, metricsFactory: metricsFactory,
                interceptors: interceptors)
        } catch var error as TemporalError where error.kind == .connection && tlsSource == .apiKey {
            // TLS came from the API key alone: say so, a plaintext frontend refuses the handshake.
            error.message +=
                " TLS is on because TEMPORAL_API_KEY is set; for a server without TLS (e.g. behind a proxy that terminates it) set TEMPORAL_TLS=false."
            throw error
        }
    }

    /// What turned TLS on or off for `connectFromEnvironment`.
    enum TLSSource: Equatable {
        /// `TEMPORAL_TLS` said so.
        case setting(Bool)
        /// A TLS file is named.
        case files
        /// Only an API key is set.
        case apiKey
        /// Nothing asks for TLS.
        case none

        var enabled: Bool {
            switch self {
            case .setting(let on): on
            case .files, .apiKey: true
            case .none: false
            }
        }
    }

    /// A non-empty environment value of setting `name`, without leading and trailing whitespace
    /// (a value set from a file, as a mounted secret, ends in a line break); for the names
    /// Temporal's own environment configuration spells otherwise (the CLI's and Go's
    /// `envconfig`), that name's when ours is unset.
    public static func setting(_ env: [String: String], _ name: String) -> String? {
        settingName(env, name).flatMap { env[$0]?.trimmedOfSpaces }
    }

    /// Whether `value` is empty once trimmed (a variable set to spaces or a newline counts as unset).
    static func isBlank(_ value: String) -> Bool { value.allSatisfy(\.isWhitespace) }

    /// Whether variable `name` is set in `env` to something other than blanks.
    static func isSet(_ env: [String: String], _ name: String) -> Bool { env[name].map { !isBlank($0) } == true }

    /// The variable that sets `name` in `env`: `name` itself, else its standard name
    /// (`standardNames`); nil when neither is set (or both are empty).
    static func settingName(_ env: [String: String], _ name: String) -> String? {
        [name, standardNames[name]].compactMap { $0 }.first { isSet(env, $0) }
    }

    /// Temporal's standard variables that give a PEM itself rather than its file, and the
    /// setting whose file they replace.
    static let pemDataNames: [(String, String)] = [
        ("TEMPORAL_TLS_SERVER_CA_CERT_DATA", "TEMPORAL_TLS_CA"), ("TEMPORAL_TLS_CLIENT_CERT_DATA", "TEMPORAL_TLS_CERT"),
        ("TEMPORAL_TLS_CLIENT_KEY_DATA", "TEMPORAL_TLS_KEY"),
    ]

    /// Refuses Temporal's standard variables this client does not act on, naming what to set
    /// instead: set and ignored, they left a connection other than the one asked for (plaintext
    /// instead of a profile's TLS, the host checked despite DISABLE_HOST_VERIFICATION).
    static func refuseUnreadSettings(_ env: [String: String], host: String? = nil) throws {
        // A profile is refused only where it would be the only word on where to connect: a
        // shell that exports one for the CLI, beside the variables this client reads, is fine.
        let addressed = host != nil || settingName(env, "TEMPORAL_HOST") != nil
        for name in ["TEMPORAL_PROFILE", "TEMPORAL_CONFIG_FILE"] where isSet(env, name) && !addressed {
            throw TemporalError(
                code: .invalidArgument,
                message:
                    "\(name) is set, which this client does not read (temporal.toml profiles), and nothing else says where to connect: set the TEMPORAL_* variables themselves (TEMPORAL_ADDRESS, TEMPORAL_NAMESPACE, TEMPORAL_API_KEY, TEMPORAL_TLS_*), or unset it"
            )
        }
        if let text = env["TEMPORAL_TLS_DISABLE_HOST_VERIFICATION"], ["1", "true", "yes", "on"].contains(text.trimmedOfSpaces.lowercased())
        {
            throw TemporalError(
                code: .invalidArgument,
                message:
                    "TEMPORAL_TLS_DISABLE_HOST_VERIFICATION=\(text): this client always verifies the server's certificate; give its CA (TEMPORAL_TLS_SERVER_CA_CERT_PATH) or the name it holds (TEMPORAL_TLS_SERVER_NAME), or unset it"
            )
        }
        if isSet(env, "TEMPORAL_CLIENT_AUTHORITY") {
            throw TemporalError(
                code: .invalidArgument,
                message:
                    "TEMPORAL_CLIENT_AUTHORITY is set, which this client does not read: set TEMPORAL_TLS_SERVER_NAME, which it sends as the :authority and checks, or unset it"
            )
        }
        if let meta = env.keys.sorted().first(where: { $0.hasPrefix("TEMPORAL_GRPC_META_") }) {
            throw TemporalError(
                code: .invalidArgument,
                message:
                    "\(meta) is set, which this client does not read (no extra gRPC headers from the environment): use TEMPORAL_API_KEY for an API key, or unset it"
            )
        }
    }

    /// Temporal's standard names of our settings: `TEMPORAL_ADDRESS` for `TEMPORAL_HOST`,
    /// `TEMPORAL_TLS_SERVER_CA_CERT_PATH`, `TEMPORAL_TLS_CLIENT_CERT_PATH` and
    /// `TEMPORAL_TLS_CLIENT_KEY_PATH` for `TEMPORAL_TLS_CA`, `_CERT` and `_KEY`.
    public static let standardNames = [
        "TEMPORAL_HOST": "TEMPORAL_ADDRESS", "TEMPORAL_TLS_CA": "TEMPORAL_TLS_SERVER_CA_CERT_PATH",
        "TEMPORAL_TLS_CERT": "TEMPORAL_TLS_CLIENT_CERT_PATH", "TEMPORAL_TLS_KEY": "TEMPORAL_TLS_CLIENT_KEY_PATH",
    ]

    /// Whether `connectFromEnvironment` connects with TLS, as Temporal's environment
    /// configuration decides it: `TEMPORAL_TLS` (`true`/`false`, also `1`/`0`, `yes`/`no`)
    /// when set; otherwise on when a CA or client certificate file is named
    /// (`TEMPORAL_TLS_CA`, `TEMPORAL_TLS_CERT`), a server name is given
    /// (`TEMPORAL_TLS_SERVER_NAME`) or an API key is set (`TEMPORAL_API_KEY`: a
    /// bearer token is never sent in clear text unless `TEMPORAL_TLS=false` says so).
    /// - Throws: `invalidArgument` for a `TEMPORAL_TLS` that is not a boolean, or
    ///   `TEMPORAL_TLS=false` beside certificate files.
    public static func tlsEnabled(fromEnvironment env: [String: String]) throws -> Bool { try tlsSource(env).enabled }

    /// Why `tlsEnabled(fromEnvironment:)` answers what it does.
    static func tlsSource(_ env: [String: String]) throws -> TLSSource {
        // Named as the environment spells them (ours, or Temporal's standard names).
        // A server name asks for TLS too (Go's envconfig: any TEMPORAL_TLS_* setting does):
        // ignored, it left a plaintext connection reported as an unreachable server.
        let files =
            ["TEMPORAL_TLS_CA", "TEMPORAL_TLS_CERT", "TEMPORAL_TLS_KEY", "TEMPORAL_TLS_SERVER_NAME"].compactMap { settingName(env, $0) }
            + pemDataNames.map(\.0).filter { isSet(env, $0) }
        guard let text = setting(env, "TEMPORAL_TLS") else {
            return !files.isEmpty ? .files : setting(env, "TEMPORAL_API_KEY") != nil ? .apiKey : .none
        }
        switch text.trimmedOfSpaces.lowercased() {
        case "1", "true", "yes", "on": return .setting(true)
        case "0", "false", "no", "off":
            guard files.isEmpty else {
                throw TemporalError(
                    code: .invalidArgument,
                    message:
                        "TEMPORAL_TLS='\(text)' turns TLS off, but \(files.joined(separator: ", ")) set TLS up: unset TEMPORAL_TLS, or unset them for a plaintext connection"
                )
            }
            return .setting(false)
        default:
            throw TemporalError(
                code: .invalidArgument,
                message:
                    "TEMPORAL_TLS='\(text)' is not a boolean: use true or false (or unset it: TLS is then on when an API key or a TLS file is set)"
            )
        }
    }

    init(
        target: String, namespace: String, identity: String, service: WorkflowService, dataConverter: DataConverter,
        systemInfo: Temporal_Api_Workflowservice_V1_GetSystemInfoResponse?, interceptors: [any ClientInterceptor] = []
    ) {
        self.interceptors = interceptors
        self.target = target
        self.namespace = namespace
        self.identity = identity
        self.workflowService = service
        self.dataConverter = dataConverter
        self.systemInfo = systemInfo
    }

    /// `pid@hostname`, as sdk-core does.
    public static func defaultIdentity() -> String {
        "\(ProcessInfo.processInfo.processIdentifier)@\(ProcessInfo.processInfo.hostName)"
    }

    /// Closes the connection; outstanding calls fail with CANCELLED.
    public func close() {
        closed.store(true, ordering: .releasing)
        workflowService.transport.close()
    }

    /// Whether `close()` was called: every call fails from then on (a worker on this client
    /// stops rather than poll again).
    public var isClosed: Bool { closed.load(ordering: .acquiring) }
    private let closed = Atomic<Bool>(false)

    /// A handle to an existing workflow (no RPC). Empty `runID` addresses the latest run.
    public func workflowHandle(id: String, runID: String? = nil) -> WorkflowHandle {
        WorkflowHandle(client: self, id: id, runID: runID, firstExecutionRunID: nil)
    }

    // MARK: Namespace and server

    /// Describes a namespace (default: this client's).
    public func describeNamespace(_ name: String? = nil) async throws -> Temporal_Api_Workflowservice_V1_DescribeNamespaceResponse {
        var r = Temporal_Api_Workflowservice_V1_DescribeNamespaceRequest()
        r.namespace = name ?? namespace
        return try await workflowService.describeNamespace(r)
    }

    /// Fetches `GetSystemInfo` now.
    public func fetchSystemInfo() async throws -> Temporal_Api_Workflowservice_V1_GetSystemInfoResponse {
        try await workflowService.getSystemInfo()
    }

    // MARK: Starting workflows

    /// Starts a workflow run.
    /// - Parameters:
    ///   - type: the workflow type name as the worker registered it.
    ///   - id: the business id of the workflow.
    ///   - taskQueue: where its workers poll.
    ///   - args: the workflow's arguments, one payload each.
    /// - Throws: `TemporalError` with `details == .workflowAlreadyStarted` (and the running run id)
    ///   when a run with this id is already open.
    public func startWorkflow(
        type: String, id: String, taskQueue: String, args: any Encodable...,
        options: WorkflowOptions = WorkflowOptions()
    ) async throws -> WorkflowHandle {
        try await startWorkflow(type: type, id: id, taskQueue: taskQueue, arguments: args, options: options)
    }

    /// Starts a workflow run with an argument list (see the variadic form).
    public func startWorkflow(
        type: String, id: String, taskQueue: String, arguments: [any Encodable],
        options: WorkflowOptions = WorkflowOptions()
    ) async throws -> WorkflowHandle {
        try await withSpan("StartWorkflow:\(type)", ofKind: .client) { span in
            span.attributes["temporalWorkflowID"] = id
            let input = try startInput(
                type: type, id: id, taskQueue: taskQueue, arguments: arguments, options: options,
                trace: span.context)
            return try await intercepted(
                interceptors, input, through: { try await $0.startWorkflow($1, next: $2) },
                base: sendStart)
        }
    }

    func startInput(
        type: String, id: String, taskQueue: String, arguments: [any Encodable], options: WorkflowOptions,
        trace: ServiceContext
    ) throws -> StartWorkflowInput {
        var headers: [String: Payload] = [:]
        TraceHeader.inject(trace, into: &headers)
        return StartWorkflowInput(
            workflowType: type, workflowID: id, taskQueue: taskQueue,
            arguments: arguments.isEmpty ? nil : try dataConverter.toPayloads(arguments),
            options: options, headers: headers)
    }

    private func sendStart(_ input: StartWorkflowInput) async throws -> WorkflowHandle {
        var r = Temporal_Api_Workflowservice_V1_StartWorkflowExecutionRequest()
        try fillStart(&r, input)
        let (type, options) = (input.workflowType, input.options)
        // Eager start: a worker of this process with a free slot takes the first task straight
        // from the response (no matching, no poll).
        let eager = options.eagerStart ? eagerAcceptors.reserve(taskQueue: input.taskQueue, workflowType: type) : nil
        let reserved = eager != nil
        r.requestEagerExecution = reserved
        if reserved, let deployment = eager?.eagerWorkerDeploymentOptions { r.eagerWorkerDeploymentOptions = deployment }
        let response: Temporal_Api_Workflowservice_V1_StartWorkflowExecutionResponse
        do {
            response = try await workflowService.startWorkflowExecution(r)
        } catch {
            if reserved { eager?.releaseEagerWorkflowTaskReservation() }
            throw error
        }
        if reserved, let eager {
            if response.hasEagerWorkflowTask, !response.eagerWorkflowTask.taskToken.isEmpty {
                eager.acceptEagerWorkflowTask(response.eagerWorkflowTask)
            } else {
                eager.releaseEagerWorkflowTaskReservation()
            }
        }
        let first = Self.firstExecutionRunID(named: response.firstExecutionRunID, runID: response.runID, started: response.started)
        return WorkflowHandle(client: self, id: input.workflowID, runID: nil, firstExecutionRunID: first, resultRunID: response.runID)
    }

    /// Signals a workflow, starting it first if no run with `id` is open.
    public func signalWithStart(
        type: String, id: String, taskQueue: String, arguments: [any Encodable] = [],
        signal: String, signalArguments: [any Encodable] = [],
        options: WorkflowOptions = WorkflowOptions()
    ) async throws -> WorkflowHandle {
        try await withSpan("SignalWithStartWorkflow:\(type)", ofKind: .client) { span in
            let input = SignalWithStartInput(
                start: try startInput(
                    type: type, id: id, taskQueue: taskQueue, arguments: arguments, options: options,
                    trace: span.context),
                signalName: signal,
                signalArguments: signalArguments.isEmpty ? nil : try dataConverter.toPayloads(signalArguments))
            return try await intercepted(interceptors, input, through: { try await $0.signalWithStart($1, next: $2) }) { input in
                var r = Temporal_Api_Workflowservice_V1_SignalWithStartWorkflowExecutionRequest()
                try self.fillStart(&r, input.start)
                r.signalName = input.signalName
                if let args = input.signalArguments { r.signalInput = args }
                let response = try await self.workflowService.signalWithStartWorkflowExecution(r)
                let first = Self.firstExecutionRunID(
                    named: response.firstExecutionRunID, runID: response.runID, started: response.started)
                return WorkflowHandle(
                    client: self, id: input.start.workflowID, runID: nil, firstExecutionRunID: first, resultRunID: response.runID)
            }
        }
    }

    // MARK: Visibility

    /// The workflows matching a visibility query (e.g. `WorkflowType = 'MockFlow'`), page by page.
    /// Visibility is eventually consistent: a run started a moment ago may be missing.
    public func listWorkflows(query: String = "", pageSize: Int = 100) -> WorkflowExecutionList {
        PagedList { [self] token in
            var r = Temporal_Api_Workflowservice_V1_ListWorkflowExecutionsRequest()
            r.namespace = namespace
            r.pageSize = Int32(clamping: pageSize)
            r.query = query
            r.nextPageToken = token
            let page = try await workflowService.listWorkflowExecutions(r)
            return (page.executions, page.nextPageToken)
        }
    }

    /// The number of workflows matching a visibility query.
    public func countWorkflows(query: String = "") async throws -> Int {
        var r = Temporal_Api_Workflowservice_V1_CountWorkflowExecutionsRequest()
        r.namespace = namespace
        r.query = query
        return Int(try await workflowService.countWorkflowExecutions(r).count)
    }
}
