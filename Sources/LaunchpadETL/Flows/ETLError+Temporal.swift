public import Temporal

extension ETLError {
    /// The Temporal failure for this error: `ApplicationError(message, type: type, nonRetryable:)`,
    /// so a workflow failure shows e.g. `UnknownLaunchpadMember: no Launchpad person named 'x'`.
    public var applicationError: ApplicationError {
        ApplicationError(message, type: type, nonRetryable: nonRetryable)
    }

    /// Error types no retry can fix; activity retry policies list them as non-retryable too
    /// (in addition to the `nonRetryable` flag each error carries).
    public static let nonRetryableTypes: [String] = [
        Code.invalidQuery, .unknownQueryType, .invalidEvent, .unknownMember, .badRequest, .unauthorized,
        .invalidCredentials, .unknownTeam, .batchAlreadyLoaded, .memberGone, .serviceRootNotAllowed, .extractionStalled,
        .invalidConfiguration, .deactivatedNameTaken,
    ].map(\.rawValue)
}
