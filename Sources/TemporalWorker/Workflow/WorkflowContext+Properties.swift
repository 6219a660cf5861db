public import Temporal
import TemporalProto

#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

extension WorkflowContext {
    // MARK: Search attributes and memo

    /// Sets (or, with `key.unset`, removes) search attributes of this run, so that the run can be
    /// found by them (`temporal workflow list --query "Stage = 'loaded'"`, the Web UI's filter).
    /// The attributes must be registered in the namespace (`TemporalClient.ensureSearchAttributes`,
    /// `temporal operator search-attribute create`): an unknown one fails the workflow task.
    /// Values always use the default JSON encoding (never the data converter: the server indexes them).
    public func upsertSearchAttributes(_ updates: SearchAttributeUpdate...) {
        upsertSearchAttributes(updates)
    }

    /// `upsertSearchAttributes` with a list.
    public func upsertSearchAttributes(_ updates: [SearchAttributeUpdate]) {
        guard !updates.isEmpty else { return }
        var fields: [String: Payload] = [:]
        for update in updates { fields[update.name] = update.payload }
        run.upsertSearchAttributes(fields)
    }

    /// The current value of a search attribute of this run (as started, then as upserted).
    public func searchAttribute<Value>(_ key: SearchAttributeKey<Value>) -> Value? {
        key.read(from: run.info.searchAttributes)
    }

    // MARK: Earlier runs

    /// The result of the last run that completed before this one (`WorkflowInfo.lastCompletionResult`:
    /// runs a schedule or a cron schedule starts), decoded with the data converter; nil when
    /// there is none. A schedule's run can use it to cover what its predecessors did not (runs
    /// that failed, periods skipped while the schedule was paused).
    /// - Throws: the converter's error when the payload does not decode as `T` (a result of an
    ///   earlier release, for example).
    public func lastCompletionResult<T: Decodable>(as type: T.Type = T.self) throws -> T? {
        guard let payloads = run.info.lastCompletionResult else { return nil }
        return try run.converter.fromPayloads(payloads, as: type)
    }

    /// Sets memo fields of this run (nil removes one), encoded with the data converter. Memo
    /// is shown with the run (Web UI, `temporal workflow describe`) but not indexed.
    public func upsertMemo(_ values: [String: (any Encodable & Sendable)?]) throws {
        guard !values.isEmpty else { return }
        var fields: [String: Payload] = [:]
        for (name, value) in values {
            if let value {
                fields[name] = try run.converter.toPayload(value)
            } else {
                var null = Payload()
                null.metadata["encoding"] = Data("binary/null".utf8)
                fields[name] = null
            }
        }
        run.upsertMemo(fields)
    }
}
