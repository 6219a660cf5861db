import Temporal
import TemporalProto

#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// A local activity the workflow asked for, until its marker is recorded.
struct LocalActivityRequest: Sendable {
    let seq: Int
    let activityID: String
    let type: String
    let input: Payloads?
    let options: LocalActivityOptions
    let attempt: Int
    /// Workflow time of the first attempt's request (bounds `scheduleToCloseTimeout`).
    let scheduledTime: Date
    /// This worker's wall clock minus the workflow's clock when the request was made: what
    /// maps `scheduledTime` (the server's time) onto the clock deadlines are checked against.
    /// A worker clock off by a minute cut a schedule-to-close short by that much, or let it
    /// run that much longer (and a test environment that skipped an hour, an hour longer).
    var clockOffset: TimeInterval = 0

    /// From the workflow's `startLocalActivity` interceptors.
    let headers: [String: Payload]

    /// `scheduledTime` on this worker's clock.
    var scheduledOnWorkerClock: Date { scheduledTime.addingTimeInterval(clockOffset) }
}

/// How a local activity request ended.
enum LocalActivityOutcome: Sendable {
    /// Succeeded on `attempt`.
    case completed(Payloads?, attempt: Int)
    /// Failed for good on `attempt`: the failure has `ActivityFailureInfo` and the last
    /// attempt's failure as cause.
    case failed(Failure, attempt: Int)
    /// Failed (the attempt's failure, recorded in the marker so that history shows why the
    /// timer started; nil in markers of earlier releases), to be retried as attempt
    /// `nextAttempt` after a durable timer of `delay`.
    case backoff(Duration, nextAttempt: Int, failure: Failure? = nil)

    /// The attempt the outcome is of (recorded in the marker).
    var attempt: Int {
        switch self {
        case .completed(_, let attempt), .failed(_, let attempt): attempt
        case .backoff(_, let next, _): next - 1
        }
    }
}

/// What a local activity marker records besides the result or failure (JSON in `details["data"]`).
struct LocalActivityMarkerData: Codable, Sendable {
    var activityId: String
    var activityType: String
    var attempt: Int
    /// Set when the attempt failed and the workflow waits this long (a timer) before the next.
    var backoffSeconds: Double?
    /// The request's sequence number in the run, which replay matches the marker by (two
    /// requests may share an `activityID` the code chose). Absent in markers of earlier releases,
    /// which are matched by id and type (`SDKFlag.localActivityMarkersBySeqAndTime`).
    var seq: Int?
    /// When the outcome came, seconds since 1970: the task's start event time plus the time
    /// the worker spent on the task since, as Go records its marker's replay time (immune to the
    /// worker's clock being off). The workflow's clock moves to it, live and on replay, so that
    /// `now` and a later request's schedule-to-close count the time local activities took.
    /// Absent in markers of earlier releases, which leave the clock where it was.
    var completedAt: Double?
}

extension WorkflowRun {
    /// The marker name of local activity outcomes (as Go names it).
    static let localActivityMarker = "LocalActivity"

    // MARK: - Requests (called by WorkflowContext)

    func requestLocalActivity(
        type: String, input: Payloads?, options: LocalActivityOptions, attempt: Int,
        scheduledTime: Date, activityID: String?, headers: [String: Payload] = [:]
    ) -> Int {
        // Its attempts' RunLocalActivity spans belong to the run's trace (they run on the
        // worker's tasks, outside the workflow's task-local context).
        let fields = header(for: "StartLocalActivity:\(type)", over: headers)?.fields ?? [:]
        return localActivities.add { seq in
            LocalActivityRequest(
                seq: seq, activityID: activityID ?? "local-\(seq)", type: type, input: input,
                options: options, attempt: attempt, scheduledTime: scheduledTime,
                clockOffset: Date().timeIntervalSince(taskClock()), headers: fields)
        }
    }

    func localActivityID(_ seq: Int) -> String? { localActivities[seq]?.activityID }

    func awaitLocalActivity(_ seq: Int, _ continuation: CheckedContinuation<LocalActivityOutcome, any Error>) {
        localActivities.await(seq, continuation)
    }

    /// Cancellation of the awaiting task: the request is dropped (a running attempt's outcome
    /// is discarded; no marker).
    func cancelLocalActivity(_ seq: Int) {
        localActivities.resolve(seq, .failure(CancellationError()))
    }

    // MARK: - The worker's side (live)

    /// Requests to execute now: those not handed out yet (including any requested during a
    /// replayed part of history whose marker never came: the worker died while running them).
    func takeLocalActivitiesToRun() -> [LocalActivityRequest] {
        guard !isClosed else { return [] }
        return localActivities.takeDue()
    }

    /// Whether a request still waits for its outcome (none do once the run closed: their
    /// outcomes could not be recorded after the closing command, as in Go).
    var hasPendingLocalActivities: Bool { !localActivities.isEmpty && !isClosed }

    /// Whether request `seq` still waits for its outcome (false once cancelled or resolved).
    func isLocalActivityPending(_ seq: Int) -> Bool { localActivities[seq] != nil && !isClosed }

    /// A local activity finished in this worker: records its marker, resumes the code and runs
    /// it until blocked. Returns the new commands (their protocol messages, and only theirs, are
    /// then in `outgoingMessages`). An outcome for a request cancelled meanwhile is dropped.
    func completeLocalActivity(_ seq: Int, _ outcome: LocalActivityOutcome) throws -> [Command] {
        try confinement.drive { try driveLocalActivityCompletion(seq, outcome) }
    }

    private func driveLocalActivityCompletion(_ seq: Int, _ outcome: LocalActivityOutcome) throws -> [Command] {
        guard let request = localActivities[seq], !isClosed else {
            outgoingMessages = []
            return []
        }
        resolveLocalActivity(request, outcome, at: taskClock())
        runUntilBlocked()
        warnAboutWhatIsLeft()  // the code may have returned
        settleCommandOrder()
        if let failure = taskFailure { throw WorkflowTaskFailure(failure) }
        return takeNewCommands()  // `outgoingMessages`: only the messages of these commands
    }

    /// Records the marker command for `request`'s outcome (which came at `time`: with
    /// `SDKFlag.localActivityMarkersBySeqAndTime`, the workflow's clock moves there, never back)
    /// and hands the outcome to the code.
    func resolveLocalActivity(_ request: LocalActivityRequest, _ outcome: LocalActivityOutcome, at time: Date?) {
        var data = LocalActivityMarkerData(
            activityId: request.activityID, activityType: request.type, attempt: outcome.attempt, seq: request.seq,
            completedAt: time?.timeIntervalSince1970)
        // The time as the marker holds it (seconds since 1970), so that replay sets the same.
        if sdkFlags.tryUse(.localActivityMarkersBySeqAndTime), let seconds = data.completedAt {
            let recorded = Date(timeIntervalSince1970: seconds)
            if recorded > now { now = recorded }
        }
        var a = Temporal_Api_Command_V1_RecordMarkerCommandAttributes()
        a.markerName = Self.localActivityMarker
        switch outcome {
        case .completed(let result, _):
            if let result { a.details["result"] = result }
        case .failed(let failure, _):
            a.failure = failure
        case .backoff(let delay, _, let failure):
            data.backoffSeconds = delay.seconds
            if let failure { a.failure = failure }
        }
        if let json = try? DataConverter.default.toPayloads(data) { a.details["data"] = json }
        var c = Command()
        c.commandType = .recordMarker
        c.recordMarkerCommandAttributes = a
        commands.append(PendingCommand(key: .localActivity(request.seq), command: c))
        localActivities.resolve(request.seq, .success(outcome))
    }

    // MARK: - Replay

    /// The local activity markers history recorded for the activation starting at `index`
    /// (between its WorkflowTaskCompleted and the next WorkflowTaskStarted).
    static func localActivityMarkers(in events: [HistoryEvent], from index: Int) -> [HistoryEvent] {
        var markers: [HistoryEvent] = []
        var i = index
        while i < events.count, events[i].eventType != .workflowTaskStarted {
            if events[i].markerRecordedEventAttributes.markerName == localActivityMarker, events[i].eventType == .markerRecorded {
                markers.append(events[i])
            }
            i += 1
        }
        return markers
    }

    /// Replay: resolves requests from their markers, in history's order, running the code until
    /// blocked after each, as the live worker did when each finished.
    func applyLocalActivityMarkers(_ markers: [HistoryEvent]) throws {
        for marker in markers {
            let a = marker.markerRecordedEventAttributes
            guard let data = try? DataConverter.default.fromPayloads(a.details["data"], as: LocalActivityMarkerData.self) else {
                throw HistoryError("local activity marker (event \(marker.eventID)) without readable data")
            }
            // By sequence number wherever the marker has one (every marker this release writes,
            // with or without the flag: a server without SDK metadata keeps no flags), so two
            // requests sharing an id and a type keep their own outcomes; by id and type in
            // earlier releases' histories.
            let bySeq = data.seq
            let request = localActivities.inOrder.first { request in
                bySeq.map { request.seq == $0 } ?? true && request.activityID == data.activityId && request.type == data.activityType
            }
            guard let request else {
                throw NondeterminismError(
                    historyEvent: "MarkerRecorded(LocalActivity \(data.activityType), id \(data.activityId))", command: nil,
                    eventID: marker.eventID, detail: "history has a local activity the workflow did not ask for")
            }
            let outcome: LocalActivityOutcome
            if let backoff = data.backoffSeconds {
                outcome = .backoff(.seconds(backoff), nextAttempt: data.attempt + 1, failure: a.hasFailure ? a.failure : nil)
            } else if a.hasFailure {
                outcome = .failed(a.failure, attempt: data.attempt)
            } else {
                outcome = .completed(a.details["result"], attempt: data.attempt)
            }
            resolveLocalActivity(request, outcome, at: data.completedAt.map { Date(timeIntervalSince1970: $0) })
            runUntilBlocked()
        }
    }
}
