public import Foundation
public import ServiceLifecycle
import Synchronization
public import Tracing

#if canImport(FoundationNetworking)
import FoundationNetworking
#endif

/// The trace and span ids a span carries in its `ServiceContext`, with the W3C trace flags'
/// sampled bit and the vendors' `tracestate`, both passed on unchanged.
public struct OTLPSpanContext: Sendable, Equatable {
    public var traceID: [UInt8]
    public var spanID: [UInt8]
    /// Whether the trace is sampled (flag 01): an unsampled trace is propagated, not exported.
    public var sampled: Bool
    /// The incoming `tracestate`, if any.
    public var traceState: String?
    /// The incoming W3C `baggage`, if any: passed on unchanged to every span under it and
    /// every header they write (as the other SDKs' OpenTelemetry interceptors propagate it; a
    /// Go client's baggage was gone past a Swift worker).
    public var baggage: String?

    public init(traceID: [UInt8], spanID: [UInt8], sampled: Bool = true, traceState: String? = nil, baggage: String? = nil) {
        self.traceID = traceID
        self.spanID = spanID
        self.sampled = sampled
        self.traceState = traceState
        self.baggage = baggage
    }
}

enum OTLPSpanContextKey: ServiceContextKey {
    typealias Value = OTLPSpanContext
}

/// A small OpenTelemetry tracer for the executables: spans through swift-distributed-tracing,
/// W3C `traceparent` propagation (what `TraceHeader` carries between processes), and export
/// as OTLP/HTTP JSON to `<endpoint>/v1/traces`, in batches every second while `run()` runs (a
/// `Service`: put it in the process's `ServiceGroup`) and at `flush()`. A collector that is
/// down or overloaded (no connection, 429, 502, 503, 504) gets the spans again later, with
/// exponential backoff (at most `maximumBackoff`) or the longer `Retry-After` it asked for (at
/// most `maximumRetryAfter`), as the OTLP specification says;
/// spans wait in a bounded queue meanwhile.
/// It lives outside the libraries: they only use the swift-distributed-tracing API.
public final class OTLPTracer: Tracer, Service, Sendable {
    public typealias Span = OTLPSpan

    /// The collector's traces URL.
    public let tracesURL: URL

    /// `tracesURL` for messages: without a user and password or a query, which may hold a
    /// key (`https://user:key@collector/…`, `?api-key=…`).
    public var tracesURLForMessages: String {
        guard var parts = URLComponents(url: tracesURL, resolvingAgainstBaseURL: false) else { return "(the traces URL)" }
        if parts.user != nil || parts.password != nil {
            parts.user = nil
            parts.password = nil
        }
        if parts.query != nil { parts.query = "redacted" }
        return parts.string ?? "(the traces URL)"
    }
    public let serviceName: String
    /// Headers sent with every export (a hosted collector's API key, say).
    public let headers: [String: String]
    /// The resource's attributes beside `service.name` (`OTEL_RESOURCE_ATTRIBUTES`:
    /// `deployment.environment`, `service.version`, …).
    public let resourceAttributes: [String: String]
    /// How long one export may take (`OTEL_EXPORTER_OTLP_TIMEOUT`, default `exportTimeout`).
    public let timeout: TimeInterval
    /// Which traces begun here are recorded (`OTEL_TRACES_SAMPLER`).
    public let sampler: OTLPSampler
    /// Whether a recorded error's text is exported (its type always is). Off where payloads and
    /// error messages are encrypted (`fromEnvironment` with `TEMPORAL_PAYLOAD_KEY_FILE` set):
    /// the messages the server sees encrypted went to the collector in the clear.
    public let exportsErrorMessages: Bool
    private let pending = Mutex<[[String: any Sendable]]>([])
    /// Export failures since the last line written about them, and when that was: a collector
    /// that is down gets one line a minute, not one a second.
    private let failures = Mutex<(count: Int, spans: Int, lastReport: ContinuousClock.Instant?)>((0, 0, nil))
    /// Exports that failed in a row with a retryable answer, and when the next may go.
    private let backoff = Mutex<(failures: Int, until: ContinuousClock.Instant?)>((0, nil))
    /// When the periodic flush was stopped (the end began): the final flush's deadline counts
    /// from here, the upload it waited for included.
    private let stoppedAt = Mutex<ContinuousClock.Instant?>(nil)

    /// How long one export may take (the collector not answering must not hold a shutdown).
    public static let exportTimeout: TimeInterval = 5
    /// The most finished spans kept while the collector cannot take them; older ones go first.
    public static let maximumPendingSpans = 20_000
    /// The most spans one export carries (OpenTelemetry's default batch size): a collector or
    /// hosted backend with a body limit refused a backlog sent whole.
    public static let maximumBatchSpans = 512
    /// The longest wait between retries of a collector that keeps failing.
    public static let maximumBackoff: Duration = .seconds(30)
    /// The longest `Retry-After` honoured (a collector asking for more is tried again then).
    public static let maximumRetryAfter: Duration = .seconds(600)
    /// This library's version, sent as `telemetry.sdk.version` (the package's, as
    /// `TemporalClient.version`).
    public static let sdkVersion = "0.1.0"
    /// How long the final flush may send batches (a backlog to a slow collector must not hold
    /// a process's exit for minutes; what is left is counted as dropped).
    public static let shutdownFlushTime: Duration = .seconds(10)

    /// - Parameter endpoint: the OTLP/HTTP base, e.g. `http://localhost:4318` (`/v1/traces` is added).
    public convenience init(
        endpoint: URL, serviceName: String, headers: [String: String] = [:], resourceAttributes: [String: String] = [:],
        timeout: TimeInterval = exportTimeout, sampler: OTLPSampler = .parentBased(.alwaysOn), exportsErrorMessages: Bool = true
    ) {
        self.init(
            tracesURL: endpoint.path.hasSuffix("/v1/traces") ? endpoint : endpoint.appendingPathComponent("v1/traces"),
            serviceName: serviceName, headers: headers, resourceAttributes: resourceAttributes, timeout: timeout, sampler: sampler,
            exportsErrorMessages: exportsErrorMessages)
    }

    /// - Parameter tracesURL: the whole traces URL, used as given.
    public init(
        tracesURL: URL, serviceName: String, headers: [String: String] = [:], resourceAttributes: [String: String] = [:],
        timeout: TimeInterval = exportTimeout, sampler: OTLPSampler = .parentBased(.alwaysOn), exportsErrorMessages: Bool = true
    ) {
        self.exportsErrorMessages = exportsErrorMessages
        self.tracesURL = tracesURL
        self.serviceName = serviceName
        self.headers = headers
        self.resourceAttributes = resourceAttributes.filter { $0.key != "service.name" }
        self.timeout = timeout
        self.sampler = sampler
    }

    /// The tracer the OpenTelemetry exporter variables ask for, or nil when neither
    /// `OTEL_EXPORTER_OTLP_TRACES_ENDPOINT` (the traces URL, as given) nor
    /// `OTEL_EXPORTER_OTLP_ENDPOINT` (a base, `/v1/traces` added) is set; with
    /// `OTEL_EXPORTER_OTLP_HEADERS` / `OTEL_EXPORTER_OTLP_TRACES_HEADERS` (`key=value,…`, values
    /// percent-encoded), `OTEL_SERVICE_NAME`, `OTEL_RESOURCE_ATTRIBUTES` (its `service.name`
    /// when `OTEL_SERVICE_NAME` is unset), `OTEL_EXPORTER_OTLP_TIMEOUT` /
    /// `OTEL_EXPORTER_OTLP_TRACES_TIMEOUT` (milliseconds) and `OTEL_TRACES_SAMPLER` /
    /// `OTEL_TRACES_SAMPLER_ARG`. `OTEL_SDK_DISABLED=true` or `OTEL_TRACES_EXPORTER=none` turn
    /// tracing off, and so does a protocol other than OTLP/HTTP (`OTEL_EXPORTER_OTLP_PROTOCOL` /
    /// `_TRACES_PROTOCOL` `grpc`), saying so.
    public static func fromEnvironment(serviceName: String, _ env: [String: String] = ProcessInfo.processInfo.environment)
        -> OTLPTracer?
    {
        func value(_ name: String) -> String? { env[name].flatMap { $0.isEmpty ? nil : $0 } }
        if value("OTEL_SDK_DISABLED")?.lowercased() == "true" || value("OTEL_TRACES_EXPORTER")?.lowercased() == "none" { return nil }
        /// `key=value,…` with percent-encoded values (headers, resource attributes).
        func pairs(_ variables: [String]) -> [String: String] {
            var result: [String: String] = [:]
            for variable in variables {
                for pair in (value(variable) ?? "").split(separator: ",") {
                    guard let eq = pair.firstIndex(of: "=") else { continue }
                    let key = pair[..<eq].trimmingCharacters(in: .whitespaces)
                    let raw = pair[pair.index(after: eq)...].trimmingCharacters(in: .whitespaces)
                    if !key.isEmpty { result[key] = raw.removingPercentEncoding ?? raw }
                }
            }
            return result
        }
        let headers = pairs(["OTEL_EXPORTER_OTLP_HEADERS", "OTEL_EXPORTER_OTLP_TRACES_HEADERS"])
        let resource = pairs(["OTEL_RESOURCE_ATTRIBUTES"])
        let name = value("OTEL_SERVICE_NAME") ?? resource["service.name"] ?? serviceName
        var timeout = exportTimeout
        for variable in ["OTEL_EXPORTER_OTLP_TRACES_TIMEOUT", "OTEL_EXPORTER_OTLP_TIMEOUT"] {
            guard let raw = value(variable) else { continue }
            if let milliseconds = Double(raw.trimmingCharacters(in: .whitespaces)), milliseconds > 0, milliseconds.isFinite {
                timeout = milliseconds / 1_000
            } else {
                warn("\(variable)='\(raw)' is not a number of milliseconds: using \(Int(exportTimeout * 1_000))")
            }
            break
        }
        let sampler: OTLPSampler
        switch OTLPSampler.named(value("OTEL_TRACES_SAMPLER") ?? "parentbased_always_on", argument: value("OTEL_TRACES_SAMPLER_ARG")) {
        case .success(let named): sampler = named
        case .failure(let problem):
            warn("\(problem): using parentbased_always_on")
            sampler = .parentBased(.alwaysOn)
        }
        // OTLP/HTTP collectors take JSON beside protobuf on the same path; gRPC is another port
        // and protocol (every export would fail).
        for variable in ["OTEL_EXPORTER_OTLP_TRACES_PROTOCOL", "OTEL_EXPORTER_OTLP_PROTOCOL"] {
            guard let protocolName = value(variable) else { continue }
            guard ["http/json", "http/protobuf"].contains(protocolName.lowercased()) else {
                warn(
                    "\(variable)='\(protocolName)': this exporter speaks OTLP/HTTP only; set http/protobuf or http/json and the collector's HTTP endpoint (port 4318): tracing is off"
                )
                return nil
            }
            if protocolName.lowercased() == "http/protobuf" {
                // Said, not refused: the OpenTelemetry Collector takes both on the same path.
                warn(
                    "\(variable)='\(protocolName)': this exporter sends OTLP/HTTP JSON (Content-Type application/json), which the OpenTelemetry Collector takes on the same path; a back end that takes protobuf only refuses every export (set http/json to silence this)"
                )
            }
            break
        }
        // Where payloads and error messages are encrypted, errors' text stays out of the spans.
        let messages = env["TEMPORAL_PAYLOAD_KEY_FILE"].map { $0.trimmingCharacters(in: .whitespacesAndNewlines).isEmpty } ?? true
        if let raw = value("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT") {
            guard let url = httpURL(raw, "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT") else { return nil }
            return OTLPTracer(
                tracesURL: url, serviceName: name, headers: headers, resourceAttributes: resource, timeout: timeout, sampler: sampler,
                exportsErrorMessages: messages)
        }
        guard let raw = value("OTEL_EXPORTER_OTLP_ENDPOINT"), let url = httpURL(raw, "OTEL_EXPORTER_OTLP_ENDPOINT") else { return nil }
        return OTLPTracer(
            endpoint: url, serviceName: name, headers: headers, resourceAttributes: resource, timeout: timeout, sampler: sampler,
            exportsErrorMessages: messages)
    }

    /// A line on standard error about the tracing configuration.
    static func warn(_ line: String) {
        FileHandle.standardError.write(Data((line + "\n").utf8))
    }

    /// `raw` as an `http`/`https` URL with a host, or nil after saying on standard error why
    /// tracing is off (`localhost:4318` reads as the scheme `localhost`: every export failed).
    static func httpURL(_ raw: String, _ variable: String) -> URL? {
        if let url = URL(string: raw), ["http", "https"].contains(url.scheme?.lowercased() ?? ""), url.host?.isEmpty == false {
            return url
        }
        // Not the value itself past a `@` or `?`: it may hold a key.
        let shown = raw.contains("@") || raw.contains("?") ? "(not shown: it may hold a key)" : "'\(raw)'"
        warn("\(variable)=\(shown) is not an http(s) URL with a host (e.g. http://localhost:4318): tracing is off")
        return nil
    }

    /// The tracer `fromEnvironment` gives, bootstrapped as the process's tracer and exporting;
    /// nil when no endpoint is set.
    public static func bootstrapFromEnvironment(
        serviceName: String,
        _ env: [String: String] = ProcessInfo.processInfo.environment
    ) -> OTLPTracer? {
        guard let tracer = fromEnvironment(serviceName: serviceName, env) else { return nil }
        InstrumentationSystem.bootstrap(tracer)
        return tracer
    }

    /// Runs `body` with the tracer `bootstrapFromEnvironment` gives (if any) exporting beside
    /// it as a child task, and flushes it when `body` returns or throws: a short-lived command's
    /// spans are all exported.
    public static func tracing<T: Sendable>(serviceName: String, _ body: () async throws -> T) async throws -> T {
        guard let tracer = bootstrapFromEnvironment(serviceName: serviceName) else { return try await body() }
        let result: Result<T, any Error> = await withTaskGroup(of: Void.self) { group in
            group.addTask { await tracer.exportEverySecond() }
            defer { group.cancelAll() }
            do { return .success(try await body()) } catch { return .failure(error) }
        }
        await tracer.shutdown()
        return try result.get()
    }

    /// Exports every second until the group's graceful shutdown (or this task's cancellation),
    /// then sends what is left. Register it first in a `ServiceGroup`: the group stops its
    /// services in reverse order, so the spans of everything else's shutdown go out too.
    public func run() async throws {
        await cancelWhenGracefulShutdown { await self.exportEverySecond() }
        await shutdown()
    }

    /// Sends what is left (the end of a process that does not `run()` the tracer), and says
    /// how many spans were dropped since the last line about it. The export runs apart from the
    /// caller's task: a shutdown whose task is cancelled already (a second SIGTERM, a failed
    /// service) still sends the spans that tell what happened.
    public func shutdown() async {
        let deadline = (stoppedAt.withLock { $0 } ?? ContinuousClock.now) + Self.shutdownFlushTime
        await Task.detached { await self.flush(waitingForBackoff: false, until: deadline) }.value
        let left = pending.withLock { p -> Int in
            defer { p = [] }
            return p.count
        }
        if left > 0 { reportFailure("not sent before the end", spans: left) }
        reportDropped()
    }

    /// Writes the failures not reported yet (at the end: the once-a-minute line may not come).
    private func reportDropped() {
        let line = failures.withLock { f -> String? in
            guard f.count > 0 else { return nil }
            defer { f = (0, 0, ContinuousClock.now) }
            return "OTLP export to \(tracesURLForMessages): \(f.spans) more spans dropped (\(f.count) failures) since the last report\n"
        }
        if let line { FileHandle.standardError.write(Data(line.utf8)) }
    }

    private func exportEverySecond() async {
        await withTaskCancellationHandler {
            while !Task.isCancelled {
                try? await Task.sleep(for: .seconds(1))
                if !Task.isCancelled { await flush(waitingForBackoff: true) }
            }
        } onCancel: {
            let stopped = ContinuousClock.now
            stoppedAt.withLock { $0 = $0 ?? stopped }
        }
    }

    // MARK: Tracer

    public func startSpan<Instant: TracerInstant>(
        _ operationName: String, context: @autoclosure () -> ServiceContext, ofKind kind: SpanKind,
        at instant: @autoclosure () -> Instant, function: String, file fileID: String, line: UInt
    ) -> OTLPSpan {
        var context = context()
        let parent = context[OTLPSpanContextKey.self]
        // The sampler decides (by default: a trace begun elsewhere keeps its decision, one begun
        // here is sampled).
        let traceID = parent?.traceID ?? Self.randomBytes(16)
        let ids = OTLPSpanContext(
            traceID: traceID, spanID: Self.randomBytes(8), sampled: sampler.samples(traceID: traceID, parentSampled: parent?.sampled),
            traceState: parent?.traceState, baggage: parent?.baggage)
        context[OTLPSpanContextKey.self] = ids
        return OTLPSpan(
            name: operationName, kind: kind, context: context, ids: ids, parentSpanID: parent?.spanID,
            start: instant().nanosecondsSinceEpoch, tracer: self)
    }

    public func activeSpan(identifiedBy context: ServiceContext) -> OTLPSpan? { nil }

    public func forceFlush() {
        Task { await self.flush() }
    }

    // MARK: Instrument (W3C trace context)

    public func inject<Carrier, Inject: Injector>(_ context: ServiceContext, into carrier: inout Carrier, using injector: Inject)
    where Inject.Carrier == Carrier {
        guard let ids = context[OTLPSpanContextKey.self] else { return }
        injector.inject(
            "00-\(Self.hex(ids.traceID))-\(Self.hex(ids.spanID))-\(ids.sampled ? "01" : "00")", forKey: "traceparent", into: &carrier)
        if let state = ids.traceState { injector.inject(state, forKey: "tracestate", into: &carrier) }
        if let baggage = ids.baggage { injector.inject(baggage, forKey: "baggage", into: &carrier) }
    }

    public func extract<Carrier, Extract: Extractor>(_ carrier: Carrier, into context: inout ServiceContext, using extractor: Extract)
    where Extract.Carrier == Carrier {
        guard let header = extractor.extract(key: "traceparent", from: carrier) else { return }
        // version-traceid-parentid-flags (W3C Trace Context); version ff and all-zero ids are
        // invalid, and a later version may append fields.
        let parts = header.split(separator: "-", omittingEmptySubsequences: false)
        guard parts.count >= 4, Self.bytes(parts[0])?.count == 1, parts[0] != "ff", parts[0] == "00" ? parts.count == 4 : true,
            let trace = Self.bytes(parts[1]), trace.count == 16, trace.contains(where: { $0 != 0 }),
            let span = Self.bytes(parts[2]), span.count == 8, span.contains(where: { $0 != 0 }),
            let flags = Self.bytes(parts[3])?.first, parts[3].count == 2
        else { return }
        let state = extractor.extract(key: "tracestate", from: carrier).flatMap { $0.isEmpty ? nil : $0 }
        // Baggage is kept as it came, up to W3C's 8,192 bytes (a longer one is not propagated).
        let baggage = extractor.extract(key: "baggage", from: carrier).flatMap { $0.isEmpty || $0.utf8.count > 8_192 ? nil : $0 }
        context[OTLPSpanContextKey.self] = OTLPSpanContext(
            traceID: trace, spanID: span, sampled: flags & 1 == 1, traceState: state, baggage: baggage)
    }

    // MARK: Export

    func finished(_ span: [String: any Sendable]) {
        let dropped = pending.withLock { p -> Int in
            p.append(span)
            guard p.count > Self.maximumPendingSpans else { return 0 }
            // A tenth at a time: not one shift of the whole buffer per span.
            let over = p.count - Self.maximumPendingSpans * 9 / 10
            p.removeFirst(over)
            return over
        }
        if dropped > 0 { reportFailure("more than \(Self.maximumPendingSpans) spans waiting", spans: dropped) }
    }

    /// Says on standard error that an export failed and how many spans were dropped, at most
    /// once a minute (with how many since the last line).
    private func reportFailure(_ reason: String, spans: Int, waiting: Int? = nil) {
        let now = ContinuousClock.now
        let line = failures.withLock { f -> String? in
            f.count += 1
            f.spans += spans
            if let last = f.lastReport, now - last < .seconds(60) { return nil }
            defer { f = (0, 0, now) }
            let kept = waiting.map { "; \($0) spans wait to be sent again" } ?? ""
            return
                "OTLP export to \(tracesURLForMessages): \(reason)\(kept); \(f.spans) spans dropped (\(f.count) failures since the last report; reported at most once a minute)\n"
        }
        if let line { FileHandle.standardError.write(Data(line.utf8)) }
    }

    /// Puts spans a retryable failure sent back at the head of the queue, dropping the oldest
    /// over `maximumPendingSpans`.
    private func requeue(_ spans: [[String: any Sendable]]) -> (waiting: Int, dropped: Int) {
        pending.withLock { p in
            p.insert(contentsOf: spans, at: 0)
            let over = max(0, p.count - Self.maximumPendingSpans)
            p.removeFirst(over)
            return (p.count, over)
        }
    }

    /// What one export came to.
    /// The spans collectors took but rejected (`partialSuccess`), in all.
    let rejectedSpans = Mutex(0)

    enum ExportOutcome: Equatable {
        case sent
        /// Taken, but the collector rejected some of its spans (OTLP's `partialSuccess`: not to
        /// be sent again, but said).
        case partiallyRejected(Int, String)
        /// Refused for good (a 4xx but 429, a body that is not JSON): the batch is dropped.
        case dropped(String)
        /// Worth sending again: no connection, a timeout, 429, 502, 503, 504.
        case retry(String, after: Duration?)
        /// The task was cancelled mid-upload.
        case cancelled
    }

    /// Sends the finished spans, in batches of at most `maximumBatchSpans`; failures are
    /// reported on standard error. A retryable failure keeps the batch for a later flush.
    public func flush() async {
        await flush(waitingForBackoff: false)
    }

    /// `flush()`; with `waitingForBackoff`, nothing goes before the backoff after a retryable
    /// failure has passed (the periodic exports).
    func flush(waitingForBackoff: Bool, until deadline: ContinuousClock.Instant? = nil) async {
        if waitingForBackoff, let until = backoff.withLock({ $0.until }), ContinuousClock.now < until { return }
        while deadline.map({ ContinuousClock.now < $0 }) ?? true {
            // A periodic flush stopped (the tracer shutting down) starts no more uploads: the
            // final flush sends what is left.
            if deadline == nil, Task.isCancelled { return }
            let batch = pending.withLock { p -> [[String: any Sendable]] in
                let count = min(p.count, Self.maximumBatchSpans)
                defer { p.removeFirst(count) }
                return Array(p.prefix(count))
            }
            guard !batch.isEmpty else { return }
            // No export past the flush's deadline (a long OTEL_EXPORTER_OTLP_TIMEOUT held the
            // end of a process that long).
            let left = deadline.map { ContinuousClock.now.duration(to: $0) }.map {
                Double($0.components.seconds) + Double($0.components.attoseconds) / 1e18
            }
            // An upload under way is waited for, not abandoned when the flush is cancelled: the
            // collector may have taken its spans already, and the final flush sent them again
            // (every span of that batch twice in a back end that does not deduplicate).
            // It has until the end's deadline (`shutdownFlushTime` from the stop), which the
            // final flush shares: an unreachable collector held the end twice that long.
            let exportTimeout = min(timeout, max(0.1, left ?? timeout))
            let upload = Task { await self.export(batch, timeout: exportTimeout) }
            // The end's deadline is a bound on the upload itself: the request's timeout is one on
            // silence only, and a collector or proxy that trickled its answer held the end of the
            // process past `shutdownFlushTime`.
            let watchdog = deadline.map { end in
                Task {
                    try? await Task.sleep(until: end, clock: .continuous)
                    if !Task.isCancelled { upload.cancel() }
                }
            }
            defer { watchdog?.cancel() }
            let outcome = await withTaskCancellationHandler {
                await upload.value
            } onCancel: {
                let stopped = ContinuousClock.now
                Task {
                    try? await Task.sleep(until: stopped + Self.shutdownFlushTime)
                    upload.cancel()
                }
            }
            switch outcome {
            case .sent:
                backoff.withLock { $0 = (0, nil) }
            case .partiallyRejected(let rejected, let message):
                backoff.withLock { $0 = (0, nil) }
                rejectedSpans.withLock { $0 += rejected }
                reportFailure(
                    "the collector rejected \(rejected) of \(batch.count) spans\(message.isEmpty ? "" : ": \(message)")", spans: rejected)
            case .dropped(let reason):
                reportFailure(reason, spans: batch.count)
            case .cancelled:
                // Stopped mid-upload at the end's deadline: the spans are counted as not sent.
                _ = requeue(batch)
                return
            case .retry(let reason, let asked):
                let (waiting, dropped) = requeue(batch)
                let wait = backoff.withLock { b -> Duration in
                    b.failures += 1
                    let exponential = Duration.seconds(1 << min(b.failures - 1, 5))
                    let wait = Self.wait(asked: asked, exponential: exponential)
                    b.until = ContinuousClock.now + wait
                    return wait
                }
                reportFailure("\(reason); next try in \(wait)", spans: dropped, waiting: waiting)
                // At the end (a deadline), tried again after the backoff while time is left:
                // a short command's spans go out only here, and one refusal (a collector
                // restarting) lost them all.
                guard let deadline, ContinuousClock.now + wait < deadline, waiting > 0 else { return }
                try? await Task.sleep(for: wait)
            }
        }
    }

    /// How long to wait before retrying: the exponential backoff (at most `maximumBackoff`), or
    /// the collector's `Retry-After` when longer (at most `maximumRetryAfter`; it was cut to 30 s,
    /// and a collector asking for two minutes was asked again after thirty seconds).
    static func wait(asked: Duration?, exponential: Duration) -> Duration {
        max(min(asked ?? .zero, maximumRetryAfter), min(maximumBackoff, exponential))
    }

    /// The resource's attributes as OTLP JSON: `service.name`, the SDK's (`telemetry.sdk.*`),
    /// then the operator's, each key once (OTLP wants unique keys: one the operator gives
    /// replaces the SDK's value in its place).
    var resource: [[String: Any]] {
        let sdk = [
            ("telemetry.sdk.name", "temporal-etl-swift"), ("telemetry.sdk.language", "swift"),
            ("telemetry.sdk.version", Self.sdkVersion),
        ]
        let attributes =
            [("service.name", serviceName)] + sdk.map { ($0.0, resourceAttributes[$0.0] ?? $0.1) }
            + resourceAttributes.filter { key, _ in !sdk.contains { $0.0 == key } }.sorted { $0.key < $1.key }.map { ($0.key, $0.value) }
        return attributes.map { ["key": $0.0, "value": ["stringValue": $0.1]] }
    }

    /// Sends one batch as an OTLP/HTTP JSON request.
    func export(_ spans: [[String: any Sendable]], timeout: TimeInterval? = nil) async -> ExportOutcome {
        let body: [String: Any] = [
            "resourceSpans": [
                [
                    "resource": ["attributes": resource],
                    "scopeSpans": [["scope": ["name": "temporal-etl-swift"], "spans": spans]],
                ]
            ]
        ]
        guard JSONSerialization.isValidJSONObject(body), let data = try? JSONSerialization.data(withJSONObject: body) else {
            return .dropped("\(spans.count) spans could not be written as JSON")
        }
        var request = URLRequest(url: tracesURL)
        request.timeoutInterval = timeout ?? self.timeout
        request.httpMethod = "POST"
        request.setValue("application/json", forHTTPHeaderField: "Content-Type")
        for (name, value) in headers { request.setValue(value, forHTTPHeaderField: name) }
        do {
            let (answer, response) = try await URLSession.shared.upload(for: request, from: data)
            guard let http = response as? HTTPURLResponse, !(200..<300).contains(http.statusCode) else {
                return Self.partialSuccess(answer).map { .partiallyRejected($0.rejected, $0.message) } ?? .sent
            }
            if [429, 502, 503, 504].contains(http.statusCode) {
                let asked = http.value(forHTTPHeaderField: "Retry-After").flatMap { Self.retryAfter($0, now: Date()) }
                return .retry("answered \(http.statusCode)", after: asked)
            }
            return .dropped("answered \(http.statusCode)")
        } catch  where Task.isCancelled {
            return .cancelled
        } catch {
            // Foundation's error names the URL, with what it holds.
            return .retry(
                "failed: \("\(error)".replacingOccurrences(of: tracesURL.absoluteString, with: tracesURLForMessages))", after: nil)
        }
    }

    /// The spans a 2xx answer's `partialSuccess` says the collector rejected (OTLP/HTTP JSON:
    /// `rejectedSpans`, an int64 as a string or a number) and its `errorMessage` (at most 300
    /// characters); nil when it rejected none.
    static func partialSuccess(_ body: Data) -> (rejected: Int, message: String)? {
        guard !body.isEmpty, let object = try? JSONSerialization.jsonObject(with: body) as? [String: Any],
            let partial = object["partialSuccess"] as? [String: Any]
        else { return nil }
        let rejected = (partial["rejectedSpans"] as? String).flatMap { Int($0) } ?? (partial["rejectedSpans"] as? NSNumber)?.intValue ?? 0
        guard rejected > 0 else { return nil }
        return (rejected, String((partial["errorMessage"] as? String ?? "").prefix(300)))
    }

    /// A `Retry-After` value as a wait: delay-seconds, or an HTTP-date (RFC 9110 §10.2.3, the
    /// IMF-fixdate form gateways send) less `now`; nil when it is neither.
    static func retryAfter(_ value: String, now: Date) -> Duration? {
        let text = value.trimmingCharacters(in: .whitespaces)
        if let seconds = Int(text) { return .seconds(max(0, seconds)) }
        let formatter = DateFormatter()
        formatter.locale = Locale(identifier: "en_US_POSIX")
        formatter.timeZone = TimeZone(identifier: "GMT")
        formatter.dateFormat = "EEE, dd MMM yyyy HH:mm:ss 'GMT'"
        guard let date = formatter.date(from: text) else { return nil }
        return .seconds(max(0, Int(date.timeIntervalSince(now).rounded(.up))))
    }

    static func randomBytes(_ count: Int) -> [UInt8] {
        var generator = SystemRandomNumberGenerator()
        return (0..<count).map { _ in UInt8.random(in: 0...255, using: &generator) }
    }

    static func hex(_ bytes: [UInt8]) -> String { bytes.map { String(format: "%02x", $0) }.joined() }

    static func bytes(_ hex: Substring) -> [UInt8]? {
        guard hex.count % 2 == 0 else { return nil }
        var out: [UInt8] = []
        var index = hex.startIndex
        while index < hex.endIndex {
            let next = hex.index(index, offsetBy: 2)
            // W3C trace context: lower-case hex digits only (UInt8(radix:) also takes "+", "A").
            guard hex[index..<next].allSatisfy({ $0.isASCII && ($0.isNumber || ("a"..."f").contains($0)) }),
                let byte = UInt8(hex[index..<next], radix: 16)
            else { return nil }
            out.append(byte)
            index = next
        }
        return out
    }
}

/// A span of `OTLPTracer`; sent to the tracer when it ends.
public final class OTLPSpan: Tracing.Span, @unchecked Sendable {
    public let context: ServiceContext
    let ids: OTLPSpanContext
    let parentSpanID: [UInt8]?
    let kind: SpanKind
    let start: UInt64
    let tracer: OTLPTracer
    private let lock = NSLock()
    private var name: String
    private var _attributes = SpanAttributes()
    private var status: SpanStatus?
    private var ended = false
    /// Its events (`addEvent`, `recordError`'s `exception`), the first `maximumEvents`.
    private var events: [SpanEvent] = []
    /// Its links to spans of this tracer (`addLink`), the first `maximumLinks`.
    private var links: [(ids: OTLPSpanContext, attributes: SpanAttributes)] = []

    /// The most events a span keeps (OpenTelemetry's default span limit).
    static let maximumEvents = 128
    /// The most links a span keeps (OpenTelemetry's default span limit).
    static let maximumLinks = 128

    init(
        name: String, kind: SpanKind, context: ServiceContext, ids: OTLPSpanContext, parentSpanID: [UInt8]?, start: UInt64,
        tracer: OTLPTracer
    ) {
        self.name = name
        self.kind = kind
        self.context = context
        self.ids = ids
        self.parentSpanID = parentSpanID
        self.start = start
        self.tracer = tracer
    }

    public var operationName: String {
        get { lock.withLock { name } }
        set { lock.withLock { name = newValue } }
    }

    public var attributes: SpanAttributes {
        get { lock.withLock { _attributes } }
        set { lock.withLock { _attributes = newValue } }
    }

    /// False for a span of an unsampled trace: it carries the context on, and is not exported.
    public var isRecording: Bool { ids.sampled && lock.withLock { !ended } }

    public func setStatus(_ status: SpanStatus) { lock.withLock { self.status = status } }
    public func addEvent(_ event: SpanEvent) {
        lock.withLock { if !ended, events.count < Self.maximumEvents { events.append(event) } }
    }
    /// Keeps a link to a span of this tracer (its context names one); others carry no ids to
    /// export. They were dropped.
    public func addLink(_ link: SpanLink) {
        guard let linked = link.context[OTLPSpanContextKey.self] else { return }
        lock.withLock { if !ended, links.count < Self.maximumLinks { links.append((linked, link.attributes)) } }
    }

    /// Marks the span failed and records the error as OpenTelemetry's `exception` event (its
    /// type and message), as the OTel API's RecordException does: tracing back ends show it on
    /// the span. Before, only the status was set.
    public func recordError<Instant: TracerInstant>(_ error: any Error, attributes: SpanAttributes, at instant: @autoclosure () -> Instant)
    {
        var described = attributes
        let typeName = String(reflecting: type(of: error))
        described["exception.type"] = typeName
        let text = tracer.exportsErrorMessages ? "\(error)" : nil
        if let text { described["exception.message"] = text }
        addEvent(SpanEvent(name: "exception", at: instant(), attributes: described))
        setStatus(SpanStatus(code: .error, message: text ?? typeName))
    }

    /// A double as OTLP's JSON writes it: the non-finite ones as strings (JSON has no NaN).
    private static func double(_ v: Double) -> any Sendable { v.isFinite ? v : v.isNaN ? "NaN" : v > 0 ? "Infinity" : "-Infinity" }

    /// OTLP JSON's `arrayValue` of `values`.
    private static func array(_ values: [[String: any Sendable]]) -> [String: any Sendable] {
        ["arrayValue": ["values": values] as [String: any Sendable]]
    }

    /// `attributes` as OTLP JSON key-values.
    static func encoded(_ attributes: SpanAttributes) -> [[String: any Sendable]] {
        var out: [[String: any Sendable]] = []
        // SpanAttributes is not a Sequence: forEach is its only iteration.
        // swift-format-ignore: ReplaceForEachWithForLoop
        attributes.forEach { key, value in
            let encoded: [String: any Sendable]
            switch value {
            case .int32(let v): encoded = ["intValue": String(v)]
            case .int64(let v): encoded = ["intValue": String(v)]
            // OTLP's JSON writes the non-finite doubles as strings (JSON has no NaN).
            case .double(let v):
                encoded = ["doubleValue": double(v)]
            case .bool(let v): encoded = ["boolValue": v]
            case .string(let v): encoded = ["stringValue": v]
            case .stringConvertible(let v): encoded = ["stringValue": v.description]
            // Arrays as OTLP's `arrayValue` (they were written as Swift's debug text).
            case .int32Array(let v): encoded = array(v.map { ["intValue": String($0)] })
            case .int64Array(let v): encoded = array(v.map { ["intValue": String($0)] })
            case .doubleArray(let v):
                encoded = array(v.map { ["doubleValue": double($0)] })
            case .boolArray(let v): encoded = array(v.map { ["boolValue": $0] })
            case .stringArray(let v): encoded = array(v.map { ["stringValue": $0] })
            case .stringConvertibleArray(let v): encoded = array(v.map { ["stringValue": $0.description] })
            default: encoded = ["stringValue": "\(value)"]
            }
            out.append(["key": key, "value": encoded])
        }
        return out
    }

    public func end<Instant: TracerInstant>(at instant: @autoclosure () -> Instant) {
        let end = instant().nanosecondsSinceEpoch
        let record: [String: any Sendable]? = lock.withLock {
            guard !ended else { return nil }
            ended = true
            // An unsampled span is not exported: nothing to encode (its attributes' descriptions
            // were built and thrown away, under the deadlock timer for a workflow's spans).
            guard ids.sampled else { return nil }
            let attributes = Self.encoded(_attributes)
            var span: [String: any Sendable] = [
                "traceId": OTLPTracer.hex(ids.traceID), "spanId": OTLPTracer.hex(ids.spanID), "name": name,
                "kind": Self.kindNumber(kind), "startTimeUnixNano": String(start), "endTimeUnixNano": String(end),
                "attributes": attributes,
            ]
            if let parentSpanID { span["parentSpanId"] = OTLPTracer.hex(parentSpanID) }
            // The incoming `tracestate`, which the span carries on: exported with it too.
            if let state = ids.traceState { span["traceState"] = state }
            if !links.isEmpty {
                span["links"] = links.map { link -> [String: any Sendable] in
                    var encoded: [String: any Sendable] = [
                        "traceId": OTLPTracer.hex(link.ids.traceID), "spanId": OTLPTracer.hex(link.ids.spanID),
                        "attributes": Self.encoded(link.attributes),
                    ]
                    if let state = link.ids.traceState { encoded["traceState"] = state }
                    return encoded
                }
            }
            if !events.isEmpty {
                span["events"] = events.map { event -> [String: any Sendable] in
                    ["timeUnixNano": String(event.nanosecondsSinceEpoch), "name": event.name, "attributes": Self.encoded(event.attributes)]
                }
            }
            if let status {
                let encoded: [String: any Sendable] = ["code": status.code == .error ? 2 : 1, "message": status.message ?? ""]
                span["status"] = encoded
            }
            return span
        }
        if let record { tracer.finished(record) }
    }

    /// OTLP's SpanKind numbers.
    static func kindNumber(_ kind: SpanKind) -> Int {
        switch kind {
        case .internal: 1
        case .server: 2
        case .client: 3
        case .producer: 4
        case .consumer: 5
        }
    }
}
