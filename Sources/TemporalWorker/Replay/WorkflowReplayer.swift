public import Logging
import SwiftProtobuf
public import Temporal
public import TemporalProto

#if canImport(FoundationEssentials)
public import FoundationEssentials
#else
public import Foundation
#endif

/// Replays recorded histories against the current workflow code and reports determinism
/// errors — the test to run before deploying a change to a workflow with open runs.
///
/// ```swift
/// let replayer = WorkflowReplayer(workflows: [MyFlow.self])
/// try replayer.replay(historyJSON: Data(contentsOf: url))   // `temporal workflow show --output json`
/// try await replayer.replay(handle: client.workflowHandle(id: "wf-1"))
/// ```
public struct WorkflowReplayer: Sendable {
    private let definitions: [String: WorkflowDefinition]
    private let converter: DataConverter
    private let logger: Logger
    private let interceptors: [any WorkerInterceptor]
    /// The namespace the replayed runs see (`info.namespace`): set it to the one the histories
    /// were recorded in when the code builds ids or arguments from it (a replay under another
    /// namespace reports a mismatch that is not there). Default `default`; a replay of a
    /// `WorkflowHandle` takes its client's.
    public var namespace = "default"

    /// - Parameter interceptors: the worker's workflow interceptors, when they shape what the
    ///   workflow does (they run during replay as in the worker).
    public init(
        workflows: [any Workflow.Type], dataConverter: DataConverter = .default,
        logger: Logger = Logger(label: "temporal.replayer"), interceptors: [any WorkerInterceptor] = []
    ) {
        self.init(
            definitions: workflows.map { WorkflowDefinition($0) }, dataConverter: dataConverter, logger: logger,
            interceptors: interceptors)
    }

    public init(
        definitions: [WorkflowDefinition], dataConverter: DataConverter = .default,
        logger: Logger = Logger(label: "temporal.replayer"), interceptors: [any WorkerInterceptor] = []
    ) {
        self.interceptors = interceptors
        var map: [String: WorkflowDefinition] = [:]
        for d in definitions { map[d.name] = d }
        self.definitions = map
        self.converter = dataConverter
        self.logger = logger
    }

    /// The outcome of a replay that matched history.
    public struct Result: Sendable {
        /// Events replayed.
        public var eventCount: Int
        /// Whether the code reached a closing command (complete, fail, cancel, continue-as-new).
        public var closed: Bool
    }

    /// Replays a history.
    /// - Throws: `NondeterminismError` when code and history disagree; `WorkflowTaskFailure`
    ///   when the code throws during replay; `WorkflowUsageError` for an
    ///   unknown workflow type, an empty history, or event ids that do not run 1, 2, 3, ….
    /// - Parameter runID: the run's id (default: the one its started event records,
    ///   `original_execution_run_id`, as Go's replayer takes it: code that names children or
    ///   activities after its run id replays as it ran).
    @discardableResult
    public func replay(events: [HistoryEvent], workflowID: String = "replay", runID: String? = nil) throws -> Result {
        try replay(events: events, workflowID: workflowID, runID: runID, namespace: namespace)
    }

    private func replay(events: [HistoryEvent], workflowID: String, runID: String?, namespace: String) throws -> Result {
        guard let first = events.first, case .workflowExecutionStartedEventAttributes(let started)? = first.attributes else {
            throw WorkflowUsageError("a history must begin with WorkflowExecutionStarted")
        }
        let runID = runID ?? (started.originalExecutionRunID.isEmpty ? "replay-run" : started.originalExecutionRunID)
        // Event ids run 1, 2, 3, … (as Core and Go require): a history cut, merged or edited
        // by hand would otherwise replay with its odd events skipped.
        for (index, event) in events.enumerated() where event.eventID != Int64(index + 1) {
            throw WorkflowUsageError(
                "the history is out of order: event \(index + 1) has id \(event.eventID) (ids must run 1, 2, 3, … without gaps or repeats; export the whole history with `temporal workflow show --output json`)"
            )
        }
        guard let definition = definitions[started.workflowType.name] else {
            throw WorkflowUsageError("workflow type '\(started.workflowType.name)' is not registered with the replayer")
        }
        let info = WorkflowInfo(
            namespace: namespace, workflowID: started.workflowID.isEmpty ? workflowID : started.workflowID,
            runID: runID, workflowType: started.workflowType.name, taskQueue: started.taskQueue.name,
            attempt: 1, continuedRunID: nil, firstExecutionRunID: started.firstExecutionRunID,
            originalExecutionRunID: started.originalExecutionRunID.isEmpty ? runID : started.originalExecutionRunID,
            startTime: nil)
        let run = WorkflowRun(definition: definition, info: info, converter: converter, logger: logger, interceptors: interceptors)
        defer { run.tearDown() }
        _ = try run.process(events: events, liveStartedEventID: nil)
        // The last completed workflow task's commands are all in history, even when the run is
        // still open: commands the code produces beyond them are a mismatch too.
        if run.phase == .matching, let extra = run.unmatchedCommands().first {
            throw NondeterminismError(
                historyEvent: nil, command: extra, eventID: run.lastEventID,
                detail: "the workflow produced a command that history does not have (after the last completed workflow task)")
        }
        let closedInHistory = events.contains {
            [
                .workflowExecutionCompleted, .workflowExecutionFailed, .workflowExecutionCanceled,
                .workflowExecutionContinuedAsNew,
            ].contains($0.eventType)
        }
        if closedInHistory, !run.isClosed {
            throw NondeterminismError(
                historyEvent: events.last?.summary, command: nil, eventID: run.lastEventID,
                detail: "history closed the workflow but the code did not")
        }
        return Result(eventCount: events.count, closed: run.isClosed)
    }

    /// Replays a history in the JSON form of `temporal workflow show --output json` (proto3
    /// JSON; enum names like `EVENT_TYPE_WORKFLOW_EXECUTION_STARTED` accepted).
    /// - Parameter workflowID: the run's workflow id, for histories whose
    ///   WorkflowExecutionStarted does not record it (servers before 1.21): default child ids,
    ///   and whatever the code builds from `info.workflowID`, depend on it, so a placeholder
    ///   makes such a replay report a mismatch that is not there.
    @discardableResult
    public func replay(historyJSON: Data, workflowID: String? = nil) throws -> Result {
        var options = JSONDecodingOptions()
        options.ignoreUnknownFields = true
        let history = try Temporal_Api_History_V1_History(jsonUTF8Data: historyJSON, options: options)
        return try replay(events: history.events, workflowID: workflowID ?? "replay")
    }

    /// Replays a history file written by `temporal workflow show --output json` (`workflowID`
    /// as for `replay(historyJSON:workflowID:)`).
    @discardableResult
    public func replay(historyFile: URL, workflowID: String? = nil) throws -> Result {
        try replay(historyJSON: try Data(contentsOf: historyFile), workflowID: workflowID)
    }

    /// Replays the history of a run fetched from the server.
    @discardableResult
    public func replay(handle: WorkflowHandle) async throws -> Result {
        let events = try await handle.fetchHistory()
        return try replay(events: events, workflowID: handle.id, runID: handle.resultRunID, namespace: handle.client.namespace)
    }

    /// What replaying one saved history gave.
    public struct FileOutcome: Sendable {
        /// The history file.
        public var path: String
        /// Nil when the history replayed; otherwise what went wrong.
        public var failure: String?
        /// Events replayed (0 on failure).
        public var eventCount: Int
        /// True for a directory that held no history file (`path` is the directory).
        public var holdsNoHistory = false
    }

    /// Replays every history file among `paths` (files, or directories whose `*.json` files are
    /// replayed in name order), going on after failures, so that one run reports every
    /// history a build can no longer replay. Check a build with it before deploying it. A
    /// directory that holds no `*.json` file is a failure of its own (an export that wrote
    /// nothing, or into sub-directories, passed while none of its histories was checked).
    public func replay(paths: [String]) -> [FileOutcome] {
        var files: [String] = []
        var empty: [String] = []
        for path in paths {
            if let names = try? FileManager.default.contentsOfDirectory(atPath: path) {
                let found = names.filter { $0.hasSuffix(".json") }.sorted().map { path + "/" + $0 }
                if found.isEmpty { empty.append(path) }
                files += found
            } else {
                files.append(path)
            }
        }
        let nothing = empty.map { directory in
            FileOutcome(
                path: directory,
                failure:
                    "the directory holds no history file (*.json; sub-directories are not read): give the directory the histories were exported to",
                eventCount: 0, holdsNoHistory: true)
        }
        return nothing
            + files.map { file in
                do {
                    let result = try replay(historyFile: URL(fileURLWithPath: file))
                    return FileOutcome(path: file, failure: nil, eventCount: result.eventCount)
                } catch {
                    return FileOutcome(path: file, failure: "\(error)", eventCount: 0)
                }
            }
    }
}
