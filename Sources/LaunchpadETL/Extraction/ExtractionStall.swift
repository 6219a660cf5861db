/// Ends an extraction that keeps failing at the same place.
///
/// The extract activity retries without an attempt limit because each attempt resumes where
/// the last one stopped: as long as attempts get further, retrying is right. When one request
/// fails every time (an object Launchpad always answers with an error, a body that never
/// parses), attempts stop getting further; once more than `limit` of them in a row resumed
/// from the same checkpoint, over at least `minimumDuration`, the extraction fails for good
/// with `ExtractionStalled`, instead of retrying for hours.
///
/// Both, since an outage stops every attempt too: Launchpad, DNS or the worker's network down
/// fails each attempt's first request within seconds, and 10 attempts of the activity's
/// backoff take about 9 minutes; counted alone, they failed every running extraction for good
/// in an outage that short.
public enum ExtractionStall {
    /// Attempts in a row that may resume from one checkpoint without getting further (10).
    public static let defaultLimit = 10
    /// How long attempts may resume from one checkpoint without getting further, however many
    /// (1 h): longer than Launchpad's deploys and daily maintenance.
    public static let defaultMinimumDuration: Duration = .seconds(3600)

    /// `checkpoint` with this attempt counted; throws `.extractionStalled` when it is past
    /// `limit` and the first of the attempts began at least `minimumDuration` before `now`
    /// (seconds since 1970).
    static func count(
        _ checkpoint: ExtractionCheckpoint, limit: Int, minimumDuration: Duration = defaultMinimumDuration,
        now: Int = Int(ContinuousClockEpoch.unixSeconds())
    ) throws(ETLError) -> ExtractionCheckpoint {
        var counted = checkpoint
        counted.stalledAttempts = (checkpoint.stalledAttempts ?? 0) + 1
        let since = checkpoint.stalledSince ?? now
        counted.stalledSince = since
        guard counted.stalledAttempts! <= max(1, limit) || Duration.seconds(now - since) < minimumDuration else {
            let at = [checkpoint.itemCursor.map { "after item \($0)" }, checkpoint.nextPageLink.map { "at page \($0)" }].compactMap { $0 }
                .joined(separator: ", ")
            throw ETLError(
                .extractionStalled,
                "the extraction of batch '\(checkpoint.batchId)' made no progress in \(counted.stalledAttempts! - 1) attempts in a row (over \((now - since) / 60) min) at phase \(checkpoint.phase.rawValue)\(at.isEmpty ? "" : " (\(at))") with \(checkpoint.rowsSoFar) events staged: the same request keeps failing (the earlier attempts' failures are in the worker's log and the workflow's pending activity); fix the cause, then run the flow again",
                nonRetryable: true)
        }
        return counted
    }
}

extension ETLError.Code {
    /// The extraction kept failing at the same checkpoint (see `ExtractionStall`).
    public static let extractionStalled = ETLError.Code(rawValue: "ExtractionStalled")
}
