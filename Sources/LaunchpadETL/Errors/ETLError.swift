/// The one error type the ETL throws: a stable machine-readable `type`, a message written for
/// the person reading the workflow failure, and whether retrying can help.
///
/// The worker maps it to a Temporal `ApplicationFailure` with `type` and `nonRetryable`.
public struct ETLError: Error, Sendable, Hashable, CustomStringConvertible {
    /// A stable error type string, e.g. `"InvalidQuery"`.
    public struct Code: RawRepresentable, Sendable, Hashable, CustomStringConvertible {
        public var rawValue: String
        public init(rawValue: String) { self.rawValue = rawValue }
        public var description: String { rawValue }

        /// A flow input or query argument is missing or malformed.
        public static let invalidQuery = Code(rawValue: "InvalidQuery")
        /// `FlowInput.type` names no registered query type.
        public static let unknownQueryType = Code(rawValue: "UnknownQueryType")
        /// An `Event` failed validation.
        public static let invalidEvent = Code(rawValue: "InvalidEvent")
        /// The member does not exist on Launchpad (HTTP 404 on `~name`).
        public static let unknownMember = Code(rawValue: "UnknownLaunchpadMember")
        /// The team does not exist on Launchpad (HTTP 404 on `~team/members`), or is a person.
        public static let unknownTeam = Code(rawValue: "UnknownLaunchpadTeam")
        /// The member's Launchpad account is suspended (HTTP 410 on `~name`).
        public static let memberGone = Code(rawValue: "LaunchpadAccountGone")
        /// The member is a deactivated account whose old name (its employee id, `EmployeeId`)
        /// another account holds now: its events would mix with that account's.
        public static let deactivatedNameTaken = Code(rawValue: "LaunchpadDeactivatedNameTaken")
        /// Launchpad answered 410 Gone for something other than the member.
        public static let gone = Code(rawValue: "LaunchpadGone")
        /// Launchpad answered 404 for something other than the member.
        public static let notFound = Code(rawValue: "LaunchpadNotFound")
        /// Launchpad rejected the request (HTTP 400).
        public static let badRequest = Code(rawValue: "LaunchpadBadRequest")
        /// Launchpad rejected the credentials (HTTP 401) or the access (HTTP 403).
        public static let unauthorized = Code(rawValue: "LaunchpadUnauthorized")
        /// Launchpad stayed unavailable (502/503/504) after every retry.
        public static let unavailable = Code(rawValue: "LaunchpadUnavailable")
        /// Launchpad timed out on the query itself (503 with a long `Retry-After`), even after
        /// smaller pages were asked for.
        public static let serverTimeout = Code(rawValue: "LaunchpadServerTimeout")
        /// Launchpad failed with an internal error (HTTP 500, an "OOPS").
        public static let serverError = Code(rawValue: "LaunchpadServerError")
        /// Some other unexpected HTTP status.
        public static let unexpectedStatus = Code(rawValue: "LaunchpadUnexpectedStatus")
        /// A response body was not the JSON expected (malformed, truncated, or the wrong shape).
        public static let malformedResponse = Code(rawValue: "LaunchpadMalformedResponse")
        /// A listing kept changing while it was read: an unordered one still showed new entries
        /// at its last pass, or an ordered one lost more rows before a page than a page
        /// overlaps, again and again. Some entries may be missing, so it is read again later.
        public static let listingChanging = Code(rawValue: "LaunchpadListingChanging")
        /// A link or redirect from Launchpad leads where the worker's credentials may not go:
        /// read anonymously it would leave private data out, so it is not read.
        public static let linkNotTrusted = Code(rawValue: "LaunchpadLinkNotTrusted")
        /// The connection failed or timed out after every retry.
        public static let transport = Code(rawValue: "LaunchpadTransportError")
        /// Launchpad credentials could not be read.
        public static let invalidCredentials = Code(rawValue: "InvalidLaunchpadCredentials")
        /// A staging write for a batch that has already been loaded: a late write from an
        /// activity attempt that timed out (its result is discarded anyway).
        public static let batchAlreadyLoaded = Code(rawValue: "StagedBatchAlreadyLoaded")
        /// SQLite reported an error.
        public static let database = Code(rawValue: "DatabaseError")
        /// A staged batch does not match the reference passed through workflow history.
        public static let stagingMismatch = Code(rawValue: "StagingMismatch")
        /// The event store holds events read from another Launchpad than the run's (event ids
        /// are a Launchpad's own numbers, so two Launchpads' events would overwrite each other).
        public static let storeHoldsAnotherLaunchpad = Code(rawValue: "StoreHoldsAnotherLaunchpad")
        /// A Launchpad flow's extract ran on a worker that serves the mock flow on the same task
        /// queue (the two flows' activities share names): its synthetic events were about to be
        /// loaded as read from Launchpad.
        public static let syntheticExtract = Code(rawValue: "SyntheticExtractOnLaunchpadQueue")
        /// A checkpoint could not be used to resume.
        public static let invalidCheckpoint = Code(rawValue: "InvalidCheckpoint")
        /// The fixture server could not be started or configured.
        public static let fixture = Code(rawValue: "FixtureError")
    }

    /// What went wrong, as a stable code.
    public var code: Code
    /// A sentence saying what was wrong and what to do about it.
    public var message: String
    /// `true` when retrying the same input cannot succeed.
    public var nonRetryable: Bool
    /// The underlying error, when this one wraps another (a decoding error, a task failure);
    /// its text is in `message` too. Not part of equality.
    public var cause: (any Error)?

    /// The stable type string (`code.rawValue`), as Temporal's `ApplicationFailure.type`.
    public var type: String { code.rawValue }

    /// Creates an error.
    public init(_ code: Code, _ message: String, nonRetryable: Bool, cause: (any Error)? = nil) {
        self.code = code
        self.message = message
        self.nonRetryable = nonRetryable
        self.cause = cause
    }

    public var description: String { "\(code.rawValue): \(message)" }

    public static func == (a: ETLError, b: ETLError) -> Bool {
        a.code == b.code && a.message == b.message && a.nonRetryable == b.nonRetryable
    }

    public func hash(into hasher: inout Hasher) {
        hasher.combine(code)
        hasher.combine(message)
        hasher.combine(nonRetryable)
    }
}
