#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
import TemporalProto

// MARK: - RPCs

extension WorkflowService {
    /// `CreateSchedule`: registers a new schedule (ALREADY_EXISTS when the id is taken).
    public func createSchedule(_ r: Temporal_Api_Workflowservice_V1_CreateScheduleRequest) async throws -> Temporal_Api_Workflowservice_V1_CreateScheduleResponse {
        try await call("CreateSchedule", r)
    }
    /// `DescribeSchedule`: the schedule, its info and its conflict token (NOT_FOUND when absent).
    public func describeSchedule(_ r: Temporal_Api_Workflowservice_V1_DescribeScheduleRequest) async throws -> Temporal_Api_Workflowservice_V1_DescribeScheduleResponse {
        try await call("DescribeSchedule", r)
    }
    /// `UpdateSchedule`: replaces the schedule (guarded by the conflict token, when given).
    public func updateSchedule(_ r: Temporal_Api_Workflowservice_V1_UpdateScheduleRequest) async throws -> Temporal_Api_Workflowservice_V1_UpdateScheduleResponse {
        try await call("UpdateSchedule", r)
    }
    /// `PatchSchedule`: pause, unpause, trigger or backfill.
    public func patchSchedule(_ r: Temporal_Api_Workflowservice_V1_PatchScheduleRequest) async throws -> Temporal_Api_Workflowservice_V1_PatchScheduleResponse {
        try await call("PatchSchedule", r)
    }
    /// `DeleteSchedule`: removes the schedule (workflows it started keep running).
    public func deleteSchedule(_ r: Temporal_Api_Workflowservice_V1_DeleteScheduleRequest) async throws -> Temporal_Api_Workflowservice_V1_DeleteScheduleResponse {
        try await call("DeleteSchedule", r)
    }
    /// `ListSchedules`: one page of the namespace's schedules (visibility: eventually consistent).
    public func listSchedules(_ r: Temporal_Api_Workflowservice_V1_ListSchedulesRequest) async throws -> Temporal_Api_Workflowservice_V1_ListSchedulesResponse {
        try await call("ListSchedules", r)
    }
}

// MARK: - Spec

/// What happens when a scheduled action is due while the previous one is still running.
public typealias ScheduleOverlapPolicy = Temporal_Api_Enums_V1_ScheduleOverlapPolicy
/// One schedule as `listSchedules` reports it.
public typealias ScheduleListEntry = Temporal_Api_Schedule_V1_ScheduleListEntry

/// Every `every` (e.g. 1 hour), shifted by `offset` from the Unix epoch (e.g. 15 minutes past).
public struct ScheduleIntervalSpec: Sendable, Hashable {
    /// The period.
    public var every: Duration
    /// The phase within the period.
    public var offset: Duration

    /// Creates an interval.
    public init(every: Duration, offset: Duration = .zero) {
        self.every = every
        self.offset = offset
    }
}

/// Calendar times matched in the schedule's time zone (UTC unless `ScheduleSpec.timeZoneName`
/// says otherwise). Empty `daysOfWeek`, `daysOfMonth` and `months` match all.
public struct ScheduleCalendarSpec: Sendable, Hashable {
    /// Seconds (0–59).
    public var seconds: [Int]
    /// Minutes (0–59).
    public var minutes: [Int]
    /// Hours (0–23).
    public var hours: [Int]
    /// Days of the week, 0 = Sunday … 6 = Saturday; empty: every day.
    public var daysOfWeek: [Int]
    /// Days of the month (1–31); empty: every day.
    public var daysOfMonth: [Int]
    /// Months (1–12); empty: every month.
    public var months: [Int]
    /// Free text shown with the spec.
    public var comment: String

    /// Creates a calendar spec.
    public init(seconds: [Int] = [0], minutes: [Int] = [0], hours: [Int] = [0], daysOfWeek: [Int] = [],
                daysOfMonth: [Int] = [], months: [Int] = [], comment: String = "") {
        self.seconds = seconds
        self.minutes = minutes
        self.hours = hours
        self.daysOfWeek = daysOfWeek
        self.daysOfMonth = daysOfMonth
        self.months = months
        self.comment = comment
    }
}

/// When a schedule's action runs: intervals and/or calendar times (their union).
public struct ScheduleSpec: Sendable, Hashable {
    /// Periodic times.
    public var intervals: [ScheduleIntervalSpec]
    /// Calendar times.
    public var calendars: [ScheduleCalendarSpec]
    /// Random delay up to this much added to each action time (nil: none).
    public var jitter: Duration?
    /// IANA time zone of the calendar times (empty: UTC).
    public var timeZoneName: String

    /// Creates a spec.
    public init(intervals: [ScheduleIntervalSpec] = [], calendars: [ScheduleCalendarSpec] = [],
                jitter: Duration? = nil, timeZoneName: String = "") {
        self.intervals = intervals
        self.calendars = calendars
        self.jitter = jitter
        self.timeZoneName = timeZoneName
    }

    /// Every `every`, shifted by `offset`.
    public static func interval(every: Duration, offset: Duration = .zero) -> ScheduleSpec {
        ScheduleSpec(intervals: [ScheduleIntervalSpec(every: every, offset: offset)])
    }

    /// At the calendar times `calendar` matches.
    public static func calendar(_ calendar: ScheduleCalendarSpec, timeZoneName: String = "") -> ScheduleSpec {
        ScheduleSpec(calendars: [calendar], timeZoneName: timeZoneName)
    }

    /// Every day at `hour:minute` (UTC unless `timeZoneName` is set).
    public static func daily(hour: Int, minute: Int = 0, timeZoneName: String = "") -> ScheduleSpec {
        .calendar(ScheduleCalendarSpec(minutes: [minute], hours: [hour], comment: "daily"), timeZoneName: timeZoneName)
    }

    /// Every week on `weekday` (0 = Sunday … 6 = Saturday) at `hour:minute`.
    public static func weekly(on weekday: Int, hour: Int, minute: Int = 0, timeZoneName: String = "") -> ScheduleSpec {
        .calendar(ScheduleCalendarSpec(minutes: [minute], hours: [hour], daysOfWeek: [weekday], comment: "weekly"),
                  timeZoneName: timeZoneName)
    }

    /// The wire form.
    public var proto: Temporal_Api_Schedule_V1_ScheduleSpec {
        var spec = Temporal_Api_Schedule_V1_ScheduleSpec()
        spec.interval = intervals.map { interval in
            var p = Temporal_Api_Schedule_V1_IntervalSpec()
            p.interval = .init(duration: interval.every)
            if interval.offset != .zero { p.phase = .init(duration: interval.offset) }
            return p
        }
        spec.structuredCalendar = calendars.map { calendar in
            var p = Temporal_Api_Schedule_V1_StructuredCalendarSpec()
            p.second = Self.ranges(calendar.seconds, all: nil)
            p.minute = Self.ranges(calendar.minutes, all: nil)
            p.hour = Self.ranges(calendar.hours, all: nil)
            p.dayOfWeek = Self.ranges(calendar.daysOfWeek, all: (0, 6))
            p.dayOfMonth = Self.ranges(calendar.daysOfMonth, all: (1, 31))
            p.month = Self.ranges(calendar.months, all: (1, 12))
            p.comment = calendar.comment
            return p
        }
        if let jitter { spec.jitter = .init(duration: jitter) }
        spec.timezoneName = timeZoneName
        return spec
    }

    /// Reads a spec back (as `describe` returns it; the server reports calendars in structured form).
    public init(proto: Temporal_Api_Schedule_V1_ScheduleSpec) {
        intervals = proto.interval.map {
            ScheduleIntervalSpec(every: Self.duration($0.interval), offset: Self.duration($0.phase))
        }
        calendars = proto.structuredCalendar.map { p in
            ScheduleCalendarSpec(seconds: Self.values(p.second, all: nil), minutes: Self.values(p.minute, all: nil),
                                 hours: Self.values(p.hour, all: nil), daysOfWeek: Self.values(p.dayOfWeek, all: (0, 6)),
                                 daysOfMonth: Self.values(p.dayOfMonth, all: (1, 31)), months: Self.values(p.month, all: (1, 12)),
                                 comment: p.comment)
        }
        jitter = proto.hasJitter ? Self.duration(proto.jitter) : nil
        timeZoneName = proto.timezoneName
    }

    private static func ranges(_ values: [Int], all: (Int, Int)?) -> [Temporal_Api_Schedule_V1_Range] {
        if values.isEmpty, let all {
            var r = Temporal_Api_Schedule_V1_Range()
            r.start = Int32(all.0)
            r.end = Int32(all.1)
            r.step = 1
            return [r]
        }
        return values.map { value in
            var r = Temporal_Api_Schedule_V1_Range()
            r.start = Int32(clamping: value)
            r.end = Int32(clamping: value)
            r.step = 1
            return r
        }
    }

    private static func values(_ ranges: [Temporal_Api_Schedule_V1_Range], all: (Int, Int)?) -> [Int] {
        var out: [Int] = []
        for r in ranges {
            let start = Int(r.start)
            let end = max(start, Int(r.end))
            let step = max(1, Int(r.step))
            out.append(contentsOf: stride(from: start, through: end, by: step))
        }
        if let all, out == Array(all.0...all.1) { return [] }
        return ranges.isEmpty && all == nil ? [0] : out
    }

    private static func duration(_ d: Google_Protobuf_Duration) -> Duration {
        .seconds(d.seconds) + .nanoseconds(Int64(d.nanos))
    }
}

/// What a schedule does when due: start a workflow. The workflow id gets the scheduled time
/// appended by the server (`<workflowID>-<timestamp>`), so runs do not collide.
public struct ScheduleAction: Sendable {
    /// The workflow type name.
    public var workflowType: String
    /// The workflow id prefix.
    public var workflowID: String
    /// The task queue its workers poll.
    public var taskQueue: String
    /// The workflow's arguments (encoded with the client's data converter).
    public var arguments: [any Encodable & Sendable]
    /// Timeouts, retry policy, memo, search attributes and summary of each run (id policies,
    /// cron, request id and start delay do not apply to scheduled runs).
    public var options: WorkflowOptions

    /// Starts workflow `type` with `args` on `taskQueue`.
    public static func startWorkflow(type: String, workflowID: String, taskQueue: String,
                                     args: [any Encodable & Sendable] = [], options: WorkflowOptions = WorkflowOptions()) -> ScheduleAction {
        ScheduleAction(workflowType: type, workflowID: workflowID, taskQueue: taskQueue, arguments: args, options: options)
    }
}

/// How a schedule handles overlaps, missed times and failures.
public struct SchedulePolicies: Sendable, Hashable {
    /// Default `.skip` (the server's default).
    public var overlap: ScheduleOverlapPolicy
    /// How late a missed action may still run (nil: the server's default, one year).
    public var catchupWindow: Duration?
    /// Pause the schedule when a run fails or times out.
    public var pauseOnFailure: Bool

    /// Creates policies.
    public init(overlap: ScheduleOverlapPolicy = .skip, catchupWindow: Duration? = nil, pauseOnFailure: Bool = false) {
        self.overlap = overlap
        self.catchupWindow = catchupWindow
        self.pauseOnFailure = pauseOnFailure
    }

    /// The wire form.
    public var proto: Temporal_Api_Schedule_V1_SchedulePolicies {
        var p = Temporal_Api_Schedule_V1_SchedulePolicies()
        p.overlapPolicy = overlap
        if let catchupWindow { p.catchupWindow = .init(duration: catchupWindow) }
        p.pauseOnFailure = pauseOnFailure
        return p
    }
}

/// A schedule as `ScheduleHandle.describe()` reports it.
public struct ScheduleDescription: Sendable {
    /// The schedule id.
    public var id: String
    /// The full response.
    public var raw: Temporal_Api_Workflowservice_V1_DescribeScheduleResponse

    /// When the action runs.
    public var spec: ScheduleSpec { ScheduleSpec(proto: raw.schedule.spec) }
    /// The started workflow's type name (empty if the action is not a workflow start).
    public var workflowType: String { startWorkflow?.workflowType.name ?? "" }
    /// The started workflow's task queue.
    public var taskQueue: String { startWorkflow?.taskQueue.name ?? "" }
    /// The started workflow's id prefix.
    public var workflowID: String { startWorkflow?.workflowID ?? "" }
    /// The workflow-start action, if that is what the schedule does.
    public var startWorkflow: Temporal_Api_Workflow_V1_NewWorkflowExecutionInfo? {
        if case .startWorkflow(let info)? = raw.schedule.action.action { return info }
        return nil
    }
    /// Whether the schedule is paused.
    public var isPaused: Bool { raw.schedule.state.paused }
    /// The state's notes (set by pause/unpause).
    public var note: String { raw.schedule.state.notes }
    /// Number of actions taken so far.
    public var actionCount: Int { Int(raw.info.actionCount) }
    /// The most recent actions (with the workflows they started).
    public var recentActions: [Temporal_Api_Schedule_V1_ScheduleActionResult] { raw.info.recentActions }
    /// Workflows started by the schedule and still running.
    public var runningWorkflows: [Temporal_Api_Common_V1_WorkflowExecution] { raw.info.runningWorkflows }
    /// The next action times.
    public var futureActionTimes: [Date] { raw.info.futureActionTimes.map(\.date) }
    /// Token that guards `update` against concurrent changes.
    public var conflictToken: Data { raw.conflictToken }
}

// MARK: - Client API

extension TemporalClient {
    /// Creates a schedule.
    ///
    /// - Parameters:
    ///   - id: the schedule id, unique in the namespace.
    ///   - spec: when it runs.
    ///   - action: what it starts.
    ///   - policies: overlap, catch-up and failure handling.
    ///   - paused: create it paused.
    ///   - note: the state's notes.
    ///   - memo: values shown with the schedule.
    /// - Throws: `TemporalError` with code `.alreadyExists` (and a message naming the id) when a
    ///   schedule with `id` exists.
    public func createSchedule(id: String, spec: ScheduleSpec, action: ScheduleAction,
                               policies: SchedulePolicies = SchedulePolicies(), paused: Bool = false,
                               note: String = "", memo: [String: any Encodable & Sendable] = [:]) async throws -> ScheduleHandle {
        var r = Temporal_Api_Workflowservice_V1_CreateScheduleRequest()
        r.namespace = namespace
        r.scheduleID = id
        r.schedule = try scheduleProto(spec: spec, action: action, policies: policies, paused: paused, note: note)
        if !memo.isEmpty { r.memo.fields = try scheduleMap(memo) }
        r.identity = identity
        r.requestID = UUID().uuidString
        _ = try await scheduleCall(id) { try await workflowService.createSchedule(r) }
        return ScheduleHandle(client: self, id: id)
    }

    /// A handle to an existing schedule (no RPC).
    public func scheduleHandle(id: String) -> ScheduleHandle {
        ScheduleHandle(client: self, id: id)
    }

    /// The namespace's schedules (optionally filtered by a visibility `query`), fetched page by
    /// page. Visibility is eventually consistent: a schedule created a moment ago may be missing.
    public func listSchedules(query: String = "", pageSize: Int = 100) -> ScheduleList {
        ScheduleList(client: self, query: query, pageSize: pageSize)
    }

    /// The wire form of a schedule.
    func scheduleProto(spec: ScheduleSpec, action: ScheduleAction, policies: SchedulePolicies,
                       paused: Bool, note: String) throws -> Temporal_Api_Schedule_V1_Schedule {
        var s = Temporal_Api_Schedule_V1_Schedule()
        s.spec = spec.proto
        s.action = try actionProto(action)
        s.policies = policies.proto
        s.state.paused = paused
        s.state.notes = note
        return s
    }

    /// The wire form of an action.
    func actionProto(_ action: ScheduleAction) throws -> Temporal_Api_Schedule_V1_ScheduleAction {
        var info = Temporal_Api_Workflow_V1_NewWorkflowExecutionInfo()
        info.workflowID = action.workflowID
        info.workflowType.name = action.workflowType
        info.taskQueue.name = action.taskQueue
        info.taskQueue.kind = .normal
        if !action.arguments.isEmpty { info.input = try dataConverter.toPayloads(action.arguments.map { $0 as any Encodable }) }
        let options = action.options
        if let t = options.executionTimeout { info.workflowExecutionTimeout = .init(duration: t) }
        if let t = options.runTimeout { info.workflowRunTimeout = .init(duration: t) }
        if let t = options.taskTimeout { info.workflowTaskTimeout = .init(duration: t) }
        if let p = options.retryPolicy { info.retryPolicy = p.proto }
        if !options.memo.isEmpty { info.memo.fields = try scheduleMap(options.memo) }
        if !options.searchAttributes.isEmpty { info.searchAttributes.indexedFields = try SearchAttributeEncoding.encode(options.searchAttributes) }
        if let s = options.staticSummary { info.userMetadata.summary = try dataConverter.toPayload(s) }
        var a = Temporal_Api_Schedule_V1_ScheduleAction()
        a.action = .startWorkflow(info)
        return a
    }

    private func scheduleMap(_ values: [String: any Encodable & Sendable]) throws -> [String: Payload] {
        var out: [String: Payload] = [:]
        for (k, v) in values { out[k] = try schedulePayload(v) }
        return out
    }

    private func schedulePayload<T: Encodable>(_ value: T) throws -> Payload {
        try dataConverter.toPayload(value)
    }

    /// Runs a schedule RPC, naming the schedule in ALREADY_EXISTS and NOT_FOUND errors.
    func scheduleCall<T>(_ id: String, _ body: () async throws -> T) async throws -> T {
        do {
            return try await body()
        } catch var error as TemporalError {
            if error.code == .alreadyExists {
                error.message = "schedule '\(id)' already exists in namespace '\(namespace)' (\(error.message)); update or delete it instead"
            } else if error.code == .notFound {
                error.message = "schedule '\(id)' not found in namespace '\(namespace)' (\(error.message))"
            }
            throw error
        }
    }
}

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

    /// Replaces the parts given (nil keeps the current one), guarded by the conflict token of a
    /// fresh `describe`: a concurrent change in between fails the update (FAILED_PRECONDITION)
    /// instead of being overwritten. The paused state and notes are kept.
    public func update(spec: ScheduleSpec? = nil, action: ScheduleAction? = nil,
                       policies: SchedulePolicies? = nil) async throws {
        let spec = spec
        let action = try action.map { try client.actionProto($0) }
        try await update { schedule in
            if let spec { schedule.spec = spec.proto }
            if let action { schedule.action = action }
            if let policies { schedule.policies = policies.proto }
        }
    }

    /// Describes the schedule, lets `transform` change it, and sends it back with the
    /// described conflict token.
    public func update(_ transform: (inout Temporal_Api_Schedule_V1_Schedule) throws -> Void) async throws {
        let current = try await describe()
        var schedule = current.raw.schedule
        try transform(&schedule)
        var r = Temporal_Api_Workflowservice_V1_UpdateScheduleRequest()
        r.namespace = client.namespace
        r.scheduleID = id
        r.schedule = schedule
        r.conflictToken = current.conflictToken
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
    public func backfill(from start: Date, to end: Date, overlap: ScheduleOverlapPolicy? = nil) async throws {
        var request = Temporal_Api_Schedule_V1_BackfillRequest()
        request.startTime = Google_Protobuf_Timestamp(date: start)
        request.endTime = Google_Protobuf_Timestamp(date: end)
        if let overlap { request.overlapPolicy = overlap }
        var patch = Temporal_Api_Schedule_V1_SchedulePatch()
        patch.backfillRequest = [request]
        try await send(patch)
    }

    /// Deletes the schedule; workflows it started are not affected.
    /// - Throws: `TemporalError` with code `.notFound` when there is no such schedule.
    public func delete() async throws {
        var r = Temporal_Api_Workflowservice_V1_DeleteScheduleRequest()
        r.namespace = client.namespace
        r.scheduleID = id
        r.identity = client.identity
        _ = try await client.scheduleCall(id) { try await client.workflowService.deleteSchedule(r) }
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

/// The result of `listSchedules`: an asynchronous sequence that fetches pages lazily.
public struct ScheduleList: AsyncSequence, Sendable {
    public typealias Element = ScheduleListEntry
    let client: TemporalClient
    let query: String
    let pageSize: Int

    /// Fetches the next page when the current one is used up.
    public struct AsyncIterator: AsyncIteratorProtocol {
        let list: ScheduleList
        var buffer: [ScheduleListEntry] = []
        var token = Data()
        var finished = false

        /// The next schedule, or nil after the last page.
        public mutating func next() async throws -> ScheduleListEntry? {
            while buffer.isEmpty {
                if finished { return nil }
                var r = Temporal_Api_Workflowservice_V1_ListSchedulesRequest()
                r.namespace = list.client.namespace
                r.maximumPageSize = Int32(clamping: list.pageSize)
                r.query = list.query
                r.nextPageToken = token
                let page = try await list.client.workflowService.listSchedules(r)
                buffer = page.schedules.reversed()
                token = page.nextPageToken
                finished = token.isEmpty
            }
            return buffer.popLast()
        }
    }

    /// Starts at the first page.
    public func makeAsyncIterator() -> AsyncIterator { AsyncIterator(list: self) }

    /// Collects every schedule.
    public func collect() async throws -> [ScheduleListEntry] {
        var all: [ScheduleListEntry] = []
        for try await entry in self { all.append(entry) }
        return all
    }
}
