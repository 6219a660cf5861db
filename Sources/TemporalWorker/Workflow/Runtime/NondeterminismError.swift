/// Workflow code and history disagree: the code produced a different command than the one
/// recorded, or one too many, or too few. Reported to the server as a workflow-task failure
/// with cause NON_DETERMINISTIC_ERROR; the run stays blocked until the code is fixed or reset.
public struct NondeterminismError: Error, Sendable, CustomStringConvertible {
    /// The recorded command event (nil when history has none where the code produced one).
    public let historyEvent: String?
    /// The command the code produced (nil when the code produced none where history has one).
    public let command: String?
    /// The event id at which the mismatch was found.
    public let eventID: Int64
    public let detail: String?

    public init(historyEvent: String?, command: String?, eventID: Int64, detail: String? = nil) {
        self.historyEvent = historyEvent
        self.command = command
        self.eventID = eventID
        self.detail = detail
    }

    public var description: String {
        var text =
            "[TMPRL1100] nondeterministic workflow: history event is \(historyEvent ?? "<none>"), replay command is \(command ?? "<none>") (at event \(eventID))"
        if let detail { text += ": \(detail)" }
        return text
    }
}
