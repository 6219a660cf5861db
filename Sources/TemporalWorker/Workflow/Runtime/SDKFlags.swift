import Temporal
import TemporalProto

/// Changes of this runtime's behaviour that change the commands a workflow sends, so that a
/// history recorded before the change must replay without it.
///
/// A live task uses every flag this build knows and records the ones its run's history does
/// not hold yet in its answer (`sdk_metadata.lang_used_flags` of RespondWorkflowTaskCompleted,
/// kept in the WorkflowTaskCompleted event). Replay uses a flag from the task whose
/// WorkflowTaskCompleted first holds it onwards: as the run did when it was live. (Core's SDK
/// flags work the same way; the numbers are this SDK's own, as each SDK's are.)
enum SDKFlag: UInt32, CaseIterable, Sendable {
    /// Within a task: the start and signals first, then update requests, then the events that
    /// wake workflow code, as Core and Go order them. A handler starts (and may finish) before
    /// the code that an activity result or a timer resumes, so an update that comes with the
    /// task that closes the workflow is run, not rejected as too late; a validator sees what a
    /// signal of the task set; a request whose handler is not registered yet waits for code of
    /// the task to register it (on the first task, the code that registers every handler).
    case updatesBeforeWorkflowCode = 1
    /// A child cancelled before it started gets its RequestCancelExternalWorkflowExecution
    /// when its start is recorded; when the child's close is recorded in the same task too,
    /// the request is dropped (as an activity's is): it was sent for a child that had already
    /// closed, costing two events and a task.
    case noCancelOfAClosedChild = 2
    /// Local activity markers are matched to their requests by the sequence number they record
    /// (two requests may share an activity id: matched by id and type, their results could
    /// swap), and the workflow's clock moves to each outcome's recorded time (a later request's
    /// schedule-to-close counted from the task's start). Recorded by an answer carrying a
    /// marker, so that a build without it fails such a history instead of replaying it another
    /// way.
    case localActivityMarkersBySeqAndTime = 3
    /// A child cancelled before it started gets its RequestCancelExternalWorkflowExecution
    /// before the parent's close command, when the parent closes before the child's start is
    /// recorded: no later task would send it, and a child the parent abandons (or waits no
    /// longer for) ran on although the parent asked to cancel it.
    case cancelChildrenBeforeClose = 4
    /// `signalChannel(name)` called again returns the channel it made for the name, with the
    /// values it holds, as Go's `GetSignalChannel` does: each call made a new, empty channel, so
    /// a loop calling it around an activity lost the signals that arrived meanwhile.
    case oneSignalChannelPerName = 5
    /// A cancel request of the workflow cancels its running update handlers too (and those
    /// started after it), as Go runs them under the workflow's root context: they ran on, their
    /// activities were never asked to stop, and their callers learned only that the workflow
    /// completed.
    case cancelUpdatesWithWorkflow = 6
    /// A workflow that closes while the cancel request of a child it abandons at its close
    /// (parent close policy `.abandon`) is not delivered yet (cancelled with `.tryCancel`, whose
    /// caller learns of it at once, then returning) sends the request alone and its close once
    /// the request is recorded as delivered or failed (or the child closed): the server drops a
    /// cancel request whose sender has closed by the time it is processed, which happened to
    /// every request sent with the close — the child ran on. A child cancelled before its start
    /// was recorded gets its request when it starts (flag 4's request with the close is not
    /// sent). Children the close terminates or cancels are not waited for.
    case closeAfterChildCancelsDelivered = 7
    /// A cancel request of the workflow cancels the children not asked to cancel yet (one
    /// started and held while the workflow waits on a timer, say: those awaited by code the
    /// request cancels are cancelled by that code), per their cancellation type, while the
    /// workflow's code has not returned, as Go's root context, Java's root scope and .NET's workflow token do: only code
    /// awaiting a child cancelled it, so a child abandoned at the parent's close ran on. Not
    /// children started inside `nonCancellable`, nor those of cancellation type `.abandon`.
    case cancelChildrenWithWorkflow = 8
    /// A local activity whose timeouts a server would refuse for an activity (neither
    /// start-to-close nor schedule-to-close positive, or one negative) fails its request with a
    /// `WorkflowUsageError`: it ran, each attempt timing out at once, retried without end.
    case localActivityTimeoutsChecked = 9
    /// A default child workflow id (`"<parent id>-child-<seq>-<8 hex>"`) over the 1,000 bytes a
    /// server takes by default has its parent part cut to fit, by whole Unicode scalars: the
    /// server refused the start command on every task, and the run was stuck. A server whose
    /// operator raised the limit took such ids, so histories without the flag replay uncut.
    case defaultChildIDsFit = 10
    /// A run reset to its first workflow task draws from the seed the reset's
    /// WorkflowTaskFailed names (the new run's id), as Go and Core reseed: its start, applied
    /// at that first activation, seeded it back with the base run's id, so it drew the base's
    /// UUIDs, numbers and default child ids.
    case resetSeedKeptAtFirstTask = 11

    /// Whether a live answer records the flag only in a task where it changed the commands
    /// (Core's and Go's "try use"): so that a run the flag never touched replays on a build
    /// without it. Flag 1 changes the order of every task and is recorded on the first.
    var recordedOnlyWhenUsed: Bool { self != .updatesBeforeWorkflowCode }
}

/// The flags of one run: those its history holds, and those of the task being processed.
struct SDKFlags {
    /// Whether live tasks use flags: false when the server does not keep the SDK's metadata
    /// (`capabilities.sdk_metadata`), since replay could not tell what they used.
    var liveTasksUseFlags = true
    /// The flags of every WorkflowTaskCompleted applied so far.
    private(set) var inHistory: Set<UInt32> = []
    /// The flags the current activation uses.
    private(set) var active: Set<SDKFlag> = []
    /// The flags that changed what the current task did (`tryUse`).
    private(set) var used: Set<SDKFlag> = []
    /// The SDK name and version the run's history last recorded (each kept from the last
    /// WorkflowTaskCompleted that set it).
    private(set) var recordedSDK = (name: "", version: "")

    /// A WorkflowTaskCompleted was applied: its flags hold from its task on.
    /// - Throws: `NondeterminismError` when it records a flag this build does not know: a
    ///   newer build ran the workflow with a behaviour this one lacks, and replaying without it
    ///   could go another way without any command to tell (Go fails such a task too, as
    ///   nondeterministic: a build rolled back after a newer one ran).
    mutating func noteCompleted(_ event: HistoryEvent) throws {
        let flags = Self.flags(of: event, after: recordedSDK.name)
        let unknown = flags.filter { SDKFlag(rawValue: $0) == nil }
        guard unknown.isEmpty else {
            throw NondeterminismError(
                historyEvent: event.summary, command: nil, eventID: event.eventID,
                detail:
                    "WorkflowTaskCompleted \(event.eventID) records SDK flag(s) \(unknown.map(String.init).joined(separator: ", ")) that this build of the worker does not know: a newer build ran this workflow; run that build, or a later one, for it"
            )
        }
        inHistory.formUnion(flags)
        let metadata = event.workflowTaskCompletedEventAttributes.sdkMetadata
        if !metadata.sdkName.isEmpty { recordedSDK.name = metadata.sdkName }
        if !metadata.sdkVersion.isEmpty { recordedSDK.version = metadata.sdkVersion }
    }

    /// The flags a WorkflowTaskCompleted records for this SDK: none when another SDK answered
    /// that task (the name it records, else the last one history recorded before it), since
    /// each language numbers its own flags (Go's 3 is not ours).
    static func flags(of completion: HistoryEvent, after recordedName: String) -> [UInt32] {
        let metadata = completion.workflowTaskCompletedEventAttributes.sdkMetadata
        let name = metadata.sdkName.isEmpty ? recordedName : metadata.sdkName
        return name.isEmpty || name == TemporalClient.clientName ? metadata.langUsedFlags : []
    }

    /// The SDK name and version a live answer records: this worker's, when they differ from
    /// what history last recorded (a run's first task, or a run another SDK or another build
    /// worked on before), as Core and Go send them; nil when history already holds them.
    func sdkToRecord(name: String, version: String) -> (name: String, version: String)? {
        recordedSDK == (name, version) ? nil : (name, version)
    }

    /// What a live answer records (`sdk_metadata`): the flags of `toRecord`, and this worker's
    /// SDK name and version when history does not hold them (`sdkToRecord`).
    var completionMetadata: Temporal_Api_Sdk_V1_WorkflowTaskCompletedMetadata {
        var metadata = Temporal_Api_Sdk_V1_WorkflowTaskCompletedMetadata()
        metadata.langUsedFlags = toRecord
        if let sdk = sdkToRecord(name: TemporalClient.clientName, version: TemporalClient.version) {
            metadata.sdkName = sdk.name
            metadata.sdkVersion = sdk.version
        }
        return metadata
    }

    /// Chooses the flags of the activation of a task: `completion` is the task's
    /// WorkflowTaskCompleted when history has it (a replayed task), nil for the task being
    /// answered (live, or the last task of a query's replay, which is answered as if live).
    mutating func beginTask(completion: HistoryEvent?) {
        used = []
        guard let completion else {
            // Without the capability, no new flag; those history holds stay in use.
            active = Set(SDKFlag.allCases.filter { liveTasksUseFlags || inHistory.contains($0.rawValue) })
            return
        }
        let recorded = inHistory.union(Self.flags(of: completion, after: recordedSDK.name))
        active = Set(SDKFlag.allCases.filter { recorded.contains($0.rawValue) })
    }

    /// Whether the current activation uses `flag`.
    func uses(_ flag: SDKFlag) -> Bool { active.contains(flag) }

    /// Whether the current activation uses `flag` at a point where it changes the commands;
    /// when it does, a live answer records it (see `SDKFlag.recordedOnlyWhenUsed`).
    mutating func tryUse(_ flag: SDKFlag) -> Bool {
        guard active.contains(flag) else { return false }
        used.insert(flag)
        return true
    }

    /// The flags a live answer records: those it uses that history does not hold yet (sent
    /// with every answer until a WorkflowTaskCompleted holding them comes back in history, so a
    /// dropped speculative answer loses none); a flag recorded only when used, once it was.
    var toRecord: [UInt32] {
        active.filter { !$0.recordedOnlyWhenUsed || used.contains($0) }.map(\.rawValue).filter { !inHistory.contains($0) }.sorted()
    }
}
