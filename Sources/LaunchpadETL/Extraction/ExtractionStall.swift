/// Ends an extraction that keeps failing at the same place.
///
/// The extract activity retries without an attempt limit because each attempt resumes where
/// the last one stopped: as long as attempts get further, retrying is right. When one request
/// fails every time (an object Launchpad always answers with an error, a body that never
/// parses), attempts stop getting further; after `limit` of them in a row resuming from the
/// same checkpoint, the extraction fails for good with `ExtractionStalled`, instead of
/// retrying for hours.
public enum ExtractionStall {
    /// Attempts in a row that may resume from one checkpoint without getting further (10).
    public static let defaultLimit = 10

    /// `checkpoint` with this attempt counted; throws `.extractionStalled` when it is the one
    /// past `limit`.
    static func count(_ checkpoint: ExtractionCheckpoint, limit: Int) throws(ETLError) -> ExtractionCheckpoint {
        var counted = checkpoint
        counted.stalledAttempts = (checkpoint.stalledAttempts ?? 0) + 1
        guard counted.stalledAttempts! <= max(1, limit) else {
            let at = [checkpoint.itemCursor.map { "after item \($0)" }, checkpoint.nextPageLink.map { "at page \($0)" }].compactMap { $0 }
                .joined(separator: ", ")
            throw ETLError(
                .extractionStalled,
                "the extraction of batch '\(checkpoint.batchId)' made no progress in \(limit) attempts in a row at phase \(checkpoint.phase.rawValue)\(at.isEmpty ? "" : " (\(at))") with \(checkpoint.rowsSoFar) events staged: the same request keeps failing (the earlier attempts' failures are in the worker's log and the workflow's pending activity); fix the cause, then run the flow again",
                nonRetryable: true)
        }
        return counted
    }
}

extension ETLError.Code {
    /// The extraction kept failing at the same checkpoint (see `ExtractionStall`).
    public static let extractionStalled = ETLError.Code(rawValue: "ExtractionStalled")
}
