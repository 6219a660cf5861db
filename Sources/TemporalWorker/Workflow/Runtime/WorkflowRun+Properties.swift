import Temporal
import TemporalProto

#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

extension WorkflowRun {
    // MARK: - Search attributes and memo

    /// Queues an UpsertWorkflowSearchAttributes command and applies it to `info` at once (the
    /// workflow reads its own writes; replay produces the same command at the same point).
    func upsertSearchAttributes(_ fields: [String: Payload]) {
        guard mayChange("context.upsertSearchAttributes") else { return }
        var a = Temporal_Api_Command_V1_UpsertWorkflowSearchAttributesCommandAttributes()
        a.searchAttributes.indexedFields = fields
        var c = Command()
        c.commandType = .upsertWorkflowSearchAttributes
        c.upsertWorkflowSearchAttributesCommandAttributes = a
        commands.append(PendingCommand(key: .properties, command: c))
        for (name, payload) in fields {
            info.searchAttributes[name] = SearchAttributeEncoding.isUnset(payload) ? nil : payload
        }
    }

    /// Queues a ModifyWorkflowProperties command with the memo fields to set (a `binary/null`
    /// payload removes a field) and applies it to `info`.
    func upsertMemo(_ fields: [String: Payload]) {
        guard mayChange("context.upsertMemo") else { return }
        var a = Temporal_Api_Command_V1_ModifyWorkflowPropertiesCommandAttributes()
        a.upsertedMemo.fields = fields
        var c = Command()
        c.commandType = .modifyWorkflowProperties
        c.modifyWorkflowPropertiesCommandAttributes = a
        commands.append(PendingCommand(key: .properties, command: c))
        for (name, payload) in fields {
            info.memo[name] = payload.metadata["encoding"] == Data("binary/null".utf8) ? nil : payload
        }
    }
}
