public import TemporalProto
import Tracing

#if canImport(FoundationEssentials)
public import FoundationEssentials
#else
public import Foundation
#endif

/// A schedule by id: describe, update, pause, trigger, delete.
public struct ScheduleHandle: Sendable {
    /// The client the calls go through.
    public let client: TemporalClient
    /// The schedule id.
    public let id: String

    /// Creates a handle (no RPC).
    public init(client: TemporalClient, id: String) {
        self.client = client
        self.id = id
    }

    /// The schedule, its state and recent actions.
    /// - Throws: `TemporalError` with code `.notFound` when there is no such schedule.
    public func describe() async throws -> ScheduleDescription {
        var r = Temporal_Api_Workflowservice_V1_DescribeScheduleRequest()
        r.namespace = client.namespace
        r.scheduleID = id
        let response = try await client.scheduleCall(id) { try await client.workflowService.describeSchedule(r) }
        return ScheduleDescription(id: id, raw: response)
    }

    /// Replaces the parts given (nil keeps the current one) in the schedule as a fresh
    /// `describe` shows it. The server replaces the whole schedule, state included, so the
    /// paused state and notes go back as that `describe` showed them: a pause made between the
    /// two calls is undone (and the call succeeds). Sent without a conflict token,
    /// as Go sends it: a schedule's workflow takes the update as a signal and drops one whose
    /// token went stale meanwhile (a pause, a run using up a remaining action) while the call
    /// still succeeds, so a token would lose updates without a word. The last writer wins.
    public func update(
        spec: ScheduleSpec? = nil, action: ScheduleAction? = nil,
        policies: SchedulePolicies? = nil
    ) async throws {
        let spec = spec
        try await withSpan("UpdateSchedule:\(id)", ofKind: .client) { span in
            // A new action's runs continue this update's trace, as a created schedule's runs
            // continue its creation's.
            let action = try action.map { action in
                var proto = try client.actionProto(action)
                var headers: [String: Payload] = [:]
                TraceHeader.inject(span.context, into: &headers)
                proto.addHeaders(headers)
                return proto
            }
            try await update { schedule in
                if let spec { schedule.spec = spec.proto }
                if let action { schedule.action = action }
                if let policies { schedule.policies = policies.proto }
            }
        }
    }

    /// Describes the schedule, lets `transform` change it, and sends it back (without a
    /// conflict token; see `update(spec:action:policies:)`).
    public func update(_ transform: (inout Temporal_Api_Schedule_V1_Schedule) throws -> Void) async throws {
        let current = try await describe()
        var schedule = current.raw.schedule
        try transform(&schedule)
        var r = Temporal_Api_Workflowservice_V1_UpdateScheduleRequest()
        r.namespace = client.namespace
        r.scheduleID = id
        r.schedule = schedule
        r.identity = client.identity
        r.requestID = UUID().uuidString
        _ = try await client.scheduleCall(id) { try await client.workflowService.updateSchedule(r) }
    }

    /// Pauses the schedule (no new actions until `unpause`); `note` is recorded in its state.
    public func pause(note: String? = nil) async throws {
        var patch = Temporal_Api_Schedule_V1_SchedulePatch()
        patch.pause = note.flatMap { $0.isEmpty ? nil : $0 } ?? "paused by \(client.identity)"
        try await send(patch)
    }

    /// Resumes a paused schedule; `note` is recorded in its state.
    public func unpause(note: String? = nil) async throws {
        var patch = Temporal_Api_Schedule_V1_SchedulePatch()
        patch.unpause = note.flatMap { $0.isEmpty ? nil : $0 } ?? "unpaused by \(client.identity)"
        try await send(patch)
    }

    /// Runs the action now (even when paused), subject to `overlap` (nil: the schedule's policy).
    public func trigger(overlap: ScheduleOverlapPolicy? = nil) async throws {
        var patch = Temporal_Api_Schedule_V1_SchedulePatch()
        patch.triggerImmediately = Temporal_Api_Schedule_V1_TriggerImmediatelyRequest()
        if let overlap { patch.triggerImmediately.overlapPolicy = overlap }
        try await send(patch)
    }

    /// Runs the actions the spec would have taken between `start` and `end` (a past range:
    /// catching up after an outage, or loading history). Each run gets the nominal time of
    /// its action as `TemporalScheduledStartTime`. `overlap` nil: the schedule's policy.
    /// - Throws: `TemporalError` (`.invalidArgument`) for a range that ends in the future or
    ///   before it starts, before any request: the server starts every action of the range at
    ///   once, so a future time's run would start early, and the schedule's own run for that
    ///   time would later be refused as a duplicate.
    public func backfill(from start: Date, to end: Date, overlap: ScheduleOverlapPolicy? = nil) async throws {
        var patch = Temporal_Api_Schedule_V1_SchedulePatch()
        patch.backfillRequest = [try ScheduleBackfill(from: start, to: end, overlap: overlap).proto()]
        try await send(patch)
    }

    /// Deletes the schedule; workflows it started are not affected.
    ///
    /// The request carries no idempotency key: when a transient failure is retried and the
    /// retry finds no schedule, an earlier attempt is taken to have deleted it before its
    /// answer was lost, and the call succeeds (also, then, when the first attempt never reached
    /// the server and there was no such schedule).
    /// - Throws: `TemporalError` with code `.notFound` when there is no such schedule (found
    ///   by the first attempt).
    public func delete() async throws {
        var r = Temporal_Api_Workflowservice_V1_DeleteScheduleRequest()
        r.namespace = client.namespace
        r.scheduleID = id
        r.identity = client.identity
        do {
            _ = try await client.scheduleCall(id) { try await client.workflowService.deleteSchedule(r) }
        } catch let error as TemporalError where error.isNotFoundOnRetry {
            return  // deleted by the attempt whose answer was lost
        }
    }

    private func send(_ patch: Temporal_Api_Schedule_V1_SchedulePatch) async throws {
        var r = Temporal_Api_Workflowservice_V1_PatchScheduleRequest()
        r.namespace = client.namespace
        r.scheduleID = id
        r.patch = patch
        r.identity = client.identity
        r.requestID = UUID().uuidString
        _ = try await client.scheduleCall(id) { try await client.workflowService.patchSchedule(r) }
    }
}

/// A past range of a schedule's actions to run (`ScheduleHandle.backfill`, or at creation:
/// `TemporalClient.createSchedule(backfill:)`). Each run gets the nominal time of its action as
/// `TemporalScheduledStartTime`.
public struct ScheduleBackfill: Sendable, Hashable {
    /// The range's first time.
    public var start: Date
    /// Its last time (not in the future).
    public var end: Date
    /// Nil: the schedule's overlap policy.
    public var overlap: ScheduleOverlapPolicy?

    /// Creates a range.
    public init(from start: Date, to end: Date, overlap: ScheduleOverlapPolicy? = nil) {
        self.start = start
        self.end = end
        self.overlap = overlap
    }

    /// The wire form.
    /// - Throws: `TemporalError` (`.invalidArgument`) for a range that ends in the future or
    ///   before it starts: the server starts every action of the range at once, so a future
    ///   time's run would start early, and the schedule's own run for that time would later be
    ///   refused as a duplicate.
    func proto(now: Date = Date()) throws -> Temporal_Api_Schedule_V1_BackfillRequest {
        guard start <= end else {
            throw TemporalError(
                kind: .invalidArgument, message: "a backfill from \(start) to \(end) ends before it starts; give the earlier time first")
        }
        guard end <= now else {
            throw TemporalError(
                kind: .invalidArgument,
                message:
                    "a backfill to \(end) reaches into the future: the server would start the actions of those times now, ahead of them (and refuse the schedule's own runs for them later); backfill only times that have passed, or trigger() to run the action now"
            )
        }
        var request = Temporal_Api_Schedule_V1_BackfillRequest()
        request.startTime = Google_Protobuf_Timestamp(date: start)
        request.endTime = Google_Protobuf_Timestamp(date: end)
        if let overlap { request.overlapPolicy = overlap }
        return request
    }
}
