import Foundation

/// Which traces are recorded (exported): OpenTelemetry's built-in samplers, as
/// `OTEL_TRACES_SAMPLER` names them. An unrecorded span still carries its context on (its
/// `traceparent` says unsampled).
public indirect enum OTLPSampler: Sendable, Equatable {
    /// Every trace.
    case alwaysOn
    /// None.
    case alwaysOff
    /// A share of traces, chosen by trace id (every span of a trace decides alike).
    case traceIDRatio(Double)
    /// A span with a parent follows the parent's decision; a root span asks `root`.
    case parentBased(OTLPSampler)

    /// Whether a span of trace `traceID` is recorded; `parentSampled` is its parent's decision
    /// (nil for a root span).
    public func samples(traceID: [UInt8], parentSampled: Bool?) -> Bool {
        switch self {
        case .alwaysOn: return true
        case .alwaysOff: return false
        case .traceIDRatio(let ratio):
            guard ratio < 1 else { return true }
            guard ratio > 0, traceID.count == 16 else { return false }
            // The trace id's last 8 bytes, as OpenTelemetry's SDKs read them.
            let value = traceID[8...].reduce(UInt64(0)) { $0 << 8 | UInt64($1) } >> 1
            return Double(value) < ratio * Double(UInt64.max >> 1)
        case .parentBased(let root):
            return parentSampled ?? root.samples(traceID: traceID, parentSampled: nil)
        }
    }

    /// The sampler `OTEL_TRACES_SAMPLER` names (`always_on`, `always_off`, `traceidratio`,
    /// `parentbased_always_on`, `parentbased_always_off`, `parentbased_traceidratio`), with
    /// `OTEL_TRACES_SAMPLER_ARG` the ratio (0…1, default 1); what is wrong, said, otherwise.
    public static func named(_ name: String, argument: String?) -> Result<OTLPSampler, SamplerProblem> {
        var ratio = 1.0
        // Only the ratio samplers take an argument; the others ignore one, as the SDKs do.
        if let argument, name.lowercased().hasSuffix("traceidratio") {
            guard let value = Double(argument.trimmingCharacters(in: [" "])), (0...1).contains(value) else {
                return .failure(SamplerProblem(description: "OTEL_TRACES_SAMPLER_ARG='\(argument)' is not a ratio from 0 to 1"))
            }
            ratio = value
        }
        switch name.lowercased() {
        case "always_on": return .success(.alwaysOn)
        case "always_off": return .success(.alwaysOff)
        case "traceidratio": return .success(.traceIDRatio(ratio))
        case "parentbased_always_on": return .success(.parentBased(.alwaysOn))
        case "parentbased_always_off": return .success(.parentBased(.alwaysOff))
        case "parentbased_traceidratio": return .success(.parentBased(.traceIDRatio(ratio)))
        default:
            return .failure(
                SamplerProblem(
                    description:
                        "OTEL_TRACES_SAMPLER='\(name)' is not one of always_on, always_off, traceidratio, parentbased_always_on, parentbased_always_off, parentbased_traceidratio"
                ))
        }
    }

    /// Why a sampler's variables were not taken.
    public struct SamplerProblem: Error, CustomStringConvertible, Sendable {
        public var description: String
    }
}
