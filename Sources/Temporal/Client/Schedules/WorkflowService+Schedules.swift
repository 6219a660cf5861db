public import TemporalProto

#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

// MARK: - RPCs

extension WorkflowService {
    /// `CreateSchedule`: registers a new schedule (ALREADY_EXISTS when the id is taken).
    public func createSchedule(_ r: Temporal_Api_Workflowservice_V1_CreateScheduleRequest) async throws
        -> Temporal_Api_Workflowservice_V1_CreateScheduleResponse
    {
        try await call("CreateSchedule", r)
    }
    /// `DescribeSchedule`: the schedule, its info and its conflict token (NOT_FOUND when absent).
    public func describeSchedule(_ r: Temporal_Api_Workflowservice_V1_DescribeScheduleRequest) async throws
        -> Temporal_Api_Workflowservice_V1_DescribeScheduleResponse
    {
        try await call("DescribeSchedule", r)
    }
    /// `UpdateSchedule`: replaces the schedule (guarded by the conflict token, when given).
    public func updateSchedule(_ r: Temporal_Api_Workflowservice_V1_UpdateScheduleRequest) async throws
        -> Temporal_Api_Workflowservice_V1_UpdateScheduleResponse
    {
        try await call("UpdateSchedule", r)
    }
    /// `PatchSchedule`: pause, unpause, trigger or backfill.
    public func patchSchedule(_ r: Temporal_Api_Workflowservice_V1_PatchScheduleRequest) async throws
        -> Temporal_Api_Workflowservice_V1_PatchScheduleResponse
    {
        try await call("PatchSchedule", r)
    }
    /// `DeleteSchedule`: removes the schedule (workflows it started keep running).
    public func deleteSchedule(_ r: Temporal_Api_Workflowservice_V1_DeleteScheduleRequest) async throws
        -> Temporal_Api_Workflowservice_V1_DeleteScheduleResponse
    {
        try await call("DeleteSchedule", r)
    }
    /// `ListSchedules`: one page of the namespace's schedules (visibility: eventually consistent).
    public func listSchedules(_ r: Temporal_Api_Workflowservice_V1_ListSchedulesRequest) async throws
        -> Temporal_Api_Workflowservice_V1_ListSchedulesResponse
    {
        try await call("ListSchedules", r)
    }
}
