import Foundation
import Synchronization
import TemporalTestSupport
import Testing
import Tracing

@testable import TemporalOTLP

/// `OTLPTracer`'s W3C trace context and its configuration from the environment (an instance,
/// never bootstrapped: the test process keeps its own tracer).
@Suite struct OTLPTracerTests {
    struct Carrier: Injector, Extractor {
        func inject(_ value: String, forKey key: String, into carrier: inout [String: String]) { carrier[key] = value }
        func extract(key: String, from carrier: [String: String]) -> String? { carrier[key] }
    }

    static let tracer = OTLPTracer(endpoint: URL(string: "http://127.0.0.1:1")!, serviceName: "test")

    static func extracted(_ headers: [String: String]) -> OTLPSpanContext? {
        var context = ServiceContext.topLevel
        tracer.extract(headers, into: &context, using: Carrier())
        return context[OTLPSpanContextKey.self]
    }

    @Test func anUnsampledTraceIsPassedOnNotRecorded() {
        let incoming = [
            "traceparent": "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-00", "tracestate": "vendor=opaque",
        ]
        let parent = try? #require(Self.extracted(incoming))
        #expect(parent?.sampled == false)
        var context = ServiceContext.topLevel
        context[OTLPSpanContextKey.self] = parent
        let span = Self.tracer.startSpan("child", context: context, ofKind: .internal, at: DefaultTracerClock.now)
        #expect(!span.isRecording)
        var outgoing: [String: String] = [:]
        Self.tracer.inject(span.context, into: &outgoing, using: Carrier())
        #expect(outgoing["traceparent"]?.hasPrefix("00-0af7651916cd43dd8448eb211c80319c-") == true)
        #expect(outgoing["traceparent"]?.hasSuffix("-00") == true, "\(outgoing)")
        #expect(outgoing["tracestate"] == "vendor=opaque")
        span.end()

        let sampled = Self.extracted(["traceparent": "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"])
        #expect(sampled?.sampled == true)
        let root = Self.tracer.startSpan("root", context: .topLevel, ofKind: .internal, at: DefaultTracerClock.now)
        #expect(root.isRecording)
        root.end()
    }

    /// W3C baggage in an incoming header goes on to every span under it and the headers they
    /// write, as the other SDKs' interceptors propagate it (it was dropped here).
    @Test func baggageIsPassedOn() {
        let incoming = [
            "traceparent": "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01", "baggage": "tenant=acme,region=eu",
        ]
        var context = ServiceContext.topLevel
        context[OTLPSpanContextKey.self] = Self.extracted(incoming)
        let span = Self.tracer.startSpan("child", context: context, ofKind: .internal, at: DefaultTracerClock.now)
        let grandchild = Self.tracer.startSpan("grandchild", context: span.context, ofKind: .client, at: DefaultTracerClock.now)
        var outgoing: [String: String] = [:]
        Self.tracer.inject(grandchild.context, into: &outgoing, using: Carrier())
        #expect(outgoing["baggage"] == "tenant=acme,region=eu", "\(outgoing)")
        grandchild.end()
        span.end()
        #expect(Self.extracted(["traceparent": incoming["traceparent"]!])?.baggage == nil)
    }

    @Test func invalidTraceparentsAreIgnored() {
        for value in [
            "00-00000000000000000000000000000000-b7ad6b7169203331-01",  // all-zero trace id
            "00-0af7651916cd43dd8448eb211c80319c-0000000000000000-01",  // all-zero span id
            "ff-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01",  // version ff
            "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01-extra",  // version 00 has 4 fields
            "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-zz",
            "00-0AF7651916CD43DD8448EB211C80319C-b7ad6b7169203331-01",  // upper-case hex
            "00-+af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01",  // a sign UInt8(radix:) takes
            "zz-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01",  // version not hex
            "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-+1",
            "garbage",
        ] {
            #expect(Self.extracted(["traceparent": value]) == nil, "\(value)")
        }
        // A later version may append fields.
        #expect(Self.extracted(["traceparent": "01-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01-more"]) != nil)
    }

    @Test func theEnvironmentNamesTheEndpointAndItsHeaders() throws {
        #expect(OTLPTracer.fromEnvironment(serviceName: "w", [:]) == nil)
        let base = try #require(
            OTLPTracer.fromEnvironment(
                serviceName: "w",
                [
                    "OTEL_EXPORTER_OTLP_ENDPOINT": "https://otlp.example.com", "OTEL_EXPORTER_OTLP_HEADERS": "api-key=a%3Db, x-team = etl",
                    "OTEL_EXPORTER_OTLP_TRACES_HEADERS": "x-team=traces", "OTEL_SERVICE_NAME": "named",
                ]))
        #expect(base.tracesURL.absoluteString == "https://otlp.example.com/v1/traces")
        #expect(base.headers == ["api-key": "a=b", "x-team": "traces"])
        #expect(base.serviceName == "named")
        let whole = try #require(
            OTLPTracer.fromEnvironment(
                serviceName: "w",
                [
                    "OTEL_EXPORTER_OTLP_ENDPOINT": "https://otlp.example.com",
                    "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT": "https://traces.example.com/custom/path",
                ]))
        #expect(whole.tracesURL.absoluteString == "https://traces.example.com/custom/path")
        #expect(whole.serviceName == "w")
        // Without a scheme the host reads as one: refused (tracing off, said), not failing every second.
        #expect(OTLPTracer.fromEnvironment(serviceName: "w", ["OTEL_EXPORTER_OTLP_ENDPOINT": "localhost:4318"]) == nil)
        #expect(OTLPTracer.fromEnvironment(serviceName: "w", ["OTEL_EXPORTER_OTLP_TRACES_ENDPOINT": "otel:4318/v1/traces"]) == nil)
        // A gRPC collector's port would refuse every export.
        let grpc = ["OTEL_EXPORTER_OTLP_ENDPOINT": "http://otel:4317", "OTEL_EXPORTER_OTLP_PROTOCOL": "grpc"]
        #expect(OTLPTracer.fromEnvironment(serviceName: "w", grpc) == nil)
        #expect(
            OTLPTracer.fromEnvironment(
                serviceName: "w", grpc.merging(["OTEL_EXPORTER_OTLP_TRACES_PROTOCOL": "http/protobuf"]) { $1 }) != nil)
    }

    /// The rest of OpenTelemetry's standard variables: off switches, the resource, the export
    /// timeout and the sampler. Before, they were ignored: `OTEL_SDK_DISABLED=true` still
    /// exported, and an operator could not lower the volume.
    @Test func theStandardVariablesTurnItOffDescribeTheResourceAndSample() throws {
        let endpoint = ["OTEL_EXPORTER_OTLP_ENDPOINT": "http://otel:4318"]
        func tracer(_ more: [String: String]) -> OTLPTracer? {
            OTLPTracer.fromEnvironment(serviceName: "w", endpoint.merging(more) { $1 })
        }
        #expect(tracer(["OTEL_SDK_DISABLED": "true"]) == nil && tracer(["OTEL_TRACES_EXPORTER": "none"]) == nil)
        #expect(tracer(["OTEL_SDK_DISABLED": "false"]) != nil)
        let described = try #require(
            tracer([
                "OTEL_RESOURCE_ATTRIBUTES": "service.name=from-resource, deployment.environment=prod%20eu,service.version=1.2",
                "OTEL_EXPORTER_OTLP_TIMEOUT": "2500", "OTEL_TRACES_SAMPLER": "parentbased_traceidratio",
                "OTEL_TRACES_SAMPLER_ARG": "0.25",
            ]))
        #expect(described.serviceName == "from-resource")
        #expect(described.resourceAttributes == ["deployment.environment": "prod eu", "service.version": "1.2"])
        #expect(described.timeout == 2.5 && described.sampler == .parentBased(.traceIDRatio(0.25)))
        let keys = described.resource.compactMap { $0["key"] as? String }
        #expect(
            keys == [
                "service.name", "telemetry.sdk.name", "telemetry.sdk.language", "telemetry.sdk.version", "deployment.environment",
                "service.version",
            ])
        // Each key once (an operator's telemetry.sdk.name was sent beside the SDK's).
        let renamed = try #require(tracer(["OTEL_RESOURCE_ATTRIBUTES": "telemetry.sdk.name=custom,team=etl"]))
        let pairs = renamed.resource.compactMap { entry -> (String, String)? in
            guard let key = entry["key"] as? String, let value = (entry["value"] as? [String: Any])?["stringValue"] as? String else {
                return nil
            }
            return (key, value)
        }
        #expect(Set(pairs.map(\.0)).count == pairs.count, "\(pairs)")
        #expect(pairs.first { $0.0 == "telemetry.sdk.name" }?.1 == "custom" && pairs.contains { $0 == ("team", "etl") })
        #expect(tracer(["OTEL_SERVICE_NAME": "named", "OTEL_RESOURCE_ATTRIBUTES": "service.name=other"])?.serviceName == "named")
        // Values that cannot be read are said and replaced by the defaults, not fatal.
        let defaults = try #require(tracer(["OTEL_TRACES_SAMPLER": "sometimes", "OTEL_EXPORTER_OTLP_TIMEOUT": "5s"]))
        #expect(defaults.sampler == .parentBased(.alwaysOn) && defaults.timeout == OTLPTracer.exportTimeout)
        #expect(tracer(["OTEL_TRACES_SAMPLER": "traceidratio", "OTEL_TRACES_SAMPLER_ARG": "2"])?.sampler == .parentBased(.alwaysOn))
        // A sampler without an argument ignores one.
        #expect(tracer(["OTEL_TRACES_SAMPLER": "always_off", "OTEL_TRACES_SAMPLER_ARG": "2"])?.sampler == .alwaysOff)

        // always_off records nothing, even under a sampled parent; a parent-based sampler follows it.
        let off = try #require(tracer(["OTEL_TRACES_SAMPLER": "always_off"]))
        let root = off.startSpan("root", context: .topLevel, ofKind: .internal, at: DefaultTracerClock.now)
        #expect(!root.isRecording)
        root.end()
        var sampledParent = ServiceContext.topLevel
        sampledParent[OTLPSpanContextKey.self] = Self.extracted(["traceparent": "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"])
        let child = off.startSpan("child", context: sampledParent, ofKind: .internal, at: DefaultTracerClock.now)
        #expect(!child.isRecording)
        child.end()
        let following = try #require(tracer(["OTEL_TRACES_SAMPLER": "parentbased_always_off"]))
        let followed = following.startSpan("child", context: sampledParent, ofKind: .internal, at: DefaultTracerClock.now)
        #expect(followed.isRecording)
        followed.end()
        // A ratio keeps about that share of traces, and decides alike for every span of one.
        let quarter = OTLPSampler.traceIDRatio(0.25)
        let kept = (0..<4_000).filter { _ in quarter.samples(traceID: OTLPTracer.randomBytes(16), parentSampled: nil) }.count
        #expect((800...1_200).contains(kept), "\(kept) of 4000")
        let id = OTLPTracer.randomBytes(16)
        #expect(Set((0..<10).map { _ in quarter.samples(traceID: id, parentSampled: true) }).count == 1)
    }

    /// A local OTLP/HTTP collector (`peers/otlp_collector.py`) that answers the first `refuse`
    /// requests 503.
    struct Collector {
        let process = Process()
        let directory: TemporaryDirectory
        let file: String
        let url: URL

        init(refuse: Int = 0, delay: Double = 0, reject: Int = 0, trickle: Double = 0) async throws {
            directory = try TemporaryDirectory()
            file = directory.file("spans.jsonl")
            _ = FileManager.default.createFile(atPath: file, contents: nil)
            let port = try DevServer.freePort()
            url = try #require(URL(string: "http://127.0.0.1:\(port)"))
            process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
            process.arguments = [
                "python3",
                URL(fileURLWithPath: #filePath).deletingLastPathComponent()
                    .appendingPathComponent("../peers/otlp_collector.py").standardizedFileURL.path, "\(port)", file, "\(refuse)",
                "\(delay)", "\(reject)", "\(trickle)",
            ]
            process.standardOutput = FileHandle.nullDevice
            process.standardError = FileHandle.nullDevice
            try process.run()
            let ready = file + ".ready"
            try await within(30) { while !FileManager.default.fileExists(atPath: ready) { try await Task.sleep(for: .milliseconds(50)) } }
        }

        /// The spans of each request taken, in order.
        func requests() throws -> [[[String: Any]]] {
            try String(contentsOfFile: file, encoding: .utf8).split(separator: "\n").map { line in
                let body = try #require(try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any])
                let resources = body["resourceSpans"] as? [[String: Any]] ?? []
                return resources.flatMap { ($0["scopeSpans"] as? [[String: Any]] ?? []).flatMap { $0["spans"] as? [[String: Any]] ?? [] } }
            }
        }

        var refused: Int { ((try? String(contentsOfFile: file + ".refused", encoding: .utf8)) ?? "").split(separator: "\n").count }

        func stop() {
            Foundation.kill(process.processIdentifier, SIGKILL)
            process.waitUntilExit()
        }
    }

    static func span(_ tracer: OTLPTracer, _ name: String, attributes: SpanAttributes = [:]) {
        let span = tracer.startSpan(name, context: .topLevel, ofKind: .internal, at: DefaultTracerClock.now)
        span.attributes = attributes
        span.end()
    }

    /// A collector that answers 503 (overloaded, restarting) gets the spans at the next
    /// flush; they were dropped at once.
    @Test func spansARetryableFailureSentBackGoOutLater() async throws {
        let collector = try await Collector(refuse: 1)
        defer { collector.stop() }
        let tracer = OTLPTracer(endpoint: collector.url, serviceName: "t")
        Self.span(tracer, "first")
        await tracer.flush()
        #expect(collector.refused == 1)
        #expect(try collector.requests().isEmpty)
        Self.span(tracer, "second")
        await tracer.flush()
        let names = try collector.requests().map { $0.map { $0["name"] as? String ?? "?" } }
        #expect(names == [["first", "second"]])
    }

    /// A periodic flush stopped mid-upload (the tracer shutting down) waits for that upload: it
    /// was abandoned and its batch put back, and the final flush sent the batch again, though
    /// the collector had taken it.
    @Test func anUploadUnderWayAtShutdownIsSentOnce() async throws {
        let collector = try await Collector(delay: 2)
        defer { collector.stop() }
        let tracer = OTLPTracer(endpoint: collector.url, serviceName: "t")
        Self.span(tracer, "once")
        let periodic = Task { await tracer.flush(waitingForBackoff: true) }
        try await Task.sleep(for: .milliseconds(700))  // the collector holds its answer for 2 s
        periodic.cancel()
        await periodic.value
        await tracer.shutdown()
        #expect(try collector.requests().map { $0.map { $0["name"] as? String ?? "?" } } == [["once"]])
    }

    /// The end waits for an upload under way only within its own deadline: against a collector
    /// that takes the request and never answers, the end took what was left of the upload's
    /// timeout and then the final flush's time again (13 s here, up to 20 s); it takes
    /// `shutdownFlushTime` in all.
    @Test func theEndWaitsForAnUploadWithinItsOwnDeadline() async throws {
        let collector = try await Collector(delay: 60)
        defer { collector.stop() }
        let tracer = OTLPTracer(endpoint: collector.url, serviceName: "t")
        Self.span(tracer, "held")
        let running = Task { try await tracer.run() }
        try await Task.sleep(for: .milliseconds(1_600))  // the first periodic upload is under way
        let stopping = ContinuousClock.now
        running.cancel()
        try await running.value
        let took = ContinuousClock.now - stopping
        #expect(took < OTLPTracer.shutdownFlushTime + .seconds(2), "\(took)")
    }

    /// A collector that answers 200 with a `partialSuccess` rejecting spans: they are counted
    /// as lost (and said on standard error), not taken as sent in silence, nor sent again.
    @Test func spansTheCollectorRejectsAreCountedAsLost() async throws {
        let collector = try await Collector(reject: 2)
        defer { collector.stop() }
        let tracer = OTLPTracer(endpoint: collector.url, serviceName: "t")
        for name in ["a", "b", "c"] { Self.span(tracer, name) }
        await tracer.flush()
        #expect(tracer.rejectedSpans.withLock { $0 } == 2)
        #expect(try collector.requests().count == 1, "a partial success is not sent again")
        #expect(OTLPTracer.partialSuccess(Data(#"{"partialSuccess":{}}"#.utf8)) == nil)
        #expect(OTLPTracer.partialSuccess(Data(#"{"partialSuccess":{"rejectedSpans":3}}"#.utf8))?.rejected == 3)
    }

    /// A collector (or a proxy) that answers a byte at a time, for ever, holds the end (the
    /// final flush of a command that never ran the tracer) no longer than `shutdownFlushTime`:
    /// the request's timeout bounds silence only, and the end waited as long as the bytes came.
    @Test func aCollectorThatTricklesItsAnswerDoesNotHoldTheEnd() async throws {
        let collector = try await Collector(trickle: 0.5)
        defer { collector.stop() }
        let tracer = OTLPTracer(endpoint: collector.url, serviceName: "t")
        Self.span(tracer, "held")
        let stopping = ContinuousClock.now
        let stopped = Mutex(false)
        Task {
            await tracer.shutdown()
            stopped.withLock { $0 = true }
        }
        while !stopped.withLock({ $0 }), ContinuousClock.now - stopping < .seconds(40) { try await Task.sleep(for: .milliseconds(100)) }
        #expect(stopped.withLock { $0 }, "the end is still waiting")  // old code: for ever
        let took = ContinuousClock.now - stopping
        #expect(took < OTLPTracer.shutdownFlushTime + .seconds(3), "\(took)")
    }

    /// An unsampled span is not encoded when it ends (it is not exported).
    @Test func anUnsampledSpanIsNotEncoded() throws {
        final class Described: CustomStringConvertible, Sendable {
            let calls = Mutex(0)
            var description: String {
                calls.withLock { $0 += 1 }
                return "x"
            }
        }
        let tracer = try #require(
            OTLPTracer.fromEnvironment(
                serviceName: "w", ["OTEL_EXPORTER_OTLP_ENDPOINT": "http://otel:4318", "OTEL_TRACES_SAMPLER": "always_off"]))
        let described = Described()
        let span = tracer.startSpan("quiet", context: .topLevel, ofKind: .internal, at: DefaultTracerClock.now)
        span.attributes["value"] = SpanAttribute.stringConvertible(described)
        span.end()
        #expect(described.calls.withLock { $0 } == 0)
    }

    /// The traces URL in messages (the worker's log, export failures) holds no user, password or
    /// query: a key in `https://user:key@…` or `?api-key=…` was logged as it was.
    @Test func theTracesURLInMessagesHoldsNoKey() {
        let tracer = OTLPTracer(
            tracesURL: URL(string: "https://user:sekret@collector.example:4318/v1/traces?api-key=K3Y")!, serviceName: "t")
        let shown = tracer.tracesURLForMessages
        #expect(!shown.contains("sekret") && !shown.contains("K3Y") && shown.contains("collector.example:4318/v1/traces"), "\(shown)")
    }

    /// The final flush tries again after the backoff while its time lasts: a short command's
    /// spans go out only there, and one 503 (a collector restarting) lost them all.
    @Test func theFinalFlushOutlastsOneRefusal() async throws {
        let collector = try await Collector(refuse: 1)
        defer { collector.stop() }
        let tracer = OTLPTracer(endpoint: collector.url, serviceName: "t")
        Self.span(tracer, "only")
        await tracer.shutdown()
        #expect(collector.refused == 1)
        #expect(try collector.requests().map { $0.map { $0["name"] as? String ?? "?" } } == [["only"]])
    }

    /// An error recorded on a span is OpenTelemetry's `exception` event (type and message)
    /// beside the error status, as the OTel API records one; events added go out too. Before,
    /// only the status was set, and back ends showed failed spans without the error.
    @Test func aRecordedErrorIsAnExceptionEvent() async throws {
        struct Refused: Error, CustomStringConvertible { var description: String { "the store refused the batch" } }
        let collector = try await Collector()
        defer { collector.stop() }
        let tracer = OTLPTracer(endpoint: collector.url, serviceName: "t")
        let span = tracer.startSpan("load", context: .topLevel, ofKind: .internal, at: DefaultTracerClock.now)
        span.addEvent(SpanEvent(name: "staged", attributes: ["rows": 3]))
        span.recordError(Refused())
        span.end()
        await tracer.flush()
        let sent = try #require(try collector.requests().first?.first)
        let events = sent["events"] as? [[String: Any]] ?? []
        #expect(events.map { $0["name"] as? String } == ["staged", "exception"])
        let attributes = Dictionary(
            uniqueKeysWithValues: (events.last?["attributes"] as? [[String: Any]] ?? []).compactMap { pair -> (String, String)? in
                guard let key = pair["key"] as? String, let value = (pair["value"] as? [String: Any])?["stringValue"] as? String else {
                    return nil
                }
                return (key, value)
            })
        #expect(attributes["exception.message"] == "the store refused the batch")
        #expect(attributes["exception.type"]?.hasSuffix("Refused") == true, "\(attributes)")
        #expect((sent["status"] as? [String: Any])?["code"] as? Int == 2)
        #expect(events.allSatisfy { ($0["timeUnixNano"] as? String).flatMap { UInt64($0) } ?? 0 > 0 })
    }

    /// Where payloads and error messages are encrypted (`TEMPORAL_PAYLOAD_KEY_FILE`), a recorded
    /// error's text stays out of the span (its type goes): it went to the collector in the clear.
    @Test func errorTextStaysOutOfSpansWherePayloadsAreEncrypted() async throws {
        struct Refused: Error, CustomStringConvertible { var description: String { "member secret-person refused" } }
        let environment = ["OTEL_EXPORTER_OTLP_ENDPOINT": "http://otel:4318"]
        #expect(OTLPTracer.fromEnvironment(serviceName: "w", environment)?.exportsErrorMessages == true)
        let sealed = environment.merging(["TEMPORAL_PAYLOAD_KEY_FILE": "/etc/keys"]) { $1 }
        #expect(OTLPTracer.fromEnvironment(serviceName: "w", sealed)?.exportsErrorMessages == false)
        let collector = try await Collector()
        defer { collector.stop() }
        let tracer = OTLPTracer(endpoint: collector.url, serviceName: "t", exportsErrorMessages: false)
        let span = tracer.startSpan("load", context: .topLevel, ofKind: .internal, at: DefaultTracerClock.now)
        span.recordError(Refused())
        span.end()
        await tracer.flush()
        let sent = try #require(try collector.requests().first?.first)
        let text = String(decoding: try JSONSerialization.data(withJSONObject: sent), as: UTF8.self)
        #expect(!text.contains("secret-person"), "\(text)")
        #expect(text.contains("Refused") && (sent["status"] as? [String: Any])?["code"] as? Int == 2, "\(text)")
    }

    /// A span exports the `tracestate` it carries on, and its links (both were dropped: the
    /// state went to the next hop only, `addLink` did nothing).
    @Test func traceStateAndLinksAreExported() async throws {
        let collector = try await Collector()
        defer { collector.stop() }
        let tracer = OTLPTracer(endpoint: collector.url, serviceName: "t")
        var parent = ServiceContext.topLevel
        tracer.extract(
            ["traceparent": "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01", "tracestate": "vendor=x"], into: &parent,
            using: Carrier())
        let other = tracer.startSpan("other", context: .topLevel, ofKind: .internal, at: DefaultTracerClock.now)
        let span = tracer.startSpan("child", context: parent, ofKind: .internal, at: DefaultTracerClock.now)
        span.addLink(SpanLink(context: other.context, attributes: ["why": "batch"]))
        span.end()
        other.end()
        await tracer.flush()
        let sent = try collector.requests().flatMap { $0 }
        let child = try #require(sent.first { $0["name"] as? String == "child" })
        #expect(child["traceState"] as? String == "vendor=x")
        let links = child["links"] as? [[String: Any]] ?? []
        let otherID = try #require(sent.first { $0["name"] as? String == "other" }?["spanId"] as? String)
        #expect(links.count == 1 && links.first?["spanId"] as? String == otherID, "\(links)")
    }

    /// Array attributes go out as OTLP's `arrayValue`; they were Swift's debug text
    /// (`int64Array([1, 2])` as a string).
    @Test func arrayAttributesAreArrayValues() throws {
        var attributes = SpanAttributes()
        attributes["ids"] = SpanAttribute.int64Array([1, 2])
        attributes["names"] = SpanAttribute.stringArray(["a"])
        let encoded = OTLPSpan.encoded(attributes)
        let byKey = Dictionary(uniqueKeysWithValues: encoded.map { ($0["key"] as? String ?? "", $0["value"]) })
        let ids = try #require((byKey["ids"] as? [String: any Sendable])?["arrayValue"] as? [String: any Sendable])
        #expect((ids["values"] as? [[String: any Sendable]])?.compactMap { $0["intValue"] as? String } == ["1", "2"])
        let names = try #require((byKey["names"] as? [String: any Sendable])?["arrayValue"] as? [String: any Sendable])
        #expect((names["values"] as? [[String: any Sendable]])?.compactMap { $0["stringValue"] as? String } == ["a"])
    }

    /// `Retry-After` as an HTTP-date (RFC 9110) is a wait too; it was ignored (1 s backoff).
    @Test func retryAfterReadsSecondsAndDates() throws {
        let now = try #require(ISO8601DateFormatter().date(from: "2026-12-06T10:00:00Z"))
        #expect(OTLPTracer.retryAfter("7", now: now) == .seconds(7))
        #expect(OTLPTracer.retryAfter("Sun, 06 Dec 2026 10:00:20 GMT", now: now) == .seconds(20))
        #expect(OTLPTracer.retryAfter("Sun, 06 Dec 2026 09:00:00 GMT", now: now) == .zero)
        #expect(OTLPTracer.retryAfter("soon", now: now) == nil)
        // Honoured when longer than the backoff, up to ten minutes (it was cut to 30 s).
        #expect(OTLPTracer.wait(asked: .seconds(120), exponential: .seconds(2)) == .seconds(120))
        #expect(OTLPTracer.wait(asked: .seconds(7_200), exponential: .seconds(2)) == .seconds(600))
        #expect(OTLPTracer.wait(asked: nil, exponential: .seconds(64)) == .seconds(30))
        #expect(OTLPTracer.wait(asked: .seconds(1), exponential: .seconds(8)) == .seconds(8))
    }

    /// A backlog goes out in batches a collector's body limit takes.
    @Test func aBacklogIsSentInBatches() async throws {
        let collector = try await Collector()
        defer { collector.stop() }
        let tracer = OTLPTracer(endpoint: collector.url, serviceName: "t")
        for index in 0..<1_200 { Self.span(tracer, "s\(index)") }
        await tracer.flush()
        let sizes = try collector.requests().map(\.count)
        #expect(sizes == [512, 512, 176])
    }

    /// One attribute JSON cannot hold (NaN) dropped every span of its flush.
    @Test func aNonFiniteAttributeIsWrittenAsOTLPSays() async throws {
        let collector = try await Collector()
        defer { collector.stop() }
        let tracer = OTLPTracer(endpoint: collector.url, serviceName: "t")
        Self.span(tracer, "plain")
        Self.span(tracer, "odd", attributes: ["ratio": .double(.nan), "limit": .double(-.infinity)])
        await tracer.flush()
        let spans = try collector.requests().flatMap { $0 }
        #expect(spans.map { $0["name"] as? String } == ["plain", "odd"])
        let values = (spans.last?["attributes"] as? [[String: Any]] ?? []).compactMap {
            ($0["value"] as? [String: Any])?["doubleValue"] as? String
        }
        #expect(Set(values) == ["NaN", "-Infinity"])
    }

    /// A collector that takes the connection and never answers holds an export for
    /// `exportTimeout`, not the HTTP library's 60 s: the final flush of a worker's shutdown ended
    /// past Docker's grace.
    @Test func aCollectorThatNeverAnswersDoesNotHoldAFlush() async throws {
        let (fd, address) = try listenOnLoopback(backlog: 4)  // never accepts: the kernel completes the handshake
        defer { close(fd) }
        let url = try #require(URL(string: "http://127.0.0.1:\(UInt16(bigEndian: address.sin_port))"))
        let tracer = OTLPTracer(endpoint: url, serviceName: "t")
        tracer.finished(["name": "s"])
        let start = ContinuousClock.now
        await tracer.flush()
        #expect(ContinuousClock.now - start < .seconds(OTLPTracer.exportTimeout + 10))
    }
}
