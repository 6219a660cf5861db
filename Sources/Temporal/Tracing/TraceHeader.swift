public import Tracing

#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// Trace context in the Temporal `header` of starts, signals, updates, activities and child
/// workflows, so that one trace follows a workflow across clients, workers and processes. The
/// bootstrapped instrument (`InstrumentationSystem`, e.g. an OpenTelemetry tracer) writes its
/// carrier (W3C `traceparent`, …) as one JSON object under `_tracer-data`, the key the other
/// SDKs' OpenTelemetry interceptors use. With no tracer bootstrapped nothing is written.
public enum TraceHeader {
    public static let key = "_tracer-data"

    /// Writes `context`'s trace carrier into header `fields`.
    public static func inject(_ context: ServiceContext, into fields: inout [String: Payload]) {
        var carrier: [String: String] = [:]
        InstrumentationSystem.instrument.inject(context, into: &carrier, using: DictionaryInjector())
        guard !carrier.isEmpty, let payload = try? DataConverter.default.toPayload(carrier) else { return }
        fields[key] = payload
    }

    /// The trace context carried in header `fields`, if any.
    public static func extract(_ fields: [String: Payload]) -> ServiceContext? {
        guard let payload = fields[key],
            let carrier = try? DataConverter.default.payloadConverter.fromPayload(payload, as: [String: String].self)
        else { return nil }
        var context = ServiceContext.topLevel
        InstrumentationSystem.instrument.extract(carrier, into: &context, using: DictionaryExtractor())
        return context
    }
}

struct DictionaryInjector: Injector {
    func inject(_ value: String, forKey key: String, into carrier: inout [String: String]) { carrier[key] = value }
}

struct DictionaryExtractor: Extractor {
    func extract(key: String, from carrier: [String: String]) -> String? { carrier[key] }
}
