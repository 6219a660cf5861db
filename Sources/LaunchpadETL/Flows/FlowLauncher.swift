import Foundation
public import Temporal
import TemporalProto

/// Starts flows from a client and reports their outcomes (what `StartMockWorkflow` and
/// `StartLaunchpadWorkflow` do).
public struct FlowLauncher: Sendable {
    /// One workflow to start.
    public struct Launch: Sendable, Hashable {
        /// The workflow id.
        public var workflowId: String
        /// The workflow type; nil: the one `run` is given.
        public var workflowType: String?
        /// The workflow's input.
        public var args: JSONValue
        /// What the "started" line adds (e.g. how a team run goes about its members).
        public var note: String?

        /// A flow's launch (`LaunchpadFlow`, `MockFlow`: a `FlowInput`).
        public init(workflowId: String, input: FlowInput) {
            self.init(workflowId: workflowId, workflowType: nil, args: input.json)
        }

        /// A launch of any workflow type with a JSON input.
        public init(workflowId: String, workflowType: String?, args: JSONValue, note: String? = nil) {
            self.workflowId = workflowId
            self.workflowType = workflowType
            self.args = args
            self.note = note
        }
    }

    /// How one workflow ended.
    public struct Outcome: Sendable {
        /// The launch.
        public var launch: Launch
        /// Its Web UI page.
        public var link: String
        /// The result, or the failure as text (for a failed workflow: its error type and message).
        public var result: Result<FlowResult, LaunchFailure>
    }

    /// Why a workflow did not produce a result.
    public struct LaunchFailure: Error, Sendable, CustomStringConvertible {
        /// A readable account of the failure.
        public var description: String
        /// The workflow completed, but its result could not be decoded here (encrypted without
        /// this process having the key): not a failure of the workflow.
        public var resultUnreadable = false
        /// A failure described by `description`.
        public init(description: String, resultUnreadable: Bool = false) {
            self.description = description
            self.resultUnreadable = resultUnreadable
        }
    }

    /// The client that starts the workflows.
    public let client: TemporalClient
    /// The Web UI base (default `http://localhost:8233`, the dev server's UI).
    public var uiBaseURL: String
    /// Search attributes every run starts with (e.g. `LaunchpadProgress.startAttributes`).
    public var searchAttributes: [String: any Encodable & Sendable] = [:]
    /// Told once, `noWorkerWait` after the starts, when workflows still run and the server
    /// lists no worker polling their task queue (a typo in the queue, a worker on another
    /// namespace or not started): the starter said nothing and waited for ever.
    public var noWorkerNotice: (@Sendable (String) -> Void)?
    /// How long after the starts `noWorkerNotice` looks.
    public var noWorkerWait: Duration = .seconds(10)

    /// Creates a launcher.
    public init(client: TemporalClient, uiBaseURL: String = "http://localhost:8233") {
        self.client = client
        self.uiBaseURL = uiBaseURL.hasSuffix("/") ? String(uiBaseURL.dropLast()) : uiBaseURL
    }

    /// `<ui>/namespaces/<namespace>/workflows/<id>`.
    public func webUILink(workflowId: String) -> String {
        let id = workflowId.addingPercentEncoding(withAllowedCharacters: .urlPathAllowed) ?? workflowId
        return "\(uiBaseURL)/namespaces/\(client.namespace)/workflows/\(id)"
    }

    /// Starts every launch on `taskQueue` (as `workflowType` unless it names its own), then
    /// waits for all of them,
    /// calling `onFinished` as each completes (in completion order).
    ///
    /// Each start asks for eager execution: when a worker of the same client polls `taskQueue`
    /// in this process and has a free slot, the first workflow task comes back in the start
    /// response (no dispatch by the server); otherwise the start is an ordinary one.
    /// A launch that could not start (the server unreachable, say) ends the starting: it and
    /// the launches after it are outcomes failed with that error, and the ones already started
    /// are still waited for, so that nothing started goes unreported. `onStarting` hears of each
    /// start before it is sent, and of `nil` when it failed (an interrupted starter asks about a
    /// start the signal cut off).
    public func run(
        _ launches: [Launch], workflowType: String, taskQueue: String,
        onStarted: @Sendable (Launch, String) -> Void = { _, _ in },
        onFinished: @Sendable (Outcome) -> Void = { _ in },
        onStarting: @Sendable (Launch?) -> Void = { _ in }
    ) async -> [Outcome] {
        var handles: [(Launch, WorkflowHandle)] = []
        var notStarted: [Outcome] = []
        var startError: String?
        for launch in launches {
            if let startError {
                notStarted.append(
                    Outcome(
                        launch: launch, link: webUILink(workflowId: launch.workflowId),
                        result: .failure(LaunchFailure(description: "not started after an earlier start failed: \(startError)"))))
                continue
            }
            onStarting(launch)
            do {
                let handle = try await client.startWorkflow(
                    type: launch.workflowType ?? workflowType, id: launch.workflowId, taskQueue: taskQueue,
                    args: launch.args, options: WorkflowOptions(searchAttributes: searchAttributes, eagerStart: true))
                onStarted(launch, webUILink(workflowId: launch.workflowId))
                handles.append((launch, handle))
            } catch {
                if !(error is CancellationError) { onStarting(nil) }  // it did not start
                startError = Self.describe(error)
                notStarted.append(
                    Outcome(
                        launch: launch, link: webUILink(workflowId: launch.workflowId),
                        result: .failure(LaunchFailure(description: "could not start: \(Self.describe(error))"))))
            }
        }
        for outcome in notStarted { onFinished(outcome) }
        return await withTaskGroup(of: Outcome?.self) { group in
            for (launch, handle) in handles {
                group.addTask {
                    Outcome(launch: launch, link: webUILink(workflowId: launch.workflowId), result: await Self.result(of: handle))
                }
            }
            if let notice = noWorkerNotice, !handles.isEmpty {
                group.addTask { [client, noWorkerWait] in
                    try? await Task.sleep(for: noWorkerWait)
                    guard !Task.isCancelled, let message = await Self.noWorkerMessage(client, taskQueue: taskQueue) else { return nil }
                    notice(message)
                    return nil
                }
            }
            var outcomes = notStarted
            var waiting = handles.count
            for await outcome in group {
                guard let outcome else { continue }
                onFinished(outcome)
                outcomes.append(outcome)
                waiting -= 1
                if waiting == 0 { group.cancelAll() }  // the watch, if it still waits
            }
            return outcomes
        }
    }

    /// What to tell when the server lists no worker that polled `taskQueue`'s workflow tasks in
    /// the last two minutes; nil when one did, or the server could not say.
    static func noWorkerMessage(_ client: TemporalClient, taskQueue: String) async -> String? {
        guard let pollers = try? await client.taskQueuePollers(taskQueue, type: .workflow) else { return nil }
        let recent = pollers.filter { ($0.lastAccessTime ?? .distantFuture) > Date().addingTimeInterval(-120) }
        guard recent.isEmpty else { return nil }
        return
            "no worker polls task queue '\(taskQueue)' in namespace '\(client.namespace)': the workflows wait on the server until one does. Start LaunchpadWorker with the same --task-queue and namespace (a typo in either, or a worker not running, causes this); Ctrl-C stops waiting here, and the workflows stay queued"
    }

    /// Waits for the `FlowResult` of the workflow `handle` started; a failure becomes its
    /// message (with the application failure's type).
    public static func result(of handle: WorkflowHandle) async -> Result<FlowResult, LaunchFailure> {
        do {
            return .success(try await handle.result(as: FlowResult.self))
        } catch {
            return .failure(
                LaunchFailure(description: describe(error), resultUnreadable: Self.resultUnreadable(error)))
        }
    }

    /// The starters' last line: how many workflows completed or failed, and how many of those
    /// completed could not read everything (their results name it under `skipped`).
    /// - Parameter unreadable: workflows that completed with a result this process could not
    ///   read (`resultUnreadable`), not counted in `failures`.
    public static func summaryLine(total: Int, failures: Int, partial: Int, unreadable: Int = 0) -> String {
        let notRead =
            partial == 0
            ? ""
            : "; \(partial) completed without reading everything (see 'skipped' in \(partial == 1 ? "its result" : "their results") above)"
        let unread =
            unreadable == 0
            ? ""
            : "; \(unreadable) completed with a result this process could not read (the key: TEMPORAL_PAYLOAD_KEY_FILE)"
        if failures > 0 { return "\(failures) of \(total) workflow(s) failed" + unread + notRead }
        if unreadable > 0 { return "\(total - unreadable) of \(total) workflow(s) completed and read" + unread + notRead }
        return "all \(total) workflow(s) completed" + notRead
    }

    /// Whether `error`, waiting for a workflow's result, says the workflow completed but its
    /// result could not be decoded here (encrypted without this process having the key, or a
    /// payload of another converter): not a failure of the workflow.
    public static func resultUnreadable(_ error: any Error) -> Bool {
        // An encrypted result without any key here is a conversion error; with keys, but not
        // the one it was sealed with (rotated since), the codec's own error.
        (error as? LaunchFailure)?.resultUnreadable == true || (error as? TemporalError)?.kind == .payloadConversion
            || error is EncryptionError
    }

    /// The line that reports a workflow whose result wait ended with `error`.
    public static func failureLine(_ workflowId: String, _ error: any Error) -> String {
        resultUnreadable(error)
            ? "\(workflowId) completed, but its result could not be read here: \(error)" : "\(workflowId) FAILED: \(error)"
    }

    static func describe(_ error: any Error) -> String {
        if let temporal = error as? TemporalError, let failure = temporal.failure {
            var text = failure.message
            if case .applicationFailureInfo(let info)? = failure.failureInfo, !info.type.isEmpty {
                text = "\(info.type): \(text)" + (info.nonRetryable ? " (non-retryable)" : "")
            }
            return text
        }
        return "\(error)"
    }

    /// The original `run_mock_wf.py`'s four workflows: `member-1`…`member-4` over the four
    /// quarters of 2023 (`production`, `devel`), ids `launchpad-workflow-<i>-<uuid>`.
    ///
    /// (The original's `member_1` is not a valid Launchpad username — `_` is not allowed —
    /// so `LaunchpadQuery` validation would reject it; the mock members use `-`.)
    public static func mockLaunches(applicationName: String = LaunchpadQuery.defaultApplicationName) -> [Launch] {
        let quarters = [
            ("2023-01-01", "2023-03-31"), ("2023-04-01", "2023-06-30"), ("2023-07-01", "2023-09-30"), ("2023-10-01", "2023-12-31"),
        ]
        return quarters.enumerated().map { index, quarter in
            let args: [String: JSONValue] = [
                "application_name": .string(applicationName), "service_root": "production", "version": "devel",
                "member": .string("member-\(index + 1)"), "data_date_start": .string(quarter.0), "data_date_end": .string(quarter.1),
            ]
            return Launch(
                workflowId: "launchpad-workflow-\(index + 1)-\(UUID().uuidString.lowercased())",
                input: FlowInput(type: LaunchpadQuery.typeName, args: args))
        }
    }

    /// One `LaunchpadFlow` per distinct member (names compared as Launchpad does, without
    /// case), validated before anything starts. Without `applicationName` the input keeps the
    /// default one, which the worker replaces with its own `LP_APP_ID`.
    /// - Throws: `ETLError` (`InvalidQuery`) for a bad date, member, service root or version.
    public static func launchpadLaunches(
        members: [String], from start: String, to end: String, serviceRoot: String = "production",
        version: String = "devel", applicationName: String? = nil
    ) throws(ETLError) -> [Launch] {
        guard !members.isEmpty else {
            throw ETLError(.invalidQuery, "name at least one member (--member NAME)", nonRetryable: true)
        }
        // The worker's LP_APP_ID names the application when the input leaves the default, as
        // for team runs: the starter's own LP_APP_ID (it may have none, or another) would sign
        // member runs with another OAuth consumer than the worker's token belongs to.
        let app = applicationName ?? LaunchpadQuery.defaultApplicationName
        var launches: [Launch] = []
        var seen: Set<String> = []
        for member in members {
            let query = try LaunchpadQuery(
                applicationName: app, serviceRoot: serviceRoot, version: version, member: member,
                dataDateStart: start, dataDateEnd: end)
            // `Alice` and `alice` are one Launchpad name: one run each, not two side by side.
            guard seen.insert(query.member).inserted else { continue }
            launches.append(
                Launch(
                    workflowId: "launchpad-\(query.member)-\(start)-\(end)-\(UUID().uuidString.lowercased().prefix(8))",
                    input: FlowInput(query: query)))
        }
        return launches
    }
}
