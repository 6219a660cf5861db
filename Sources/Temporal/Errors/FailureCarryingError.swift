public import TemporalProto

/// An error that stands for a failure Temporal recorded or will record whole — an activity's
/// or a child workflow's, with its cause chain. Converted to a failure (`FailureConverter`),
/// it is that failure as it is, as Go returns the failure such an error holds: an update
/// handler or a query that lets it escape answers with the activity's or child's failure, not
/// a flat application failure named after the Swift type.
public protocol FailureCarryingError: Error {
    /// The failure, as it is to be sent.
    var failure: Temporal_Api_Failure_V1_Failure { get }
}
