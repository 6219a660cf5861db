public import TemporalProto

// MARK: - RPCs

extension WorkflowService {
    /// `DescribeWorkerDeployment`: a deployment's versions, routing and conflict token
    /// (NOT_FOUND before its first versioned worker polled).
    public func describeWorkerDeployment(_ r: Temporal_Api_Workflowservice_V1_DescribeWorkerDeploymentRequest)
        async throws -> Temporal_Api_Workflowservice_V1_DescribeWorkerDeploymentResponse
    {
        try await call("DescribeWorkerDeployment", r)
    }
    /// `ListWorkerDeployments`: one page of the namespace's deployments.
    public func listWorkerDeployments(_ r: Temporal_Api_Workflowservice_V1_ListWorkerDeploymentsRequest)
        async throws -> Temporal_Api_Workflowservice_V1_ListWorkerDeploymentsResponse
    {
        try await call("ListWorkerDeployments", r)
    }
    /// `SetWorkerDeploymentCurrentVersion`: the version new runs go to.
    public func setWorkerDeploymentCurrentVersion(
        _ r: Temporal_Api_Workflowservice_V1_SetWorkerDeploymentCurrentVersionRequest
    ) async throws -> Temporal_Api_Workflowservice_V1_SetWorkerDeploymentCurrentVersionResponse {
        try await call("SetWorkerDeploymentCurrentVersion", r)
    }
    /// `SetWorkerDeploymentRampingVersion`: the version a share of new runs goes to.
    public func setWorkerDeploymentRampingVersion(
        _ r: Temporal_Api_Workflowservice_V1_SetWorkerDeploymentRampingVersionRequest
    ) async throws -> Temporal_Api_Workflowservice_V1_SetWorkerDeploymentRampingVersionResponse {
        try await call("SetWorkerDeploymentRampingVersion", r)
    }
    /// `DeleteWorkerDeploymentVersion`: forgets a retired version.
    public func deleteWorkerDeploymentVersion(
        _ r: Temporal_Api_Workflowservice_V1_DeleteWorkerDeploymentVersionRequest
    ) async throws -> Temporal_Api_Workflowservice_V1_DeleteWorkerDeploymentVersionResponse {
        try await call("DeleteWorkerDeploymentVersion", r)
    }
}
