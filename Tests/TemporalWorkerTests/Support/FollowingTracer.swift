import Foundation
import Synchronization
import Tracing

/// The test process's tracer: it follows only traces a test began (`FollowingTracer.begin`) and
/// is a no-op for everything else, so tests that trace nothing see what the default no-op
/// tracer gives them (no trace headers). Bootstrapped once, on first use.
final class FollowingTracer: Tracer, Sendable {
    struct Ids: Sendable, Hashable {
        var trace: String
        var span: String
    }
    enum Key: ServiceContextKey { typealias Value = Ids }

    /// A finished span.
    struct Record: Sendable {
        var name: String
        var ids: Ids
        var parent: String?
        /// Whether an error was recorded on the span.
        var failed = false
    }

    static let shared: FollowingTracer = {
        let tracer = FollowingTracer()
        InstrumentationSystem.bootstrap(tracer)
        return tracer
    }()

    private let finished = Mutex<[Record]>([])

    /// A context that begins a new trace, and its id.
    static func begin() -> (ServiceContext, String) {
        _ = shared
        var context = ServiceContext.topLevel
        let ids = Ids(trace: UUID().uuidString, span: UUID().uuidString)
        context[Key.self] = ids
        return (context, ids.trace)
    }

    /// The finished spans of `trace`.
    func spans(of trace: String) -> [Record] { finished.withLock { $0.filter { $0.ids.trace == trace } } }

    func startSpan<Instant: TracerInstant>(
        _ operationName: String, context: @autoclosure () -> ServiceContext, ofKind kind: SpanKind,
        at instant: @autoclosure () -> Instant, function: String, file fileID: String, line: UInt
    ) -> FollowedSpan {
        var context = context()
        guard let parent = context[Key.self] else { return FollowedSpan(name: operationName, context: context, record: nil, tracer: self) }
        let ids = Ids(trace: parent.trace, span: UUID().uuidString)
        context[Key.self] = ids
        return FollowedSpan(
            name: operationName, context: context, record: Record(name: operationName, ids: ids, parent: parent.span), tracer: self)
    }

    func activeSpan(identifiedBy context: ServiceContext) -> FollowedSpan? { nil }
    func forceFlush() {}

    func inject<Carrier, Inject: Injector>(_ context: ServiceContext, into carrier: inout Carrier, using injector: Inject)
    where Inject.Carrier == Carrier {
        guard let ids = context[Key.self] else { return }
        injector.inject("\(ids.trace) \(ids.span)", forKey: "traceparent", into: &carrier)
    }

    func extract<Carrier, Extract: Extractor>(_ carrier: Carrier, into context: inout ServiceContext, using extractor: Extract)
    where Extract.Carrier == Carrier {
        guard let value = extractor.extract(key: "traceparent", from: carrier) else { return }
        let parts = value.split(separator: " ")
        guard parts.count == 2 else { return }
        context[Key.self] = Ids(trace: String(parts[0]), span: String(parts[1]))
    }

    fileprivate func end(_ record: Record) { finished.withLock { $0.append(record) } }
}

/// A span of `FollowingTracer`: recorded when it ends, if its trace is followed.
final class FollowedSpan: Tracing.Span, Sendable {
    let context: ServiceContext
    private let record: FollowingTracer.Record?
    private let tracer: FollowingTracer
    private let state: Mutex<(name: String, attributes: SpanAttributes, ended: Bool, failed: Bool)>

    fileprivate init(name: String, context: ServiceContext, record: FollowingTracer.Record?, tracer: FollowingTracer) {
        self.context = context
        self.record = record
        self.tracer = tracer
        state = Mutex((name, SpanAttributes(), false, false))
    }

    var operationName: String {
        get { state.withLock { $0.name } }
        set { state.withLock { $0.name = newValue } }
    }
    var attributes: SpanAttributes {
        get { state.withLock { $0.attributes } }
        set { state.withLock { $0.attributes = newValue } }
    }
    var isRecording: Bool { record != nil && !state.withLock { $0.ended } }
    func setStatus(_ status: SpanStatus) {}
    func addEvent(_ event: SpanEvent) {}
    func addLink(_ link: SpanLink) {}
    func recordError<Instant: TracerInstant>(_ error: any Error, attributes: SpanAttributes, at instant: @autoclosure () -> Instant) {
        state.withLock { $0.failed = true }
    }
    func end<Instant: TracerInstant>(at instant: @autoclosure () -> Instant) {
        let (first, failed) = state.withLock { s -> (Bool, Bool) in
            defer { s.ended = true }
            return (!s.ended, s.failed)
        }
        if first, var record {
            record.failed = failed
            tracer.end(record)
        }
    }
}
